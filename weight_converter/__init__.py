"""Convert the published TF1 SID checkpoints to Keras and back.

    from weight_converter import load_tf1_checkpoint, save_tf1_checkpoint

The names below are loaded on first use, so that `python -m weight_converter --help` and the
download answer without importing TensorFlow.
"""

import importlib

_PUBLIC = {
    "CheckpointError": "weight_converter.tf1_checkpoint",
    "LoadSummary": "weight_converter.tf1_checkpoint",
    "load_tf1_checkpoint": "weight_converter.tf1_checkpoint",
    "save_tf1_checkpoint": "weight_converter.tf1_checkpoint",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'weight_converter' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
