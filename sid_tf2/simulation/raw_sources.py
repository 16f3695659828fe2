"""Clean raw files as simulation sources: any Bayer camera's well-exposed raw, read as it is.

A raw source is the long exposure itself: its mosaic, CFA phase, black and white levels, colour
matrix and white balance are kept, and only its short exposures are simulated (`raw_pairs`). No
unprocessing is involved, so the scene statistics are a real camera's, not a model of one.

What is refused, each with a reason that names the file (`RawSourceError`, which the dataset
writer reports and skips like an unreadable photograph):

* files LibRaw cannot read, and raw files without a colour mosaic (linear DNG, Foveon, sRAW):
  `sid_tf2.raw.read_raw` already says why;
* X-Trans and other non-Bayer layouts: the Sony network packs a 2x2 Bayer tile;
* a source darker than the exposure ratio allows (`too_dark_reason`).

Pixels at or above the white level are saturated: they are clipped to the white level, so the
long exposure keeps them saturated and LibRaw's rendering of it (the ground truth) clips them as
it clips SID's own long exposures.
"""

import dataclasses
import pathlib

import numpy as np

from sid_tf2.constants import RAW_EXTENSIONS
from sid_tf2.simulation.sources import PhotoError
from sid_tf2.simulation.unprocess import RGB_TO_XYZ

# A short exposure whose mean signal is below this many DN is mostly quantisation: its source
# is too dark for the ratio. Real SID short exposures average a few DN above black.
MIN_SHORT_SIGNAL_DN = 1.0


class RawSourceError(PhotoError):
    """A raw file that cannot serve as a clean long exposure (the message names it and why)."""


def is_raw_path(path):
    """Whether a path has one of the raw extensions LibRaw reads (any case)."""
    return pathlib.PurePath(path).suffix.lower() in RAW_EXTENSIONS


def list_raw_paths(source_dir):
    """Raw files under `source_dir` (recursive, hidden files skipped), sorted by path."""
    root = pathlib.Path(source_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{str(root)!r} is not a directory")
    paths = [path for path in root.rglob("*")
             if is_raw_path(path) and path.is_file() and not path.name.startswith(".")]
    return sorted(paths, key=lambda path: path.relative_to(root).as_posix())


@dataclasses.dataclass(frozen=True)
class RawSource:
    """A clean Bayer long exposure and everything needed to write it and its shorts as DNG.

    The attribute names match `unprocess.RawMetadata`, so the dataset writer writes either.

    Attributes:
      path: the source file.
      mosaic: uint16 [H, W] raw values, black included, clipped to the white level, cropped to
        even H and W (a whole 2x2 tile everywhere).
      cfa_pattern: the 2x2 phase in raster order, e.g. "GRBG".
      black_level: four black levels of the 2x2 positions in raster order.
      white_level: the saturation level.
      xyz_to_cam: 3x3 XYZ->camera matrix (DNG ColorMatrix1 convention).
      as_shot_neutral: the camera's neutral (G = 1), None when the file has none;
      wb_gains: the white-balance gains LibRaw renders it with (as-shot, else daylight).
      exposure_time, iso: from the file (None when it has none).
      saturated_fraction: the share of pixels at the white level.
      notes: what the user should know about the file, said once (e.g. that it has no colour
        matrix), without its name.
    """

    path: str
    mosaic: np.ndarray = dataclasses.field(repr=False)
    cfa_pattern: str
    black_level: tuple
    white_level: int
    xyz_to_cam: tuple
    as_shot_neutral: tuple
    wb_gains: tuple
    exposure_time: object
    iso: object
    saturated_fraction: float
    notes: tuple = ()

    def black_mosaic(self):
        """The black level of every pixel, [H, W] float64 (per-position levels tiled)."""
        height, width = self.mosaic.shape
        tile = np.asarray(self.black_level, dtype=np.float64).reshape(2, 2)
        return np.tile(tile, (height // 2, width // 2))

    def mean_signal_dn(self):
        """The mean signal above black, in DN."""
        return float(np.mean(np.maximum(self.mosaic - self.black_mosaic(), 0.0)))

    def to_dict(self):
        """What simulation.json records of the source (no pixels)."""
        return {
            "source_kind": "raw",
            "cfa_pattern": self.cfa_pattern,
            "black_level": list(self.black_level),
            "white_level": self.white_level,
            "xyz_to_cam": [list(row) for row in self.xyz_to_cam],
            "as_shot_neutral": self.as_shot_neutral and list(self.as_shot_neutral),
            "wb_gains": list(self.wb_gains),
            "source_exposure_time": self.exposure_time,
            "source_iso": self.iso,
            "shape": list(self.mosaic.shape),
            "saturated_fraction": self.saturated_fraction,
        }


def too_dark_reason(source, max_ratio):
    """Why `source` is too dark for exposures `max_ratio` times shorter, or None.

    Divided by the ratio, its mean signal must stay at least `MIN_SHORT_SIGNAL_DN`.
    """
    mean = source.mean_signal_dn()
    full_scale = source.white_level - max(source.black_level)
    if full_scale / max_ratio < MIN_SHORT_SIGNAL_DN:
        return (f"its white level {source.white_level} leaves {full_scale} DN above black: even a "
                f"saturated pixel would average {full_scale / max_ratio:.2f} DN in a short exposure "
                f"{max_ratio:g} times shorter (at least {MIN_SHORT_SIGNAL_DN:g} DN needed), so "
                "data of so few bits cannot serve as a source at this ratio")
    if mean / max_ratio < MIN_SHORT_SIGNAL_DN:
        return (f"too dark for ratio {max_ratio:g}: its mean signal is {mean:.1f} DN above black, "
                f"so the short exposure would average {mean / max_ratio:.2f} DN (at least "
                f"{MIN_SHORT_SIGNAL_DN:g} DN needed); use a brighter exposure")
    return None


def read_usable_source(path, max_ratio):
    """`read_raw_source`, refusing also a source too dark for `max_ratio` (`too_dark_reason`)."""
    source = read_raw_source(path)
    reason = too_dark_reason(source, max_ratio)
    if reason:
        raise RawSourceError(f"{path}: {reason}")
    return source


def _xyz_to_cam(raw, notes):
    """The file's XYZ->camera matrix: LibRaw's table entry, or (for DNG files, where LibRaw
    leaves that zero) the inverse of its camera->sRGB matrix taken back to XYZ. Written as a
    DNG ColorMatrix1 either gives LibRaw the same camera->sRGB conversion. A file without any
    matrix (`rawlib.camera_to_srgb` notes it) is taken as linear sRGB."""
    from sid_tf2 import raw as rawlib  # pylint: disable=import-outside-toplevel  (rawpy: off --help)

    table = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3]
    if np.any(table):
        return table
    return np.linalg.inv(RGB_TO_XYZ @ rawlib.camera_to_srgb(raw, notes=notes))


def read_raw_source(path):
    """Read a clean Bayer raw file as a `RawSource`; `RawSourceError` says why it cannot be one."""
    from sid_tf2 import raw as rawlib  # pylint: disable=import-outside-toplevel  (rawpy: off --help)

    try:
        with rawlib.read_raw(path) as raw:
            pattern = rawlib.raw_pattern(raw, str(path))
            if pattern.shape == (6, 6):
                raise RawSourceError(f"{path}: X-Trans (6x6) sensor, not Bayer (the Sony "
                                     "network takes a 2x2 Bayer tile)")
            try:
                phase = rawlib.bayer_phase(raw)
            except rawlib.RawFileError as error:
                raise RawSourceError(f"{path}: not a Bayer sensor ({error.reason})") from None
            per_colour = raw.black_level_per_channel
            blacks = tuple(int(per_colour[int(pattern[r, c])]) for r in range(2) for c in range(2))
            white = int(raw.white_level)
            mosaic = np.array(raw.raw_image_visible, dtype=np.uint16)
            camera_gains = np.asarray(raw.camera_whitebalance[:3], dtype=np.float64)
            daylight_gains = np.asarray(raw.daylight_whitebalance[:3], dtype=np.float64)
            notes = []
            xyz_to_cam = _xyz_to_cam(raw, notes)
            iso = float(raw.other.iso_speed)
    except rawlib.RawFileError as error:
        raise RawSourceError(f"{error.path}: {error.reason}") from None
    if max(blacks) >= white:
        raise RawSourceError(f"{path}: white level {white} is not above the black levels {blacks}")
    # Without an as-shot white balance LibRaw renders with the daylight one: write none, so
    # that the DNG renders the same way, and record the daylight gains it will use.
    as_shot = bool(np.all(camera_gains > 0))
    gains = camera_gains if as_shot else daylight_gains
    gains = gains / gains[1] if np.all(gains > 0) else np.ones(3)
    height, width = mosaic.shape
    mosaic = np.minimum(mosaic[:height - height % 2, :width - width % 2], white)
    return RawSource(
        path=str(path),
        mosaic=mosaic,
        cfa_pattern=phase,
        black_level=blacks,
        white_level=white,
        xyz_to_cam=tuple(tuple(float(v) for v in row) for row in xyz_to_cam),
        as_shot_neutral=tuple(float(v) for v in 1.0 / gains) if as_shot else None,
        wb_gains=tuple(float(g) for g in gains),
        exposure_time=rawlib.read_exposure_time(path),
        iso=iso if iso > 0 else None,
        saturated_fraction=float(np.mean(mosaic >= white)),
        notes=tuple(notes),
    )
