"""Choosing the settings for a purpose: from the cache, measured now, or the reasoned rule; then
checked on the model that will run.

Library calls (`predictor_for_purpose`, which `sid_tf2.make_predictor` names, and the training
loop) take the cached choice or the reasoned rule and never measure unless asked (`tune=True`,
which the scripts pass, or `sid-tune`). Nothing here restarts a process or changes the
environment.
"""

import dataclasses
import datetime
import functools
import logging
import os
import time

from sid_tf2 import hardware
from sid_tf2.inference import DEPRECATED_OPTIONS, make_predictor
from sid_tf2.speed_settings import TENSORFLOW
from sid_tf2.tuning.cache import (
    CACHE_ENV,
    CacheEntryError,
    cache_path,
    cached_entry,
    fingerprint_key,
    machine_fingerprint,
    parse_entry,
    store_entry,
)
from sid_tf2.tuning.measuring import (
    BUDGET,
    ESTIMATED_SECONDS,
    check_accuracy,
    full_range_model,
    measure_inference,
    measure_training,
    measured_shape,
    needs_accuracy_check,
)
from sid_tf2.tuning.ranking import (
    CANDIDATES,
    FLOOR_DB,
    MARGIN,
    PURPOSES,
    candidates,
    machine_kind,
    rank,
    reasoned,
    settings_named,
    table_lines,
)

TUNING_ENV = "SID_TF2_TUNING"

_LOG = logging.getLogger("sid_tf2.tuning")
_WARNED = set()  # cache paths whose write failure was reported


def _is_off():
    return os.environ.get(TUNING_ENV, "").strip().lower() in ("off", "0", "false", "no")


def _warn(log, text):
    (log or _LOG.warning)(f"warning: {text}" if log else text)


def tuned_settings(purpose, *, model=None, camera="sony", tune=False, retune=False, patch=None,
                   budget=BUDGET, log=None):
    """The speed settings for `purpose` on this machine.

    From the cache when it holds this machine's table; else, with `tune` (the scripts' first
    run) or `retune`, measured now and cached; else the reasoned rule (`reasoned`), so that a
    library call never spends more than a moment deciding. Then checked on `model` (16-bit
    candidates only, see `check_accuracy`), falling back to the next choice when it misses the
    floor.

    Args:
      purpose: "evaluate", "enhance" or "train".
      model: the network that will run (evaluate, enhance); `full_range_model(camera)` when None.
      camera: the network measured when no model is given.
      tune, retune: measure when nothing valid is cached / measure again anyway.
      patch: the training patch side to measure on (train; default TRAIN_PATCH); a table
        measured on another side is measured again.
      budget: seconds; rounds beyond the third are timed only within it.
      log: where the progress line, the table (when measured now) and warnings go; None: the
        `sid_tf2.tuning` logger's warnings only.
    Returns:
      `SpeedSettings` whose `reason` is one line: the choice and its measured gain.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}.")
    machine = hardware.detect_hardware()
    if _is_off():
        return _with_reason(reasoned(purpose, machine), f"[{TUNING_ENV}=off: reasoned, not measured]")
    names = CANDIDATES[purpose][machine_kind(machine)]
    if len(names) == 1:
        return _with_reason(settings_named(purpose, names[0]),
                            f"the only candidate on a {machine.describe()}, nothing to measure")
    # The network the inference candidates run on: the caller's, else the full-range stand-in,
    # built once and only when a measurement or a 16-bit check needs it.
    network = functools.cache(lambda: model if model is not None else full_range_model(camera))
    fingerprint = machine_fingerprint(machine)
    path = cache_path()
    rows, measured_now = None, False
    if not retune:
        rows = _cached_rows(purpose, machine, fingerprint, path, log, measured_shape(purpose, patch))
    if rows is None and (tune or retune):
        rows = _measure_and_store(purpose, machine, fingerprint, path, network, camera, patch, budget, log)
        measured_now = True
    if rows is None:
        choice = reasoned(purpose, machine).name
        return _first_accurate(purpose, dict.fromkeys([choice, names[0]]), network, log, lambda name: (
            "reasoned, not measured: `sid-tune` measures this machine" if name == choice else
            f"the original's computation; {choice} was reasoned, not measured"))
    when = "measured now" if measured_now else "measured before"
    reference = rows[0]
    medians = {row.name: row.median for row in rows}
    return _first_accurate(purpose, rank(rows), network, log, lambda name: (
        f"{reference.median / medians[name]:.2f}x the original's computation, {when}; `sid-tune` "
        f"shows the table" if name != reference.name else
        f"the original's computation: no candidate was {MARGIN:.0%} faster, {when}; `sid-tune` "
        f"shows the table"))


def _with_reason(settings, why):
    return dataclasses.replace(settings, reason=f"{settings.name} ({why})")


def _cached_rows(purpose, machine, fingerprint, path, log, shape):
    entry = cached_entry(path, fingerprint_key(fingerprint), purpose)
    if entry is None:
        return None
    try:
        return parse_entry(purpose, entry, machine, shape)
    except CacheEntryError as error:
        _warn(log, f"ignoring the {purpose} entry of {path} ({error})")
        return None


def _measure_and_store(purpose, machine, fingerprint, path, network, camera, patch, budget, log):
    options = candidates(purpose, machine)
    say = log or (lambda text: None)
    say(f"measuring the {purpose} settings once for this machine: {len(options)} candidates "
        f"({', '.join(o.name for o in options)}), about {ESTIMATED_SECONDS[purpose] * len(options)} s ...")
    started = time.monotonic()
    if purpose == "train":
        rows = measure_training(options, camera, patch=measured_shape(purpose, patch)[0], budget=budget)
    else:
        rows = measure_inference(purpose, options, network(), shape=measured_shape(purpose), budget=budget)
    if rows[0].error:
        _warn(log, f"nothing measured: the original's computation failed to run ({rows[0].error})")
        return None
    say(f"measured in {time.monotonic() - started:.0f} s (median and range of "
        f"{len(rows[0].times)} interleaved rounds; a candidate needs a {MARGIN:.0%} gain beyond "
        f"the reference's range):")
    for line in table_lines(purpose, rows):
        say(line)
    entry = {"table": [dataclasses.asdict(row) for row in rows], "input": measured_shape(purpose, patch),
             "tuned": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    problem = store_entry(path, fingerprint, purpose, entry)
    if problem and path not in _WARNED:
        _WARNED.add(path)
        _warn(log, f"cannot save the tuning cache ({problem}): the choice holds for this process "
                   f"only and the next run measures again; set {CACHE_ENV} to a writable folder")
    return rows


def _first_accurate(purpose, names, network, log, why):
    """The first of `names` (the reference last) that meets the purpose's floor on `network()`,
    with `why(name)` as its reason; a 16-bit choice that misses it is said in one line."""
    names = list(names)
    for name in names[:-1]:
        settings = settings_named(purpose, name)
        quality = check_accuracy(purpose, settings, network()) if needs_accuracy_check(purpose, settings) else None
        if quality is not None and quality < FLOOR_DB[purpose]:
            _warn(log, f"{name} is {quality:.0f} dB from float32 on this network, under the "
                       f"{purpose} floor of {FLOOR_DB[purpose]:.0f} dB: using the next choice")
            continue
        return _with_reason(settings, why(name))
    return _with_reason(settings_named(purpose, names[-1]), why(names[-1]))


def predictor_for_purpose(model, precision=None, *, purpose=None, tune=False, **predictor_options):
    """`sid_tf2.make_predictor`: `sid_tf2.inference.make_predictor(model, precision, **predictor_options)`,
    with the TensorFlow settings tuned for `purpose` when one is given.

    Args:
      purpose: "evaluate" or "enhance" (TensorFlow only): the settings cached as fastest for
        this machine that meet the purpose's accuracy floor on `model`, or the reasoned rule
        when nothing is cached (`tuned_settings`). An explicit `precision` or `jit_compile`
        overrides it.
      tune: with `purpose`, measure the candidates now (about 15-30 s) when nothing valid is
        cached for this machine, instead of using the reasoned rule.
      predictor_options: as `sid_tf2.inference.make_predictor` takes them.
    """
    if purpose is not None:
        backend = predictor_options.get("backend", TENSORFLOW)
        if backend != TENSORFLOW:
            raise ValueError(f"purpose is TensorFlow's: the {backend} backend computes in the precision asked")
        if precision is None and all(predictor_options.get(name) is None
                                     for name in ("jit_compile", *DEPRECATED_OPTIONS)):
            precision = tuned_settings(purpose, model=model, tune=tune)
    return make_predictor(model, precision, **predictor_options)

