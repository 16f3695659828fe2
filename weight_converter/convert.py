"""One conversion from a TF1 checkpoint to a Keras artefact, written atomically.

Each output is first written under a temporary name in the destination's directory and renamed
into place only when complete, so a failure never leaves a half-written file behind and never
destroys an existing good one. Keras files are built in memory and written by `sid_tf2.atomic`
(so no HDF5 handle is left open by a failed write); a full disk or an unwritable place is a
`sid_tf2.atomic.WriteError` naming the output.
"""

import os

import tensorflow as tf

from sid_tf2 import serialize
from sid_tf2.atomic import as_write_error, ensure_space, publish, staging_directory
from sid_tf2.model import build_unet
from sid_tf2.tf1_checkpoint import (
    CheckpointError,
    detect_camera,
    load_tf1_checkpoint,
    read_shapes,
    resolve_prefix,
)

WEIGHTS_SUFFIX = ".weights.h5"
MODEL_SUFFIX = ".keras"


class ConversionError(ValueError):
    """The conversion cannot be done; the message names the file and the problem."""


def output_kind(output):
    """"weights", "model" or "savedmodel", from the output's name."""
    if output.endswith(WEIGHTS_SUFFIX):
        return "weights"
    if output.endswith(MODEL_SUFFIX):
        return "model"
    if output.endswith((".h5", ".hdf5")):
        raise ConversionError(
            f"{output}: Keras 3 writes weights only to names ending in {WEIGHTS_SUFFIX}."
        )
    if os.path.splitext(output.rstrip("/"))[1] and not os.path.isdir(output):
        raise ConversionError(
            f"{output}: unknown output type; use *{WEIGHTS_SUFFIX}, *{MODEL_SUFFIX} or a "
            "directory (SavedModel)."
        )
    return "savedmodel"


def export_savedmodel(model, directory):
    """A SavedModel whose `serving_default` signature maps float32 [N,H,W,C] to the image."""
    model.export(directory, format="tf_saved_model", verbose=False)


def _write_savedmodel(model, output):
    """Export into a staging directory beside `output`, then put it in place.

    TensorFlow writes the files itself, so the space is checked first (the variables take about
    the weights' size) and its errors are read for the place they are about.
    """
    needed = sum(int(v.numpy().nbytes) for v in model.weights)
    ensure_space(output, needed)
    with staging_directory(output, needed) as staged:
        try:
            export_savedmodel(model, os.path.join(staged, "model"))
        except (OSError, tf.errors.OpError) as error:
            raise as_write_error(output, error, needed) or error from None
        publish(os.path.join(staged, "model"), output)


def _write(kind, model, output):
    if kind == "savedmodel":
        _write_savedmodel(model, os.path.abspath(output.rstrip("/")))
    elif kind == "model":
        serialize.save_model(model, output)
    else:
        serialize.save_weights(model, output)


def convert(checkpoint, output, camera=None, overwrite=False):
    """Convert `checkpoint` into `output`; returns (LoadSummary, kind written)."""
    kind = output_kind(output)
    if os.path.exists(output) and not overwrite:
        raise ConversionError(f"{output}: already exists (pass --overwrite to replace it).")
    try:
        prefix = resolve_prefix(checkpoint)
        model = build_unet(camera or detect_camera(read_shapes(prefix), prefix))
        summary = load_tf1_checkpoint(model, prefix)
    except CheckpointError as error:
        raise ConversionError(str(error)) from None
    _write(kind, model, output)
    return summary, kind
