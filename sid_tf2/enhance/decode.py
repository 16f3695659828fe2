"""Reading one raw file for the network: its sensor, its metadata, the packed and amplified input.

`decode_file` runs in sid-enhance's reader thread while the network runs on the previous file,
so it reports oddities as `notes` on the result instead of warnings (which would reach the main
thread's warning filters).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from sid_tf2.dng import read_tiff_exposure_time
from sid_tf2.exif import read_photo_metadata
from sid_tf2.photo_inputs import AUTO_TARGET, auto_ratio
from sid_tf2.raw import RawFileError, pack_bayer, pack_xtrans, raw_pattern, read_raw, render_ground_truth

SENSOR_CAMERA = {"Bayer": "sony", "X-Trans": "fuji"}
CAMERA_SENSOR = {camera: sensor for sensor, camera in SENSOR_CAMERA.items()}


@dataclasses.dataclass
class DecodedFile:
    """A raw file read and ready for the network (:func:`decode_file`), with what its outputs
    need afterwards."""

    path: str
    sensor: str
    network_input: np.ndarray | None  # packed, amplified, clipped: [H, W, C] float32
    ratio: float
    auto: bool
    level: float | None
    exposure_time: float | None
    iso: float | None
    metadata: object  # sid_tf2.exif.PhotoMetadata
    flip: int
    rendered: np.ndarray | None  # LibRaw's rendering, for --compare
    notes: list


def _metadata(path, raw):
    """(exposure time in seconds or None, ISO or None) of an open file."""
    try:
        exposure = read_tiff_exposure_time(path)  # the exact Exif rational for TIFF-based raws
    except OSError:
        exposure = None
    other = getattr(raw, "other", None)
    if exposure is None and other is not None:
        shutter = float(getattr(other, "shutter_speed", 0) or 0)
        exposure = float(str(np.float32(shutter))) if shutter > 0 else None
    iso = float(getattr(other, "iso_speed", 0) or 0) if other is not None else 0.0
    return exposure, (iso if iso > 0 else None)


def _sensor(raw, path):
    """"Bayer" or "X-Trans" from the file's CFA pattern, or RawFileError."""
    pattern = raw_pattern(raw, path)
    if pattern.shape == (6, 6):
        return "X-Trans"
    if pattern.shape == (2, 2):
        return "Bayer"
    raise RawFileError(path, f"unsupported sensor: a {pattern.shape[0]}x{pattern.shape[1]} colour "
                       "filter pattern; SID handles Bayer (2x2) and X-Trans (6x6) sensors")


def _check_camera(sensor, camera, path):
    needed = SENSOR_CAMERA[sensor]
    if needed != camera:
        raise RawFileError(
            path, f"{sensor} sensor needs {needed.capitalize()} weights, but --weights holds the "
            f"{camera.capitalize()} network (for {CAMERA_SENSOR[camera]} sensors)")


def decode_file(path, camera, *, ratio="auto", auto_target=AUTO_TARGET, compare=False):
    """Read, check and pack a raw file and amplify it for the network.

    `ratio` is a positive number or "auto" (`sid_tf2.photo_inputs.auto_ratio` with
    `auto_target`); `compare` also renders the file with LibRaw for the compare image.

    Raises RawFileError (a ValueError) naming the file for unusable input.
    """
    path = os.fspath(path)
    notes = []
    with read_raw(path) as raw:
        sensor = _sensor(raw, path)
        _check_camera(sensor, camera, path)
        exposure, iso = _metadata(path, raw)
        metadata = read_photo_metadata(path, raw)
        if sensor == "Bayer":
            packed = pack_bayer(raw)
        else:
            packed = pack_xtrans(raw, notes=notes)  # not a warning: this may run in a thread
        flip = int(raw.sizes.flip)
        rendered = render_ground_truth(raw, notes=notes) if compare else None  # always upright
    if ratio == "auto":
        value, level = auto_ratio(packed, auto_target)
    else:
        value, level = float(ratio), None
    np.multiply(packed, np.float32(value), out=packed)  # in place: large photos, low peak memory
    np.minimum(packed, np.float32(1.0), out=packed)
    return DecodedFile(path, sensor, packed, value, ratio == "auto", level, exposure, iso,
                       metadata, flip, rendered, notes)
