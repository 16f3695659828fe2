"""Reading raw files (rawpy / LibRaw), SID's packing, exposure ratios and ground-truth rendering.

Why together: everything here turns a camera file into the numbers the network sees, and each
function must match the original code (ORIGINAL.md, "Packing raw data") exactly, because the
published weights were trained on exactly those numbers.  Where the original was fragile (odd
image sizes, file names, any camera other than the two in the paper) the behaviour is made
explicit and documented, and bad input raises :class:`RawFileError` naming the file and reason.

Summary:

* :func:`read_raw` opens and fully decodes a file, refusing anything that is not a colour mosaic.
* :func:`pack_sony` / :func:`pack_xtrans`: the original's packings, bit for bit (float32).
* :func:`pack_bayer`: the Sony packing generalised to any Bayer phase and per-channel levels.
* :func:`exposure_from_name`, :func:`amplification_ratio`: the original's exposure ratio.
* :func:`render_ground_truth`: the original's ground truth (``postprocess`` / 65535).
* :func:`camera_to_srgb`: the colour matrix LibRaw renders with (identity, with a note, when
  the file has none).

The package: `reading` (read_raw, LibRaw's messages, the mosaic checks), `packing` (the
packings and CFA layouts), `exposure` (SID file names, exposure times, the ratio) and
`rendering` (the ground truth). Import from `sid_tf2.raw`; modules inside the package import
their siblings.
"""

from sid_tf2.constants import RAW_EXTENSIONS
from sid_tf2.raw.exposure import (
    MAX_RATIO,
    SidName,
    amplification_ratio,
    exposure_from_name,
    parse_sid_name,
    read_exposure_time,
)
from sid_tf2.raw.packing import (
    FUJI_BLACK,
    FUJI_WHITE,
    SID_XTRANS_PATTERN,
    SONY_BLACK,
    SONY_WHITE,
    bayer_phase,
    pack_bayer,
    pack_sony,
    pack_xtrans,
)
from sid_tf2.raw.reading import RawFileError, raw_pattern, read_raw
from sid_tf2.raw.rendering import (
    NO_COLOUR_MATRIX,
    camera_to_srgb,
    render_ground_truth,
    render_ground_truth_uint16,
)

__all__ = [
    "FUJI_BLACK",
    "FUJI_WHITE",
    "MAX_RATIO",
    "NO_COLOUR_MATRIX",
    "RAW_EXTENSIONS",
    "SID_XTRANS_PATTERN",
    "SONY_BLACK",
    "SONY_WHITE",
    "RawFileError",
    "SidName",
    "amplification_ratio",
    "bayer_phase",
    "camera_to_srgb",
    "exposure_from_name",
    "pack_bayer",
    "pack_sony",
    "pack_xtrans",
    "parse_sid_name",
    "raw_pattern",
    "read_exposure_time",
    "read_raw",
    "render_ground_truth",
    "render_ground_truth_uint16",
]
