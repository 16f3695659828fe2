"""SID file names and exposure times: the amplification ratio the network is given.

The original read the exposure from the file name (``00001_00_0.1s.ARW``) and amplified the
short exposure by the ratio of the two exposures, capped at 300; both are kept here exactly,
with the name parsed as a whole pattern so that any extension and directory work.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

import numpy as np

from sid_tf2.dng import read_tiff_exposure_time
from sid_tf2.raw.reading import RawFileError, read_raw

MAX_RATIO = 300
"""The original caps the amplification ratio gt_exposure / input_exposure at 300."""


class SidName(NamedTuple):
    """The parts of a SID file name ``<scene:5 digits>_<burst:2 digits>_<exposure>s.<ext>``."""

    scene: int
    burst: int
    exposure: float


_SID_NAME = re.compile(r"(\d{5})_(\d{2})_(\d+(?:\.\d*)?|\.\d+)s\.([A-Za-z0-9]+)")


def parse_sid_name(path) -> SidName:
    """Parse a SID file name such as ``10003_00_0.04s.ARW`` (any directory, any extension).

    Raises ValueError naming the file when the name does not follow the pattern.
    """
    name = os.path.basename(os.fspath(path))
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    match = _SID_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"{path}: file name {name!r} does not follow the SID pattern "
                         "<scene:5 digits>_<burst:2 digits>_<exposure>s.<ext>, "
                         "e.g. 00001_00_0.1s.ARW")
    exposure = float(match.group(3))
    if not exposure > 0:
        raise ValueError(f"{path}: exposure {match.group(3)}s in the file name is not positive")
    return SidName(int(match.group(1)), int(match.group(2)), exposure)


def exposure_from_name(path) -> float:
    """The exposure time in seconds encoded in a SID file name: ``00001_00_0.1s.ARW`` -> 0.1.

    The original took characters 9 to -5 of the base name, which only works for 3-letter
    extensions; this parses the whole ``<id5>_<burst2>_<exposure>s.<ext>`` pattern instead, so
    ``.dng``, ``.ARW``, ``.RAF`` (or any other extension) and any directory give the same number.
    An unparseable name raises ValueError naming the file.
    """
    return parse_sid_name(path).exposure


def amplification_ratio(input_exposure: float, gt_exposure: float) -> float:
    """``min(gt_exposure / input_exposure, 300)`` as float, exactly as the original.

    Why capped: the original never amplified by more than 300 (10 s / 0.033 s would be 303).
    In practice: 100 (0.1 s), 250 (0.04 s), 300 (0.033 s) for a 10 s ground truth.
    """
    if not (np.isfinite(input_exposure) and input_exposure > 0):
        raise ValueError(f"input exposure must be a positive number of seconds, "
                         f"got {input_exposure!r}")
    if not (np.isfinite(gt_exposure) and gt_exposure > 0):
        raise ValueError(f"ground-truth exposure must be a positive number of seconds, "
                         f"got {gt_exposure!r}")
    return float(min(gt_exposure / input_exposure, MAX_RATIO))


def read_exposure_time(path) -> float | None:
    """The exposure time stored in a raw file's metadata (seconds), or None if it has none.

    Why not only rawpy: LibRaw reports ``raw.other.shutter_speed`` as a float32 (0.1 s becomes
    0.10000000149), which would perturb exposure ratios.  For TIFF-based files (DNG, ARW, NEF...)
    the exact Exif RATIONAL is read; for others (e.g. RAF) LibRaw's value is used, rounded to the
    shortest decimal that identifies the float32 (0.1 stays 0.1).  Unreadable files raise
    RawFileError naming the file.
    """
    try:
        exact = read_tiff_exposure_time(path)
    except OSError as e:
        raise RawFileError(path, f"cannot open the file ({e.strerror or e})") from None
    if exact is not None:
        return exact
    with read_raw(path) as raw:
        shutter = float(raw.other.shutter_speed)
    if not shutter > 0:
        return None
    return float(str(np.float32(shutter)))
