"""Convert the published TF1 SID checkpoints to Keras and back.

    from weight_converter import load_tf1_checkpoint, save_tf1_checkpoint

The command line (`__main__`), the conversion (`convert`), the exports (`export`) and the
download of the published checkpoints (`download`, over `google_drive`), built on `sid_tf2`.
The checkpoint reader and writer live in `sid_tf2.tf1_checkpoint`; the names below are
re-exported from there on first use, so that `python -m weight_converter --help` and the
download answer without importing TensorFlow.
"""

from sid_tf2.lazy import lazy_attributes

_PUBLIC = {
    "CheckpointError": "sid_tf2.tf1_checkpoint",
    "LoadSummary": "sid_tf2.tf1_checkpoint",
    "load_tf1_checkpoint": "sid_tf2.tf1_checkpoint",
    "save_tf1_checkpoint": "sid_tf2.tf1_checkpoint",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_attributes(__name__, _PUBLIC)
