"""Training checkpoints that lose nothing and never leave a half-written state behind.

A checkpoint is a directory in `result_dir/checkpoints/` holding the model weights, every
optimizer variable (moments, step, learning rate, and the loss scale under mixed_float16) and
`state.json` (epoch, seed, best validation PSNR). `epoch-NNNNNN` holds the state after epoch N;
`epoch-NNNNNN-step-SSSSSS` the state S steps into epoch N, written when a run is interrupted
(Ctrl-C, SIGTERM) in the middle of an epoch. It is assembled under a `.tmp-` name and renamed
into place in one step, so a process killed mid-write leaves the previous checkpoint as the
newest complete one (and a `.tmp-` leftover that the next run removes). The data pipeline draws
its randomness from (seed, epoch, index) alone, so the epoch, the step and the seed are all the
random state a resume needs.

Everything is serialised in memory first (`sid_tf2.serialize`): the size is known, so a full
disk is reported before anything is written, and no HDF5 handle is left open by a failed write.
The best checkpoint and the exported `result_dir/model.weights.h5` are hard links to the files
of the checkpoint they come from (copies where the file system has no hard links), so they
cost no extra writes; no file of a checkpoint is ever modified after it is written.
"""

import dataclasses
import io
import json
import os
import re
import shutil

import numpy as np

from sid_tf2.atomic import atomic_path, publish, reporting, staging_directory
from sid_tf2.serialize import weights_bytes

CHECKPOINTS = "checkpoints"
BEST = "best"
EXPORTED_WEIGHTS = "model.weights.h5"
_WEIGHTS = "model.weights.h5"
_OPTIMIZER = "optimizer.npz"
_STATE = "state.json"
_CHECKPOINT_DIR = re.compile(r"^epoch-(\d{6})(?:-step-(\d{6}))?$")


@dataclasses.dataclass
class TrainingState:
    """Everything besides the tensors that a resumed run needs to continue identically."""

    next_epoch: int = 0  # the first epoch not completed (the original counts from 0)
    seed: int = 0
    best_psnr: float = float("-inf")
    best_epoch: int = 0
    steps_done: int = 0  # steps of `next_epoch` already taken (an interrupted epoch)
    epoch_losses: list = dataclasses.field(default_factory=list)  # the losses of those steps

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))

    def checkpoint_name(self):
        if self.steps_done:
            return f"epoch-{self.next_epoch:06d}-step-{self.steps_done:06d}"
        return f"epoch-{self.next_epoch - 1:06d}"


def _optimizer_bytes(optimizer):
    buffer = io.BytesIO()
    arrays = {f"{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _link_or_copy(source, target):
    """Hard-link `source` as `target`; copy it where the file system cannot link."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _write_files(directory, files):
    for name, data in files.items():
        with open(os.path.join(directory, name), "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())


def save_checkpoint(result_dir, model, optimizer, state, *, keep=3, is_best=False):
    """Checkpoint the state `state` describes, export `result_dir/model.weights.h5`, and keep
    only the `keep` newest checkpoints (and the best). Returns the checkpoint's directory.

    Raises `sid_tf2.atomic.WriteError` when the disk is full or unwritable; the previous
    checkpoints and export are untouched then.
    """
    root = os.path.join(result_dir, CHECKPOINTS)
    files = {
        _WEIGHTS: weights_bytes(model),
        _OPTIMIZER: _optimizer_bytes(optimizer),
        _STATE: state.to_json().encode("utf-8"),
    }
    final = os.path.join(root, state.checkpoint_name())
    needed = sum(len(data) for data in files.values())
    with staging_directory(final, needed) as staged:
        with reporting(final, needed):
            _write_files(staged, files)
        publish(staged, final)
    if is_best:
        with staging_directory(os.path.join(root, BEST)) as staged:
            with reporting(os.path.join(root, BEST)):
                for name in files:
                    _link_or_copy(os.path.join(final, name), os.path.join(staged, name))
            publish(staged, os.path.join(root, BEST))
    with atomic_path(os.path.join(result_dir, EXPORTED_WEIGHTS)) as temporary:
        _link_or_copy(os.path.join(final, _WEIGHTS), temporary)
    for old in list_checkpoints(result_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _order(name):
    """Sort key: an interrupted epoch N (step S) comes after epoch N - 1 and before epoch N."""
    match = _CHECKPOINT_DIR.match(name)
    epoch, step = int(match.group(1)), match.group(2)
    return (epoch, float("inf") if step is None else int(step))


def list_checkpoints(result_dir):
    """Complete checkpoints, oldest first (staging leftovers and `best` are not among them)."""
    root = os.path.join(result_dir, CHECKPOINTS)
    if not os.path.isdir(root):
        return []
    names = sorted((name for name in os.listdir(root) if _CHECKPOINT_DIR.match(name)), key=_order)
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
