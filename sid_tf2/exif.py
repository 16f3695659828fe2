"""A photo's metadata, read from its raw file and written into sid-enhance's images.

Photographers expect an enhanced image to keep what the camera recorded: who made it and with
what (Make, Model, lens), when (DateTime), how (exposure, aperture, ISO, focal length) and where
(GPS).  Raw converters such as rawtherapee-cli and darktable-cli keep it; rawpy does not.

Reading.  Most raw formats (DNG, ARW, NEF, CR2, PEF, SRW, ...) are TIFF files, and tifffile
reads their IFD 0 and its Exif and GPS directories with exact values (rationals stay
rationals).  TIFF/EP files may keep the Exif tags in IFD 0 itself; both places are read.  What a
file does not yield that way (a Fuji RAF, a CR3, a TIFF without Exif) is taken from LibRaw's
own reading (``raw.other``, ``raw.lens``): exposure, aperture, ISO, focal length, time, lens and
artist, as LibRaw's float32 numbers.

Only the tags listed below are copied: the camera's description of the shot.  Maker notes,
thumbnails and the raw file's own structure (strips, CFA, colour matrices) describe the raw
data, not the rendered image, and are left behind.

Writing.  :meth:`PhotoMetadata.entries` gives the IFD 0, Exif and GPS entries of an output
image for :mod:`sid_tf2.tiff`: Orientation 1 when the pixels were turned upright (or the raw
file's own orientation when they were not), and a Software tag naming sid-enhance and the
amplification ratio used.

Text.  Names are not all ASCII ("Zoë Ångström", "© 2026 Jürgen"), and a photographer's Artist
and Copyright must come out as they went in.  Every text field (type ASCII) is written as UTF-8
bytes, the same bytes as before for ASCII text.  Why not Exif 3.0's UTF-8 type (129), the
standard's own answer: readers that predate it skip such a field whole (Pillow 13 and tifffile
2026 do), so the name would be lost rather than shown oddly.  UTF-8 in an ASCII field keeps the
bytes in every reader; tifffile (as this module's reading) decodes it as UTF-8 first, and
Pillow returns it as Latin-1 text, from which ``text.encode("latin-1")`` gives the bytes back.
"""

from __future__ import annotations

import dataclasses
import datetime
from fractions import Fraction

import tifffile

from sid_tf2 import tiff
from sid_tf2.tiff import ASCII, BYTE, RATIONAL, SHORT, SRATIONAL, UNDEFINED

__all__ = ["PhotoMetadata", "exif_blob", "orientation_of_flip", "read_photo_metadata"]

IFD0_TAGS = {
    271: ("Make", ASCII),
    272: ("Model", ASCII),
    306: ("DateTime", ASCII),
    315: ("Artist", ASCII),
    33432: ("Copyright", ASCII),
}
"""IFD 0 tags kept: tag -> (name, type)."""

EXIF_TAGS = {
    33434: ("ExposureTime", RATIONAL),
    33437: ("FNumber", RATIONAL),
    34850: ("ExposureProgram", SHORT),
    34855: ("ISOSpeedRatings", SHORT),
    36867: ("DateTimeOriginal", ASCII),
    36868: ("DateTimeDigitized", ASCII),
    36880: ("OffsetTime", ASCII),
    36881: ("OffsetTimeOriginal", ASCII),
    36882: ("OffsetTimeDigitized", ASCII),
    37377: ("ShutterSpeedValue", SRATIONAL),
    37378: ("ApertureValue", RATIONAL),
    37380: ("ExposureBiasValue", SRATIONAL),
    37381: ("MaxApertureValue", RATIONAL),
    37383: ("MeteringMode", SHORT),
    37384: ("LightSource", SHORT),
    37385: ("Flash", SHORT),
    37386: ("FocalLength", RATIONAL),
    37521: ("SubsecTimeOriginal", ASCII),
    41986: ("ExposureMode", SHORT),
    41987: ("WhiteBalance", SHORT),
    41989: ("FocalLengthIn35mmFilm", SHORT),
    42033: ("BodySerialNumber", ASCII),
    42034: ("LensSpecification", RATIONAL),
    42035: ("LensMake", ASCII),
    42036: ("LensModel", ASCII),
    42037: ("LensSerialNumber", ASCII),
}
"""Exif tags kept (from the Exif IFD, or IFD 0 of a TIFF/EP file): tag -> (name, type)."""

GPS_TAGS = {
    0: ("GPSVersionID", BYTE),
    1: ("GPSLatitudeRef", ASCII),
    2: ("GPSLatitude", RATIONAL),
    3: ("GPSLongitudeRef", ASCII),
    4: ("GPSLongitude", RATIONAL),
    5: ("GPSAltitudeRef", BYTE),
    6: ("GPSAltitude", RATIONAL),
    7: ("GPSTimeStamp", RATIONAL),
    9: ("GPSStatus", ASCII),
    12: ("GPSSpeedRef", ASCII),
    13: ("GPSSpeed", RATIONAL),
    16: ("GPSImgDirectionRef", ASCII),
    17: ("GPSImgDirection", RATIONAL),
    18: ("GPSMapDatum", ASCII),
    29: ("GPSDateStamp", ASCII),
}
"""The GPS directory's tags kept: tag -> (name, type)."""

ORIENTATION = 274
SOFTWARE = 305
IMAGE_DESCRIPTION = 270
PHOTOMETRIC = 262
PHOTOMETRIC_RGB = 2

_ORIENTATION_OF_FLIP = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


def orientation_of_flip(flip):
    """The TIFF/Exif Orientation (1..8) that LibRaw's ``sizes.flip`` (0..7) stands for."""
    return _ORIENTATION_OF_FLIP[int(flip or 0) & 7]


@dataclasses.dataclass
class PhotoMetadata:
    """The kept tags of one photo: ``{tag: value}`` per directory, values as tiff takes them."""

    ifd0: dict = dataclasses.field(default_factory=dict)
    exif: dict = dataclasses.field(default_factory=dict)
    gps: dict = dataclasses.field(default_factory=dict)

    def entries(self, *, software, orientation=1, description=None):
        """``(ifd0, exif, gps)`` entry lists of an output image (RGB pixels)."""
        ifd0 = [(tag, IFD0_TAGS[tag][1], value) for tag, value in sorted(self.ifd0.items())]
        ifd0 += [(PHOTOMETRIC, SHORT, PHOTOMETRIC_RGB), (ORIENTATION, SHORT, orientation),
                 (SOFTWARE, ASCII, software)]
        if description:
            ifd0.append((IMAGE_DESCRIPTION, ASCII, description))
        exif = [(tag, EXIF_TAGS[tag][1], value) for tag, value in sorted(self.exif.items())]
        gps = [(tag, GPS_TAGS[tag][1], value) for tag, value in sorted(self.gps.items())]
        return sorted(ifd0), exif, gps


def exif_blob(entries):
    """The Exif structure (a TIFF without pixels) that PNG's eXIf chunk carries, from
    :meth:`PhotoMetadata.entries`; JPEG's APP1 carries it after ``b"Exif\\0\\0"``."""
    ifd0, exif, gps = entries
    ifd0 = [entry for entry in ifd0 if entry[0] != PHOTOMETRIC]  # no pixels to describe
    return tiff.tiff_bytes(ifd0, exif=exif, gps=gps)


# --------------------------------------------------------------------------------------------
# Reading.


def read_photo_metadata(path, raw=None):
    """The kept tags of the raw file `path`: from its TIFF structure, completed by LibRaw's
    reading of `raw` (an open rawpy object of the same file) when given.  Never raises for
    content: a file without metadata gives an empty PhotoMetadata."""
    metadata = _from_tiff(path)
    if raw is not None:
        _complete_from_libraw(metadata, raw)
    return metadata


def _from_tiff(path):
    metadata = PhotoMetadata()
    try:
        with tifffile.TiffFile(path) as tif:
            tags = tif.pages.first.tags
            ifd0 = {tag.code: tag.value for tag in tags.values()}
    except Exception:  # pylint: disable=broad-except  # not a TIFF, or a damaged one
        return metadata
    for code in IFD0_TAGS:
        _keep(metadata.ifd0, IFD0_TAGS, code, ifd0.get(code))
    named = {name: code for code, (name, _) in EXIF_TAGS.items()}
    for name, value in (ifd0.get(tiff.EXIF_IFD) or {}).items():
        if name in named:
            _keep(metadata.exif, EXIF_TAGS, named[name], value)
    for code in EXIF_TAGS:  # TIFF/EP: Exif tags in IFD 0
        if code not in metadata.exif:
            _keep(metadata.exif, EXIF_TAGS, code, ifd0.get(code))
    named = {name: code for code, (name, _) in GPS_TAGS.items()}
    gps = ifd0.get(tiff.GPS_IFD)
    for name, value in (gps.items() if isinstance(gps, dict) else ()):
        if name in named:
            _keep(metadata.gps, GPS_TAGS, named[name], value)
    return metadata


def _keep(directory, table, code, value):
    """Store `value` (as tifffile reads it) under `code` when it has the type the table says."""
    if value is None:
        return
    typ = table[code][1]
    try:
        if typ == ASCII:
            text = _text(value) if isinstance(value, bytes) else str(value)
            text = text.strip("\0").strip()
            if text:
                directory[code] = text
        elif typ in (RATIONAL, SRATIONAL):
            numbers = [int(v) for v in (value if isinstance(value, (tuple, list)) else (value,))]
            if len(numbers) % 2 or not numbers or any(d == 0 for d in numbers[1::2]):
                return
            directory[code] = [Fraction(n, d) for n, d in zip(numbers[::2], numbers[1::2])]
        elif typ in (BYTE, UNDEFINED):
            directory[code] = bytes(value) if not isinstance(value, int) else bytes([value])
        else:  # SHORT, LONG
            numbers = [int(v) for v in (value if isinstance(value, (tuple, list)) else (value,))]
            if numbers:
                directory[code] = numbers
    except (TypeError, ValueError):
        return


def _text(data):
    """Text of a field tifffile left as bytes: UTF-8 when it is (see "Text" above), else
    Latin-1, which decodes any bytes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _complete_from_libraw(metadata, raw):
    """Fill what the TIFF structure did not give from LibRaw's numbers (float32)."""
    other, lens = getattr(raw, "other", None), getattr(raw, "lens", None)
    exif = metadata.exif
    if other is not None:
        for code, value in ((33434, other.shutter_speed), (33437, other.aperture),
                            (37386, other.focal_length)):
            if code not in exif and value and value > 0:
                exif[code] = [_from_float32(value)]
        if 34855 not in exif and other.iso_speed and 0 < other.iso_speed <= 65535:
            exif[34855] = [int(round(other.iso_speed))]
        stamp = getattr(other, "timestamp", None)
        if isinstance(stamp, datetime.datetime) and stamp.year > 1970:
            text = stamp.strftime("%Y:%m:%d %H:%M:%S")
            metadata.ifd0.setdefault(306, text)
            exif.setdefault(36867, text)
        if other.artist:
            metadata.ifd0.setdefault(315, other.artist)
    if lens is not None:
        if lens.model:
            exif.setdefault(42036, lens.model)
        if lens.make:
            exif.setdefault(42035, lens.make)


def _from_float32(value):
    """The short decimal fraction a float32 stands for (0.1 s: 1/10, not 13421773/134217728)."""
    value = float(value)
    if value < 1:
        inverse = 1 / value  # shutter speeds are 1/n s
        if abs(inverse - round(inverse)) < 1e-4 * inverse:
            return Fraction(1, round(inverse))
    return Fraction(f"{value:.6g}")
