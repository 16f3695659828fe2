"""The settings a run started with, kept beside its checkpoints, and what follows from them.

A resumed run must be the same run: the settings marked for resumption in
`sid_tf2.training.config` are written to `run_settings.json` when a run starts and compared
when it continues; "auto" speed settings and the upsampling filters' training are decided once,
at the start, and then read back, so that a run continues alike on another machine.
"""

import dataclasses
import json
import os

from sid_tf2 import hardware, tuning
from sid_tf2.atomic import write_text
from sid_tf2.training.config import RESUME_KEYS
from sid_tf2.training.initialize import tf1_layout

RUN_SETTINGS = "run_settings.json"  # in result_dir: the settings the run started with


class TrainingError(RuntimeError):
    """A run that cannot start as configured; the message says what to do."""


def read_run_settings(result_dir):
    """The settings file of the run in `result_dir` (written when it started)."""
    with open(os.path.join(result_dir, RUN_SETTINGS)) as handle:
        return json.load(handle)


def write_run_settings(result_dir, config):
    """The settings a resumption must share, by name at the top (as checked), then the whole config."""
    write_text(os.path.join(result_dir, RUN_SETTINGS),
               json.dumps({**config.resume_settings(), "config": dataclasses.asdict(config)}, indent=2))


def saved_runtime(saved):
    """The runtime settings a run started with: its config's runtime group, or the config itself
    in files written before the config was grouped (a flat dict of every setting)."""
    started = saved.get("config") or {}
    return started.get("runtime", started)


def check_resumable(saved, config, path):
    now = config.resume_settings()
    mismatched = [
        f"{key}: checkpoint {saved.get(key)!r}, now {now[key]!r}"
        for key in RESUME_KEYS
        if key in saved and saved[key] != now[key]
    ]
    if mismatched:
        raise TrainingError(
            f"{path} was written with other settings, so resuming would not continue the same "
            "run:\n  " + "\n  ".join(mismatched) + "\nUse the same flags, or another --result_dir."
        )


def resolve_speed(config, saved, log):
    """`config` with concrete precision and jit_compile.

    "auto" takes the settings measured fastest for training on this machine (`sid_tf2.tuning`;
    under a distribution strategy the reasoned rule of `sid_tf2.hardware`), except when
    resuming (`saved`: the run's settings file): then the run's own settings, so that a resumed
    run stays the same run wherever it continues.
    """
    runtime = config.runtime
    if runtime.precision != hardware.AUTO and runtime.jit_compile is not None:
        return config
    started = saved_runtime(saved or {})
    if started:
        precision = started["precision"] if runtime.precision == hardware.AUTO else runtime.precision
        jit = started["jit_compile"] if runtime.jit_compile is None else runtime.jit_compile
        log(f"speed settings of the run being resumed: {precision}, XLA {'on' if jit else 'off'}")
        return config.replace(precision=precision, jit_compile=jit)
    if runtime.precision == hardware.AUTO and runtime.jit_compile is None and runtime.distribute == "none":
        settings = tuning.tuned_settings("train", camera=config.data.camera, tune=runtime.tune_speed,
                                         patch=config.schedule.patch_size, log=log)
    else:
        # Under a strategy every worker must compute alike, and separate measurements could
        # disagree: the reasoned rule, the same on every worker of one kind.
        settings = hardware.resolve_speed_settings(runtime.precision, runtime.jit_compile)
    log(f"speed settings: {settings.reason}")
    if settings.warning:
        log(f"warning: {settings.warning}")
    return config.replace(precision=settings.precision, jit_compile=settings.jit_compile)


def resolve_train_deconv(config, saved, log):
    """`config` with train_deconv decided: as given, as the resumed run had it, or by default
    True except from a TF1 checkpoint without Adam slots for the upsampling filters."""
    finetune = config.finetune
    if saved and finetune.train_deconv is None:
        return config.replace(train_deconv=saved["train_deconv"])
    if saved:
        return config
    brings_adam_state = not (finetune.reinit_last or finetune.freeze)
    release = brings_adam_state and tf1_layout(finetune.init_checkpoint) == "release"
    if finetune.train_deconv is None:
        if release:
            log("the TF1 checkpoint has no Adam slots for the four upsampling filters (the "
                "published model was trained with them frozen): keeping them frozen "
                "(--train_deconv trains them, from zero moments)")
        return config.replace(train_deconv=not release)
    if finetune.train_deconv and release:
        log("warning: the TF1 checkpoint has no Adam slots for the four upsampling filters: they "
            "start with zero moments at the checkpoint's late Adam step, so their first updates "
            "are several times the learning rate (--notrain_deconv keeps them frozen, as the "
            "release trained them)")
    return config
