"""The original's ground truth: LibRaw's sRGB rendering of the long exposure."""

import numpy as np
import rawpy

from sid_tf2.raw.reading import RawFileError, exception_text, read_raw


def render_ground_truth_uint16(raw) -> np.ndarray:
    """The original's ground truth as (H, W, 3) uint16, before the division by 65535.

    ``raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16)``:
    LibRaw's demosaic, camera white balance, camera -> sRGB matrix and sRGB gamma, no automatic
    brightening.  Why a uint16 variant: it is half the size of float32 in disk caches and
    converts to :func:`render_ground_truth` exactly.  Accepts a rawpy object or a path.
    """
    if not hasattr(raw, "postprocess"):
        with read_raw(raw) as opened:
            return render_ground_truth_uint16(opened)
    name = getattr(raw, "path", None) or "<rawpy object>"
    pattern = raw.raw_pattern  # before postprocess, which rewrites LibRaw's filter state
    try:
        return raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
                               output_bps=16)
    except (rawpy.LibRawError, RuntimeError) as e:
        hint = ""
        if pattern is not None and pattern.shape == (6, 6):
            hint = " (LibRaw's X-Trans demosaic needs at least 512x512 pixels)"
        raise RawFileError(name, f"LibRaw could not render it ({type(e).__name__}: "
                           f"{exception_text(e)}){hint}") from None


def render_ground_truth(raw) -> np.ndarray:
    """The original's ground truth: ``postprocess(...) / 65535.0`` as float32 in [0, 1].

    rawpy's output is already gamma-encoded sRGB: do not apply a gamma again (applying it twice
    was a known mistake of users of the original code).  The division is done in float64 and
    then cast, as the original did.  Accepts a rawpy object or a path.
    """
    return (render_ground_truth_uint16(raw) / 65535.0).astype(np.float32)
