"""TIFF files with Exif and GPS directories: the DNG writer's and sid-enhance's container.

The tag directories are encoded by Pillow's TIFF writer (``ImageFileDirectory_v2``), which lays
out every value type, out-of-line data and nested directories (a ``dict`` value of tag 34665 or
34853 becomes the Exif or GPS directory).  Why not tifffile, which the project uses to read
TIFF files: it refuses to write those two tags (``TIFF.TAG_FILTERED``), and a photo's metadata
lives in them.  What is left here is the file around the directories: the 8-byte header (Intel
or Motorola byte order) and the pixels as one strip or as tiles, uncompressed or compressed by a
given encoder, or no pixels at all for the Exif blob that PNG (eXIf) and JPEG (APP1) carry.

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
           "UNDEFINED", "gps_entries", "rational", "tiff_bytes", "write_tiff"]

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
EXIF_IFD = 34665
GPS_IFD = 34853

_IMAGE_WIDTH, _IMAGE_LENGTH, _BITS_PER_SAMPLE, _COMPRESSION = 256, 257, 258, 259
_PHOTOMETRIC, _STRIP_OFFSETS, _SAMPLES_PER_PIXEL, _ROWS_PER_STRIP = 262, 273, 277, 278
_STRIP_BYTE_COUNTS, _PLANAR_CONFIGURATION = 279, 284
_TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_BYTE_COUNTS = 322, 323, 324, 325


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


def _directory(entries, exif=None, gps=None, prefix=b"II"):
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=prefix)
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


def _segments(image, tile, order):
    """The image's pixel segments: one strip (the whole image), or tiles in raster order, each
    padded to the full tile size at the right and bottom edges as TIFF requires; `order` is
    the numpy byte order of the samples."""
    image = np.asarray(image, image.dtype.newbyteorder(order))
    if tile is None:
        return [np.ascontiguousarray(image)]
    tile_height, tile_width = tile
    if tile_height % 16 or tile_width % 16 or tile_height <= 0 or tile_width <= 0:
        raise ValueError(f"TIFF tiles must be multiples of 16 pixels on each side, got {tile}")
    height, width = image.shape[:2]
    rows, cols = -(-height // tile_height), -(-width // tile_width)
    padded = np.zeros((rows * tile_height, cols * tile_width) + image.shape[2:], image.dtype)
    padded[:height, :width] = image
    return [np.ascontiguousarray(padded[r * tile_height:(r + 1) * tile_height,
                                        c * tile_width:(c + 1) * tile_width])
            for r in range(rows) for c in range(cols)]


def tiff_bytes(entries, *, image=None, exif=None, gps=None, big_endian=False, tile=None,
               compression=None) -> bytes:
    """A whole TIFF: IFD 0 from `entries`, the Exif and GPS directories, and `image` (uint8 or
    uint16, H x W or H x W x C, interleaved) as one strip, or as tiles of ``tile = (height,
    width)`` pixels.

    `big_endian` writes a Motorola ("MM") file instead of an Intel ("II") one. `compression`
    is None (uncompressed) or ``(code, encode)``: the TIFF Compression value and a function
    from one segment (a strip or tile as a 2-D or 3-D array) to its compressed bytes.

    Without `image` the result is the Exif structure that PNG's eXIf chunk holds as it is and
    JPEG's APP1 segment holds after ``Exif\\0\\0``.  The strip's or tiles' tags (size, bits,
    offsets and counts, samples, planar configuration, compression) are added here; `entries`
    give the rest, including PhotometricInterpretation.
    """
    entries = list(entries)
    prefix, order = (b"MM", ">") if big_endian else (b"II", "<")
    header = prefix + (b"\0*" if big_endian else b"*\0") + struct.pack(order + "I", 8)
    if image is None:
        return header + _directory(entries, exif, gps, prefix).tobytes(len(header))
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16) or image.ndim not in (2, 3):
        raise ValueError(f"need a uint8 or uint16 H x W (x C) image, got {image.dtype} "
                         f"{image.shape}")
    height, width = image.shape[:2]
    samples = 1 if image.ndim == 2 else image.shape[2]
    code, encode = compression or (1, lambda segment: segment.tobytes())
    data = [encode(segment) for segment in _segments(image, tile, order)]
    entries += [
        (_IMAGE_WIDTH, LONG, width), (_IMAGE_LENGTH, LONG, height),
        (_BITS_PER_SAMPLE, SHORT, [8 * image.itemsize] * samples), (_COMPRESSION, SHORT, code),
        (_SAMPLES_PER_PIXEL, SHORT, samples), (_PLANAR_CONFIGURATION, SHORT, 1),
    ]
    if tile is None:
        # Pillow makes a zero StripOffsets point just past the directories it wrote.
        entries += [(_STRIP_OFFSETS, LONG, 0), (_ROWS_PER_STRIP, LONG, height),
                    (_STRIP_BYTE_COUNTS, LONG, len(data[0]))]
        return header + _directory(entries, exif, gps, prefix).tobytes(len(header)) + data[0]
    entries += [(_TILE_WIDTH, LONG, tile[1]), (_TILE_LENGTH, LONG, tile[0]),
                (_TILE_BYTE_COUNTS, LONG, [len(d) for d in data])]
    # The directory's size does not depend on the offsets' values: lay it out once to learn
    # where the pixels start, then write it with the real offsets.
    offsets = (_TILE_OFFSETS, LONG, [0] * len(data))
    start = len(header) + len(_directory(entries + [offsets], exif, gps, prefix).tobytes(len(header)))
    starts = start + np.concatenate([[0], np.cumsum([len(d) for d in data])[:-1]])
    offsets = (_TILE_OFFSETS, LONG, [int(s) for s in starts])
    directory = _directory(entries + [offsets], exif, gps, prefix).tobytes(len(header))
    return header + directory + b"".join(data)


def write_tiff(path, entries, image, *, exif=None, gps=None, **layout) -> None:
    """Write :func:`tiff_bytes` to `path` atomically (temporary name, then rename); `layout`:
    its `big_endian`, `tile` and `compression`."""
    write_bytes(path, tiff_bytes(entries, image=image, exif=exif, gps=gps, **layout))


def gps_entries(position):
    """GPS IFD entries for ``(latitude, longitude[, altitude])`` in degrees (north and east
    positive) and metres; None gives none."""
    if position is None:
        return []
    if len(position) not in (2, 3) or not all(np.isfinite(v) for v in position):
        raise ValueError(f"gps must be (latitude, longitude[, altitude]), got {position!r}")
    latitude, longitude = float(position[0]), float(position[1])
    if abs(latitude) > 90 or abs(longitude) > 180:
        raise ValueError(f"gps position out of range: {position!r}")
    entries = [
        (0, BYTE, [2, 3, 0, 0]),  # GPSVersionID 2.3
        (1, ASCII, "N" if latitude >= 0 else "S"),
        (2, RATIONAL, _degrees_minutes_seconds(abs(latitude))),
        (3, ASCII, "E" if longitude >= 0 else "W"),
        (4, RATIONAL, _degrees_minutes_seconds(abs(longitude))),
    ]
    if len(position) == 3:
        altitude = float(position[2])
        entries += [(5, BYTE, [0 if altitude >= 0 else 1]), (6, RATIONAL, [abs(altitude)])]
    return entries


def _degrees_minutes_seconds(degrees):
    """Whole degrees and minutes, and seconds to 1/100: as cameras write them."""
    hundredths = round(degrees * 360000)
    whole, rest = divmod(hundredths, 360000)
    minutes, seconds = divmod(rest, 6000)
    return [Fraction(whole), Fraction(minutes), Fraction(seconds, 100)]
