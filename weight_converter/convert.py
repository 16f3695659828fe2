"""One conversion from a TF1 checkpoint to a Keras artefact, written atomically.

Each output is first written under a temporary name in the destination's directory and renamed
into place only when complete, so a failure never leaves a half-written file behind and never
destroys an existing good one.
"""

import os
import shutil
import tempfile

from sid_tf2.model import build_unet
from weight_converter.tf1_checkpoint import (
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


_WRITERS = {
    "weights": lambda model, path: model.save_weights(path),
    "model": lambda model, path: model.save(path),
    "savedmodel": export_savedmodel,
}


def _write_atomically(kind, model, output):
    output = os.path.abspath(output.rstrip("/") if kind == "savedmodel" else output)
    parent = os.path.dirname(output)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".convert_", dir=parent)
    try:
        staged = os.path.join(staging, os.path.basename(output))
        _WRITERS[kind](model, staged)
        if os.path.isdir(output):
            shutil.rmtree(output)
        os.replace(staged, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
    _write_atomically(kind, model, output)
    return summary, kind
