"""sid-enhance and the weights loader, on tiny real DNG files and randomly initialised networks.

The command line is exercised as `python -m sid_tf2.enhance` run in this process (`run_command`),
a few runs each covering several behaviours; one photographer's session runs in a new process,
for its quiet start. The rest calls the library functions.
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import rawpy
import tensorflow as tf
import tifffile
from absl import flags
from helpers import run_command

import sid_tf2
from sid_tf2 import enhance
from sid_tf2.dng import write_dng
from sid_tf2.inference import make_predictor
from sid_tf2.raw import SID_XTRANS_PATTERN, RawFileError, render_ground_truth
from sid_tf2.tf1_checkpoint import save_tf1_checkpoint
from sid_tf2.weights import WeightsError, find_weights, load_model_weights

H, W = 96, 128  # mosaic size of the Bayer test files
PHASES = ("RGGB", "BGGR", "GRBG", "GBRG")
ORIENTATION_TAG = 274


# ---------------------------------------------------------------------------------------------
# Test files.


def _bayer(path, pattern="RGGB", signal=40, seed=0, shape=(H, W), exposure=0.1, iso=3200):
    """A dark Bayer DNG: black 512 plus Poisson noise of mean `signal` and a brighter band."""
    rng = np.random.default_rng(seed)
    mosaic = 512 + rng.poisson(signal, shape)
    mosaic[: shape[0] // 4] += 3 * signal
    write_dng(path, mosaic.astype(np.uint16), cfa_pattern=pattern, exposure_time=exposure,
              iso=iso)
    return str(path)


def _xtrans(path, size=96):
    rng = np.random.default_rng(1)
    mosaic = 1024 + rng.poisson(60, (size, size))
    write_dng(path, mosaic.astype(np.uint16), cfa_pattern=SID_XTRANS_PATTERN, black_level=1024,
              exposure_time=0.1)
    return str(path)


def _truncated(path):
    """A DNG cut in the middle of its pixel data."""
    _bayer(path)
    data = open(path, "rb").read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])
    return str(path)


def _set_orientation(path, orientation):
    """Rewrite the TIFF Orientation (IFD 0, little endian) of a DNG written by write_dng."""
    data = bytearray(open(path, "rb").read())
    offset = struct.unpack("<I", data[4:8])[0]
    (count,) = struct.unpack("<H", data[offset: offset + 2])
    for index in range(count):
        entry = offset + 2 + 12 * index
        if struct.unpack("<H", data[entry: entry + 2])[0] == ORIENTATION_TAG:
            data[entry + 8: entry + 10] = struct.pack("<H", orientation)
            break
    else:
        raise AssertionError("no Orientation tag")
    with open(path, "wb") as handle:
        handle.write(bytes(data))


@pytest.fixture(scope="module")
def models(random_networks):
    return random_networks


@pytest.fixture(scope="module")
def weights(random_weights):
    """{camera: path of a .weights.h5} of the randomly initialised `models`."""
    return random_weights


def _run(*args):
    return run_command("sid_tf2.enhance", *args)


def _ratios(stdout):
    """{file name: ratio} from the progress lines."""
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^\d+/\d+ (\S+): ratio ([0-9.e+-]+)", stdout, re.M)}


def _png_bit_depth(path):
    with open(path, "rb") as handle:
        header = handle.read(33)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return header[24]  # IHDR bit depth


def _png(path):
    """A PNG read back in its own bit depth: uint8 or uint16."""
    dtype = {8: tf.uint8, 16: tf.uint16}[_png_bit_depth(path)]
    return tf.io.decode_png(tf.io.read_file(str(path)), dtype=dtype).numpy()


# ---------------------------------------------------------------------------------------------
# The command line, end to end.


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory, weights):
    """One run over a folder of good and bad files, with --compare."""
    root = tmp_path_factory.mktemp("folder_run")
    inputs = root / "photos"
    inputs.mkdir()
    for index, phase in enumerate(PHASES):
        _bayer(inputs / f"phase_{phase}.dng", phase, seed=index)
    _bayer(inputs / "dark.DNG", signal=10, seed=7)
    _bayer(inputs / "bright.nef", signal=400, seed=8)
    _truncated(inputs / "corrupt.dng")
    (inputs / "text.ARW").write_text("this is a text file, not a raw photograph\n" * 20)
    (inputs / "notes.txt").write_text("skipped silently")
    _xtrans(inputs / "xtrans.dng")
    output = root / "out"
    result = _run(inputs, f"--weights={weights['sony']}", f"--output_dir={output}", "--compare")
    return result, output


def test_folder_reports_bad_files_and_writes_good_ones(folder_run):
    result, output = folder_run
    assert result.returncode == 1, result.stderr
    good = [f"phase_{p}" for p in PHASES] + ["dark", "bright"]
    expected = {f"{stem}_sid.png" for stem in good} | {f"{stem}_compare.png" for stem in good}
    assert set(os.listdir(output)) == expected  # nothing for bad files, no temporary files
    combined = result.stdout + result.stderr
    assert "3 failed" in result.stderr
    assert "6 of 9 enhanced" in result.stderr
    for bad in ("corrupt.dng", "text.ARW", "xtrans.dng"):
        assert re.search(rf"\d+/9 {re.escape(bad)}: FAILED", result.stdout), result.stdout
        assert bad in result.stderr
    assert "notes.txt" not in combined
    assert "truncated" in combined
    assert "not a raw file that LibRaw can read" in combined
    assert "X-Trans sensor needs Fuji weights" in combined
    # One progress line per file, with a ratio, the size, seconds and an ETA.
    assert re.search(r"^1/9 bright\.nef: ratio [0-9.]+ \(auto.*\), 128x96, [0-9.]+ s, ETA ",
                     result.stdout, re.M), result.stdout


def test_the_pipelined_folder_writes_what_one_file_at_a_time_writes(folder_run, models, tmp_path):
    """The folder run decodes the next file and writes the previous one in threads while the
    network runs: its images equal `enhance_file`'s, file by file, and its lines keep the
    files' order."""
    result, output = folder_run
    numbers = [int(m.group(1)) for m in re.finditer(r"^(\d+)/9 ", result.stdout, re.M)]
    assert numbers == sorted(numbers) and len(numbers) == 9
    from sid_tf2 import tuning

    # The settings sid-enhance used (the suite runs with SID_TF2_TUNING=off: the reasoned rule),
    # and its default tiles.
    predictor = make_predictor(models["sony"], settings=tuning.tuned_settings("enhance"),
                               tile_size=enhance.DEFAULT_TILE_SIZE)
    for name in ("dark.DNG", f"phase_{PHASES[1]}.dng"):
        enhance.enhance_file(output.parent / "photos" / name, predictor, "sony", tmp_path,
                             options=enhance.OutputOptions(compare=True))
        for suffix in ("_sid.png", "_compare.png"):
            stem = os.path.splitext(name)[0] + suffix
            np.testing.assert_array_equal(_png(tmp_path / stem), _png(output / stem))


def test_output_size_is_the_mosaic_size_for_every_bayer_phase(folder_run):
    _, output = folder_run
    for phase in PHASES:
        image = _png(output / f"phase_{phase}_sid.png")
        assert image.dtype == np.uint8 and image.shape == (H, W, 3)
        assert _png_bit_depth(output / f"phase_{phase}_sid.png") == 8


def test_compare_is_input_beside_output(folder_run):
    _, output = folder_run
    compare = _png(output / "dark_compare.png")
    assert compare.shape == (H, 2 * W, 3)
    np.testing.assert_array_equal(compare[:, W:], _png(output / "dark_sid.png"))


def test_auto_ratio_is_larger_for_a_darker_file(folder_run):
    result, _ = folder_run
    ratios = _ratios(result.stdout)
    assert 1 <= ratios["bright.nef"] < ratios["phase_RGGB.dng"] < ratios["dark.DNG"] <= 300
    assert "exposure 1/10 s" in result.stdout and "ISO 3200" in result.stdout


def test_sixteen_bit_png_with_a_fixed_ratio(tmp_path, weights):
    photo = _bayer(tmp_path / "IMG_0001.dng", "GBRG")
    result = _run(photo, f"--weights={weights['sony']}", f"--output_dir={tmp_path / 'out'}",
                  "--ratio=100", "--bit_depth=16", "--tile_size=0")
    assert result.returncode == 0, result.stderr
    assert "1/1 IMG_0001.dng: ratio 100 (" in result.stdout
    path = tmp_path / "out" / "IMG_0001_sid.png"
    assert os.listdir(tmp_path / "out") == ["IMG_0001_sid.png"]
    assert _png_bit_depth(path) == 16
    image = _png(path)
    assert image.dtype == np.uint16 and image.shape == (H, W, 3)


def test_sixteen_bit_tiff(tmp_path, weights):
    photo = _bayer(tmp_path / "night.dng")
    result = _run(photo, f"--weights={weights['sony']}", f"--output_dir={tmp_path / 'out'}",
                  "--format=tiff", "--bit_depth=16", "--tile_size=32", "--tile_overlap=16")
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path / "out") == ["night_sid.tif"]
    image = tifffile.imread(tmp_path / "out" / "night_sid.tif")
    assert image.dtype == np.uint16 and image.shape == (H, W, 3)


def test_missing_weights_fail_before_any_file(tmp_path):
    photo = _bayer(tmp_path / "a.dng")
    missing = tmp_path / "nowhere" / "model.weights.h5"
    result = _run(photo, f"--weights={missing}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2
    assert str(missing) in result.stderr and "no such file" in result.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# The command line in-process (same main(), without a new interpreter).


def _main(*args):
    values = enhance.define_flags(flags.FlagValues())
    argv = values(["sid-enhance", *map(str, args)])
    return enhance.main(argv, values)


def test_usage_problems_exit_2(tmp_path, weights, capsys):
    photo = _bayer(tmp_path / "a.dng")
    common = [f"--weights={weights['sony']}", f"--output_dir={tmp_path / 'out'}"]
    assert _main(photo, *common, "--ratio=bright") == 2
    assert _main(photo, *common, "--ratio=0") == 2
    assert _main(photo, *common, "--bit_depth=12") == 2
    assert _main(photo, *common, "--tile_size=100") == 2
    assert _main(photo, *common, "--faithful", "--precision=mixed_float16") == 2
    assert _main(*common) == 2
    errors = capsys.readouterr().err
    assert "--ratio must be 'auto' or a positive number" in errors
    assert "--bit_depth must be 8 or 16" in errors and "--tile_size" in errors
    assert "no input" in errors and "--faithful means float32 without XLA" in errors
    assert not (tmp_path / "out").exists()


def test_missing_input_and_output_name_clash(tmp_path, weights, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _bayer(tmp_path / "a" / "same.dng")
    second = _bayer(tmp_path / "b" / "same.dng", seed=3)
    status = _main(first, second, tmp_path / "missing.dng", f"--weights={weights['sony']}",
                   f"--output_dir={tmp_path / 'out'}", "--ratio=50")
    captured = capsys.readouterr()
    assert status == 1
    assert os.listdir(tmp_path / "out") == ["same_sid.png"]
    assert "would overwrite that of" in captured.out
    assert "missing.dng: FAILED: no such file or folder" in captured.err


def test_xtrans_file_through_fuji_weights(tmp_path, weights, capsys):
    photo = _xtrans(tmp_path / "DSCF0001.dng")
    bayer = _bayer(tmp_path / "bayer.dng")
    status = _main(photo, bayer, f"--weights={weights['fuji']}",
                   f"--output_dir={tmp_path / 'out'}")
    captured = capsys.readouterr()
    assert status == 1
    assert "Bayer sensor needs Sony weights" in captured.out
    image = _png(tmp_path / "out" / "DSCF0001_sid.png")
    assert image.shape == (96, 96, 3)  # packed (32, 32, 9) times 3
    assert os.listdir(tmp_path / "out") == ["DSCF0001_sid.png"]


def test_empty_folder_exits_1(tmp_path, weights, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no photos")
    assert _main(tmp_path / "empty", f"--weights={weights['sony']}",
                 f"--output_dir={tmp_path / 'out'}") == 1
    assert "no raw files" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The library functions.


def test_auto_ratio_definition():
    rng = np.random.default_rng(0)
    packed = rng.uniform(0, 0.002, (40, 60, 4)).astype(np.float32)
    ratio, level = enhance.auto_ratio(packed)
    np.testing.assert_allclose(level, np.minimum(packed, np.percentile(packed, 99)).mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(ratio, enhance.AUTO_TARGET / level, rtol=1e-6)
    # A few saturated lamps barely change it; darker means larger; the range is [1, 300].
    lamps = packed.copy()
    lamps[:2, :3] = 1.0
    assert enhance.auto_ratio(lamps)[0] == pytest.approx(ratio, rel=0.02)
    assert enhance.auto_ratio(packed / 2)[0] == pytest.approx(2 * ratio, rel=1e-5)
    assert enhance.auto_ratio(np.zeros((8, 8, 4)))[0] == 300
    assert enhance.auto_ratio(packed / 1000)[0] == 300
    assert enhance.auto_ratio(np.full((8, 8, 4), 0.5))[0] == 1
    assert enhance.auto_ratio(packed, target=0.2)[0] == pytest.approx(2 * ratio, rel=1e-6)


def test_collect_inputs(tmp_path):
    (tmp_path / "b.ARW").write_bytes(b"x")
    (tmp_path / "a.raf").write_bytes(b"x")
    (tmp_path / "c.Cr3").write_bytes(b"x")
    (tmp_path / "._a.arw").write_bytes(b"x")  # macOS metadata: hidden, skipped
    (tmp_path / "d.jpg").write_bytes(b"x")
    (tmp_path / "sub.dng").mkdir()
    files, problems, _ = enhance.collect_inputs([tmp_path, tmp_path / "b.ARW", tmp_path / "d.jpg",
                                                 tmp_path / "nope"])
    names = [os.path.basename(f) for f in files]
    assert names == ["a.raf", "b.ARW", "c.Cr3", "d.jpg"]
    assert problems == [(tmp_path / "nope", "no such file or folder")]


@pytest.mark.parametrize("orientation, flip", [(3, 3), (6, 6), (8, 5)])
def test_orientation_follows_librarw(tmp_path, models, orientation, flip):
    path = _bayer(tmp_path / "turned.dng", signal=300)
    plain = render_ground_truth(path)
    _set_orientation(path, orientation)
    with rawpy.imread(path) as raw:
        assert raw.sizes.flip == flip
    turned = render_ground_truth(path)
    np.testing.assert_array_equal(enhance.apply_orientation(plain, flip), turned)
    np.testing.assert_array_equal(enhance.apply_orientation(turned, flip, inverse=True), plain)

    predictor = make_predictor(models["sony"], tile_size=None)
    result = enhance.enhance_file(path, predictor, "sony", str(tmp_path), ratio=1,
                                  options=enhance.OutputOptions(compare=True))
    expected = (W, H) if flip & 4 else (H, W)
    assert result.size == expected
    assert _png(tmp_path / "turned_compare.png").shape == (expected[0], 2 * expected[1], 3)
    result = enhance.enhance_file(path, predictor, "sony", str(tmp_path), ratio=1,
                                  options=enhance.OutputOptions(compare=True, orient=False))
    assert result.size == (H, W)
    assert _png(tmp_path / "turned_compare.png").shape == (H, 2 * W, 3)


def test_enhance_file_matches_the_network_on_amplified_input(tmp_path, models):
    path = _bayer(tmp_path / "x.dng", "BGGR")
    predictor = make_predictor(models["sony"], tile_size=None)
    result = enhance.enhance_file(path, predictor, "sony", str(tmp_path), ratio=250,
                                  options=enhance.OutputOptions(bit_depth=16))
    from sid_tf2.raw import pack_bayer, read_raw

    with read_raw(path) as raw:
        packed = pack_bayer(raw)
    expected = np.clip(models["sony"](np.minimum(packed * 250, 1)[None]).numpy()[0], 0, 1)
    written = _png(tmp_path / "x_sid.png").astype(np.float64) / 65535
    np.testing.assert_allclose(written, expected, atol=1 / 65535 + 1e-6)
    assert result.ratio == 250 and not result.auto and result.sensor == "Bayer"


def test_compare_image_scales_the_rendering_to_the_output_mean():
    rendered = np.full((4, 6, 3), 0.1, np.float32)
    output = np.full((5, 5, 3), 0.3, np.float32)
    image = enhance.compare_image(rendered, output)
    assert image.shape == (4, 10, 3)
    np.testing.assert_allclose(image, 0.3, rtol=1e-6)


def test_unsupported_sensors_are_named(tmp_path, models):
    from sid_tf2.dng import write_linear_dng

    linear = tmp_path / "linear.dng"
    write_linear_dng(linear, np.full((64, 64, 3), 1000, np.uint16))
    mono = tmp_path / "mono.dng"
    write_linear_dng(mono, np.full((64, 64), 1000, np.uint16))
    cmyg = tmp_path / "cmyg.dng"
    write_dng(cmyg, np.full((64, 64), 1000, np.uint16), cfa_pattern="CYGM",
              color_matrix=np.eye(4, 3))
    predictor = make_predictor(models["sony"], tile_size=None)
    reasons = {linear: "no colour mosaic", mono: "monochrome", cmyg: "4-colour"}
    for path, reason in reasons.items():
        with pytest.raises(RawFileError, match=re.escape(reason)) as error:
            enhance.enhance_file(path, predictor, "sony", str(tmp_path))
        assert str(error.value).startswith(str(path))
    assert sorted(os.listdir(tmp_path)) == ["cmyg.dng", "linear.dng", "mono.dng"]


# ---------------------------------------------------------------------------------------------
# A photographer's session: metadata, orientation, the default folder, no overwriting.

SHOT = dict(make="Kodak", model="DC50", date_time="2024:05:06 21:08:09", exposure_time=1 / 30,
            f_number=2.8, iso=1600, focal_length=35, lens_model="Zoom 8-24mm",
            gps=(48.8584, -2.2945, 35.5))


def _camera_file(path, pattern="RGGB", orientation=6, **shot):
    """A dark raw file that carries a camera's metadata and an orientation (6: turn clockwise)."""
    rng = np.random.default_rng(5)
    mosaic = 512 + rng.poisson(40, (H, W))
    mosaic[: H // 4] += 120
    if len(pattern) == 36:
        mosaic += 512
    write_dng(path, mosaic.astype(np.uint16),
              cfa_pattern=pattern if len(pattern) == 4 else SID_XTRANS_PATTERN,
              black_level=512 if len(pattern) == 4 else 1024, orientation=orientation,
              **dict(SHOT, **shot))
    return str(path)


def _exif_of(path):
    """(IFD 0, Exif IFD, GPS IFD) as Pillow reads them from a PNG, JPEG or TIFF."""
    from PIL import Image

    with Image.open(path) as image:
        exif = image.getexif()
        return dict(exif), dict(exif.get_ifd(0x8769)), dict(exif.get_ifd(0x8825))


def _assert_shot_metadata(path, ratio_text, orientation=1):
    ifd0, exif, gps = _exif_of(path)
    assert ifd0[271] == "Kodak" and ifd0[272] == "DC50", path
    assert ifd0[306] == "2024:05:06 21:08:09" and ifd0[274] == orientation
    assert ifd0[305].startswith("sid-enhance") and ratio_text in ifd0[305]
    assert exif[33434] == pytest.approx(1 / 30) and exif[33437] == pytest.approx(2.8)
    assert exif[34855] == 1600 and exif[37386] == pytest.approx(35)
    assert exif[42036] == "Zoom 8-24mm" and exif[36867] == "2024:05:06 21:08:09"
    assert gps[1] == "N" and gps[3] == "W" and gps[6] == pytest.approx(35.5)
    degrees, minutes, seconds = gps[2]
    assert degrees + minutes / 60 + seconds / 3600 == pytest.approx(48.8584, abs=1e-5)


_START_UP_NOISE = ("cuInit", "cuda", "I0000", "E0000", "W0000", "absl::InitializeLog",
                   "oneDNN custom operations", "cpu_feature_guard", "rebuild TensorFlow")


def test_photographers_session_default_folder_metadata_upright_and_quiet(tmp_path, weights):
    """The README's first example: no --output_dir, two Bayer layouts, JPEG with --compare."""
    _camera_file(tmp_path / "IMG_1.dng", "RGGB")
    _camera_file(tmp_path / "IMG_2.dng", "GBRG", orientation=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    result = subprocess.run(
        [sys.executable, "-m", "sid_tf2.enhance", "IMG_1.dng", "IMG_2.dng",
         f"--weights={weights['sony']}", "--ratio=100", "--compare", "--format=jpeg",
         "--quality=90"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "output in enhanced/" in result.stdout
    assert sorted(os.listdir(tmp_path / "enhanced")) == [
        "IMG_1_compare.jpg", "IMG_1_sid.jpg", "IMG_2_compare.jpg", "IMG_2_sid.jpg"]
    # Only the program's own lines: no TensorFlow, absl or CUDA start-up lines.
    assert result.stderr == ""
    for noise in _START_UP_NOISE:
        assert noise not in result.stdout, result.stdout
    assert all(line.startswith(("sid-enhance: ", "1/2 ", "2/2 "))
               for line in result.stdout.splitlines()), result.stdout
    from PIL import Image

    for stem, size in (("IMG_1", (H, W)), ("IMG_2", (W, H))):  # PIL sizes are (width, height)
        for kind, width_factor in (("sid", 1), ("compare", 2)):
            path = tmp_path / "enhanced" / f"{stem}_{kind}.jpg"
            with Image.open(path) as image:
                assert image.format == "JPEG"
                assert image.size == (size[0] * width_factor, size[1])  # IMG_1 turned upright
            _assert_shot_metadata(path, "ratio 100 (given)")


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path, weights, capsys):
    photo = _camera_file(tmp_path / "IMG_3.dng", "GRBG")
    _bayer(tmp_path / "new.dng")
    output = tmp_path / "out"
    common = [f"--weights={weights['sony']}", f"--output_dir={output}", "--ratio=50"]
    assert _main(photo, *common) == 0
    first = (output / "IMG_3_sid.png").read_bytes()
    (output / "IMG_3_sid.png").write_bytes(b"a photographer's own edit")
    capsys.readouterr()
    assert _main(photo, tmp_path / "new.dng", *common) == 0
    out = capsys.readouterr().out
    assert (output / "IMG_3_sid.png").read_bytes() == b"a photographer's own edit"
    assert re.search(r"^1/2 IMG_3\.dng: skipped: \S+IMG_3_sid\.png already exists", out, re.M)
    assert "1 file(s) skipped because their outputs exist" in out and "IMG_3.dng" in out
    assert (output / "new_sid.png").exists()
    assert _main(photo, *common, "--overwrite") == 0
    assert (output / "IMG_3_sid.png").read_bytes() == first
    _assert_shot_metadata(output / "IMG_3_sid.png", "ratio 50 (given)")


@pytest.mark.parametrize("image_format, bit_depth", [("png", 8), ("png", 16), ("tiff", 16),
                                                     ("tiff", 8), ("jpeg", 8)])
def test_every_format_keeps_metadata_and_compares(tmp_path, models, image_format, bit_depth):
    path = _camera_file(tmp_path / "DSC_9.dng", "BGGR")  # orientation 6
    predictor = make_predictor(models["sony"], tile_size=None)
    result = enhance.enhance_file(path, predictor, "sony", str(tmp_path / "out"), ratio="auto",
                                  options=enhance.OutputOptions(bit_depth=bit_depth, image_format=image_format,
                                                                compare=True, quality=70))
    assert result.size == (W, H)
    extension = enhance.FORMAT_EXTENSIONS[image_format]
    assert [os.path.basename(p) for p in result.outputs] == [f"DSC_9_sid{extension}",
                                                             f"DSC_9_compare{extension}"]
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    for output, width in zip(result.outputs, (H, 2 * H)):
        if image_format == "tiff":
            image = tifffile.imread(output)
        elif image_format == "png":
            image = _png(output)
        else:
            image = tf.io.decode_jpeg(tf.io.read_file(output)).numpy()
        assert image.dtype == dtype and image.shape == (W, width, 3), output
        _assert_shot_metadata(output, f"ratio {result.ratio:.4g} (auto)")
    if image_format == "tiff":  # tifffile: the exact rationals, in the Exif directory
        with tifffile.TiffFile(result.outputs[0]) as tif:
            exif = tif.pages.first.tags["ExifTag"].value
        assert exif["ExposureTime"] == (1, 30) and exif["FNumber"] == (14, 5)


def test_noorient_records_the_cameras_orientation(tmp_path, models):
    path = _camera_file(tmp_path / "side.dng", "RGGB", orientation=8)
    predictor = make_predictor(models["sony"], tile_size=None)
    result = enhance.enhance_file(path, predictor, "sony", str(tmp_path), ratio=20,
                                  options=enhance.OutputOptions(orient=False))
    assert result.size == (H, W)
    _assert_shot_metadata(result.outputs[0], "ratio 20", orientation=8)


def test_xtrans_file_keeps_metadata_and_turns_upright(tmp_path, models):
    rng = np.random.default_rng(2)
    path = tmp_path / "DSCF1.dng"
    write_dng(path, (1024 + rng.poisson(60, (96, 192))).astype(np.uint16),
              cfa_pattern=SID_XTRANS_PATTERN, black_level=1024, orientation=6, **SHOT)
    predictor = make_predictor(models["fuji"], tile_size=None)
    result = enhance.enhance_file(path, predictor, "fuji", str(tmp_path), ratio=100,
                                  options=enhance.OutputOptions(image_format="tiff", bit_depth=16))
    assert result.sensor == "X-Trans" and result.size == (192, 96)
    assert tifffile.imread(result.outputs[0]).shape == (192, 96, 3)
    _assert_shot_metadata(result.outputs[0], "ratio 100 (given)")


def test_metadata_of_a_file_without_any(tmp_path):
    from sid_tf2.exif import read_photo_metadata

    plain = _bayer(tmp_path / "plain.dng", exposure=None, iso=None)
    metadata = read_photo_metadata(plain)
    assert metadata.ifd0 == {271: "sid-tf2", 272: "Synthetic"}
    assert metadata.exif == {} and metadata.gps == {}
    (tmp_path / "x.txt").write_text("not a raw file")
    assert read_photo_metadata(tmp_path / "x.txt").ifd0 == {}


# ---------------------------------------------------------------------------------------------
# load_model_weights.


def _same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.fixture(scope="module")
def fuji_formats(tmp_path_factory, models, weights):
    """The Fuji network in every format: .weights.h5, .keras, TF1 prefix and dir, result_dir."""
    root = tmp_path_factory.mktemp("formats")
    keras_file = root / "fuji.keras"
    models["fuji"].save(keras_file)
    prefix = save_tf1_checkpoint(models["fuji"], root / "tf1" / "model.ckpt")
    result_dir = root / "result_dir"
    result_dir.mkdir()
    shutil.copy(weights["fuji"], result_dir / "model.weights.h5")
    return {
        "weights.h5": weights["fuji"],
        "keras": str(keras_file),
        "tf1 prefix": prefix,
        "tf1 index": prefix + ".index",
        "tf1 dir": str(root / "tf1"),
        "result_dir": str(result_dir),
    }


@pytest.mark.parametrize("form", ["weights.h5", "keras", "tf1 prefix", "tf1 index", "tf1 dir",
                                  "result_dir"])
def test_load_each_format(fuji_formats, models, form):
    model, camera = load_model_weights(fuji_formats[form])
    assert camera == "fuji" and model.input_shape[-1] == 9
    assert _same_weights(model, models["fuji"])
    with pytest.raises(WeightsError, match="holds Fuji .* but Sony .* asked for") as error:
        load_model_weights(fuji_formats[form], camera="sony")
    assert os.path.basename(error.value.path) in str(error.value)


def test_load_sony_in_mixed_precision(weights, models):
    model, camera = load_model_weights(weights["sony"], camera="SONY", precision="mixed_bfloat16")
    assert camera == "sony"
    assert model.get_layer("g_conv1_1").dtype_policy.name == "mixed_bfloat16"
    assert _same_weights(model, models["sony"])
    assert find_weights(weights["sony"]).camera == "sony"


def test_wrong_camera_names_the_file(weights):
    with pytest.raises(WeightsError) as error:
        load_model_weights(weights["sony"], camera="fuji")
    assert str(error.value).startswith(weights["sony"] + ": holds Sony (Bayer")


def test_missing_and_corrupt_weights(tmp_path, weights):
    cases = {}
    cases["missing.weights.h5"] = "no such file"
    cases["missing"] = "no such file or directory"
    truncated = tmp_path / "truncated.weights.h5"
    truncated.write_bytes(open(weights["sony"], "rb").read()[:100_000])
    cases[truncated.name] = "truncated or corrupt"
    (tmp_path / "garbage.keras").write_bytes(b"not a zip file at all")
    cases["garbage.keras"] = "truncated or corrupt"
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    cases["other.keras"] = "without model.weights.h5"
    dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    dense.save_weights(tmp_path / "dense.weights.h5")
    cases["dense.weights.h5"] = "not SID U-Net weights"
    (tmp_path / "empty_dir").mkdir()
    cases["empty_dir"] = "a directory without weights"
    (tmp_path / "old.h5").write_bytes(b"x")
    cases["old.h5"] = "legacy .h5"
    prefix = save_tf1_checkpoint(sid_tf2.build_unet("sony"), tmp_path / "index_only" / "model.ckpt")
    for shard in tf.io.gfile.glob(prefix + ".data-*"):
        os.remove(shard)  # the published index without its downloaded data
    cases["index_only"] = "data shard"
    for name, reason in cases.items():
        path = str(tmp_path / name)
        with pytest.raises(WeightsError, match=re.escape(reason)) as error:
            load_model_weights(path)
        assert path in str(error.value) or error.value.path.startswith(path), (name, error.value)
