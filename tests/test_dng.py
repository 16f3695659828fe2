"""The DNG writer: files rawpy / LibRaw reads back exactly, with the metadata SID relies on."""

import os
import struct

import numpy as np
import pytest
import rawpy

from sid_tf2 import dng

H, W = 64, 96
BAYER = {"RGGB": [[0, 1], [1, 2]], "BGGR": [[2, 1], [1, 0]],
         "GRBG": [[1, 0], [2, 1]], "GBRG": [[1, 2], [0, 1]]}
XTRANS = np.array([[0, 2, 1, 2, 0, 1], [1, 1, 0, 1, 1, 2], [1, 1, 2, 1, 1, 0],
                   [2, 0, 1, 0, 2, 1], [1, 1, 2, 1, 1, 0], [1, 1, 0, 1, 1, 2]])


def random_mosaic(seed=0, shape=(H, W)):
    return np.random.default_rng(seed).integers(0, 16384, shape).astype(np.uint16)


def scene_mosaic(pattern, rgb, black, shape=(H, W)):
    """A uniform scene: every pixel is black + the linear value of its CFA colour."""
    pattern = np.asarray(pattern)
    reps = (shape[0] // pattern.shape[0] + 1, shape[1] // pattern.shape[1] + 1)
    colours = np.tile(pattern, reps)[: shape[0], : shape[1]]
    return np.round(black + np.asarray(rgb, float)[colours]).astype(np.uint16)


def read_tags(path):
    """An independent minimal TIFF reader: {tag: (type, count, raw value bytes)} of IFD 0."""
    data = open(path, "rb").read()
    assert data[:4] == b"II*\0"
    (offset,) = struct.unpack("<I", data[4:8])

    def ifd(offset):
        (n,) = struct.unpack("<H", data[offset: offset + 2])
        tags = {}
        for i in range(n):
            entry = offset + 2 + 12 * i
            tag, typ, count = struct.unpack("<HHI", data[entry: entry + 8])
            size = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8}[typ] * count
            field = data[offset + 10 + 12 * i: offset + 14 + 12 * i]
            if size > 4:
                (at,) = struct.unpack("<I", field)
                field = data[at: at + size]
            tags[tag] = (typ, count, field[:size])
        return tags

    return data, ifd(offset), ifd


@pytest.mark.parametrize("phase", sorted(BAYER))
def test_bayer_phase_reads_back_exactly(tmp_path, phase):
    mosaic = random_mosaic()
    path = tmp_path / f"{phase}.dng"
    dng.write_dng(path, mosaic, cfa_pattern=phase)
    with rawpy.imread(str(path)) as raw:
        assert raw.raw_type == rawpy.RawType.Flat
        assert raw.raw_image_visible.dtype == np.uint16
        np.testing.assert_array_equal(raw.raw_image_visible, mosaic)
        assert raw.color_desc == b"RGBG"
        letters = np.array([[chr(raw.color_desc[i]) for i in row] for row in raw.raw_pattern])
        assert "".join(letters.ravel()) == phase
        # LibRaw calls the green on the blue rows 3, the one on the red rows 1.
        blue_row = int(np.argwhere(letters == "B")[0][0])
        greens = np.argwhere(letters == "G")
        assert {raw.raw_pattern[r, c] for r, c in greens if r == blue_row} == {3}
        assert {raw.raw_pattern[r, c] for r, c in greens if r != blue_row} == {1}
        assert raw.sizes.flip == 0


def test_array_pattern_equals_string_pattern(tmp_path):
    dng.write_dng(tmp_path / "a.dng", random_mosaic(), cfa_pattern=np.array(BAYER["GBRG"]))
    dng.write_dng(tmp_path / "b.dng", random_mosaic(), cfa_pattern="GBRG")
    assert (tmp_path / "a.dng").read_bytes() == (tmp_path / "b.dng").read_bytes()
    np.testing.assert_array_equal(dng.cfa_pattern_array("bggr"), BAYER["BGGR"])


def test_levels_read_back_per_colour(tmp_path):
    # Per-position blacks (raster order) come back per LibRaw colour index (R, G, B, G2).
    dng.write_dng(tmp_path / "a.dng", random_mosaic(), cfa_pattern="GRBG",
                  black_level=[500, 510, 520, 530], white_level=16000)
    with rawpy.imread(str(tmp_path / "a.dng")) as raw:
        assert raw.white_level == 16000
        per_colour = raw.black_level_per_channel
        for (r, c), black in zip([(0, 0), (0, 1), (1, 0), (1, 1)], [500, 510, 520, 530]):
            assert per_colour[raw.raw_pattern[r, c]] == black
    dng.write_dng(tmp_path / "b.dng", random_mosaic(), cfa_pattern="RGGB", black_level=512)
    with rawpy.imread(str(tmp_path / "b.dng")) as raw:
        assert raw.black_level_per_channel == [512] * 4
        assert raw.white_level == 16383


def test_as_shot_neutral_becomes_reciprocal_camera_whitebalance(tmp_path):
    dng.write_dng(tmp_path / "a.dng", random_mosaic(), cfa_pattern="RGGB",
                  as_shot_neutral=[0.5, 1.0, 0.8])
    with rawpy.imread(str(tmp_path / "a.dng")) as raw:
        np.testing.assert_allclose(raw.camera_whitebalance[:3], [2.0, 1.0, 1.25], rtol=1e-6)
    dng.write_dng(tmp_path / "b.dng", random_mosaic(), cfa_pattern="RGGB")
    with rawpy.imread(str(tmp_path / "b.dng")) as raw:
        assert raw.camera_whitebalance[0] == 0  # none stored: LibRaw falls back to daylight
        # The default colour matrix makes camera RGB linear sRGB: camera -> sRGB is identity.
        np.testing.assert_allclose(raw.color_matrix[:, :3], np.eye(3), atol=1e-5)


def test_exposure_and_iso_are_stored_where_libraw_and_exif_readers_find_them(tmp_path):
    path = tmp_path / "00001_00_0.1s.dng"
    dng.write_dng(path, random_mosaic(), cfa_pattern="RGGB", exposure_time=0.1, iso=200)
    with rawpy.imread(str(path)) as raw:
        assert raw.other.shutter_speed == pytest.approx(0.1, rel=1e-6)  # LibRaw keeps float32
        assert raw.other.iso_speed == 200
    assert dng.read_tiff_exposure_time(path) == 0.1  # the exact rational
    dng.write_dng(path, random_mosaic(), cfa_pattern="RGGB", exposure_time=1 / 30)
    assert dng.read_tiff_exposure_time(path) == 1 / 30
    dng.write_dng(path, random_mosaic(), cfa_pattern="RGGB")
    assert dng.read_tiff_exposure_time(path) is None
    (tmp_path / "note.txt").write_text("not a tiff")
    assert dng.read_tiff_exposure_time(tmp_path / "note.txt") is None


def test_required_tags_are_present_sorted_and_consistent(tmp_path):
    path = tmp_path / "a.dng"
    mosaic = random_mosaic()
    dng.write_dng(path, mosaic, cfa_pattern="BGGR", exposure_time=0.04, iso=100,
                  as_shot_neutral=[0.6, 1, 0.7], make="Acme", model="Dark 1")
    data, tags, ifd = read_tags(path)
    required = {254, 256, 257, 258, 259, 262, 271, 272, 273, 274, 277, 278, 279, 33421, 33422,
                34665, 50706, 50707, 50708, 50710, 50711, 50713, 50714, 50717, 50721, 50728, 50778}
    assert required <= set(tags)
    assert list(tags) == sorted(tags)

    def values(tag, fmt):
        return struct.unpack("<" + fmt * tags[tag][1], tags[tag][2])

    assert values(256, "I") == (W,) and values(257, "I") == (H,)
    assert values(258, "H") == (16,) and values(259, "H") == (1,) and values(277, "H") == (1,)
    assert values(262, "H") == (32803,) and values(274, "H") == (1,)
    assert tags[50706][2] == bytes([1, 4, 0, 0])
    assert tags[50708][2] == b"Acme Dark 1\0"
    assert values(33421, "H") == (2, 2) and tags[33422][2] == bytes([2, 1, 1, 0])
    assert values(50778, "H") == (21,)
    (offset,), (count,) = values(273, "I"), values(279, "I")
    assert count == H * W * 2 and offset + count == len(data)
    np.testing.assert_array_equal(
        np.frombuffer(data[offset: offset + count], "<u2").reshape(H, W), mosaic)
    exif = ifd(values(34665, "I")[0])
    assert struct.unpack("<II", exif[33434][2]) == (1, 25)
    assert struct.unpack("<H", exif[34855][2]) == (100,)


@pytest.mark.parametrize("phase", ["RGGB", "GBRG"])
def test_grey_scene_white_balanced_to_grey_renders_grey(tmp_path, phase):
    neutral = np.array([0.5, 1.0, 0.8])
    mosaic = scene_mosaic(BAYER[phase], 4000 * neutral, 512)
    dng.write_dng(tmp_path / "a.dng", mosaic, cfa_pattern=phase, as_shot_neutral=neutral)
    with rawpy.imread(str(tmp_path / "a.dng")) as raw:
        rgb = raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
                              output_bps=16)
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint16
    inner = rgb[8:-8, 8:-8].reshape(-1, 3).astype(int)
    assert inner.max() - inner.min() <= 2  # uniform and grey
    # 4000 / (16383 - 512) = 0.252 linear -> about 0.49 after the sRGB gamma.
    assert 0.45 < inner.mean() / 65535 < 0.53


def test_coloured_scene_keeps_its_colour(tmp_path):
    mosaic = scene_mosaic(BAYER["RGGB"], [6000, 1500, 500], 512)
    dng.write_dng(tmp_path / "a.dng", mosaic, cfa_pattern="RGGB", as_shot_neutral=[1, 1, 1])
    with rawpy.imread(str(tmp_path / "a.dng")) as raw:
        rgb = raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
                              output_bps=16)
    r, g, b = rgb[8:-8, 8:-8].reshape(-1, 3).mean(0)
    assert r > g > b


def test_xtrans_dng_reads_back_as_a_6x6_pattern(tmp_path):
    mosaic = random_mosaic(shape=(66, 96))
    dng.write_dng(tmp_path / "x.dng", mosaic, cfa_pattern=XTRANS, black_level=1024)
    with rawpy.imread(str(tmp_path / "x.dng")) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, mosaic)
        np.testing.assert_array_equal(raw.raw_pattern, XTRANS)
        assert raw.black_level_per_channel == [1024] * 4 and raw.white_level == 16383


def test_xtrans_demosaic_needs_512_pixels(tmp_path):
    """A LibRaw fact the dataset generator must know: small X-Trans files cannot be rendered."""
    neutral = np.array([0.5, 1.0, 0.8])
    for size, renders in [(510, False), (512, True)]:
        mosaic = scene_mosaic(XTRANS, 3000 * neutral, 1024, shape=(size, size))
        dng.write_dng(tmp_path / "x.dng", mosaic, cfa_pattern=XTRANS, black_level=1024,
                      as_shot_neutral=neutral)
        with rawpy.imread(str(tmp_path / "x.dng")) as raw:
            if renders:
                rgb = raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16)
                inner = rgb[16:-16, 16:-16].reshape(-1, 3).astype(int)
                assert inner.max() - inner.min() <= 2
            else:
                with pytest.raises(rawpy.LibRawIOError):
                    raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16)


def test_four_colour_pattern_is_read_as_four_colours(tmp_path):
    dng.write_dng(tmp_path / "c.dng", random_mosaic(), cfa_pattern="CYGM",
                  color_matrix=np.full((4, 3), 0.3))
    with rawpy.imread(str(tmp_path / "c.dng")) as raw:
        assert raw.num_colors == 4 and raw.raw_pattern.shape == (2, 2)
        assert raw.color_desc == b"GMCY"


def test_linear_and_monochrome_dngs_hold_no_mosaic(tmp_path):
    rng = np.random.default_rng(0)
    dng.write_linear_dng(tmp_path / "rgb.dng", rng.integers(0, 60000, (H, W, 3)))
    with rawpy.imread(str(tmp_path / "rgb.dng")) as raw:
        assert raw.raw_type == rawpy.RawType.Stack and raw.raw_pattern is None
    mono = rng.integers(0, 60000, (H, W))
    dng.write_linear_dng(tmp_path / "mono.dng", mono)
    with rawpy.imread(str(tmp_path / "mono.dng")) as raw:
        assert raw.raw_pattern.shape == (1, 1) and raw.num_colors == 1
        np.testing.assert_array_equal(raw.raw_image_visible, mono)


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "a.dng"
    dng.write_dng(path, random_mosaic(0), cfa_pattern="RGGB")
    before = path.read_bytes()
    dng.write_dng(path, random_mosaic(1), cfa_pattern="RGGB")  # replaces
    assert path.read_bytes() != before
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        dng.write_dng(path, random_mosaic(2), cfa_pattern="RGGB")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.dng"]  # no temporary file left behind


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(mosaic=np.zeros((H, W), np.float32)), TypeError, "integer"),
        (dict(mosaic=np.full((H, W), 70000)), ValueError, "65535"),
        (dict(mosaic=np.zeros((H, W, 3), np.uint16)), ValueError, "dimensions"),
        (dict(mosaic=np.zeros((20, W), np.uint16)), ValueError, "22 pixels"),
        (dict(cfa_pattern="RGB"), ValueError, "cfa_pattern"),
        (dict(cfa_pattern="RGGX"), ValueError, "cfa_pattern"),
        (dict(cfa_pattern="GGGG"), ValueError, "each of R, G and B"),
        (dict(cfa_pattern="CCMM"), ValueError, "3 or 4 distinct colours"),
        (dict(cfa_pattern=[[0, 1], [1, 7]]), ValueError, "colour indices"),
        (dict(black_level=16383), ValueError, "black_level"),
        (dict(black_level=[1, 2, 3]), ValueError, "black_level"),
        (dict(black_level=10.5), ValueError, "integers"),
        (dict(cfa_pattern=XTRANS, black_level=[1, 2, 3, 4]), ValueError, "2x2"),
        (dict(color_matrix=np.eye(4)), ValueError, "color_matrix"),
        (dict(cfa_pattern="CYGM"), ValueError, "color_matrix"),
        (dict(as_shot_neutral=[1, 0, 1]), ValueError, "as_shot_neutral"),
        (dict(exposure_time=0), ValueError, "exposure_time"),
        (dict(iso=0.5), ValueError, "iso"),
        (dict(color_matrix=np.eye(3), with_color_matrix=False), ValueError, "leaves it out"),
        (dict(compression="zip"), ValueError, "compression"),
        (dict(bits_per_sample=8), ValueError, "bits_per_sample"),
        (dict(tile=(20, 32)), ValueError, "multiples of 16"),
        (dict(active_area=(0, 0, 10, W)), ValueError, "active_area"),
        (dict(default_crop=(2, 2, H, W)), ValueError, "default_crop"),
    ],
)
def test_invalid_arguments_write_nothing(tmp_path, kwargs, error, match):
    arguments = dict(mosaic=random_mosaic(), cfa_pattern="RGGB")
    arguments.update(kwargs)
    mosaic = arguments.pop("mosaic")
    with pytest.raises(error, match=match):
        dng.write_dng(tmp_path / "a.dng", mosaic, **arguments)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("layout", [
    dict(big_endian=True), dict(tile=(32, 48)), dict(compression="lossless_jpeg"),
    dict(compression="lossless_jpeg", tile=(48, 32), big_endian=True),
    dict(bits_per_sample=8), dict(bits_per_sample=8, compression="lossless_jpeg", tile=(32, 32)),
])
def test_written_layouts_read_back_exactly(layout, tmp_path):
    white = 255 if layout.get("bits_per_sample") == 8 else 65535
    mosaic = np.random.default_rng(4).integers(0, white + 1, (H - 1, W - 3)).astype(np.uint16)
    mosaic[0, :4] = [0, white, 0, white // 2 + 1]  # the largest differences, both signs
    dng.write_dng(tmp_path / "f.dng", mosaic, cfa_pattern="GBRG", black_level=0, white_level=white,
                  **layout)
    with rawpy.imread(str(tmp_path / "f.dng")) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, mosaic)
        assert raw.raw_pattern.tolist() == [[3, 2], [0, 1]]  # G2 B / R G


def test_masked_borders_are_left_out_and_the_phase_follows_the_visible_area(tmp_path):
    mosaic = np.random.default_rng(5).integers(0, 16000, (70, 104)).astype(np.uint16)
    dng.write_dng(tmp_path / "m.dng", mosaic, cfa_pattern="RGGB", active_area=(4, 6, 68, 102),
                  default_crop=(2, 2, 58, 90))
    with rawpy.imread(str(tmp_path / "m.dng")) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, mosaic[4:68, 6:102])
        assert raw.raw_image.shape == (70, 104) and raw.raw_pattern.tolist() == [[0, 1], [3, 2]]
