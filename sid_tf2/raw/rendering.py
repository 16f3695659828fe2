"""The original's ground truth: LibRaw's sRGB rendering of the long exposure, and the colour
matrix that rendering uses."""

import warnings

import numpy as np
import rawpy

from sid_tf2.raw.reading import RawFileError, exception_text, read_raw

NO_COLOUR_MATRIX = ("LibRaw has no colour matrix for this camera (it reports all zeros): its "
                    "camera RGB is taken as sRGB (an identity matrix), so colours may be off")
"""The note for a file without a colour matrix (old cameras, some converters' DNGs)."""


def _tell(raw, note, notes):
    """Append `note` to `notes`, or warn with the file's name when no list is given (a caller
    on a worker thread gives a list: see :func:`sid_tf2.raw.pack_xtrans`)."""
    if notes is None:
        name = getattr(raw, "path", None) or "<rawpy object>"
        warnings.warn(f"{name}: {note}", RuntimeWarning, stacklevel=3)
    else:
        notes.append(note)


def camera_to_srgb(raw, *, notes=None) -> np.ndarray:
    """The file's camera RGB -> linear sRGB matrix (3x3 float64), as LibRaw renders with it.

    Why: LibRaw reports all zeros for a camera it has no matrix for (a Kodak DC50 .KDC, a DNG
    without ColorMatrix1), and then renders camera RGB as it is; inverting those zeros is what
    used to end the simulator in "Singular matrix". The identity is returned then, with
    :data:`NO_COLOUR_MATRIX` as a note (or a warning naming the file when `notes` is None).
    """
    matrix = np.asarray(raw.color_matrix, dtype=np.float64)[:3, :3]
    if np.any(matrix) and np.all(np.isfinite(matrix)) and abs(np.linalg.det(matrix)) > 1e-12:
        return matrix
    _tell(raw, NO_COLOUR_MATRIX, notes)
    return np.eye(3)


def render_ground_truth_uint16(raw, *, notes=None) -> np.ndarray:
    """The original's ground truth as (H, W, 3) uint16, before the division by 65535.

    ``raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16)``:
    LibRaw's demosaic, camera white balance, camera -> sRGB matrix and sRGB gamma, no automatic
    brightening.  Why a uint16 variant: it is half the size of float32 in disk caches and
    converts to :func:`render_ground_truth` exactly.  Accepts a rawpy object or a path.

    A Bayer image of odd height or width loses its last row or column, as the packing crops
    it, so that input and ground truth align. A file without a colour matrix is rendered as
    LibRaw renders it (camera RGB as sRGB), with :data:`NO_COLOUR_MATRIX` said once (a note in
    `notes`, else a warning).
    """
    if not hasattr(raw, "postprocess"):
        with read_raw(raw) as opened:
            return render_ground_truth_uint16(opened, notes=notes)
    name = getattr(raw, "path", None) or "<rawpy object>"
    pattern = raw.raw_pattern  # before postprocess, which rewrites LibRaw's filter state
    if pattern is not None and pattern.shape == (2, 2):
        camera_to_srgb(raw, notes=notes)
    try:
        image = raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
                                output_bps=16)
    except (rawpy.LibRawError, RuntimeError) as e:
        hint = ""
        if pattern is not None and pattern.shape == (6, 6):
            hint = " (LibRaw's X-Trans demosaic needs at least 512x512 pixels)"
        raise RawFileError(name, f"LibRaw could not render it ({type(e).__name__}: "
                           f"{exception_text(e)}){hint}") from None
    if pattern is not None and pattern.shape == (2, 2):
        image = _even_sensor_size(image, int(raw.sizes.flip), int(raw.sizes.height),
                                  int(raw.sizes.width))
    return image


def _even_sensor_size(image, flip, height, width):
    """A rendering without the sensor's last row and column when they are odd, as the packing
    drops them; LibRaw's `flip` (1 mirrors columns, 2 rows, then 4 transposes) says where they
    are in the turned image."""
    index = [slice(None), slice(None)]
    for odd, axis, mirrored in ((height % 2, 1 if flip & 4 else 0, flip & 2),
                                (width % 2, 0 if flip & 4 else 1, flip & 1)):
        if odd:
            index[axis] = slice(1, None) if mirrored else slice(None, -1)
    return image[tuple(index)]


def render_ground_truth(raw, *, notes=None) -> np.ndarray:
    """The original's ground truth: ``postprocess(...) / 65535.0`` as float32 in [0, 1].

    rawpy's output is already gamma-encoded sRGB: do not apply a gamma again (applying it twice
    was a known mistake of users of the original code).  The division is done in float64 and
    then cast, as the original did.  Accepts a rawpy object or a path; `notes` as for
    :func:`render_ground_truth_uint16`.
    """
    return (render_ground_truth_uint16(raw, notes=notes) / 65535.0).astype(np.float32)
