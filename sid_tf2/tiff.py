"""TIFF files with Exif and GPS directories: the DNG writer's and sid-enhance's container.

The tag directories are encoded by Pillow's TIFF writer (``ImageFileDirectory_v2``), which lays
out every value type, out-of-line data and nested directories (a ``dict`` value of tag 34665 or
34853 becomes the Exif or GPS directory).  Why not tifffile, which the project uses to read
TIFF files: it refuses to write those two tags (``TIFF.TAG_FILTERED``), and a photo's metadata
lives in them.  What is left here is the file around the directories: the 8-byte header and
one uncompressed strip, or no pixels at all for the Exif blob that PNG (eXIf) and JPEG (APP1)
carry.

Entries are ``(tag, type, value)``: ``type`` a TIFF field type below; ``value`` a str (ASCII,
stored as UTF-8: see :class:`_Utf8Text`), bytes or a sequence of ints (BYTE, UNDEFINED), an int
or a sequence of them (SHORT, LONG), or one or more rationals (RATIONAL, SRATIONAL) given as
``fractions.Fraction``, ``(num, den)``, ints or floats (floats become the nearest fraction with
a denominator up to 10^6).
"""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
from PIL import TiffImagePlugin

from sid_tf2.atomic import write_bytes

__all__ = ["ASCII", "BYTE", "EXIF_IFD", "GPS_IFD", "LONG", "RATIONAL", "SHORT", "SRATIONAL",
           "UNDEFINED", "rational", "tiff_bytes", "write_tiff"]

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
EXIF_IFD = 34665
GPS_IFD = 34853

_IMAGE_WIDTH, _IMAGE_LENGTH, _BITS_PER_SAMPLE, _COMPRESSION = 256, 257, 258, 259
_PHOTOMETRIC, _STRIP_OFFSETS, _SAMPLES_PER_PIXEL, _ROWS_PER_STRIP = 262, 273, 277, 278
_STRIP_BYTE_COUNTS, _PLANAR_CONFIGURATION = 279, 284
_HEADER = b"II*\0" + struct.pack("<I", 8)  # little endian, IFD 0 right after the header


def rational(value) -> Fraction:
    """An exact fraction: Fractions and ints as they are, ``(num, den)`` pairs, floats rounded."""
    if isinstance(value, tuple):
        numerator, denominator = value
        return Fraction(int(numerator), int(denominator))
    if isinstance(value, (Fraction, int, np.integer)):
        return Fraction(value)
    if not np.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return Fraction(float(value)).limit_denominator(1_000_000)


class _Utf8Text(str):
    """A str that Pillow's TIFF writer stores as UTF-8 bytes instead of ASCII with "?" for
    every other character (it calls ``value.encode("ascii", "replace")``).

    Why a str and not the bytes themselves: Pillow types the entries of a nested (Exif, GPS)
    directory from their Python values when its tables do not know the tag (LensModel, for
    one), and bytes would become a BYTE field.  Why UTF-8: see :mod:`sid_tf2.exif`.
    """

    def encode(self, encoding="utf-8", errors="strict"):  # pylint: disable=unused-argument
        return str.encode(self, "utf-8", errors)


def _pillow_value(typ, value):
    if typ == ASCII:
        return _Utf8Text(value)
    if isinstance(value, (bytes, str)) or np.ndim(value) == 0:
        values = list(value) if isinstance(value, bytes) else [value]
    elif typ in (RATIONAL, SRATIONAL) and isinstance(value, tuple) and len(value) == 2 and \
            all(isinstance(v, (int, np.integer)) for v in value):
        values = [value]  # one (num, den) pair
    else:
        values = list(value)
    if typ in (BYTE, UNDEFINED):
        return bytes(int(v) for v in values)
    if typ in (RATIONAL, SRATIONAL):
        fractions = [rational(v) for v in values]
        values = [TiffImagePlugin.IFDRational(f.numerator, f.denominator) for f in fractions]
    else:
        values = [int(v) for v in values]
    return values[0] if len(values) == 1 else tuple(values)


def _directory(entries, exif=None, gps=None):
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    for tag, typ, value in entries:
        ifd.tagtype[tag] = typ
        ifd[tag] = _pillow_value(typ, value)
    # A dict value is written as a nested directory; Pillow types its entries from its tables
    # of the Exif and GPS tags (every tag sid-tf2 writes there is a standard one).
    for tag, sub_entries in ((EXIF_IFD, exif), (GPS_IFD, gps)):
        if sub_entries:
            ifd.tagtype[tag] = LONG
            ifd[tag] = {t: _pillow_value(typ, value) for t, typ, value in sub_entries}
    return ifd


def tiff_bytes(entries, *, image=None, exif=None, gps=None) -> bytes:
    """A whole little-endian TIFF: IFD 0 from `entries`, the Exif and GPS directories, and
    `image` (uint8 or uint16, H x W or H x W x C, interleaved) as one uncompressed strip.

    Without `image` the result is the Exif structure that PNG's eXIf chunk holds as it is and
    JPEG's APP1 segment holds after ``Exif\\0\\0``.  The strip's tags (size, bits, strip offset
    and count, samples, planar configuration) are added here; `entries` give the rest,
    including PhotometricInterpretation.
    """
    entries = list(entries)
    pixels = b""
    if image is not None:
        image = np.asarray(image)
        if image.dtype not in (np.uint8, np.uint16) or image.ndim not in (2, 3):
            raise ValueError(f"need a uint8 or uint16 H x W (x C) image, got {image.dtype} "
                             f"{image.shape}")
        height, width = image.shape[:2]
        samples = 1 if image.ndim == 2 else image.shape[2]
        pixels = np.ascontiguousarray(image, image.dtype.newbyteorder("<")).tobytes()
        entries += [
            (_IMAGE_WIDTH, LONG, width), (_IMAGE_LENGTH, LONG, height),
            (_BITS_PER_SAMPLE, SHORT, [8 * image.itemsize] * samples), (_COMPRESSION, SHORT, 1),
            # Pillow makes a zero StripOffsets point just past the directories it wrote.
            (_STRIP_OFFSETS, LONG, 0), (_SAMPLES_PER_PIXEL, SHORT, samples),
            (_ROWS_PER_STRIP, LONG, height), (_STRIP_BYTE_COUNTS, LONG, len(pixels)),
            (_PLANAR_CONFIGURATION, SHORT, 1),
        ]
    return _HEADER + _directory(entries, exif, gps).tobytes(len(_HEADER)) + pixels


def write_tiff(path, entries, image, *, exif=None, gps=None) -> None:
    """Write :func:`tiff_bytes` to `path` atomically (temporary name, then rename)."""
    write_bytes(path, tiff_bytes(entries, image=image, exif=exif, gps=gps))
