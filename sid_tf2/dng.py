"""A small, dependency-free writer of real DNG files (and a reader of their exposure time).

Why this exists: the tests and the synthetic-dataset generator need raw files that go through the
very same reader as real camera files (rawpy / LibRaw), so that packing, black levels, white
balance and ground-truth rendering are exercised end to end.  DNG is the one raw format that is
publicly specified and that LibRaw reads, so we write DNG.

What is written (DNG 1.4, a TIFF 6 container, little endian unless asked otherwise):

* IFD 0 is the raw image itself (``NewSubfileType`` 0): one uncompressed strip of 16-bit samples
  by default; :func:`write_dng` also writes 8-bit samples, big-endian files, tiles, lossless JPEG
  (:mod:`sid_tf2.lossless_jpeg`), ActiveArea, DefaultCrop and no ColorMatrix1 at all, the
  traits of cameras', phones' and converters' DNGs.
  A CFA image uses ``PhotometricInterpretation`` 32803 (CFA) with ``CFARepeatPatternDim``,
  ``CFAPattern``, ``CFAPlaneColor`` (the colours used, normally R, G, B) and ``CFALayout``
  (rectangular).
* ``BlackLevelRepeatDim`` / ``BlackLevel`` (one value, or one per CFA position), ``WhiteLevel``.
* ``ColorMatrix1`` (XYZ -> camera, SRATIONAL) with ``CalibrationIlluminant1`` = D65 (21), and
  optionally ``AsShotNeutral`` (RATIONAL).  Without a colour matrix the inverse of the sRGB
  primaries is written, i.e. "camera RGB is linear sRGB": LibRaw then converts camera -> sRGB
  with the identity, which keeps synthetic scenes easy to reason about.
* ``Orientation`` (274, default 1) and, when given, ``DateTime`` (306).
* An Exif IFD (tag 34665) with what is given of ``ExposureTime`` (33434), ``FNumber`` (33437),
  ``ISOSpeedRatings`` (34855), ``DateTimeOriginal`` (36867), ``FocalLength`` (37386),
  ``LensMake`` (42035) and ``LensModel`` (42036), and a GPS IFD (34853) for a position.
  rawpy reports them as ``raw.other.shutter_speed``, ``aperture``, ``iso_speed``,
  ``focal_length``, ``timestamp`` (float32 where numeric), ``raw.lens.model`` and
  ``raw.sizes.flip``; :func:`read_tiff_exposure_time` reads the exact rational back.  So the
  tests can give a synthetic raw file what a camera's carries, and check that sid-enhance keeps
  it.

The directories are encoded by :mod:`sid_tf2.tiff` (Pillow's TIFF tag writer; tifffile refuses
to write Exif and GPS directories) and read back with tifffile.  Files are written to a
temporary name in the target directory and renamed into place, so a reader (or a crash) never
sees a half-written file under the final name.

Facts about LibRaw 0.22 (rawpy 0.28) worth knowing, checked by ``tests/test_dng.py`` and
``tests/test_raw.py`` unless noted:

* ``raw_image_visible`` is the mosaic exactly without ActiveArea; with it, the area LibRaw
  rounds to even offsets (``raw_pattern`` then describes the visible area's phase) while
  ``raw_image`` keeps the masked border. DefaultCrop and OpcodeLists are not applied.
* Without ColorMatrix1, ``raw.color_matrix`` is all zeros (as for a camera LibRaw has no matrix
  for) and LibRaw renders camera RGB as it is.
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

from fractions import Fraction

import numpy as np
import tifffile

from sid_tf2 import lossless_jpeg, tiff
from sid_tf2.tiff import ASCII as _ASCII
from sid_tf2.tiff import BYTE as _BYTE
from sid_tf2.tiff import LONG as _LONG
from sid_tf2.tiff import RATIONAL as _RATIONAL
from sid_tf2.tiff import SHORT as _SHORT
from sid_tf2.tiff import SRATIONAL as _SRATIONAL

__all__ = [
    "COLOR_INDEX",
    "SRGB_XYZ_TO_CAMERA",
    "cfa_pattern_array",
    "read_tiff_exposure_time",
    "write_dng",
    "write_linear_dng",
]

# Tags (TIFF 6, TIFF/EP, Exif 2.3, DNG 1.4).
_NEW_SUBFILE_TYPE = 254
_PHOTOMETRIC = 262
_MAKE = 271
_MODEL = 272
_ORIENTATION = 274
_SOFTWARE = 305
_DATE_TIME = 306
_CFA_REPEAT_PATTERN_DIM = 33421
_CFA_PATTERN = 33422
_EXPOSURE_TIME = 33434
_F_NUMBER = 33437
_ISO_SPEED_RATINGS = 34855
_DATE_TIME_ORIGINAL = 36867
_FOCAL_LENGTH = 37386
_LENS_MAKE = 42035
_LENS_MODEL = 42036
_DNG_VERSION = 50706
_DNG_BACKWARD_VERSION = 50707
_UNIQUE_CAMERA_MODEL = 50708
_CFA_PLANE_COLOR = 50710
_CFA_LAYOUT = 50711
_BLACK_LEVEL_REPEAT_DIM = 50713
_BLACK_LEVEL = 50714
_WHITE_LEVEL = 50717
_DEFAULT_CROP_ORIGIN = 50719
_DEFAULT_CROP_SIZE = 50720
_COLOR_MATRIX_1 = 50721
_AS_SHOT_NEUTRAL = 50728
_CALIBRATION_ILLUMINANT_1 = 50778
_ACTIVE_AREA = 50829

_PHOTOMETRIC_CFA = 32803
_PHOTOMETRIC_LINEAR_RAW = 34892
_D65 = 21
_COMPRESSIONS = {"none": None, "lossless_jpeg": (7, lossless_jpeg.encode)}

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
    orientation: int = 1,
    date_time: str | None = None,
    f_number=None,
    focal_length=None,
    lens_make: str | None = None,
    lens_model: str | None = None,
    gps=None,
    with_color_matrix: bool = True,
    bits_per_sample: int = 16,
    big_endian: bool = False,
    tile=None,
    compression: str = "none",
    active_area=None,
    default_crop=None,
    extra_tags=(),
) -> None:
    """Write a CFA (mosaic) raw image as a DNG file that rawpy / LibRaw reads; the
    keywords from `with_color_matrix` on write the traits of cameras', phones' and converters'
    DNGs, so that tests meet LibRaw's real handling of them.

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
      orientation: TIFF Orientation, 1 (upright) to 8; LibRaw reports it as ``sizes.flip``.
      date_time: "YYYY:MM:DD HH:MM:SS", stored as DateTime and Exif DateTimeOriginal.
      f_number, focal_length (mm), lens_make, lens_model: the Exif tags of those names.
      gps: ``(latitude, longitude)`` or ``(latitude, longitude, altitude)`` in degrees (north
        and east positive) and metres, stored as a GPS IFD in degrees, minutes and seconds.
      with_color_matrix: False leaves ColorMatrix1 out, as old cameras' and some converters'
        files do (LibRaw then has no matrix); `color_matrix` must be None then.
      bits_per_sample: 16, or 8 for data whose white level is at most 255.
      big_endian, tile, compression: a Motorola ("MM") file; TIFF tiles of ``(height, width)``
        (multiples of 16) instead of one strip, as phones write; "none" or "lossless_jpeg"
        (DNG Compression 7, :mod:`sid_tf2.lossless_jpeg`, one stream per strip or tile).
      active_area: ``(top, left, bottom, right)`` of the visible area (ActiveArea; the rest is
        a masked border, and `cfa_pattern` is anchored at the area's top-left pixel).
      default_crop: ``(top, left, height, width)`` within the active area (DefaultCrop tags).
      extra_tags: more ``(tag, type, value)`` entries of IFD 0, e.g. a phone's OpcodeList.

    Raises:
      ValueError / TypeError on invalid arguments (nothing is written then).
    """
    mosaic = _as_uint16_image(mosaic, ndim=2, what="mosaic")
    if compression not in _COMPRESSIONS:
        raise ValueError(f"compression must be one of {sorted(_COMPRESSIONS)}, got {compression!r}")
    pattern = cfa_pattern_array(cfa_pattern)
    blacks, white = _levels(black_level, white_level, pattern.shape)
    mosaic = _samples(mosaic, bits_per_sample, white)
    entries = _common_entries(
        photometric=_PHOTOMETRIC_CFA, make=make, model=model,
        unique_camera_model=unique_camera_model, software=software, orientation=orientation,
        date_time=date_time,
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
    entries += _colour_entries(color_matrix, as_shot_neutral, len(planes), with_color_matrix)
    entries += _area_entries(mosaic.shape, active_area, default_crop)
    entries += [tuple(entry) for entry in extra_tags]
    exif = _exif_entries(exposure_time, iso, f_number=f_number, focal_length=focal_length,
                         date_time=date_time, lens_make=lens_make, lens_model=lens_model)
    tiff.write_tiff(path, entries, mosaic, exif=exif, gps=tiff.gps_entries(gps),
                    big_endian=big_endian, tile=tile, compression=_COMPRESSIONS[compression])


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
    orientation: int = 1,
    metadata=None,
) -> None:
    """Write a DNG without a colour filter array (LinearRaw): (H, W, 3) RGB or (H, W) monochrome.

    Why: it is the file a raw editor takes back after a denoiser (Lightroom's Denoise and DxO
    PureRAW hand theirs back so): sid-enhance's ``--format=dng`` writes the network's output so,
    linear light in sRGB primaries (the default colour matrix) with AsShotNeutral 1, 1, 1.  Such
    files hold no mosaic, so SID's packing cannot apply to them; the tests also use them to check
    that the reader refuses them with a clear message.

    Arguments are as for :func:`write_dng` (black level: one integer), and:
      orientation: TIFF Orientation 1..8; LibRaw turns the image by it (``sizes.flip``).
      metadata: a photo's ``(ifd0, exif, gps)`` entries, as
        :meth:`sid_tf2.exif.PhotoMetadata.entries` gives them.  Copied as they are, except that
        IFD 0's PhotometricInterpretation stays LinearRaw; an entry replaces the one of the same
        tag that the other arguments give (Make, Model, Orientation, Software, ExposureTime,
        ISO).  UniqueCameraModel then defaults to the Make and Model of the result.
    """
    image = _as_uint16_image(image, ndim=(2, 3), what="image")
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got {image.shape}")
    samples = 1 if image.ndim == 2 else 3
    blacks, white = _levels(black_level, white_level, (1, 1))
    # LinearRaw for both: LibRaw refuses a DNG raw IFD with BlackIsZero (1) as unsupported.
    entries = _common_entries(
        photometric=_PHOTOMETRIC_LINEAR_RAW, make=make, model=model,
        unique_camera_model=unique_camera_model, software=software, orientation=orientation,
    )
    entries += _level_entries(blacks, white)
    if samples == 3:
        entries += _colour_entries(color_matrix, as_shot_neutral, 3)
    exif, gps = _exif_entries(exposure_time, iso), []
    if metadata is not None:
        photo_ifd0, photo_exif, gps = metadata
        entries = _by_tag(entries, [entry for entry in photo_ifd0 if entry[0] != _PHOTOMETRIC])
        exif = _by_tag(exif, photo_exif)
        if unique_camera_model is None:
            values = {tag: value for tag, _, value in entries}
            entries = _by_tag(entries, [(_UNIQUE_CAMERA_MODEL, _ASCII,
                                         f"{values[_MAKE]} {values[_MODEL]}")])
    tiff.write_tiff(path, entries, image, exif=exif, gps=list(gps))


def _by_tag(entries, replacements):
    """`entries` with `replacements` added, each replacing the entry of its tag; by tag."""
    merged = {entry[0]: entry for entry in entries}
    merged.update({entry[0]: entry for entry in replacements})
    return [merged[tag] for tag in sorted(merged)]


def read_tiff_exposure_time(path) -> float | None:
    """Return the Exif ExposureTime (seconds) of a TIFF-based file (DNG, ARW, NEF...), or None.

    Why: rawpy reports the exposure as ``raw.other.shutter_speed``, but LibRaw keeps it as a
    float32 (0.1 s becomes 0.10000000149), and SID's exposure ratios are quotients of decimal
    exposure times.  This reads the exact RATIONAL (with tifffile) from IFD 0 or its Exif IFD.
    Files that are not TIFF (e.g. Fuji RAF), lack the tag, or are malformed give None: it never
    raises for content, only for a file that cannot be opened (OSError).
    """
    with open(path, "rb"):  # an unreadable file is the caller's error: OSError
        pass
    try:
        with tifffile.TiffFile(path) as tif:
            tags = tif.pages.first.tags
            value = tags.valueof(_EXPOSURE_TIME)
            if value is None:
                value = (tags.valueof(tiff.EXIF_IFD) or {}).get("ExposureTime")
    except Exception:  # pylint: disable=broad-except  # tifffile's many errors for bad files
        return None
    try:
        numerator, denominator = value
        return float(Fraction(int(numerator), int(denominator))) if denominator else None
    except (TypeError, ValueError):
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


def _samples(mosaic, bits, white):
    """The mosaic in `bits`-bit samples (8 or 16)."""
    if bits == 16:
        return mosaic
    if bits != 8 or white > 255 or mosaic.max(initial=0) > 255:
        raise ValueError(f"bits_per_sample must be 16, or 8 for a white level and values up to "
                         f"255; got {bits!r} with white level {white}")
    return mosaic.astype(np.uint8)


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


def _common_entries(*, photometric, make, model, unique_camera_model, software, orientation=1,
                    date_time=None):
    """IFD 0 without the strip's tags, which :func:`sid_tf2.tiff.tiff_bytes` adds."""
    if int(orientation) != orientation or not 1 <= orientation <= 8:
        raise ValueError(f"orientation must be a TIFF Orientation 1..8, got {orientation!r}")
    ucm = unique_camera_model if unique_camera_model is not None else f"{make} {model}"
    entries = [
        (_NEW_SUBFILE_TYPE, _LONG, [0]),
        (_PHOTOMETRIC, _SHORT, [photometric]),
        (_MAKE, _ASCII, make),
        (_MODEL, _ASCII, model),
        (_ORIENTATION, _SHORT, [int(orientation)]),
        (_SOFTWARE, _ASCII, software),
        (_DNG_VERSION, _BYTE, [1, 4, 0, 0]),
        (_DNG_BACKWARD_VERSION, _BYTE, [1, 1, 0, 0]),
        (_UNIQUE_CAMERA_MODEL, _ASCII, ucm),
    ]
    if date_time is not None:
        entries.append((_DATE_TIME, _ASCII, _checked_date_time(date_time)))
    return entries


def _checked_date_time(text):
    parts = str(text).replace(" ", ":").split(":")
    if len(parts) != 6 or not all(part.isdigit() for part in parts) or len(str(text)) != 19:
        raise ValueError(f"date_time must be 'YYYY:MM:DD HH:MM:SS', got {text!r}")
    return str(text)


def _level_entries(blacks, white):
    return [
        (_BLACK_LEVEL_REPEAT_DIM, _SHORT, list(blacks.shape)),
        (_BLACK_LEVEL, _LONG, blacks.ravel().tolist()),
        (_WHITE_LEVEL, _LONG, [white]),
    ]


def _area_entries(shape, active_area, default_crop):
    """ActiveArea and DefaultCropOrigin / DefaultCropSize, checked against the mosaic's shape."""
    entries = []
    top, left, bottom, right = (0, 0) + tuple(shape) if active_area is None else active_area
    if active_area is not None:
        if not 0 <= top < bottom <= shape[0] or not 0 <= left < right <= shape[1] or \
                min(bottom - top, right - left) < 22:
            raise ValueError(f"active_area {active_area!r} must lie within the mosaic {shape} "
                             "and keep at least 22 pixels each way")
        entries.append((_ACTIVE_AREA, _LONG, [int(v) for v in active_area]))
    if default_crop is not None:
        crop_top, crop_left, height, width = default_crop
        if min(crop_top, crop_left) < 0 or min(height, width) < 1 or \
                crop_top + height > bottom - top or crop_left + width > right - left:
            raise ValueError(f"default_crop {default_crop!r} must lie within the active area")
        entries += [(_DEFAULT_CROP_ORIGIN, _LONG, [int(crop_left), int(crop_top)]),
                    (_DEFAULT_CROP_SIZE, _LONG, [int(width), int(height)])]
    return entries


def _colour_entries(color_matrix, as_shot_neutral, colours, with_matrix=True):
    if not with_matrix:
        if color_matrix is not None:
            raise ValueError("color_matrix given, but with_color_matrix=False leaves it out")
        return _neutral_entries(as_shot_neutral, colours)
    if color_matrix is None:
        if colours != 3:
            raise ValueError(f"a {colours}-colour CFA needs an explicit {colours}x3 color_matrix")
        matrix = SRGB_XYZ_TO_CAMERA
    else:
        matrix = np.asarray(color_matrix, float)
    if matrix.shape != (colours, 3) or not np.all(np.isfinite(matrix)):
        raise ValueError(f"color_matrix must be a finite {colours}x3 XYZ -> camera matrix, "
                         f"got shape {matrix.shape}")
    return [
        (_COLOR_MATRIX_1, _SRATIONAL, matrix.ravel().tolist()),
        (_CALIBRATION_ILLUMINANT_1, _SHORT, [_D65]),
    ] + _neutral_entries(as_shot_neutral, colours)


def _neutral_entries(as_shot_neutral, colours):
    entries = []
    if as_shot_neutral is not None:
        neutral = np.asarray(as_shot_neutral, float)
        if neutral.shape != (colours,) or not np.all(np.isfinite(neutral)) or np.any(neutral <= 0):
            raise ValueError(f"as_shot_neutral must be {colours} positive numbers, "
                             f"got {as_shot_neutral!r}")
        entries.append((_AS_SHOT_NEUTRAL, _RATIONAL, neutral.tolist()))
    return entries


def _exif_entries(exposure_time, iso, *, f_number=None, focal_length=None, date_time=None,
                  lens_make=None, lens_model=None):
    entries = []
    for tag, value, what in ((_EXPOSURE_TIME, exposure_time, "exposure_time"),
                             (_F_NUMBER, f_number, "f_number"),
                             (_FOCAL_LENGTH, focal_length, "focal_length")):
        if value is not None:
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{what} must be a positive number, got {value!r}")
            entries.append((tag, _RATIONAL, [float(value)]))
    if iso is not None:
        if int(iso) != iso or not 0 < iso <= 65535:
            raise ValueError(f"iso must be an integer in [1, 65535], got {iso!r}")
        entries.append((_ISO_SPEED_RATINGS, _SHORT, [int(iso)]))
    if date_time is not None:
        entries.append((_DATE_TIME_ORIGINAL, _ASCII, _checked_date_time(date_time)))
    for tag, text in ((_LENS_MAKE, lens_make), (_LENS_MODEL, lens_model)):
        if text is not None:
            entries.append((tag, _ASCII, str(text)))
    return sorted(entries)
