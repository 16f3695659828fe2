"""Starting a run from existing weights: a published TF1 checkpoint, Keras files, or a run.

A TF1 checkpoint brings its Adam state too (through the converter), so training continues the
authors' run; Keras files and previous runs bring weights only, for a fresh optimizer.
"""

import glob
import os

import keras

from sid_tf2.tf1_checkpoint import load_tf1_checkpoint, read_shapes, resolve_prefix
from sid_tf2.training.checkpoints import EXPORTED_WEIGHTS, latest_checkpoint, restore_checkpoint


def _is_tf1_checkpoint(path):
    if os.path.isdir(path):
        return bool(glob.glob(os.path.join(path, "*.index")))
    return os.path.exists(path + ".index") or path.endswith((".index", ".meta")) or ".data-" in path


def tf1_layout(path):
    """"release" or "full" when `path` is a TF1 checkpoint of the SID network, else None.

    Reads only the index: a release-layout checkpoint (the published one) has no Adam slots for
    the four upsampling filters, which decides whether a run from it should train them.
    """
    if not path or not _is_tf1_checkpoint(path):
        return None
    shapes = read_shapes(resolve_prefix(path))
    return "full" if "Variable/Adam" in shapes else "release"


def initialize_from(path, model, optimizer):
    """Load `path` into the model (and, for TF1, the optimizer); return what was done."""
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        raise FileNotFoundError(f"--init_checkpoint {path}: no such file or directory.")
    if path.endswith(".weights.h5"):
        model.load_weights(path)
        return f"initialised the weights from {path}"
    if path.endswith(".keras"):
        loaded = keras.saving.load_model(path)
        model.set_weights(loaded.get_weights())
        return f"initialised the weights from the model {path}"
    if os.path.isdir(path) and latest_checkpoint(path):
        checkpoint = latest_checkpoint(path)
        restore_checkpoint(checkpoint, model)
        return f"initialised the weights from the run {checkpoint}"
    if os.path.isdir(path) and os.path.exists(os.path.join(path, EXPORTED_WEIGHTS)):
        model.load_weights(os.path.join(path, EXPORTED_WEIGHTS))
        return f"initialised the weights from {os.path.join(path, EXPORTED_WEIGHTS)}"
    if _is_tf1_checkpoint(path):
        return "initialised from the TF1 checkpoint " + load_tf1_checkpoint(model, path, optimizer).describe()
    raise ValueError(
        f"--init_checkpoint {path}: not a TF1 checkpoint, a .weights.h5 or .keras file, or a "
        "training result directory."
    )
