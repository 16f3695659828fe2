"""Training: the optimizer and compiled step, checkpoints, distribution and the epoch loop.

The names below are loaded on first use (PEP 562 module ``__getattr__``), as in ``sid_tf2``:
the command line reads `sid_tf2.training.config` to define its flags, and that must not import
TensorFlow. The package's own modules import their siblings directly, never this facade.
"""

from sid_tf2.lazy import lazy_attributes

_LAZY = {
    "TrainConfig": "sid_tf2.training.config",
    "TrainingError": "sid_tf2.training.run_settings",
    "TrainingResult": "sid_tf2.training.loop",
    "TrainingState": "sid_tf2.training.checkpoints",
    "l1_loss": "sid_tf2.training.step",
    "latest_checkpoint": "sid_tf2.training.checkpoints",
    "make_optimizer": "sid_tf2.training.step",
    "make_train_step": "sid_tf2.training.step",
    "restore_checkpoint": "sid_tf2.training.checkpoints",
    "save_checkpoint": "sid_tf2.training.checkpoints",
    "train": "sid_tf2.training.loop",
    "trained_variables": "sid_tf2.training.step",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
