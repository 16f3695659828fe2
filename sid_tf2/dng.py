"""A small, dependency-free writer of real DNG files (and a reader of their exposure time).

Why this exists: the tests and the synthetic-dataset generator need raw files that go through the
very same reader as real camera files (rawpy / LibRaw), so that packing, black levels, white
balance and ground-truth rendering are exercised end to end.  DNG is the one raw format that is
publicly specified and that LibRaw reads, so we write DNG.

What is written (DNG 1.4, a TIFF 6 container, little endian):

* IFD 0 is the raw image itself (``NewSubfileType`` 0): one uncompressed strip of 16-bit samples.
  A CFA image uses ``PhotometricInterpretation`` 32803 (CFA) with ``CFARepeatPatternDim``,
  ``CFAPattern``, ``CFAPlaneColor`` (the colours used, normally R, G, B) and ``CFALayout``
  (rectangular).
* ``BlackLevelRepeatDim`` / ``BlackLevel`` (one value, or one per CFA position), ``WhiteLevel``.
* ``ColorMatrix1`` (XYZ -> camera, SRATIONAL) with ``CalibrationIlluminant1`` = D65 (21), and
  optionally ``AsShotNeutral`` (RATIONAL).  Without a colour matrix the inverse of the sRGB
  primaries is written, i.e. "camera RGB is linear sRGB": LibRaw then converts camera -> sRGB
  with the identity, which keeps synthetic scenes easy to reason about.
* An Exif IFD (tag 34665) with ``ExposureTime`` (33434) and ``ISOSpeedRatings`` (34855) when
  given.  rawpy reports them as ``raw.other.shutter_speed`` and ``raw.other.iso_speed``
  (as float32); :func:`read_tiff_exposure_time` reads the exact rational back.

Files are written to a temporary name in the target directory and renamed into place, so a
reader (or a crash) never sees a half-written file under the final name.

Facts about LibRaw 0.22 (rawpy 0.28) worth knowing, checked by ``tests/test_dng.py`` and
``tests/test_raw.py`` unless noted:

* ``raw_image_visible`` is the mosaic exactly (no ActiveArea is written, so no margins).
* ``raw_pattern`` numbers the colours 0 = R, 1 = G, 2 = B and 3 = the green on the blue rows of
  a Bayer 2x2 (so 1 is the green on the red rows); ``color_desc`` is ``b'RGBG'``.
* ``black_level_per_channel`` is indexed by that colour index (R, G, B, G2), not by position.
* ``camera_whitebalance`` is ``[1/n_R, 1/n_G, 1/n_B, 0]`` for ``AsShotNeutral`` n.  Without
  AsShotNeutral it is ``[0, 1, 0, 0]`` and ``use_camera_wb=True`` falls back to the daylight
  balance derived from the colour matrix (all ones with the default matrix).
* With the default colour matrix ``raw.color_matrix`` (camera -> sRGB) is the identity, and a
  uniform grey scene (raw = black + k * neutral) renders grey.  ``raw.rgb_xyz_matrix`` stays
  zero for DNG files.
* Exposure: ``raw.other.shutter_speed`` (float32, 0.1 -> 0.10000000149), ISO:
  ``raw.other.iso_speed``.
* A 6x6 ``CFAPattern`` is read as X-Trans: ``raw_pattern`` is the 6x6 pattern as written.
  LibRaw's default X-Trans demosaic (used by ``postprocess``) fails with ``LibRawIOError`` on
  images smaller than 512 pixels in either direction (510 fails, 512 works); LINEAR works at
  any size.
* LibRaw refuses images smaller than 22 pixels in either direction ("not a raw file"; found by
  experiment, so this writer refuses to write them).
* A truncated strip is detected only on unpack (``LibRawIOError``), and LibRaw then also prints
  "<file>: Unexpected end of file" on stderr.
"""

from __future__ import annotations

import os
import struct
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from sid_tf2.atomic import write_bytes

__all__ = [
    "COLOR_INDEX",
    "SRGB_XYZ_TO_CAMERA",
    "cfa_pattern_array",
    "read_tiff_exposure_time",
    "write_dng",
    "write_linear_dng",
]

# TIFF field types and their sizes in bytes.
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED, _SLONG, _SRATIONAL = 1, 2, 3, 4, 5, 7, 9, 10
_TYPE_SIZE = {_BYTE: 1, _ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1, _SLONG: 4,
              _SRATIONAL: 8}

# Tags (TIFF 6, TIFF/EP, Exif 2.3, DNG 1.4).
_NEW_SUBFILE_TYPE = 254
_IMAGE_WIDTH = 256
_IMAGE_LENGTH = 257
_BITS_PER_SAMPLE = 258
_COMPRESSION = 259
_PHOTOMETRIC = 262
_MAKE = 271
_MODEL = 272
_STRIP_OFFSETS = 273
_ORIENTATION = 274
_SAMPLES_PER_PIXEL = 277
_ROWS_PER_STRIP = 278
_STRIP_BYTE_COUNTS = 279
_PLANAR_CONFIGURATION = 284
_SOFTWARE = 305
_CFA_REPEAT_PATTERN_DIM = 33421
_CFA_PATTERN = 33422
_EXPOSURE_TIME = 33434
_EXIF_IFD = 34665
_ISO_SPEED_RATINGS = 34855
_DNG_VERSION = 50706
_DNG_BACKWARD_VERSION = 50707
_UNIQUE_CAMERA_MODEL = 50708
_CFA_PLANE_COLOR = 50710
_CFA_LAYOUT = 50711
_BLACK_LEVEL_REPEAT_DIM = 50713
_BLACK_LEVEL = 50714
_WHITE_LEVEL = 50717
_COLOR_MATRIX_1 = 50721
_AS_SHOT_NEUTRAL = 50728
_CALIBRATION_ILLUMINANT_1 = 50778

_PHOTOMETRIC_CFA = 32803
_PHOTOMETRIC_LINEAR_RAW = 34892
_D65 = 21

COLOR_INDEX = {"R": 0, "G": 1, "B": 2, "C": 3, "M": 4, "Y": 5}
"""CFA colour indices as DNG's CFAPattern / CFAPlaneColor number them."""

# XYZ (D65) -> linear sRGB, i.e. the inverse of the sRGB primaries matrix (IEC 61966-2-1).
# Used as ColorMatrix1 when none is given: "the camera's RGB is linear sRGB".
SRGB_XYZ_TO_CAMERA = np.array(
    [[3.2404542, -1.5371385, -0.4985314],
     [-0.9692660, 1.8760108, 0.0415560],
     [0.0556434, -0.2040259, 1.0572252]]
)
"""ColorMatrix1 written when ``color_matrix`` is None: makes camera RGB equal linear sRGB."""


def cfa_pattern_array(cfa_pattern) -> np.ndarray:
    """Return the CFA pattern as a 2-D uint8 array of DNG colour indices (0 = R, 1 = G, 2 = B).

    Accepts a string of ``n * n`` colour letters read row by row (``"RGGB"``, ``"BGGR"``,
    ``"GRBG"``, ``"GBRG"``; also C, M, Y for complementary-colour sensors, e.g. ``"CYGM"``),
    or any 2-D array-like of colour indices such as a 6x6 X-Trans pattern.  Why strict: a wrong
    pattern silently swaps colours in every image written with it.
    """
    if isinstance(cfa_pattern, str):
        letters = cfa_pattern.strip().upper()
        side = int(round(len(letters) ** 0.5))
        if side < 2 or side * side != len(letters) or set(letters) - set(COLOR_INDEX):
            raise ValueError(
                f"cfa_pattern {cfa_pattern!r}: expected n*n colour letters (R, G, B; C, M, Y) "
                "read row by row, e.g. 'RGGB'"
            )
        pattern = np.array([COLOR_INDEX[c] for c in letters], dtype=np.uint8).reshape(side, side)
    else:
        pattern = np.asarray(cfa_pattern)
        if pattern.ndim != 2 or pattern.size == 0:
            raise ValueError(f"cfa_pattern must be a string or a 2-D array, "
                             f"got shape {pattern.shape}")
        if not np.issubdtype(pattern.dtype, np.integer) or pattern.min() < 0 or pattern.max() > 5:
            raise ValueError("cfa_pattern array must hold DNG colour indices: "
                             "0 (R), 1 (G), 2 (B), 3 (C), 4 (M), 5 (Y)")
        pattern = pattern.astype(np.uint8)
    if max(pattern.shape) > 16:
        raise ValueError(f"cfa_pattern {pattern.shape} is larger than 16x16")
    colours = set(np.unique(pattern).tolist())
    if colours <= {0, 1, 2} and colours != {0, 1, 2}:
        raise ValueError("an RGB cfa_pattern must contain each of R, G and B at least once")
    if len(colours) < 3 or len(colours) > 4:
        raise ValueError(f"cfa_pattern must use 3 or 4 distinct colours, got {sorted(colours)}")
    return pattern


def write_dng(
    path,
    mosaic,
    *,
    cfa_pattern,
    black_level=512,
    white_level=16383,
    color_matrix=None,
    as_shot_neutral=None,
    exposure_time=None,
    iso=None,
    make: str = "sid-tf2",
    model: str = "Synthetic",
    unique_camera_model: str | None = None,
    software: str = "sid-tf2",
) -> None:
    """Write a 16-bit CFA (mosaic) raw image as a DNG file that rawpy / LibRaw reads.

    Args:
      path: the file to write (any extension; the tests use ``.dng`` and SID's ``.ARW`` names).
      mosaic: 2-D array of raw sensor values (uint16; any integer array with values in
        [0, 65535] is accepted, floats are refused rather than silently truncated).
      cfa_pattern: ``"RGGB"``, ``"BGGR"``, ``"GRBG"``, ``"GBRG"``, or a 2-D array of colour
        indices 0 = R, 1 = G, 2 = B (e.g. a 6x6 X-Trans pattern), anchored at the top-left pixel.
      black_level: one integer, or (for a 2x2 pattern) one per CFA position: four values (or a
        2x2 array) in raster order (row 0 col 0, row 0 col 1, row 1 col 0, row 1 col 1), i.e.
        in the order of the pattern string, not in R, G, B, G2 order.  Stored with
        ``BlackLevelRepeatDim`` 1x1 or 2x2.
      white_level: the saturation level (an integer above every black level).
      color_matrix: DNG ColorMatrix1, XYZ -> camera (3x3; rows in plane order R, G, B),
        stored as SRATIONAL (about 6 significant digits) with CalibrationIlluminant1 = D65.
        None writes :data:`SRGB_XYZ_TO_CAMERA`.  A C/M/Y pattern needs an explicit
        (colours x 3) matrix; LibRaw reads such files as 4-colour (``color_desc`` ``b'GMCY'``).
      as_shot_neutral: the camera-space neutral (3 positive values, usually with G = 1);
        LibRaw's ``camera_whitebalance`` becomes its reciprocal.  None leaves the tag out, and
        LibRaw then falls back to the daylight balance derived from the colour matrix.
      exposure_time: seconds, stored as Exif ExposureTime (RATIONAL, exact for 0.1, 1/30, 10...).
      iso: Exif ISOSpeedRatings (SHORT).
      make, model: TIFF Make and Model; ``unique_camera_model`` defaults to "make model".
      software: TIFF Software.

    Raises:
      ValueError / TypeError on invalid arguments (nothing is written then).
    """
    mosaic = _as_uint16_image(mosaic, ndim=2, what="mosaic")
    pattern = cfa_pattern_array(cfa_pattern)
    blacks, white = _levels(black_level, white_level, pattern.shape)
    entries = _common_entries(
        mosaic.shape, samples=1, photometric=_PHOTOMETRIC_CFA, make=make, model=model,
        unique_camera_model=unique_camera_model, software=software,
    )
    # CFAPlaneColor lists the colours in plane order; CFAPattern indexes DNG colours directly.
    planes = np.unique(pattern).tolist()
    entries += [
        (_CFA_REPEAT_PATTERN_DIM, _SHORT, list(pattern.shape)),
        (_CFA_PATTERN, _BYTE, pattern.ravel().tolist()),
        (_CFA_PLANE_COLOR, _BYTE, planes),
        (_CFA_LAYOUT, _SHORT, [1]),
    ]
    entries += _level_entries(blacks, white)
    entries += _colour_entries(color_matrix, as_shot_neutral, len(planes))
    _write_tiff(path, entries, _exif_entries(exposure_time, iso), mosaic.astype("<u2").tobytes())


def write_linear_dng(
    path,
    image,
    *,
    black_level=0,
    white_level=65535,
    color_matrix=None,
    as_shot_neutral=None,
    exposure_time=None,
    iso=None,
    make: str = "sid-tf2",
    model: str = "Synthetic",
    unique_camera_model: str | None = None,
    software: str = "sid-tf2",
) -> None:
    """Write a DNG without a colour filter array (LinearRaw): (H, W, 3) RGB or (H, W) monochrome.

    Why: such files are valid raw files that LibRaw opens but that hold no mosaic, so SID's
    packing cannot apply to them; the tests use them to check that the reader refuses them with a
    clear message.  Arguments are as for :func:`write_dng` (black level: one integer).
    """
    image = _as_uint16_image(image, ndim=(2, 3), what="image")
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got {image.shape}")
    samples = 1 if image.ndim == 2 else 3
    blacks, white = _levels(black_level, white_level, (1, 1))
    # LinearRaw for both: LibRaw refuses a DNG raw IFD with BlackIsZero (1) as unsupported.
    entries = _common_entries(
        image.shape[:2], samples=samples, photometric=_PHOTOMETRIC_LINEAR_RAW, make=make,
        model=model, unique_camera_model=unique_camera_model, software=software,
    )
    entries += _level_entries(blacks, white)
    if samples == 3:
        entries += _colour_entries(color_matrix, as_shot_neutral, 3)
    _write_tiff(path, entries, _exif_entries(exposure_time, iso), image.astype("<u2").tobytes())


def read_tiff_exposure_time(path) -> float | None:
    """Return the Exif ExposureTime (seconds) of a TIFF-based file (DNG, ARW, NEF...), or None.

    Why: rawpy reports the exposure as ``raw.other.shutter_speed``, but LibRaw keeps it as a
    float32 (0.1 s becomes 0.10000000149), and SID's exposure ratios are quotients of decimal
    exposure times.  This reads the exact RATIONAL from IFD 0 or its Exif IFD.  Files that are
    not TIFF (e.g. Fuji RAF), lack the tag, or are malformed give None: it never raises for
    content, only for a file that cannot be opened (OSError).
    """
    with open(path, "rb") as f:
        data = f.read(8)
        if len(data) < 8 or data[:2] not in (b"II", b"MM"):
            return None
        order = "<" if data[:2] == b"II" else ">"
        if struct.unpack(order + "H", data[2:4])[0] != 42:
            return None
        size = os.fstat(f.fileno()).st_size

        def read_ifd(offset):
            if offset <= 0 or offset + 2 > size:
                return {}
            f.seek(offset)
            (count,) = struct.unpack(order + "H", f.read(2))
            raw = f.read(12 * count)
            tags = {}
            for i in range(len(raw) // 12):
                tag, typ, n = struct.unpack(order + "HHI", raw[12 * i: 12 * i + 8])
                tags[tag] = (typ, n, raw[12 * i + 8: 12 * i + 12])
            return tags

        def rational(entry):
            typ, n, value = entry
            if typ not in (_RATIONAL, _SRATIONAL) or n < 1:
                return None
            (offset,) = struct.unpack(order + "I", value)
            if offset + 8 > size:
                return None
            f.seek(offset)
            num, den = struct.unpack(order + ("II" if typ == _RATIONAL else "ii"), f.read(8))
            return float(Fraction(num, den)) if den else None

        try:
            ifd0 = read_ifd(struct.unpack(order + "I", data[4:8])[0])
            if _EXPOSURE_TIME in ifd0:
                value = rational(ifd0[_EXPOSURE_TIME])
                if value is not None:
                    return value
            if _EXIF_IFD in ifd0:
                typ, n, value = ifd0[_EXIF_IFD]
                if typ in (_LONG, 13) and n >= 1:  # 13: the IFD type of TIFF tech note 1
                    exif = read_ifd(struct.unpack(order + "I", value)[0])
                    if _EXPOSURE_TIME in exif:
                        return rational(exif[_EXPOSURE_TIME])
        except (struct.error, ValueError):
            return None
    return None


# --------------------------------------------------------------------------------------------
# Argument checking.


def _as_uint16_image(array, *, ndim, what) -> np.ndarray:
    array = np.asarray(array)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        raise ValueError(f"{what} must have {' or '.join(map(str, allowed))} dimensions, "
                         f"got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        raise TypeError(f"{what} must be an integer array (uint16), got {array.dtype}: "
                        "round and clip float data explicitly before writing")
    if array.size and (array.min() < 0 or array.max() > 65535):
        raise ValueError(f"{what} values must lie in [0, 65535], "
                         f"got [{array.min()}, {array.max()}]")
    if min(array.shape[:2]) < 22:
        # LibRaw's identify() rejects images this small as "not a raw file".
        raise ValueError(f"{what} of shape {array.shape} is too small: LibRaw needs at least "
                         "22 pixels in each direction")
    if max(array.shape[:2]) > 65535:
        raise ValueError(f"{what} of shape {array.shape} is too large for this writer")
    return array.astype(np.uint16, copy=False)


def _levels(black_level, white_level, pattern_shape):
    blacks = np.asarray(black_level)
    if blacks.ndim == 1 and blacks.size == 4:
        blacks = blacks.reshape(2, 2)
    elif blacks.ndim == 0:
        blacks = blacks.reshape(1, 1)
    if blacks.shape not in ((1, 1), (2, 2)):
        raise ValueError(f"black_level must be one value or four values (the 2x2 Bayer "
                         f"positions), got shape {np.shape(black_level)}")
    if blacks.shape == (2, 2) and tuple(pattern_shape) != (2, 2):
        # LibRaw folds per-position blacks into black_level_per_channel only for 2x2 patterns.
        raise ValueError(f"per-position black levels need a 2x2 CFA pattern, "
                         f"not {tuple(pattern_shape)}: give one value")
    if not np.all(np.equal(np.mod(blacks, 1), 0)):
        raise ValueError(f"black levels must be integers, got {blacks.ravel().tolist()}")
    blacks = blacks.astype(np.int64)
    if np.ndim(white_level) != 0 or float(white_level) != int(white_level):
        raise ValueError(f"white_level must be one integer, got {white_level!r}")
    white = int(white_level)
    if blacks.min() < 0 or not blacks.max() < white <= 65535:
        raise ValueError(f"need 0 <= black_level < white_level <= 65535, got black "
                         f"{blacks.ravel().tolist()} and white {white}")
    return blacks, white


# --------------------------------------------------------------------------------------------
# Tag entries: (tag, type, values).


def _common_entries(shape, *, samples, photometric, make, model, unique_camera_model, software):
    height, width = int(shape[0]), int(shape[1])
    ucm = unique_camera_model if unique_camera_model is not None else f"{make} {model}"
    return [
        (_NEW_SUBFILE_TYPE, _LONG, [0]),
        (_IMAGE_WIDTH, _LONG, [width]),
        (_IMAGE_LENGTH, _LONG, [height]),
        (_BITS_PER_SAMPLE, _SHORT, [16] * samples),
        (_COMPRESSION, _SHORT, [1]),
        (_PHOTOMETRIC, _SHORT, [photometric]),
        (_MAKE, _ASCII, make),
        (_MODEL, _ASCII, model),
        (_STRIP_OFFSETS, _LONG, [0]),  # filled in by _write_tiff
        (_ORIENTATION, _SHORT, [1]),
        (_SAMPLES_PER_PIXEL, _SHORT, [samples]),
        (_ROWS_PER_STRIP, _LONG, [height]),
        (_STRIP_BYTE_COUNTS, _LONG, [height * width * samples * 2]),
        (_PLANAR_CONFIGURATION, _SHORT, [1]),
        (_SOFTWARE, _ASCII, software),
        (_DNG_VERSION, _BYTE, [1, 4, 0, 0]),
        (_DNG_BACKWARD_VERSION, _BYTE, [1, 1, 0, 0]),
        (_UNIQUE_CAMERA_MODEL, _ASCII, ucm),
    ]


def _level_entries(blacks, white):
    return [
        (_BLACK_LEVEL_REPEAT_DIM, _SHORT, list(blacks.shape)),
        (_BLACK_LEVEL, _LONG, blacks.ravel().tolist()),
        (_WHITE_LEVEL, _LONG, [white]),
    ]


def _colour_entries(color_matrix, as_shot_neutral, colours):
    if color_matrix is None:
        if colours != 3:
            raise ValueError(f"a {colours}-colour CFA needs an explicit {colours}x3 color_matrix")
        matrix = SRGB_XYZ_TO_CAMERA
    else:
        matrix = np.asarray(color_matrix, float)
    if matrix.shape != (colours, 3) or not np.all(np.isfinite(matrix)):
        raise ValueError(f"color_matrix must be a finite {colours}x3 XYZ -> camera matrix, "
                         f"got shape {matrix.shape}")
    entries = [
        (_COLOR_MATRIX_1, _SRATIONAL, matrix.ravel().tolist()),
        (_CALIBRATION_ILLUMINANT_1, _SHORT, [_D65]),
    ]
    if as_shot_neutral is not None:
        neutral = np.asarray(as_shot_neutral, float)
        if neutral.shape != (colours,) or not np.all(np.isfinite(neutral)) or np.any(neutral <= 0):
            raise ValueError(f"as_shot_neutral must be {colours} positive numbers, "
                             f"got {as_shot_neutral!r}")
        entries.append((_AS_SHOT_NEUTRAL, _RATIONAL, neutral.tolist()))
    return entries


def _exif_entries(exposure_time, iso):
    entries = []
    if exposure_time is not None:
        if not np.isfinite(exposure_time) or exposure_time <= 0:
            raise ValueError(f"exposure_time must be a positive number of seconds, "
                             f"got {exposure_time!r}")
        entries.append((_EXPOSURE_TIME, _RATIONAL, [float(exposure_time)]))
    if iso is not None:
        if int(iso) != iso or not 0 < iso <= 65535:
            raise ValueError(f"iso must be an integer in [1, 65535], got {iso!r}")
        entries.append((_ISO_SPEED_RATINGS, _SHORT, [int(iso)]))
    return entries


# --------------------------------------------------------------------------------------------
# Encoding.


def _rational(value: float, signed: bool) -> tuple[int, int]:
    """The closest fraction with a small denominator that fits the (S)RATIONAL range."""
    limit = 2**31 - 1 if signed else 2**32 - 1
    fraction = Fraction(value).limit_denominator(1_000_000)
    if abs(fraction.numerator) > limit:
        fraction = Fraction(value).limit_denominator(max(1, int(limit // (abs(value) + 1))))
    if abs(fraction.numerator) > limit or (not signed and fraction < 0):
        raise ValueError(f"{value!r} does not fit a TIFF {'S' if signed else ''}RATIONAL")
    return fraction.numerator, fraction.denominator


def _encode(typ: int, values) -> tuple[int, bytes]:
    """Return (count, little-endian bytes) of one field."""
    if typ == _ASCII:
        data = str(values).encode("ascii", "replace") + b"\0"
        return len(data), data
    values = list(values)
    if typ in (_BYTE, _UNDEFINED):
        return len(values), bytes(int(v) for v in values)
    if typ == _SHORT:
        return len(values), struct.pack(f"<{len(values)}H", *(int(v) for v in values))
    if typ == _LONG:
        return len(values), struct.pack(f"<{len(values)}I", *(int(v) for v in values))
    if typ == _SLONG:
        return len(values), struct.pack(f"<{len(values)}i", *(int(v) for v in values))
    if typ in (_RATIONAL, _SRATIONAL):
        signed = typ == _SRATIONAL
        parts = [p for v in values for p in _rational(float(v), signed)]
        return len(values), struct.pack(f"<{len(parts)}{'i' if signed else 'I'}", *parts)
    raise ValueError(f"unsupported TIFF type {typ}")


def _align(n: int, to: int = 4) -> int:
    return (n + to - 1) // to * to


def _encode_ifd(entries: Sequence, base: int, next_ifd: int = 0) -> bytes:
    """Encode one IFD placed at file offset ``base``, its out-of-line values right after it."""
    entries = sorted(entries, key=lambda e: e[0])  # TIFF requires ascending tag order
    head = struct.pack("<H", len(entries))
    overflow = b""
    overflow_start = base + 2 + 12 * len(entries) + 4
    for tag, typ, values in entries:
        count, data = _encode(typ, values)
        if len(data) <= 4:
            field = data.ljust(4, b"\0")
        else:
            field = struct.pack("<I", overflow_start + len(overflow))
            overflow += data.ljust(_align(len(data)), b"\0")
        head += struct.pack("<HHI", tag, typ, count) + field
    return head + struct.pack("<I", next_ifd) + overflow


def _replace(entries: Iterable, tag: int, values) -> list:
    return [(t, typ, values if t == tag else v) for t, typ, v in entries]


def _write_tiff(path, ifd0_entries, exif_entries, pixels: bytes) -> None:
    """Lay out header, IFD 0, the Exif IFD and one strip; write atomically."""
    # Offsets are inline LONGs, so sizes do not depend on their values: measure with zeros.
    if exif_entries:
        ifd0_entries = list(ifd0_entries) + [(_EXIF_IFD, _LONG, [0])]
    ifd0_size = len(_encode_ifd(ifd0_entries, 8))
    exif_offset = _align(8 + ifd0_size)
    exif_size = len(_encode_ifd(exif_entries, exif_offset)) if exif_entries else 0
    strip_offset = _align(exif_offset + exif_size, 16)
    entries = _replace(ifd0_entries, _STRIP_OFFSETS, [strip_offset])
    if exif_entries:
        entries = _replace(entries, _EXIF_IFD, [exif_offset])
    header = b"II" + struct.pack("<HI", 42, 8)
    ifd0 = _encode_ifd(entries, 8)
    blob = bytearray(header + ifd0)
    blob += b"\0" * (exif_offset - len(blob))
    if exif_entries:
        blob += _encode_ifd(exif_entries, exif_offset)
    blob += b"\0" * (strip_offset - len(blob))
    blob += pixels
    write_bytes(path, bytes(blob))


