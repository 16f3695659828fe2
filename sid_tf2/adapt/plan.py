"""What `sid-adapt` trains on and is measured on, and how its budget is shared.

The raws are split once, by a fixed rule (every fifth sorted file is held out, at least one):
the training raws feed the simulator on the fly, the held-out ones become a small SID-layout
dataset of simulated pairs (`heldout/`) that no training step sees. When real pairs are given
with a test split of their own (SID layout: scene ids 1xxxx), that split is the held-out set
instead, because real pairs measure what simulation cannot; their train split is fine-tuned on.
Real pairs named as the camera named them come as a list file instead (`SHORT LONG [test]` a
line); `pairs_folder` links them into the SID layout, with exposures from their metadata.

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
from sid_tf2.data.discovery import SPLIT_DIGITS
from sid_tf2.raw import read_exposure_time
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
        _link(os.path.join(folder, f"{index:04d}_{path.name}"), path)
    return folder


def pairs_folder(pairs, folder):
    """The SID-layout folder of `--pairs`: the folder itself, or for a list file, `folder`
    holding links to its pairs under SID names (the library reads exposures and splits from
    names).

    The list: one pair a line, `SHORT LONG` and optionally `test` (default `train`), paths
    relative to the list; blank lines and lines starting with # are skipped. Exposure times come
    from each file's metadata. Raises ValueError naming the line or the file."""
    if not os.path.isfile(pairs):
        return pairs
    entries = []
    with open(pairs, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) not in (2, 3) or fields[2:] not in ([], ["train"], ["test"]):
                raise ValueError(f"--pairs={pairs}:{number}: expected 'SHORT LONG [train|test]', got {line.strip()!r}")
            entries.append((*(os.path.join(os.path.dirname(os.path.abspath(pairs)), path) for path in fields[:2]),
                            (fields[2:] or ["train"])[0]))
    if not entries:
        raise ValueError(f"--pairs={pairs}: no pairs listed (lines 'SHORT LONG [train|test]')")
    links = set()
    for index, (short, long, split) in enumerate(entries):
        scene = f"{SPLIT_DIGITS[split]}{index:04d}"
        for kind, path in (("short", short), ("long", long)):
            if not os.path.isfile(path):
                raise ValueError(f"{path}: no such file (listed in --pairs={pairs})")
            exposure = read_exposure_time(path)
            if exposure is None:
                raise ValueError(f"{path}: no exposure time in its metadata (the ratio of a pair comes from it)")
            name = f"{scene}_00_{exposure:g}s{os.path.splitext(path)[1]}"
            links.add(_link(os.path.join(folder, kind, name), path))
    for kind in ("short", "long"):  # pairs no longer listed since the last run
        for name in os.listdir(os.path.join(folder, kind)):
            if os.path.join(folder, kind, name) not in links:
                os.remove(os.path.join(folder, kind, name))
    return folder


def _link(link, target):
    """A symbolic link `link` to `target` (replacing one to elsewhere); returns `link`."""
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link) and os.path.realpath(link) != os.path.realpath(target):
        os.remove(link)
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(target), link)
    return link


def real_pairs(pairs_dir):
    """(train scenes, test pairs) of a SID-layout folder of real pairs; ValueError if none."""
    if not os.path.isdir(os.path.join(pairs_dir, "short")) or not os.path.isdir(os.path.join(pairs_dir, "long")):
        raise ValueError(f"--pairs={pairs_dir}: needs short/ and long/ folders (the SID layout) or is a list file "
                         "of 'SHORT LONG [train|test]' lines")
    train = data.discover_scenes(pairs_dir, split="train")
    test = data.discover_pairs(pairs_dir, split="test")
    if not train and not test:
        raise ValueError(f"--pairs={pairs_dir}: no pairs found (names like 00001_00_0.1s.ARW and 00001_00_10s.ARW)")
    return train, test


def simulated_heldout(output_dir, held_paths, profile_path, *, scenes, seed, log, max_ratio, isos=()):
    """`HeldOut` pairs simulated from the held-out raws (written once, reused on resume)."""
    from sid_tf2.simulation.dataset import write_synthetic_dataset  # pylint: disable=import-outside-toplevel  (rawpy: off --help)

    folder = link_folder(os.path.join(output_dir, "raws", "heldout"), held_paths)
    target = os.path.join(output_dir, "heldout")
    write_synthetic_dataset(target, source_dir=folder, num_scenes=scenes, seed=seed + 1000,
                            noise_model="physics", profile=profile_path, progress=log, max_ratio=max_ratio,
                            isos=[float(iso) for iso in isos])
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
            simulation_isos=",".join(str(float(iso)) for iso in settings["iso"] or ()) or None,
            learning_rate=settings["learning_rate"], **common)
    return TrainConfig.from_flat(data_dir=settings["pairs_dir"], learning_rate=settings["learning_rate"] / 2, **common)
