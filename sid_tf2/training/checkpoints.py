"""Training checkpoints that lose nothing and never leave a half-written state behind.

A checkpoint is a directory `result_dir/checkpoints/epoch-NNNNNN/` holding the model weights,
every optimizer variable (moments, step, learning rate, and the loss scale under
mixed_float16) and `state.json` (epoch, seed, best validation PSNR). It is assembled under a
temporary name and renamed into place in one step, so a process killed mid-write leaves the
previous checkpoint as the newest complete one. The data pipeline draws its randomness from
(seed, epoch, index) alone, so the epoch and the seed are all the random state a resume needs.
"""

import dataclasses
import json
import os
import re
import shutil
import tempfile

import numpy as np

from sid_tf2.atomic import atomic_path

CHECKPOINTS = "checkpoints"
BEST = "best"
EXPORTED_WEIGHTS = "model.weights.h5"
_WEIGHTS = "model.weights.h5"
_OPTIMIZER = "optimizer.npz"
_STATE = "state.json"
_EPOCH_DIR = re.compile(r"^epoch-(\d{6})$")


@dataclasses.dataclass
class TrainingState:
    """Everything besides the tensors that a resumed run needs to continue identically."""

    next_epoch: int = 0  # the first epoch still to run (the original counts from 0)
    seed: int = 0
    best_psnr: float = float("-inf")
    best_epoch: int = 0

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))


def _optimizer_arrays(optimizer):
    return {f"{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}


def _replace_directory(staged, final):
    """Put `staged` at `final`, replacing any previous directory there."""
    if os.path.exists(final):
        retired = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(final))
        os.replace(final, os.path.join(retired, "x"))
        os.replace(staged, final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staged, final)


def save_checkpoint(result_dir, model, optimizer, state, *, keep=3, is_best=False):
    """Checkpoint the epoch just completed (`state.next_epoch - 1`), export
    `result_dir/model.weights.h5`, and keep only the `keep` newest epochs (and the best)."""
    root = os.path.join(result_dir, CHECKPOINTS)
    os.makedirs(root, exist_ok=True)
    staged = tempfile.mkdtemp(prefix=".tmp-", dir=root)
    try:
        model.save_weights(os.path.join(staged, _WEIGHTS))
        np.savez(os.path.join(staged, _OPTIMIZER), **_optimizer_arrays(optimizer))
        with open(os.path.join(staged, _STATE), "w") as handle:
            handle.write(state.to_json())
        final = os.path.join(root, f"epoch-{state.next_epoch - 1:06d}")
        _replace_directory(staged, final)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    if is_best:
        best_staged = tempfile.mkdtemp(prefix=".tmp-", dir=root)
        shutil.rmtree(best_staged)
        shutil.copytree(final, best_staged)
        _replace_directory(best_staged, os.path.join(root, BEST))
    with atomic_path(os.path.join(result_dir, EXPORTED_WEIGHTS)) as temporary:
        model.save_weights(temporary)
    for old in list_checkpoints(result_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(result_dir):
    """Complete epoch checkpoints, oldest first (staging leftovers are ignored)."""
    root = os.path.join(result_dir, CHECKPOINTS)
    if not os.path.isdir(root):
        return []
    names = sorted(name for name in os.listdir(root) if _EPOCH_DIR.match(name))
    return [os.path.join(root, name) for name in names]


def latest_checkpoint(result_dir):
    """The newest complete checkpoint directory, or None."""
    checkpoints = list_checkpoints(result_dir)
    return checkpoints[-1] if checkpoints else None


def restore_checkpoint(path, model, optimizer=None):
    """Load a checkpoint directory into the model (and a built optimizer); return its state."""
    model.load_weights(os.path.join(path, _WEIGHTS))
    if optimizer is not None:
        with np.load(os.path.join(path, _OPTIMIZER)) as arrays:
            saved = [arrays[key] for key in sorted(arrays.files)]
        variables = optimizer.variables
        if len(saved) != len(variables):
            raise ValueError(
                f"{path}: the checkpoint holds {len(saved)} optimizer variables but this "
                f"optimizer has {len(variables)}: was it trained with another --precision or "
                "--train_deconv?"
            )
        for variable, value in zip(variables, saved):
            variable.assign(value)
    with open(os.path.join(path, _STATE)) as handle:
        return TrainingState.from_json(handle.read())
