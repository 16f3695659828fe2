"""What `sid-adapt` trains on and is measured on, and how its budget is shared.

The raws are split once, by a fixed rule (every fifth sorted file is held out, at least one):
the training raws feed the simulator on the fly, the held-out ones become a small SID-layout
dataset of simulated pairs (`heldout/`) that no training step sees. When real pairs are given
with a test split of their own (SID layout: scene ids 1xxxx), that split is the held-out set
instead, because real pairs measure what simulation cannot; their train split is fine-tuned on.

Two stages, each a training run of the library (`sid_tf2.training.train`) in its own folder
under `runs/`, so that running the command again resumes each where it stopped:

  pretrain   pairs simulated on the fly from the camera's own raws, with its noise profile,
             starting from `--init` (the published Sony weights by default);
  finetune   the real pairs' train split, starting from pretrain's weights (only with --pairs).

A budget of steps is split 2:1 between them (all to pretrain without real pairs); a budget of
minutes is spent the same way, converted to epochs from the measured speed of the first epochs.
"""

import dataclasses
import math
import os

from sid_tf2 import data
from sid_tf2.simulation.noise import fitting_max_ratio
from sid_tf2.simulation.raw_sources import list_raw_paths, read_raw_source
from sid_tf2.training.config import TrainConfig

HOLDOUT_EVERY = 5
MIN_REAL_TEST_PAIRS = 2


@dataclasses.dataclass(frozen=True)
class HeldOut:
    data_dir: str  # a SID-layout dataset
    pairs: tuple  # its data.Pair items that are scored
    kind: str  # "real" or "simulated"
    description: str


def split_raws(raws_dir):
    """(train paths, held-out paths) of the raw files under `raws_dir`; ValueError if unusable."""
    if not os.path.isdir(raws_dir):
        raise ValueError(f"--raws={raws_dir}: not a directory")
    paths = list_raw_paths(raws_dir)
    if not paths:
        raise ValueError(f"--raws={raws_dir}: no raw files in it (looked for the extensions LibRaw reads)")
    held = paths[HOLDOUT_EVERY - 1::HOLDOUT_EVERY] or paths[-1:]
    return [path for path in paths if path not in held], held


def camera_max_ratio(paths):
    """The largest exposure ratio that fits the camera's bit depth (`noise.fitting_max_ratio`
    of its first raw file's white and black levels: a camera's files share them)."""
    source = read_raw_source(paths[0])
    return fitting_max_ratio(source.white_level, max(source.black_level))


def link_folder(folder, paths):
    """A folder of symbolic links to `paths` (the simulator reads a folder); returns it."""
    os.makedirs(folder, exist_ok=True)
    for index, path in enumerate(paths):
        link = os.path.join(folder, f"{index:04d}_{path.name}")
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(path), link)
    return folder


def real_pairs(pairs_dir):
    """(train scenes, test pairs) of a SID-layout folder of real pairs; ValueError if none."""
    if not os.path.isdir(os.path.join(pairs_dir, "short")) or not os.path.isdir(os.path.join(pairs_dir, "long")):
        raise ValueError(f"--pairs={pairs_dir}: needs short/ and long/ folders (the SID layout)")
    train = data.discover_scenes(pairs_dir, split="train")
    test = data.discover_pairs(pairs_dir, split="test")
    if not train and not test:
        raise ValueError(f"--pairs={pairs_dir}: no pairs found (names like 00001_00_0.1s.ARW and 00001_00_10s.ARW)")
    return train, test


def simulated_heldout(output_dir, held_paths, profile_path, *, scenes, seed, log, max_ratio):
    """`HeldOut` pairs simulated from the held-out raws (written once, reused on resume)."""
    from sid_tf2.simulation.dataset import write_synthetic_dataset  # pylint: disable=import-outside-toplevel  (rawpy: off --help)

    folder = link_folder(os.path.join(output_dir, "raws", "heldout"), held_paths)
    target = os.path.join(output_dir, "heldout")
    write_synthetic_dataset(target, source_dir=folder, num_scenes=scenes, seed=seed + 1000,
                            noise_model="physics", profile=profile_path, progress=log, max_ratio=max_ratio)
    pairs = tuple(data.discover_pairs(target))
    names = ", ".join(path.name for path in held_paths)
    return HeldOut(target, pairs, "simulated", f"{len(pairs)} pairs simulated (another seed) from "
                   f"{len(held_paths)} held-out raw file(s) never used in training: {names}")


def steps_per_stage(total_steps, has_pairs):
    """{stage: steps} for a budget of `total_steps`: 2:1 pretrain:finetune with real pairs."""
    if not has_pairs:
        return {"pretrain": total_steps}
    finetune = max(1, total_steps // 3)
    return {"pretrain": max(1, total_steps - finetune), "finetune": finetune}


def last_epoch(steps, steps_per_epoch):
    """The `epochs` setting (last epoch, counted from 0) that runs at least `steps` steps."""
    return max(0, math.ceil(steps / steps_per_epoch) - 1)


def stage_config(stage, settings, *, output_dir, profile_path, train_raws_dir, heldout, init):
    """The TrainConfig of one stage (its `epochs` is set by the caller from the budget)."""
    common = dict(camera="sony", patch_size=settings["patch_size"], seed=settings["seed"],
                  val_dir=heldout.data_dir, val_freq=settings["val_every"], val_max_images=settings["val_images"],
                  save_freq=10**9, keep_checkpoints=1, checkpoint_every_seconds=60.0, progress=settings["progress"],
                  result_dir=os.path.join(output_dir, "runs", stage), lr_drop_epoch=10**9, init_checkpoint=init)
    if stage == "pretrain":
        return TrainConfig.from_flat(
            data_dir=heldout.data_dir, simulate_on_the_fly=True, source_dir=train_raws_dir,
            simulation_profile=profile_path, on_the_fly_examples=settings["epoch_steps"],
            on_the_fly_scene_size=settings["scene_size"], max_ratio=settings["max_ratio"],
            learning_rate=settings["learning_rate"], **common)
    return TrainConfig.from_flat(data_dir=settings["pairs"], learning_rate=settings["learning_rate"] / 2, **common)
