"""sid-enhance's outputs in a photographer's workflow: the sRGB ICC profile in PNG, JPEG and
TIFF, and the linear DNG that LibRaw (so rawpy, darktable, RawTherapee) opens and renders back
to the PNG's pixels."""

import io

import numpy as np
import pytest
import rawpy
import tifffile
from PIL import Image, ImageCms
from test_enhance import SHOT, _camera_file, _png

import sid_tf2
from sid_tf2 import enhance
from sid_tf2.dng import write_linear_dng
from sid_tf2.enhance.linear import curve_parameters, linear_uint16, linearise
from sid_tf2.enhance.output import NEUTRAL, write_output
from sid_tf2.exif import PhotoMetadata
from sid_tf2.icc import ICC_PROFILE_TAG, srgb_profile
from sid_tf2.inference import make_predictor
from sid_tf2.metrics import quantise

# The bound, in 16-bit levels, between LibRaw's rendering of the DNG and the 16-bit PNG. The
# DNG keeps 16-bit linear samples; near black LibRaw's curve is a straight toe of slope 4.5, so
# one linear level spans 4.5 output levels: rounding to the nearest linear level is off by up
# to 2.25 of them, LibRaw's table (indexed by a linear level, values truncated) by up to 4.5
# more, and the PNG's own rounding by 0.5. Above the toe the slope is below 4.5. Measured: 7.
DNG_BOUND = 8
RENDER = dict(use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16)  # the original's


def _profile_description(data):
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(data))).strip()


@pytest.mark.parametrize("name, options", [("a.png", {}), ("b.png", {"png_level": 6}),
                                           ("c.jpg", {}), ("d.tif", {})])
def test_png_jpeg_and_tiff_carry_the_srgb_profile(tmp_path, name, options):
    image = np.arange(24 * 32 * 3, dtype=np.uint8).reshape(24, 32, 3)
    entries = PhotoMetadata(ifd0={271: "Kodak"}).entries(software="sid-enhance")
    write_output(str(tmp_path / name), image, entries, **options)
    with Image.open(tmp_path / name) as opened:
        assert opened.info["icc_profile"] == srgb_profile()
        assert opened.getexif()[271] == "Kodak"  # the Exif block is still read
    assert _profile_description(srgb_profile()) == "sRGB built-in"
    if name.endswith(".tif"):
        with tifffile.TiffFile(tmp_path / name) as tif:
            assert bytes(tif.pages.first.tags[ICC_PROFILE_TAG].value) == srgb_profile()
            np.testing.assert_array_equal(tif.asarray(), image)


def test_the_profile_is_the_same_bytes_in_every_process():
    # LittleCMS stamps the time of building; a fixed stamp keeps outputs reproducible.
    assert srgb_profile()[24:36] == bytes.fromhex("07ea00010001000000000000")


def test_the_curve_undone_is_bt709_s():
    x0, offset = curve_parameters()
    assert x0 == pytest.approx(0.018054, abs=1e-6) and offset == pytest.approx(0.099297, abs=1e-6)
    encoded = np.array([0.0, 4.5 * 0.01, 1.099297 * 0.5 ** 0.45 - 0.099297, 1.0], np.float32)
    np.testing.assert_allclose(linearise(encoded), [0.0, 0.01, 0.5, 1.0], rtol=1e-5, atol=1e-7)


def test_a_linear_dng_renders_back_to_the_encoded_image(tmp_path):
    rng = np.random.default_rng(0)
    encoded = rng.random((40, 48, 3), dtype=np.float32)
    encoded[0] = np.linspace(0, 1, 48)[:, None]
    encoded[1] = np.linspace(0, 0.1, 48)[:, None]  # the toe, where the bound is widest
    write_linear_dng(tmp_path / "x.dng", linear_uint16(encoded), as_shot_neutral=NEUTRAL)
    with rawpy.imread(str(tmp_path / "x.dng")) as raw:
        rendered = raw.postprocess(**RENDER).astype(np.int64)
    difference = rendered - quantise(encoded, np.uint16).astype(np.int64)
    assert np.abs(difference).max() <= DNG_BOUND


@pytest.fixture(scope="module")
def sony_predictor():
    return make_predictor(sid_tf2.build_unet("sony"), tile_size=None)


def _enhanced(path, predictor, folder, **options):
    folder.mkdir()
    enhance.enhance_file(path, predictor, "sony", str(folder), ratio=100,
                         options=enhance.OutputOptions(**options))
    return folder


@pytest.mark.parametrize("orient", [True, False])
def test_enhance_dng_opens_in_libraw_with_the_photo_s_metadata_and_renders_as_the_png(
        tmp_path, sony_predictor, orient):
    photo = _camera_file(tmp_path / "IMG_7.dng", orientation=6)
    png = _enhanced(photo, sony_predictor, tmp_path / "png", bit_depth=16) / "IMG_7_sid.png"
    dng = _enhanced(photo, sony_predictor, tmp_path / "dng", image_format="dng", orient=orient,
                    compare=True) / "IMG_7_sid.dng"
    assert (dng.parent / "IMG_7_compare.dng").exists()
    expected = _png(png)
    with rawpy.imread(str(dng)) as raw:
        assert raw.sizes.flip == (0 if orient else 6)  # upright pixels, or the camera's tag
        assert raw.other.iso_speed == SHOT["iso"]
        assert raw.other.shutter_speed == pytest.approx(SHOT["exposure_time"])
        rendered = raw.postprocess(**RENDER)
    assert rendered.shape == expected.shape == (128, 96, 3)  # turned clockwise
    assert np.abs(rendered.astype(np.int64) - expected.astype(np.int64)).max() <= DNG_BOUND
    with tifffile.TiffFile(dng) as tif:
        tags = tif.pages.first.tags
        assert tags["Make"].value == "Kodak" and tags["Model"].value == "DC50"
        assert tags["Software"].value.startswith("sid-enhance")
        assert tags["UniqueCameraModel"].value == "Kodak DC50"
        assert tags["GPSTag"].value["GPSLatitudeRef"] == "N"
        assert tags["ExifTag"].value["LensModel"] == "Zoom 8-24mm"


def test_a_dng_of_a_raw_file_without_metadata_names_sid_enhance(tmp_path):
    image = np.full((24, 32, 3), 0.5, np.float32)
    entries = PhotoMetadata().entries(software="sid-enhance", orientation=8)
    write_output(str(tmp_path / "x.dng"), linear_uint16(image), entries)
    with rawpy.imread(str(tmp_path / "x.dng")) as raw:
        assert raw.sizes.flip == 5  # Orientation 8: a quarter turn counter-clockwise
        rendered = raw.postprocess(**RENDER).astype(np.int64)
    assert rendered.shape == (32, 24, 3)  # turned
    assert np.ptp(rendered) <= 2  # grey stays grey, but for the matrix stored to ~6 digits
    assert abs(rendered[0, 0, 0] - 32768) <= DNG_BOUND
    with tifffile.TiffFile(tmp_path / "x.dng") as tif:
        assert tif.pages.first.tags["UniqueCameraModel"].value == "sid-enhance linear DNG"
