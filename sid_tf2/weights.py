"""Load SID network weights from any of the formats the project meets, and tell their camera.

One entry point, :func:`load_model_weights`, for every tool that needs a ready network
(``sid-enhance``, ``test_sony.py``): it accepts

* a Keras weights file ``*.weights.h5`` (``model.save_weights``; what training exports),
* a Keras model file ``*.keras`` (``model.save``),
* a TF1 ``tf.train.Saver`` checkpoint, such as the published ones: its prefix
  (``checkpoint/Sony/model.ckpt``), one of its files (``.index``, ``.meta``, ``.data-*``) or
  its directory,
* a training ``result_dir`` (its exported ``model.weights.h5``) or a checkpoint directory
  ``result_dir/checkpoints/epoch-NNNNNN`` (which holds one too),

and returns ``(model, camera)``: a :func:`sid_tf2.model.build_unet` model in the requested
precision holding those weights, and ``"sony"`` or ``"fuji"``.

Why the camera is read from the weights: the two networks differ only in their first and last
layers (4 or 9 packed channels in, 12 or 27 filters out), so the input channels of the first
convolution (``g_conv1_1``, kernel ``[3, 3, 4 | 9, 32]``) identify the camera in every format
without building anything.  Keras ``.weights.h5`` files store weights by position, not by
name, so the HDF5 datasets are scanned for that one kernel shape (no other SID kernel has it).

Every failure raises :class:`WeightsError` (a ValueError) whose message starts with the file
and says what is wrong: missing, not a weights file, truncated or corrupt, not a SID network,
or the other camera's network (``camera="sony"`` given Fuji weights).  Nothing is half-loaded:
shapes are checked before any weight is assigned.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import zipfile

import h5py
import numpy as np

from sid_tf2.constants import CAMERAS, camera_for_channels, first_kernels_text, get_camera
from sid_tf2.model import build_unet
from sid_tf2.tf1_checkpoint import (
    CheckpointError,
    detect_camera,
    load_tf1_checkpoint,
    read_shapes,
    resolve_prefix,
)

__all__ = ["WeightsError", "WeightsSource", "find_weights", "load_model_weights"]

RESULT_WEIGHTS = "model.weights.h5"
"""The file a training ``result_dir`` (and each of its epoch checkpoints) exports."""

_KERAS_MODEL_MEMBER = "model.weights.h5"  # the weights inside a .keras zip
_ACCEPTED = ("a .weights.h5 file, a .keras file, a TF1 checkpoint (prefix, one of its files "
             "or its directory), or a training result_dir holding model.weights.h5")

KERAS_WEIGHTS, KERAS_MODEL, TF1_CHECKPOINT = "keras weights", "keras model", "TF1 checkpoint"


class WeightsError(ValueError):
    """Weights that cannot be used as asked; ``path`` and ``reason`` are kept as attributes."""

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """Where weights live: ``kind`` (one of the three formats), the concrete ``path`` (a file,
    or a TF1 prefix) and the ``camera`` they were trained for."""

    kind: str
    path: str
    camera: str

    def describe(self):
        return f"{self.camera} network from {self.kind} {self.path}"


# --------------------------------------------------------------------------------------------
# Finding the file.


def _tf1_prefix(path):
    """The TF1 prefix for `path`, or None if `path` does not look like a TF1 checkpoint."""
    try:
        return resolve_prefix(path)
    except CheckpointError:
        return None


def _locate(path):
    """(kind, concrete path) for a weights argument, or raise WeightsError."""
    if os.path.isdir(path):
        exported = os.path.join(path, RESULT_WEIGHTS)
        if os.path.isfile(exported):
            return KERAS_WEIGHTS, exported
        prefix = _tf1_prefix(path)
        if prefix is not None:
            return TF1_CHECKPOINT, prefix
        raise WeightsError(path, f"a directory without weights: expected {RESULT_WEIGHTS} "
                           "(a training result_dir) or a TF1 checkpoint (*.index)")
    # The suffixes Keras itself dispatches on (case-sensitively) in `load_weights`.
    if path.endswith(".weights.h5"):
        if not os.path.exists(path):
            raise WeightsError(path, "no such file")
        return KERAS_WEIGHTS, path
    if path.endswith(".keras"):
        if not os.path.exists(path):
            raise WeightsError(path, "no such file")
        return KERAS_MODEL, path
    prefix = _tf1_prefix(path)
    if prefix is not None:
        return TF1_CHECKPOINT, prefix
    if not os.path.exists(path):
        raise WeightsError(path, f"no such file or directory (expected {_ACCEPTED})")
    if path.lower().endswith((".h5", ".hdf5")):
        raise WeightsError(path, "a legacy .h5 file: Keras 3 weights files end in .weights.h5; "
                           f"expected {_ACCEPTED}")
    raise WeightsError(path, f"not a recognised weights format (expected {_ACCEPTED})")


# --------------------------------------------------------------------------------------------
# Reading shapes without building a model.


def _h5_shapes(handle, path):
    """[(dataset name, shape)] of the layer weights in an open Keras 3 weights HDF5 file."""
    if "layers" not in handle:
        raise WeightsError(path, "not a Keras 3 weights file (no 'layers' group)")
    shapes = []

    def visit(name, item):
        if isinstance(item, h5py.Dataset):
            shapes.append((name, tuple(item.shape)))

    handle["layers"].visititems(visit)
    return shapes


def _check_readable(path):
    """Raise WeightsError for a file this user cannot open: the cause, not "corrupt"."""
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise WeightsError(path, f"cannot read the file: {(error.strerror or str(error)).lower()}") from None


def _read_h5_shapes(kind, path):
    _check_readable(path)
    try:
        if kind == KERAS_WEIGHTS:
            with h5py.File(path, "r") as handle:
                return _h5_shapes(handle, path)
        with zipfile.ZipFile(path) as archive:
            if _KERAS_MODEL_MEMBER not in archive.namelist():
                raise WeightsError(path, f"a zip file without {_KERAS_MODEL_MEMBER}: not a "
                                   "Keras model file")
            with archive.open(_KERAS_MODEL_MEMBER) as member, h5py.File(member, "r") as handle:
                return _h5_shapes(handle, path)
    except WeightsError:
        raise
    except zipfile.BadZipFile as error:
        raise WeightsError(path, f"not a readable .keras file: truncated or corrupt ({error})"
                           ) from None
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        raise WeightsError(path, f"not a readable HDF5 weights file: truncated or corrupt "
                           f"({error})") from None


def _camera_from_kernels(shapes, path):
    """The camera whose g_conv1_1 kernel [3, 3, C, 32] appears among `shapes`."""
    found = sorted({
        name for _, shape in shapes for name, camera in CAMERAS.items()
        if shape == camera.first_kernel
    })
    if len(found) == 1:
        return found[0]
    if not found:
        raise WeightsError(path, f"not SID U-Net weights: no first-convolution kernel of shape "
                           f"{first_kernels_text()}")
    raise WeightsError(path, "holds first-convolution kernels of both cameras: not one SID "
                       "U-Net's weights")


def find_weights(path) -> WeightsSource:
    """Locate the weights for an argument and read their camera, without building a model.

    Raises WeightsError for a missing path, an unknown format, a corrupt file or weights that
    are not the SID U-Net's.
    """
    path = os.fspath(path)
    kind, concrete = _locate(path)
    if kind == TF1_CHECKPOINT:
        try:
            camera = detect_camera(read_shapes(concrete), concrete)
        except CheckpointError as error:
            raise WeightsError(concrete, _reason(error, concrete)) from None
    else:
        camera = _camera_from_kernels(_read_h5_shapes(kind, concrete), concrete)
    return WeightsSource(kind, concrete, camera)


def _reason(error, path):
    """The message of an error that may already start with the path, without it."""
    text = str(error)
    for prefix in (f"{path}: ", f"{path}.index: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


# --------------------------------------------------------------------------------------------
# Loading.


def _check_shapes(model, shapes, path):
    """Every model weight has a stored counterpart of its shape, and nothing is left over."""
    stored = collections.Counter(shape for _, shape in shapes)
    wanted = collections.Counter(tuple(w.shape) for w in model.weights)
    if stored != wanted:
        missing = sorted((wanted - stored).elements())
        extra = sorted((stored - wanted).elements())
        detail = "; ".join(part for part in (
            f"missing shapes {missing}" if missing else "",
            f"unexpected shapes {extra}" if extra else "") if part)
        raise WeightsError(path, f"does not match the {model_camera_name(model)} SID U-Net "
                           f"({detail})")


def model_camera_name(model):
    try:
        return camera_for_channels(model.input_shape[-1]).name
    except ValueError:
        return "unknown"


def _describe_camera(camera):
    camera = get_camera(camera)
    return f"{camera.name.capitalize()} ({camera.sensor}, {camera.in_channels}-channel input)"


def load_model_weights(path, camera=None, precision="float32"):
    """Build the SID U-Net for the weights at `path` and load them; return ``(model, camera)``.

    Args:
      path: a ``.weights.h5`` file, a ``.keras`` file, a TF1 checkpoint (prefix, one of its
        files, or its directory), or a training result_dir / epoch checkpoint directory.
      camera: None to take the camera from the weights, or "sony" / "fuji" to require it: a
        checkpoint of the other camera raises WeightsError naming the file.
      precision: the model's precision ("float32", "mixed_bfloat16" or "mixed_float16"); the
        stored float32 weights load into any of them.

    Raises:
      WeightsError (a ValueError) naming the file: missing, unreadable or corrupt, not SID
      weights, or the wrong camera.
    """
    source = find_weights(path)
    if camera is not None:
        wanted = get_camera(camera).name
        if wanted != source.camera:
            raise WeightsError(source.path, f"holds {_describe_camera(source.camera)} weights, "
                               f"but {_describe_camera(wanted)} weights were asked for")
    model = build_unet(source.camera, precision)
    if source.kind == TF1_CHECKPOINT:
        try:
            load_tf1_checkpoint(model, source.path)
        except CheckpointError as error:
            raise WeightsError(source.path, _reason(error, source.path)) from None
    else:
        _check_shapes(model, _read_h5_shapes(source.kind, source.path), source.path)
        try:
            model.load_weights(source.path)
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise WeightsError(source.path, f"cannot load the weights: truncated or corrupt "
                               f"({type(error).__name__}: {str(error)[:300]})") from None
        _check_loaded(model, source.path)
    return model, source.camera


def _check_loaded(model, path):
    """Refuse weights that loaded as non-finite numbers (a damaged file HDF5 did not notice)."""
    for weight in model.weights:
        if not np.all(np.isfinite(weight.numpy())):
            raise WeightsError(path, f"weight {weight.path} holds NaN or infinite values: the "
                               "file is corrupt (or comes from a diverged training run)")
