"""Adapt the published Sony network to your camera, from its own raw files.

    sid-adapt --raws=MY_RAWS [--noise_profile=nikon_d850 | --dark_frames=DIR --flat_pairs=DIR]
              [--pairs=REAL_PAIRS] [--init=checkpoint/Sony/] [--minutes=30 | --steps=N]
              [--output_dir=./adapted/]

Pretrains on pairs simulated on the fly from the camera's clean raws with its noise (a named or
given profile, one calibrated from dark frames and flat pairs, or one estimated from the raws
themselves), fine-tunes on a few real short/long pairs if given (SID layout or a list), and stops within
the budget. In --output_dir:
NAME.weights.h5 (for `sid-enhance --weights=`), noise_profile.json, and adapt_report.md with
held-out PSNR/SSIM before and after, the time, the settings and a chart. Running it again
resumes; a larger budget continues training. See docs/own_camera.md.
"""

import dataclasses
import json
import os
import sys
import time

from absl import flags

from sid_tf2 import cli
from sid_tf2.adapt import plan
from sid_tf2.adapt.noise_source import PROFILE_FILE, choose_noise
from sid_tf2.adapt.report import write_adapt_report
from sid_tf2.atomic import WriteError, write_bytes, write_text
from sid_tf2.folder_lock import FolderBusy, FolderLock
from sid_tf2.progress import format_duration

FLAGS = flags.FLAGS
STATE_FILE = "adapt_state.json"
DEFAULT_MINUTES = 30.0
SETTINGS = ("raws", "iso", "noise_profile", "dark_frames", "flat_pairs", "pairs", "init", "minutes", "steps",
            "patch_size", "epoch_steps", "scene_size", "heldout_scenes", "val_every", "val_images", "learning_rate",
            "seed", "name", "progress")


def define_flags():
    flags.DEFINE_string("raws", None, "Folder of clean, well-exposed raw files of the camera.")
    flags.DEFINE_list("iso", None, "The ISOs you shoot in the dark at (e.g. 3200,6400): the simulated pairs' "
                      "noise is the camera's at these. Default: each raw file's own ISO.")
    flags.DEFINE_string("noise_profile", None, "The camera's noise: a profile JSON file or a shipped profile's "
                        "name (nikon_d850, canon_eos5d4, ...). Default: calibrated from --dark_frames and "
                        "--flat_pairs, else estimated from the raws' flat and dark areas, else the Sony "
                        "A7S2's with a warning.")
    flags.DEFINE_string("dark_frames", None, "Folder of dark frames (lens cap on) at each ISO.")
    flags.DEFINE_string("flat_pairs", None, "Folder of flat-field pairs at two exposure levels per ISO.")
    flags.DEFINE_string("pairs", None, "Optional real short/long pairs of the camera: a SID-layout folder, or a "
                        "list file of 'SHORT LONG [train|test]' lines; their test split (ids 1xxxx, or the "
                        "lines marked test) is the held-out set when it has 2 pairs or more.")
    flags.DEFINE_string("init", "checkpoint/Sony/", "The starting network: any form --weights takes.")
    flags.DEFINE_float("minutes", None, f"Time budget (default {DEFAULT_MINUTES:g} unless --steps).", lower_bound=0)
    flags.DEFINE_integer("steps", None, "Training steps instead of a time budget.", lower_bound=1)
    flags.DEFINE_string("output_dir", "./adapted/", "Where the weights, profile and report go.")
    flags.DEFINE_string("name", "adapted", "The weights file's name: NAME.weights.h5.")
    flags.DEFINE_integer("patch_size", 256, "Packed patch side of the training pairs.", lower_bound=16)
    flags.DEFINE_integer("epoch_steps", 16, "Simulated pairs per epoch (the unit of checkpoints).", lower_bound=1)
    flags.DEFINE_integer("scene_size", 1024, "Short side of the scene a simulated patch is cut from.", lower_bound=2)
    flags.DEFINE_integer("heldout_scenes", 6, "Simulated held-out scenes (without real test pairs).", lower_bound=3)
    flags.DEFINE_integer("val_every", 4, "Validate on the held-out val split every this many epochs.", lower_bound=0)
    flags.DEFINE_integer("val_images", 2, "Validate on at most this many images (0: all).", lower_bound=0)
    flags.DEFINE_float("learning_rate", 1e-4, "Learning rate of pretraining (fine-tuning: half).")
    flags.DEFINE_integer("seed", 0, "Seed of the split, the simulation and the crops.", lower_bound=0)
    flags.DEFINE_bool("progress", True, "Show training progress lines with an ETA.")
    cli.define_verbose_flag()


def main(argv):
    """Run the adaptation; expected failures end in one line and exit status 1."""
    del argv
    cli.load_tensorflow(verbose=FLAGS.verbose)
    from sid_tf2.data import DatasetError  # pylint: disable=import-outside-toplevel  (rawpy: off --help)
    from sid_tf2.training import TrainingError  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.training.interrupt import TrainingInterrupted  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    try:
        _check_flags()
        output_dir = os.path.abspath(FLAGS.output_dir)
        os.makedirs(output_dir, exist_ok=True)
        with FolderLock(output_dir, log=_log, holder="sid-adapt run", flag="--output_dir"):
            return adapt(output_dir, {key: getattr(FLAGS, key) for key in SETTINGS},
                         command="sid-adapt " + " ".join(sys.argv[1:]))
    except TrainingInterrupted as stopped:
        print(f"interrupted: {stopped} (run the command again to resume)", file=sys.stderr)
        return stopped.exit_code
    except (TrainingError, DatasetError, WriteError, FolderBusy, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _check_flags():
    if not FLAGS.raws:
        raise ValueError("--raws=DIR is required: a folder of clean raw files of the camera")
    if FLAGS.minutes is not None and FLAGS.steps is not None:
        raise ValueError("give --minutes or --steps, not both")
    for iso in FLAGS.iso or ():
        try:
            positive = float(iso) > 0
        except ValueError:
            positive = False
        if not positive:
            raise ValueError(f"--iso={','.join(FLAGS.iso)}: {iso!r} is not an ISO (a positive number)")


def _log(message):
    print(message, flush=True)


def _load_state(output_dir):
    path = os.path.join(output_dir, STATE_FILE)
    if not os.path.exists(path):
        return {"seconds": 0.0, "stages": {}}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _save_state(output_dir, state):
    write_text(os.path.join(output_dir, STATE_FILE), json.dumps(state, indent=1))


def _heldout(output_dir, settings, noise, held_raws, real_test):
    if len(real_test) >= plan.MIN_REAL_TEST_PAIRS:
        return plan.HeldOut(settings["pairs_dir"], tuple(real_test), "real",
                            f"the {len(real_test)} pairs of the test split of `{settings['pairs']}`")
    return plan.simulated_heldout(output_dir, held_raws, noise.path, scenes=settings["heldout_scenes"],
                                  seed=settings["seed"], log=_log, max_ratio=settings["max_ratio"],
                                  isos=settings["iso"] or ())


def adapt(output_dir, settings, command="sid_tf2.adapt.command.adapt(...)"):
    """The whole run (resumable), with the flags' values by name in `settings`; returns 0.

    Bad input raises ValueError (or a `DatasetError`, `WeightsError`...) with a one-line message."""
    from sid_tf2.adapt.stages import run_stage, score  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    started, state = time.monotonic(), _load_state(output_dir)
    train_raws, held_raws = plan.split_raws(settings["raws"])
    pairs_dir = plan.pairs_folder(settings["pairs"], os.path.join(output_dir, "pairs")) if settings["pairs"] else None
    train_scenes, real_test = plan.real_pairs(pairs_dir) if pairs_dir else ([], [])
    if not train_raws:
        raise ValueError(f"--raws={settings['raws']}: needs 2 raw files at least (one is held out for scoring)")
    settings = dict(settings, max_ratio=plan.camera_max_ratio(train_raws), pairs_dir=pairs_dir)
    if settings["max_ratio"] < 300:
        _log(f"exposure ratios up to {settings['max_ratio']:.0f}, not SID's 300: what this camera's bit depth "
             "keeps above quantisation")
    if not settings["iso"]:
        _log("simulating at each raw file's own ISO (--iso=... names the ISOs you shoot in the dark at)")
    staged = os.path.join(output_dir, "noise_profile.new.json")  # kept apart until it is known to match
    if not (settings["noise_profile"] or settings["dark_frames"]):
        _log(f"estimating the noise from the {len(train_raws) + len(held_raws)} raws' flat and dark areas")
    noise = choose_noise(staged, noise_profile=settings["noise_profile"], dark_frames=settings["dark_frames"],
                         flat_pairs=settings["flat_pairs"], raws=train_raws + held_raws)
    if state.setdefault("noise", noise.description) != noise.description:
        os.remove(staged)
        raise ValueError(f"{output_dir} was adapted with the noise {state['noise']}, not {noise.description}: "
                         "use another --output_dir")
    noise = dataclasses.replace(noise, path=os.path.join(output_dir, PROFILE_FILE))
    os.replace(staged, noise.path)
    if noise.warning:
        print(noise.warning, file=sys.stderr)
    else:
        _log(f"noise: {noise.description}")
    heldout = _heldout(output_dir, settings, noise, held_raws, real_test)
    train_dir = plan.link_folder(os.path.join(output_dir, "raws", "train"), train_raws)
    if state.get("before", {}).get("weights") != settings["init"]:
        _log(f"scoring --init={settings['init']} on {len(heldout.pairs)} held-out pairs ({heldout.kind})")
        state["before"] = score(settings["init"], heldout, os.path.join(output_dir, "scores", "before"))
    stage_names = ["pretrain"] + (["finetune"] if train_scenes else [])
    budget = _budget(settings, state, stage_names, started)
    init = settings["init"]
    for name in stage_names:
        config = plan.stage_config(name, settings, output_dir=output_dir,
                                   profile_path=noise.path, train_raws_dir=train_dir, heldout=heldout, init=init)
        _log(f"{name}: " + (f"{budget[name]['steps']} steps" if "steps" in budget[name]
                             else f"about {format_duration(budget[name]['seconds'])}"))
        per_epoch = settings["epoch_steps"] if name == "pretrain" else len(train_scenes)
        state["stages"][name] = run_stage(config, state["stages"].get(name), steps_per_epoch=per_epoch,
                                          log=_log, **budget[name])
        _save_state(output_dir, state)
        init = config.output.result_dir
    final = os.path.join(init, "model.weights.h5")
    weights = os.path.join(output_dir, f"{settings['name']}.weights.h5")
    with open(final, "rb") as handle:
        write_bytes(weights, handle.read())
    state["after"] = after = score(weights, heldout, os.path.join(output_dir, "scores", "after"))
    state["seconds"] += time.monotonic() - started
    _save_state(output_dir, state)
    report, chart = write_adapt_report(
        os.path.join(output_dir, "adapt_report.md"), before=state["before"], after=after, stages=state["stages"],
        heldout=heldout, noise=noise, settings=settings, seconds={"total": state["seconds"]},
        command=command, weights_name=os.path.basename(weights))
    _log(f"held-out PSNR {state['before']['psnr']:.2f} -> {after['psnr']:.2f} dB "
         f"({after['psnr'] - state['before']['psnr']:+.2f}), SSIM {state['before']['ssim']:.4f} -> "
         f"{after['ssim']:.4f}; {format_duration(state['seconds'])} in all")
    _log(f"weights: {weights}\nreport: {report} (chart {chart})")
    return 0


def _budget(settings, state, stage_names, started):
    """{stage: {"steps": n} or {"seconds": s}}: a step budget split by `plan.steps_per_stage`; a time
    budget, less what earlier runs spent and a final scoring as long as the first, split 2:1."""
    if settings["steps"] is not None:
        return {name: {"steps": steps} for name, steps in
                plan.steps_per_stage(settings["steps"], len(stage_names) > 1).items()}
    minutes = DEFAULT_MINUTES if settings["minutes"] is None else settings["minutes"]
    spent = state["seconds"] + time.monotonic() - started
    left = max(0.0, minutes * 60 - spent - state["before"]["seconds"])
    shares = plan.steps_per_stage(3, True) if len(stage_names) > 1 else {"pretrain": 3}
    return {name: {"seconds": max(0.0, left * shares[name] / 3)} for name in stage_names}


def run():
    """`sid-adapt` and `python -m sid_tf2.adapt`."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
