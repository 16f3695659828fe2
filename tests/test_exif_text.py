"""A photographer's name and copyright come out of sid-enhance as they went in, accents and all.

The raw file carries non-ASCII Artist and Copyright (IFD 0), Make (IFD 0) and LensModel (the
Exif directory); each output format must give back the same text.  Text fields are UTF-8 in
fields of type ASCII (see sid_tf2.exif): tifffile decodes them as UTF-8, Pillow as Latin-1, so
Pillow's strings are turned back into their bytes before decoding.
"""

import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from sid_tf2 import enhance, tiff
from sid_tf2.dng import write_dng
from sid_tf2.exif import read_photo_metadata

ARTIST, COPYRIGHT = "Zoë Ångström", "© 2026 Jürgen Weiß"
MAKE, LENS = "Ça Marche", "Ñoño 50 mm ƒ/1.4"
TEXT = {315: ARTIST, 33432: COPYRIGHT, 271: MAKE}  # IFD 0
LENS_MODEL = 42036  # Exif directory
H, W = 64, 96


def _raw_file(path, monkeypatch, typ=tiff.ASCII):
    """A DNG whose metadata holds the texts above; Artist and Copyright as fields of `typ`."""
    write_tiff = tiff.write_tiff
    text = [(315, typ, ARTIST), (33432, typ, COPYRIGHT)]
    if typ != tiff.ASCII:
        text = [(tag, typ, value.encode("utf-8")) for tag, typ, value in text]
    with monkeypatch.context() as patch:  # write_dng has no Artist or Copyright argument
        patch.setattr(tiff, "write_tiff", lambda target, entries, image, **directories: write_tiff(
            target, [*entries, *text], image, **directories))
        mosaic = 512 + np.random.default_rng(3).poisson(40, (H, W))
        write_dng(path, mosaic.astype(np.uint16), cfa_pattern="RGGB", exposure_time=0.1,
                  make=MAKE, lens_model=LENS)
    return str(path)


@pytest.fixture(name="decoded")
def decoded_fixture(tmp_path, monkeypatch):
    return enhance.decode_file(_raw_file(tmp_path / "IMG_7.dng", monkeypatch), "sony", ratio=10)


def _pillow_text(value):
    """The text Pillow read from an ASCII field: its Latin-1 characters are the bytes."""
    return value.encode("latin-1").decode("utf-8")


@pytest.mark.parametrize("image_format", ["png", "jpeg", "tiff"])
def test_non_ascii_text_survives_every_output_format(tmp_path, decoded, image_format):
    output = np.full((H, W, 3), 0.25, np.float32)
    result = enhance.write_results(decoded, output, str(tmp_path / "out"),
                                   enhance.OutputOptions(image_format=image_format))
    (path,) = result.outputs

    with Image.open(path) as image:
        exif = image.getexif()
        assert {tag: _pillow_text(exif[tag]) for tag in TEXT} == TEXT
        assert _pillow_text(exif.get_ifd(0x8769)[LENS_MODEL]) == LENS
        assert exif[272] == "Synthetic"  # ASCII text stays ASCII
        blob = image.info["exif"] if image_format != "tiff" else None

    # A reader that decodes UTF-8 (tifffile) gets the strings themselves: from the TIFF output,
    # and from the Exif structure that PNG's eXIf chunk and JPEG's APP1 segment hold.
    source = path if blob is None else io.BytesIO(blob.removeprefix(b"Exif\0\0"))
    with tifffile.TiffFile(source) as tif:
        tags = tif.pages.first.tags
        assert {tag: tags[tag].value for tag in TEXT} == TEXT
        assert tags["ExifTag"].value["LensModel"] == LENS


def test_text_is_an_ascii_field_holding_utf8_bytes():
    """Not Exif 3.0's UTF-8 type (129), which Pillow and tifffile skip."""
    blob = tiff.tiff_bytes([(315, tiff.ASCII, ARTIST)])
    assert ARTIST.encode("utf-8") + b"\0" in blob
    with tifffile.TiffFile(io.BytesIO(blob)) as tif:
        artist = tif.pages.first.tags[315]
        assert artist.dtype == tiff.ASCII and artist.value == ARTIST


def test_text_that_a_raw_file_stores_as_bytes_is_read_as_utf8(tmp_path, monkeypatch):
    """A camera that types its text fields UNDEFINED: tifffile gives bytes, decoded as UTF-8."""
    path = _raw_file(tmp_path / "IMG_8.dng", monkeypatch, typ=tiff.UNDEFINED)
    metadata = read_photo_metadata(path)
    assert (metadata.ifd0[315], metadata.ifd0[33432]) == (ARTIST, COPYRIGHT)
