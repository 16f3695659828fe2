"""Training: the optimizer and compiled step, checkpoints, distribution and the epoch loop."""

from sid_tf2.training.checkpoints import TrainingState, latest_checkpoint, restore_checkpoint, save_checkpoint
from sid_tf2.training.config import TrainConfig
from sid_tf2.training.loop import TrainingError, TrainingResult, train
from sid_tf2.training.step import l1_loss, make_optimizer, make_train_step, trained_variables

__all__ = [
    "TrainConfig",
    "TrainingError",
    "TrainingResult",
    "TrainingState",
    "l1_loss",
    "latest_checkpoint",
    "make_optimizer",
    "make_train_step",
    "restore_checkpoint",
    "save_checkpoint",
    "train",
    "trained_variables",
]
