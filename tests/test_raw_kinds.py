"""Every kind of raw file LibRaw reads, through every command: a result, or one line naming the
file and why it is refused.

The files are real DNG files written by `sid_tf2.dng.write_dng` in each trait real cameras and
phones give them (no colour matrix, no white balance, 8 to 16 bits, per-position black levels,
odd sizes, masked borders, every Bayer phase, big-endian, tiled, lossless-JPEG compressed), so
LibRaw's handling of them is the real one. Each command is called through the library entry
point its command line uses; one case starts the simulator's real process.
"""

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from sid_tf2 import dng
from sid_tf2 import raw as rawlib
from sid_tf2.data.cache import RawCache, infer_camera
from sid_tf2.data.check import check_dataset
from sid_tf2.data.discovery import discover_pairs
from sid_tf2.data.sampling import load_eval_example
from sid_tf2.enhance import decode
from sid_tf2.simulation import calibrate, dataset
from sid_tf2.simulation.stream import OnTheFlySampler

H, W = 64, 96
XTRANS = np.array([[0, 2, 1, 2, 0, 1], [1, 1, 0, 1, 1, 2], [1, 1, 2, 1, 1, 0],
                   [2, 0, 1, 0, 2, 1], [1, 1, 2, 1, 1, 0], [1, 1, 0, 1, 1, 2]])
# An OpcodeList3 holding one optional opcode (id 14, no parameters), as phones write lists
# that LibRaw does not apply.
OPCODE_LIST = (51022, 7, bytes.fromhex("00000001" "0000000e" "01030000" "00000001" "00000000"))
KINDS = {
    "no_colour_matrix_kdc_like": dict(cfa_pattern="GRBG", black_level=0, with_color_matrix=False),
    "no_white_balance": dict(cfa_pattern="RGGB"),
    "as_shot_white_balance": dict(cfa_pattern="RGGB", as_shot_neutral=(0.5, 1, 0.7)),
    "8_bit": dict(cfa_pattern="RGGB", black_level=8, white_level=255, bits_per_sample=8),
    "10_bit": dict(cfa_pattern="RGGB", black_level=64, white_level=1023),
    "12_bit": dict(cfa_pattern="BGGR", black_level=256, white_level=4095),
    "16_bit": dict(cfa_pattern="RGGB", black_level=1024, white_level=65535),
    "per_position_black": dict(cfa_pattern="GBRG", black_level=[500, 510, 520, 530]),
    "per_channel_black": dict(cfa_pattern="RGGB", black_level=[[600, 512], [512, 400]]),
    "odd_size": dict(cfa_pattern="BGGR", shape=(63, 95)),
    "masked_border": dict(cfa_pattern="RGGB", shape=(70, 104), active_area=(4, 6, 68, 102)),
    "masked_border_odd_offsets": dict(cfa_pattern="RGGB", shape=(70, 104),
                                      active_area=(3, 5, 68, 101)),
    "RGGB": dict(cfa_pattern="RGGB"),
    "BGGR": dict(cfa_pattern="BGGR"),
    "GRBG": dict(cfa_pattern="GRBG"),
    "GBRG": dict(cfa_pattern="GBRG"),
    "big_endian": dict(cfa_pattern="RGGB", big_endian=True),
    "lossless_jpeg": dict(cfa_pattern="GRBG", compression="lossless_jpeg"),
    "lossless_jpeg_tiled_big_endian": dict(cfa_pattern="BGGR", compression="lossless_jpeg",
                                           tile=(32, 48), big_endian=True),
    "phone": dict(cfa_pattern="GRBG", black_level=[64, 65, 63, 64], white_level=1023,
                  tile=(32, 32), default_crop=(2, 2, 58, 90), as_shot_neutral=(0.45, 1, 0.62),
                  extra_tags=[OPCODE_LIST]),
    "x_trans": dict(cfa_pattern=XTRANS, black_level=1024),
    "four_colour_cmyg": dict(cfa_pattern="CYGM", black_level=0, color_matrix=np.eye(4, 3)),
    "linear_dng": None,
    "monochrome_dng": None,
}
NOT_BAYER = "not a Bayer sensor"
NO_MOSAIC = "holds no colour mosaic \\(no CFA\\): it is a linear / demosaiced raw image"
MONOCHROME = "is a monochrome image \\(no colour filter array\\)"
FEW_BITS = "its white level 255 leaves 247 DN above black.*data of so few bits"
REFUSALS = {
    "x_trans": {"enhance": "X-Trans sensor needs Fuji weights, but --weights holds the Sony",
                "simulate": "X-Trans \\(6x6\\) sensor, not Bayer",
                "calibrate": "X-Trans \\(6x6\\) sensor, not Bayer",
                "train_on_the_fly": "X-Trans \\(6x6\\) sensor, not Bayer",
                "check": "X-Trans demosaic needs at least 512x512 pixels",  # at this test size
                "train_on_pairs": "X-Trans demosaic needs at least 512x512 pixels"},
    "four_colour_cmyg": {"enhance": "unsupported colour filter layout: 4-colour",
                         **dict.fromkeys(("check", "train_on_pairs"),
                                         "unsupported colour filter array \\(2, 2\\) 'MYGC'"),
                         **dict.fromkeys(("simulate", "calibrate", "train_on_the_fly"), NOT_BAYER)},
    "linear_dng": dict.fromkeys(("enhance", "simulate", "calibrate", "train_on_the_fly",
                                 "train_on_pairs", "check"), NO_MOSAIC),
    "monochrome_dng": dict.fromkeys(("enhance", "simulate", "calibrate", "train_on_the_fly",
                                     "train_on_pairs", "check"), MONOCHROME),
    "8_bit": {"simulate": FEW_BITS, "train_on_the_fly": FEW_BITS},
}


def write(kind, path, *, level=None, seed=0, exposure_time=10.0, iso=800):
    """A file of `kind`: a scene 20-60 % of the range above black, or with `level` a flat (0:
    a dark frame) with photon and read noise, as calibration frames are."""
    rng = np.random.default_rng(seed)
    options = KINDS[kind]
    if options is None:
        shape = (H, W, 3) if kind == "linear_dng" else (H, W)
        dng.write_linear_dng(path, rng.integers(2000, 9000, shape).astype(np.uint16),
                             exposure_time=exposure_time, iso=iso)
        return str(path)
    options = dict(options)
    shape = options.pop("shape", (H, W))
    black = np.asarray(options.get("black_level", 512))
    white = options.get("white_level", 16383)
    span = white - int(black.max())
    if level is None:
        mosaic = black.max() + rng.uniform(0.2, 0.6, shape) * span
    else:
        tile = np.broadcast_to(black.reshape(-1), 4).reshape(2, 2) if black.size > 1 else black
        blacks = np.tile(np.broadcast_to(tile, (2, 2)), (shape[0] // 2 + 1, shape[1] // 2 + 1))
        signal = level * span
        mosaic = blacks[:shape[0], :shape[1]] + signal + rng.normal(0, 2 + np.sqrt(signal / 2), shape)
    mosaic = np.clip(np.round(mosaic), 0, white - 1).astype(np.uint16)
    dng.write_dng(path, mosaic, exposure_time=exposure_time, iso=iso, **options)
    return str(path)


def run_enhance(kind, folder):
    decoded = decode.decode_file(write(kind, folder / "photo.dng"), "sony", compare=True)
    assert decoded.network_input.shape[-1] == 4 and decoded.rendered.shape[:2] == tuple(
        2 * n for n in decoded.network_input.shape[:2])
    return decoded.notes


def run_simulate(kind, folder):
    write(kind, folder / "sources" / "clean.dng")
    summary = dataset.write_synthetic_dataset(folder / "out", source_dir=folder / "sources",
                                              num_scenes=1, progress=False)
    assert summary.num_short == 3
    return [w for w in summary.warnings if "Sony A7S2" not in w]


def run_calibrate(kind, folder):
    for number in range(2):
        write(kind, folder / "dark" / f"d{number}.dng", level=0.0, seed=10 + number,
              exposure_time=0.01)
    for number, level in enumerate((0.1, 0.1, 0.3, 0.3)):
        write(kind, folder / "flat" / f"f{number}.dng", level=level, seed=20 + number,
              exposure_time=level)
    _, results = calibrate.calibrate_folders(folder / "dark", folder / "flat", folder / "p.json")
    assert results[0].system_gain > 0
    return []


def run_train_on_the_fly(kind, folder):
    write(kind, folder / "sources" / "clean.dng")
    sampler = OnTheFlySampler(folder / "sources", patch_size=16, examples_per_epoch=2)
    inputs, gt = sampler.example(0, 0)
    assert inputs.shape == (16, 16, 4) and gt.shape == (32, 32, 3)
    return []


def run_check(kind, folder):
    """The data check of a SID-layout pair, decoding into the cache that training reads."""
    write(kind, folder / "sid" / "short" / "00001_00_0.1s.dng", exposure_time=0.1)
    write(kind, folder / "sid" / "long" / "00001_00_10s.dng")
    report = check_dataset(str(folder / "sid"), decode=True)
    if not report.ok:
        raise ValueError(str(report.problems[0]))
    return []


def run_train_on_pairs(kind, folder):
    """Training's data path on a SID-layout pair named as a camera names its files (.NEF):
    discovery, the cache's decoding and the whole-image example that validation loads."""
    write(kind, folder / "sid" / "short" / "00001_00_0.1s.NEF", exposure_time=0.1)
    write(kind, folder / "sid" / "long" / "00001_00_10s.NEF")
    (pair,) = discover_pairs(folder / "sid")
    cache = RawCache.for_dataset(folder / "sid")
    camera = infer_camera([pair], cache)
    inputs, gt = load_eval_example(cache.input(pair.input_path), cache.ground_truth(pair.gt_path),
                                   pair.ratio, camera)
    assert camera == "sony" and inputs.shape[-1] == 4 and gt.shape[:2] == tuple(
        2 * n for n in inputs.shape[:2])
    return []


COMMANDS = {"enhance": run_enhance, "simulate": run_simulate, "calibrate": run_calibrate,
            "train_on_the_fly": run_train_on_the_fly, "train_on_pairs": run_train_on_pairs,
            "check": run_check}
FOLDERS = ("sources", "dark", "flat", "sid/short", "sid/long")


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_ends_in_a_result_or_one_line_naming_the_file(kind, command, tmp_path):
    for folder in FOLDERS:
        (tmp_path / folder).mkdir(parents=True)
    refusal = REFUSALS.get(kind, {}).get(command)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the notes are tested below, the refusals here
        if refusal is None:
            COMMANDS[command](kind, tmp_path)
            return
        with pytest.raises(ValueError) as caught:
            COMMANDS[command](kind, tmp_path)
    message = str(caught.value)
    assert "\n" not in message and re.search(refusal, message), message
    assert re.search(r"/(photo|clean|d0|f0|00001_00_\S+)\.(dng|NEF): ", message), message


@pytest.mark.parametrize("command", ["enhance", "simulate", "train_on_the_fly", "check"])
def test_a_file_without_colour_matrix_is_said_once(command, tmp_path):
    for folder in FOLDERS:
        (tmp_path / folder).mkdir(parents=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        notes = COMMANDS[command]("no_colour_matrix_kdc_like", tmp_path)
    said = notes + [str(w.message) for w in caught if rawlib.NO_COLOUR_MATRIX in str(w.message)]
    if command == "check":  # each of the two files is rendered once, the short one never
        assert said == [f"{tmp_path / 'sid' / 'long' / '00001_00_10s.dng'}: "
                        f"{rawlib.NO_COLOUR_MATRIX}"]
    elif command == "enhance":  # shown under the file's name
        assert said == [rawlib.NO_COLOUR_MATRIX]
    else:
        assert said == [f"{tmp_path / 'sources' / 'clean.dng'}: {rawlib.NO_COLOUR_MATRIX}"]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_an_odd_sized_rendering_loses_the_sensors_last_row_and_column_in_any_orientation(
        orientation, tmp_path):
    from sid_tf2.enhance.output import apply_orientation

    mosaic = np.random.default_rng(6).integers(600, 9000, (63, 95)).astype(np.uint16)
    dng.write_dng(tmp_path / "up.dng", mosaic, cfa_pattern="GRBG")
    dng.write_dng(tmp_path / "turned.dng", mosaic, cfa_pattern="GRBG", orientation=orientation)
    upright = rawlib.render_ground_truth_uint16(tmp_path / "up.dng")
    with rawlib.read_raw(tmp_path / "turned.dng") as raw:
        turned, flip = rawlib.render_ground_truth_uint16(raw), raw.sizes.flip
    assert upright.shape == (62, 94, 3)
    np.testing.assert_array_equal(apply_orientation(turned, flip, inverse=True), upright)


def test_a_foveon_file_is_refused_saying_why(tmp_path):
    path = tmp_path / "sigma.x3f"
    path.write_bytes(b"FOVb" + bytes(range(256)) * 16)  # the X3F signature, then no real data
    with pytest.raises(rawlib.RawFileError, match=f"^{path}: a Foveon X3F file: .* not a colour "
                       "mosaic; SID needs the sensor's colour mosaic"):
        decode.decode_file(path, "sony")


def test_a_file_without_colour_matrix_renders_as_camera_rgb_in_srgb(tmp_path):
    mosaic = np.random.default_rng(3).integers(0, 16000, (H, W)).astype(np.uint16)
    options = dict(cfa_pattern="GRBG", black_level=0, as_shot_neutral=(0.5, 1, 0.8))
    dng.write_dng(tmp_path / "none.dng", mosaic, with_color_matrix=False, **options)
    dng.write_dng(tmp_path / "srgb.dng", mosaic, **options)  # the sRGB inverse: an identity
    with pytest.warns(RuntimeWarning, match="none.dng: LibRaw has no colour matrix"):
        without = rawlib.render_ground_truth_uint16(tmp_path / "none.dng")
    # The written sRGB inverse is SRATIONAL (6 digits): LibRaw's identity differs by a few DN.
    with_srgb = rawlib.render_ground_truth_uint16(tmp_path / "srgb.dng").astype(np.int64)
    assert np.abs(without.astype(np.int64) - with_srgb).max() <= 8


def test_the_simulator_process_takes_a_kdc_like_file_and_says_why(tmp_path):
    """The case of the issue: a real process, a .KDC name, GRBG, black 0, no colour matrix."""
    (tmp_path / "raws").mkdir()
    write("no_colour_matrix_kdc_like", tmp_path / "raws" / "DC50.KDC")
    done = subprocess.run(
        [sys.executable, "-m", "sid_tf2.simulate", f"--source_dir={tmp_path / 'raws'}",
         f"--output_dir={tmp_path / 'out'}", "--num_scenes=1"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"DC50.KDC: {rawlib.NO_COLOUR_MATRIX}" in done.stdout + done.stderr
    assert len(list((tmp_path / "out" / "short").glob("*.dng"))) == 3
