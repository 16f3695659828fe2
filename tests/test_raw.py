"""Reading raw files, SID's packings, exposure ratios and ground truth, on real tiny DNG files."""

import io
import pickle
import warnings

import numpy as np
import pytest
import rawpy

from sid_tf2 import dng
from sid_tf2 import raw as sid_raw
from sid_tf2.raw import RawFileError

H, W = 64, 96
BAYER = {"RGGB": [[0, 1], [1, 2]], "BGGR": [[2, 1], [1, 0]],
         "GRBG": [[1, 0], [2, 1]], "GBRG": [[1, 2], [0, 1]]}
XTRANS = np.array([[0, 2, 1, 2, 0, 1], [1, 1, 0, 1, 1, 2], [1, 1, 2, 1, 1, 0],
                   [2, 0, 1, 0, 2, 1], [1, 1, 2, 1, 1, 0], [1, 1, 0, 1, 1, 2]])


# ---------------------------------------------------------------------------------------------
# The original's formulas, written out from ORIGINAL.md independently of sid_tf2.raw.


def original_sony(mosaic):
    im = mosaic.astype(np.float32)
    im = np.maximum(im - 512, 0) / (16383 - 512)
    im = np.expand_dims(im, axis=2)
    h, w = im.shape[:2]
    return np.concatenate((im[0:h:2, 0:w:2, :], im[0:h:2, 1:w:2, :],
                           im[1:h:2, 1:w:2, :], im[1:h:2, 0:w:2, :]), axis=2)


def original_fuji(mosaic):
    im = mosaic.astype(np.float32)
    im = np.maximum(im - 1024, 0) / (16383 - 1024)
    h, w = (im.shape[0] // 6) * 6, (im.shape[1] // 6) * 6
    out = np.zeros((h // 3, w // 3, 9))
    out[0::2, 0::2, 0] = im[0:h:6, 0:w:6]
    out[0::2, 1::2, 0] = im[0:h:6, 4:w:6]
    out[1::2, 0::2, 0] = im[3:h:6, 1:w:6]
    out[1::2, 1::2, 0] = im[3:h:6, 3:w:6]
    out[0::2, 0::2, 1] = im[0:h:6, 2:w:6]
    out[0::2, 1::2, 1] = im[0:h:6, 5:w:6]
    out[1::2, 0::2, 1] = im[3:h:6, 2:w:6]
    out[1::2, 1::2, 1] = im[3:h:6, 5:w:6]
    out[0::2, 0::2, 2] = im[0:h:6, 1:w:6]
    out[0::2, 1::2, 2] = im[0:h:6, 3:w:6]
    out[1::2, 0::2, 2] = im[3:h:6, 0:w:6]
    out[1::2, 1::2, 2] = im[3:h:6, 4:w:6]
    out[0::2, 0::2, 3] = im[1:h:6, 2:w:6]
    out[0::2, 1::2, 3] = im[2:h:6, 5:w:6]
    out[1::2, 0::2, 3] = im[5:h:6, 2:w:6]
    out[1::2, 1::2, 3] = im[4:h:6, 5:w:6]
    out[0::2, 0::2, 4] = im[2:h:6, 2:w:6]
    out[0::2, 1::2, 4] = im[1:h:6, 5:w:6]
    out[1::2, 0::2, 4] = im[4:h:6, 2:w:6]
    out[1::2, 1::2, 4] = im[5:h:6, 5:w:6]
    out[:, :, 5] = im[1:h:3, 0:w:3]
    out[:, :, 6] = im[1:h:3, 1:w:3]
    out[:, :, 7] = im[2:h:3, 0:w:3]
    out[:, :, 8] = im[2:h:3, 1:w:3]
    return out


# ---------------------------------------------------------------------------------------------
# Helpers.


def random_mosaic(seed=0, shape=(H, W), high=16384):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.uint16)


def scene_planes(seed=1):
    """One scene as the four planes R, G (red rows), B, G2 (blue rows) of a Bayer sensor."""
    return np.random.default_rng(seed).integers(0, 16384, (4, H // 2, W // 2)).astype(np.uint16)


def mosaic_of(planes, phase):
    """Lay the planes R, G, B, G2 out as a mosaic of the given Bayer phase."""
    letters = np.array(list(phase)).reshape(2, 2)
    (rr, rc), = np.argwhere(letters == "R")
    positions = {"R": (rr, rc), "G": (rr, 1 - rc), "B": (1 - rr, 1 - rc), "G2": (1 - rr, rc)}
    mosaic = np.zeros((H, W), np.uint16)
    for plane, channel in zip(planes, ("R", "G", "B", "G2")):
        r, c = positions[channel]
        mosaic[r::2, c::2] = plane
    return mosaic, positions


def expected_planes(planes, blacks, white):
    """max(x - black, 0) / (white - black) per channel, float32, channels last."""
    out = [np.maximum(p.astype(np.float32) - np.float32(b), 0) / np.float32(white - b)
           for p, b in zip(planes, blacks)]
    return np.stack(out, axis=-1)


def write(tmp_path, name, mosaic, **kwargs):
    path = tmp_path / name
    dng.write_dng(path, mosaic, **kwargs)
    return path


# ---------------------------------------------------------------------------------------------
# Sony / Bayer packing.


def test_pack_sony_is_the_original_on_a_dng_and_on_arrays(tmp_path):
    mosaic = random_mosaic()
    path = write(tmp_path, "00001_00_0.1s.ARW", mosaic, cfa_pattern="RGGB")
    with sid_raw.read_raw(path) as raw:
        packed = sid_raw.pack_sony(raw)
    assert packed.dtype == np.float32 and packed.shape == (H // 2, W // 2, 4)
    np.testing.assert_array_equal(packed, original_sony(mosaic))
    np.testing.assert_array_equal(sid_raw.pack_sony(mosaic), packed)
    np.testing.assert_array_equal(sid_raw.pack_sony(mosaic.astype(np.int32)), packed)
    np.testing.assert_array_equal(sid_raw.pack_sony(mosaic.astype(np.float64)), packed)
    assert packed.min() == 0 and packed.max() <= 1


def test_pack_sony_crops_odd_sizes_by_the_last_row_and_column():
    mosaic = random_mosaic(shape=(H + 1, W + 1))
    np.testing.assert_array_equal(sid_raw.pack_sony(mosaic), original_sony(mosaic[:H, :W]))


def test_pack_sony_refuses_other_bayer_phases(tmp_path):
    path = write(tmp_path, "bggr.dng", random_mosaic(), cfa_pattern="BGGR")
    with sid_raw.read_raw(path) as raw, pytest.raises(RawFileError, match="pack_bayer") as error:
        sid_raw.pack_sony(raw)
    assert "bggr.dng" in str(error.value) and "BGGR" in str(error.value)


def test_pack_bayer_equals_pack_sony_on_a_sony_like_file(tmp_path):
    path = write(tmp_path, "a.dng", random_mosaic(), cfa_pattern="RGGB", black_level=512,
                 white_level=16383)
    with sid_raw.read_raw(path) as raw:
        np.testing.assert_array_equal(sid_raw.pack_bayer(raw), sid_raw.pack_sony(raw))
        assert sid_raw.bayer_phase(raw) == "RGGB"


@pytest.mark.parametrize("phase", sorted(BAYER))
def test_pack_bayer_gives_the_same_planes_for_every_phase(tmp_path, phase):
    planes = scene_planes()
    mosaic, _ = mosaic_of(planes, phase)
    path = write(tmp_path, f"{phase}.dng", mosaic, cfa_pattern=phase, black_level=512,
                 white_level=16383)
    with sid_raw.read_raw(path) as raw:
        assert sid_raw.bayer_phase(raw) == phase
        packed = sid_raw.pack_bayer(raw)
    np.testing.assert_array_equal(packed, expected_planes(planes, [512] * 4, 16383))
    # The same for the bare array with the pattern given.
    np.testing.assert_array_equal(
        sid_raw.pack_bayer(mosaic, 512, 16383, pattern=phase), packed)
    np.testing.assert_array_equal(
        sid_raw.pack_bayer(mosaic, 512, 16383, pattern=np.array(BAYER[phase])), packed)


@pytest.mark.parametrize("phase", sorted(BAYER))
def test_pack_bayer_honours_per_channel_black_levels(tmp_path, phase):
    planes = scene_planes(2)
    mosaic, positions = mosaic_of(planes, phase)
    # Black levels per 2x2 position in raster order, as the DNG stores them.
    by_position = {(0, 0): 500, (0, 1): 510, (1, 0): 520, (1, 1): 530}
    path = write(tmp_path, f"{phase}.dng", mosaic, cfa_pattern=phase,
                 black_level=[by_position[p] for p in sorted(by_position)], white_level=15000)
    blacks = [by_position[tuple(positions[c])] for c in ("R", "G", "B", "G2")]
    expected = expected_planes(planes, blacks, 15000)
    with sid_raw.read_raw(path) as raw:
        np.testing.assert_array_equal(sid_raw.pack_bayer(raw), expected)
        # Explicit levels override the file's.
        np.testing.assert_array_equal(sid_raw.pack_bayer(raw, 0, 1000),
                                      expected_planes(planes, [0] * 4, 1000))
    np.testing.assert_array_equal(
        sid_raw.pack_bayer(mosaic, [by_position[p] for p in sorted(by_position)], 15000,
                           pattern=phase), expected)


def test_pack_bayer_on_arrays_needs_metadata():
    with pytest.raises(ValueError, match="pattern"):
        sid_raw.pack_bayer(random_mosaic())
    with pytest.raises(ValueError, match="white_level"):
        sid_raw.pack_bayer(random_mosaic(), 512, pattern="RGGB")
    with pytest.raises(ValueError, match="pack_xtrans"):
        sid_raw.pack_bayer(random_mosaic(), 512, 16383, pattern=XTRANS)
    with pytest.raises(ValueError, match="black levels"):
        sid_raw.pack_bayer(random_mosaic(), 512, 500, pattern="RGGB")


def test_pack_bayer_refuses_xtrans_and_four_colour_files(tmp_path):
    xtrans = write(tmp_path, "x.dng", random_mosaic(shape=(66, 96)), cfa_pattern=XTRANS,
                   black_level=1024)
    with sid_raw.read_raw(xtrans) as raw, pytest.raises(RawFileError, match="pack_xtrans") as e:
        sid_raw.pack_bayer(raw)
    assert "x.dng" in str(e.value)
    cmyg = write(tmp_path, "cmyg.dng", random_mosaic(), cfa_pattern="CYGM",
                 color_matrix=np.full((4, 3), 0.3))
    with sid_raw.read_raw(cmyg) as raw:
        for pack in (sid_raw.pack_bayer, sid_raw.pack_sony, sid_raw.pack_xtrans):
            with pytest.raises(RawFileError, match="cmyg.dng.*(unsupported|pack_bayer)"):
                pack(raw)
        with pytest.raises(RawFileError, match="4-colour"):
            sid_raw.pack_bayer(raw)


# ---------------------------------------------------------------------------------------------
# X-Trans packing.


def test_pack_xtrans_is_the_original_table_on_arrays():
    mosaic = random_mosaic(shape=(70, 101))  # cropped to 66 x 96
    packed = sid_raw.pack_xtrans(mosaic)
    assert packed.dtype == np.float32 and packed.shape == (22, 32, 9)
    np.testing.assert_array_equal(packed, original_fuji(mosaic))


def test_pack_xtrans_covers_every_pixel_of_the_6x6_tile_once():
    # Each pixel value is its own index: every index of the cropped mosaic appears exactly once.
    mosaic = np.arange(1024, 1024 + 36 * 4, dtype=np.float64).reshape(12, 12)
    packed = sid_raw.pack_xtrans(mosaic) * (16383 - 1024) + 1024
    assert sorted(np.round(packed).astype(int).ravel()) == list(range(1024, 1024 + 144))


def test_pack_xtrans_on_an_xtrans_dng(tmp_path):
    mosaic = random_mosaic(shape=(66, 96))
    path = write(tmp_path, "00001_00_0.1s.RAF", mosaic, cfa_pattern=XTRANS, black_level=1024)
    with sid_raw.read_raw(path) as raw, warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(sid_raw.pack_xtrans(raw), original_fuji(mosaic))
    shifted = write(tmp_path, "shifted.dng", mosaic, cfa_pattern=np.roll(XTRANS, 1, axis=1),
                    black_level=1024)
    with sid_raw.read_raw(shifted) as raw, pytest.warns(RuntimeWarning, match="shifted.dng"):
        sid_raw.pack_xtrans(raw)


def test_pack_xtrans_refuses_bayer_files(tmp_path):
    path = write(tmp_path, "b.dng", random_mosaic(), cfa_pattern="RGGB")
    with sid_raw.read_raw(path) as raw, pytest.raises(RawFileError, match="b.dng.*pack_bayer"):
        sid_raw.pack_xtrans(raw)
    with pytest.raises(ValueError, match="6x6"):
        sid_raw.pack_xtrans(np.zeros((5, 30)))


# ---------------------------------------------------------------------------------------------
# Exposure.


@pytest.mark.parametrize(
    "name, exposure",
    [("00001_00_0.1s.ARW", 0.1), ("10003_00_0.04s.ARW", 0.04), ("20001_01_0.033s.RAF", 0.033),
     ("00001_00_10s.ARW", 10.0), ("00001_00_30s.dng", 30.0),
     ("/data/Sony/short/00001_00_0.1s.tiff", 0.1)],
)
def test_exposure_from_name(name, exposure):
    assert sid_raw.exposure_from_name(name) == exposure
    base = name.rsplit("/", 1)[-1]
    if len(base.rsplit(".", 1)[1]) == 3:  # where the original's slicing rule works, it agrees
        assert float(base[9:-5]) == exposure


def test_parse_sid_name():
    assert sid_raw.parse_sid_name("10003_02_0.04s.ARW") == (10003, 2, 0.04)


@pytest.mark.parametrize(
    "name", ["photo.ARW", "00001_00_0.1.ARW", "1_00_0.1s.ARW", "00001_0_0.1s.ARW",
             "00001_00_0s.ARW", "00001_00_0.1s", "00001_00_xs.ARW"])
def test_exposure_from_unparseable_names_names_the_file(name):
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        sid_raw.exposure_from_name(name)


@pytest.mark.parametrize("exposure, ratio", [(0.1, 100.0), (0.04, 250.0), (0.033, 300.0)])
def test_amplification_ratio(exposure, ratio):
    assert sid_raw.amplification_ratio(exposure, 10) == ratio
    assert type(sid_raw.amplification_ratio(exposure, 10)) is float
    assert sid_raw.amplification_ratio(exposure, 10) == min(10 / exposure, 300)


def test_amplification_ratio_caps_and_refuses_nonsense():
    assert sid_raw.amplification_ratio(0.1, 30) == 300.0
    assert sid_raw.amplification_ratio(10, 10) == 1.0
    with pytest.raises(ValueError):
        sid_raw.amplification_ratio(0, 10)
    with pytest.raises(ValueError):
        sid_raw.amplification_ratio(0.1, -1)


def test_read_exposure_time_from_metadata(tmp_path):
    path = write(tmp_path, "a.dng", random_mosaic(), cfa_pattern="RGGB", exposure_time=0.1)
    assert sid_raw.read_exposure_time(path) == 0.1
    path = write(tmp_path, "b.dng", random_mosaic(), cfa_pattern="RGGB")
    assert sid_raw.read_exposure_time(path) is None
    with pytest.raises(RawFileError, match="missing.dng"):
        sid_raw.read_exposure_time(tmp_path / "missing.dng")


# ---------------------------------------------------------------------------------------------
# Ground truth.


def test_render_ground_truth(tmp_path):
    neutral = np.array([0.5, 1.0, 0.8])
    colours = np.tile(np.array(BAYER["GRBG"]), (H // 2, W // 2))
    mosaic = np.round(512 + 3000 * neutral[colours]).astype(np.uint16)
    mosaic[: H // 2] = random_mosaic(3)[: H // 2]  # top half noise, bottom half a grey wall
    path = write(tmp_path, "00001_00_10s.ARW", mosaic, cfa_pattern="GRBG",
                 as_shot_neutral=neutral)
    with sid_raw.read_raw(path) as raw:
        gt = sid_raw.render_ground_truth(raw)
        gt16 = sid_raw.render_ground_truth_uint16(raw)
        reference = raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
                                    output_bps=16)
    assert gt.dtype == np.float32 and gt.shape == (H, W, 3)
    assert gt16.dtype == np.uint16 and gt16.shape == (H, W, 3)
    assert 0 <= gt.min() and gt.max() <= 1
    np.testing.assert_array_equal(gt16, reference)
    np.testing.assert_array_equal(gt, np.float32(reference / 65535.0))
    wall = gt[H // 2 + 8: -8, 8:-8].reshape(-1, 3)
    assert np.ptp(wall) < 3 / 65535  # grey
    assert 0.4 < wall.mean() < 0.5  # gamma applied once: 3000 / 15871 = 0.19 -> ~0.47
    np.testing.assert_array_equal(sid_raw.render_ground_truth(path), gt)  # a path works too


def test_render_ground_truth_names_the_file_when_libraw_cannot(tmp_path):
    path = write(tmp_path, "small_xtrans.dng", random_mosaic(shape=(66, 96)),
                 cfa_pattern=XTRANS, black_level=1024)
    with pytest.raises(RawFileError, match="small_xtrans.dng.*512"):
        sid_raw.render_ground_truth(path)


# ---------------------------------------------------------------------------------------------
# Reading and its errors.


def test_read_raw_is_a_context_manager_that_remembers_the_file(tmp_path):
    mosaic = random_mosaic()
    path = write(tmp_path, "a.dng", mosaic, cfa_pattern="RGGB")
    with sid_raw.read_raw(path) as raw:
        assert isinstance(raw, rawpy.RawPy) and raw.path == str(path)
        np.testing.assert_array_equal(raw.raw_image_visible, mosaic)
    with sid_raw.read_raw(str(path)) as raw:
        assert raw.raw_pattern.shape == (2, 2)


def jpeg_bytes():
    image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    image.new("RGB", (16, 16), (200, 100, 50)).save(buffer, "JPEG")
    return buffer.getvalue()


def bad_files(tmp_path):
    """Yield (path, words expected in the reason) for every kind of unusable file."""
    good = write(tmp_path, "good.dng", random_mosaic(), cfa_pattern="RGGB")
    data = good.read_bytes()
    yield tmp_path / "00001_00_0.1s.ARW", "no such file"
    (tmp_path / "dir.ARW").mkdir()
    yield tmp_path / "dir.ARW", "directory"
    (tmp_path / "empty.ARW").write_bytes(b"")
    yield tmp_path / "empty.ARW", "empty"
    for cut in (len(data) - 100, len(data) // 2, 300, 40):
        path = tmp_path / f"truncated_{cut}.dng"
        path.write_bytes(data[:cut])
        yield path, "truncated" if cut > 40 else "not a raw file|truncated"
    (tmp_path / "photo.ARW").write_bytes(jpeg_bytes())
    yield tmp_path / "photo.ARW", "not a raw file that LibRaw can read"
    (tmp_path / "notes.ARW").write_text("exposure 0.1 s\n" * 20)
    yield tmp_path / "notes.ARW", "not a raw file that LibRaw can read"
    rng = np.random.default_rng(0)
    dng.write_linear_dng(tmp_path / "linear.dng", rng.integers(0, 60000, (H, W, 3)))
    yield tmp_path / "linear.dng", "no colour mosaic"
    dng.write_linear_dng(tmp_path / "mono.dng", rng.integers(0, 60000, (H, W)))
    yield tmp_path / "mono.dng", "monochrome"


def test_every_unusable_file_raises_rawfileerror_naming_file_and_reason(tmp_path):
    seen = 0
    for path, reason in bad_files(tmp_path):
        with pytest.raises(RawFileError, match=reason) as error:
            sid_raw.read_raw(path)
        assert path.name in str(error.value), str(error.value)
        assert error.value.path == str(path) and isinstance(error.value, ValueError)
        seen += 1
    assert seen == 11


def test_rawfileerror_pickles():
    error = pickle.loads(pickle.dumps(RawFileError("x/00001_00_0.1s.ARW", "truncated")))
    assert str(error) == "x/00001_00_0.1s.ARW: truncated" and error.reason == "truncated"


def test_constants():
    assert (sid_raw.SONY_BLACK, sid_raw.SONY_WHITE) == (512, 16383)
    assert (sid_raw.FUJI_BLACK, sid_raw.FUJI_WHITE) == (1024, 16383)
    np.testing.assert_array_equal(sid_raw.SID_XTRANS_PATTERN, XTRANS)
