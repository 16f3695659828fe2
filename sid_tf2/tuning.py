"""Measured, not guessed: the speed settings for a purpose on this machine, chosen with a margin.

Which precision and compiler is fastest differs between CPU kinds and GPUs (on an AVX2-only Zen 3
XLA wins; on an AVX512-BF16 Zen 4 bfloat16 without XLA does; on an Ice Lake without native
bfloat16 nothing beats float32). So a script's first run on a machine times a few candidates on
the code path the purpose runs, keeps the original's computation unless a candidate is clearly
faster, caches the table per machine and prints it once; later runs print one line.

- Few candidates (`CANDIDATES`), per purpose and kind of machine, in the order the project's
  recorded measurements expect them to win (docs/speed_settings.md gives the numbers and the
  families dropped for never winning). Where the list is the reference alone, nothing is timed.
- Measure what runs: `evaluate` (test_sony.py) whole images; `enhance` (sid-enhance) one tile of
  its default tiling through the same predictor; `train` steps on the run's patch size. Every
  candidate is timed in the same interleaved rounds as the reference, in this process.
- A margin: a candidate replaces the original's computation only when its median is at least
  `MARGIN` below the reference's and its slowest round is faster than the reference's fastest.
- Accuracy against float32, per model: 16-bit candidates are checked on the model that will run,
  on a simulated low-light frame, each time they are chosen (one small forward pass); one that
  misses the purpose's floor gives way to the next, with a line saying so.
- A cache that cannot break a run: a damaged, partial or foreign entry is measured again (or, for
  a library call, the reasoned rule is used) with one line; writes merge under a file lock; an
  unwritable cache warns once and keeps the table for the process.
- Library calls (`make_predictor(purpose=...)`, the training loop) take the cached choice or the
  reasoned rule and never measure unless asked (`tune=True`, which the scripts pass, or
  `python -m sid_tf2.tune`). Nothing here restarts a process or changes the environment:
  TF_ENABLE_ONEDNN_OPTS stays as the user set it and is part of the machine's fingerprint.

SID_TF2_TUNING=off uses the reasoned rule without reading the cache (the test suite does so);
SID_TF2_CACHE_DIR moves the cache from the platform's user cache directory.
"""

import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import math
import os
import statistics
import time

import numpy as np

from sid_tf2 import hardware
from sid_tf2.atomic import write_text
from sid_tf2.backends import check_backend
from sid_tf2.constants import DEFAULT_TILE_OVERLAP
from sid_tf2.hardware import SpeedSettings
from sid_tf2.inference import TENSORFLOW_ONLY, check_tiles, make_predictor

PURPOSES = ("evaluate", "enhance", "train")
FLOOR_DB = {"evaluate": 100.0, "enhance": 55.0}
IDENTICAL_DB = 300.0  # the quality recorded for a bit-identical output (JSON has no infinity)
# Relative loss difference from float32 over TRAIN_STEPS steps: parity_tests bounds.
TRAIN_LOSS_RTOL = {"float32": 1e-4, "mixed_bfloat16": 1e-2, "mixed_float16": 1e-3}
MARGIN = 0.05  # a candidate must be this much faster than the reference, beyond its spread
BUDGET = 30.0  # seconds: rounds after the third are timed only within it
MIN_ROUNDS, MAX_ROUNDS = 3, 5
EVALUATE_INPUT = (512, 768)  # packed, whole image (test_sony.py runs whole frames)
ENHANCE_TILE = 640  # sid-enhance's default --tile_size
ENHANCE_INPUT = (560, 640)  # one tile of a Sony frame at that tile size
TRAIN_PATCH = 512  # the recipe's patch side; a run's own --patch_size is measured when given,
# up to this side: a 512 float32 step takes 5.5 s on a 2-core AVX2 CPU, past the budget; from 256
# up the ranking on a Zen 4 matched 512's (at 128 it did not)
TRAIN_PATCH_LIMIT = 320
TRAIN_STEPS = 2  # steps whose losses are compared; they also warm the step up
ESTIMATED_SECONDS = {"evaluate": 6, "enhance": 5, "train": 10}  # per candidate, on a 2-core Zen 4
CHECK_SIDE = 160  # packed side of the simulated frame of the per-model accuracy check
TUNING_ENV = "SID_TF2_TUNING"
CACHE_ENV = "SID_TF2_CACHE_DIR"
CACHE_FILE = "tuning.json"
# Raised whenever the candidates or their measurement change, so older tables are measured again
# (3: few candidates per kind, tiles for enhance, the margin, no oneDNN switching).
TUNER_REVISION = 3
RUNTIME_DISTRIBUTIONS = {"openvino": "openvino", "onnxruntime": "onnxruntime", "litert": "ai-edge-litert"}

# Per purpose and kind of machine: the reference, then the candidates in the order the recorded
# measurements expect them to win (docs/speed_settings.md). Inputs of `enhance` vary in size, so
# nothing that compiles per input shape (XLA, the Winograd layers) is a candidate there.
CANDIDATES = {
    "evaluate": {
        "eigen_cpu": ("float32", "float32+xla"),  # AVX2 Zen 3: XLA 1.26x
        "onednn_cpu": ("float32",),  # Ice Lake: XLA 0.64x, Winograd 1.08x (noise)
        "bfloat16_cpu": ("float32",),  # Zen 4: XLA 0.72x; Winograd pays 10-18 s per shape
        "gpu": ("float32", "float32+xla"),
        "tensor_core_gpu": ("float32", "float32+xla"),
    },
    "enhance": {
        "eigen_cpu": ("float32",),
        "onednn_cpu": ("float32",),  # bfloat16 emulated: 0.28x; OpenVINO float32 0.89x
        "bfloat16_cpu": ("float32", "mixed_bfloat16", "mixed_bfloat16@3"),  # 2.10x at 58 dB; 1.43x
        "gpu": ("float32",),
        "tensor_core_gpu": ("float32", "mixed_float16", "mixed_float16@3"),
    },
    "train": {
        "eigen_cpu": ("float32", "float32+xla"),  # AVX2 Zen 3: 1.33x
        "onednn_cpu": ("float32",),
        "bfloat16_cpu": ("float32", "mixed_bfloat16"),  # Zen 4: 1.76x
        "gpu": ("float32", "float32+xla"),
        "tensor_core_gpu": ("float32", "mixed_float16+xla", "float32+xla"),
    },
}

_LOG = logging.getLogger(__name__)
_PROCESS_CACHE = {}  # (cache path, machine key, purpose) -> entry, for caches that can't be written
_WARNED = set()  # cache paths whose write failure was reported


@dataclasses.dataclass
class Measurement:
    """One candidate's row of the table (JSON-safe: no NaN, no infinity)."""

    name: str
    times: list = dataclasses.field(default_factory=list)  # seconds of the interleaved rounds
    quality: float = 0.0  # PSNR in dB against float32 (inference) or relative loss difference (train)
    meets_floor: bool = False
    error: str = ""  # why the candidate could not run here

    @property
    def median(self):
        return statistics.median(self.times)

    def describe(self, purpose):
        if self.error:
            return f"{self.name}: {self.error}"
        quality = (("same loss" if self.quality == 0 else f"loss within {self.quality:.0e}") if purpose == "train" else
                   "identical" if self.quality >= IDENTICAL_DB else f"{self.quality:.0f} dB")
        floor = "" if self.meets_floor else ", below the floor"
        return (f"{self.name} {self.median:.3f} s ({min(self.times):.3f}-{max(self.times):.3f}), "
                f"{quality}{floor}")


class CacheEntryError(ValueError):
    """A cache entry that is not a table this tuner wrote for this machine."""


# --- what to measure -------------------------------------------------------------------------

def machine_kind(machine):
    """The kind of a `hardware.Hardware`, as `CANDIDATES` names it."""
    if machine.gpu_capabilities:
        tensor_cores = all(c >= hardware.TENSOR_CORE_CAPABILITY for c in machine.gpu_capabilities)
        return "tensor_core_gpu" if tensor_cores else "gpu"
    if machine.native_bfloat16_cpu:
        return "bfloat16_cpu"
    return "onednn_cpu" if machine.onednn else "eigen_cpu"


def settings_named(purpose, name, reason=""):
    """The settings a candidate's name stands for: TF32 off for evaluation and for the
    original's computation ("float32"), on elsewhere (it only matters on Ampere+ GPUs)."""
    settings = SpeedSettings.from_name(name, reason)
    return dataclasses.replace(settings, tensor_float_32=purpose != "evaluate" and name != "float32")


def candidates(purpose, machine):
    """The settings worth timing for `purpose` on `machine`: the original's computation first."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}.")
    return [settings_named(purpose, name) for name in CANDIDATES[purpose][machine_kind(machine)]]


def reasoned(purpose, machine):
    """The choice without a measurement: the candidate the recorded measurements expect to win
    (the first after the reference), except for `evaluate`, which never changes the
    computation unmeasured."""
    names = CANDIDATES[purpose][machine_kind(machine)]
    name = names[1] if purpose != "evaluate" and len(names) > 1 else names[0]
    return settings_named(purpose, name)


def rank(rows):
    """Names to use, best first: the candidates that meet the floor and beat the reference
    (the first row) by the margin with spreads apart, fastest first; then the reference."""
    reference = rows[0]
    winners = [row for row in rows[1:] if row.meets_floor and not row.error and row.times
               and row.median <= (1 - MARGIN) * reference.median
               and max(row.times) < min(reference.times)]
    return [row.name for row in sorted(winners, key=lambda row: row.median)] + [reference.name]


# --- realistic inputs and the accuracy check ---------------------------------------------------

@functools.lru_cache(maxsize=4)
def realistic_input(channels, side=CHECK_SIDE):
    """A simulated low-light frame as the network sees it, [1, side, side, channels]: a
    photograph unprocessed to a raw mosaic, darkened with a camera's noise, packed and amplified
    (`sid_tf2.simulation`). For a 9-channel (Fuji) network the Bayer channels stand in for the
    X-Trans ones."""
    from sid_tf2.simulation.stream import OnTheFlySampler  # pylint: disable=import-outside-toplevel

    packed, _ = OnTheFlySampler(patch_size=side, seed=0, examples_per_epoch=1).example(0, 0)
    if channels != packed.shape[-1]:
        packed = packed[..., np.arange(channels) % packed.shape[-1]]
    return np.ascontiguousarray(packed[None], np.float32)


def tiled_to(image, height, width):
    """`image` [1, h, w, c] repeated (mirrored, so without seams) to [1, height, width, c]."""
    while image.shape[1] < height or image.shape[2] < width:
        image = np.concatenate([image, image[:, ::-1]], axis=1) if image.shape[1] < height else image
        image = np.concatenate([image, image[:, :, ::-1]], axis=2) if image.shape[2] < width else image
    return np.ascontiguousarray(image[:, :height, :width])


def full_range_model(camera="sony"):
    """A seeded network whose output on a realistic input spans [0, 1] (1st-99th percentile at
    0.02-0.98), standing in when no trained model is given: a random network's output sits near
    0, where a precision's error looks 20 dB smaller than on a photograph."""
    import keras  # pylint: disable=import-outside-toplevel

    from sid_tf2.model import build_unet, get_camera  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(0)
    model = build_unet(camera)
    output = np.asarray(model(realistic_input(get_camera(camera).in_channels), training=False))
    low, high = np.percentile(output, [1, 99])
    scale = 0.96 / max(float(high - low), 1e-6)
    last = model.get_layer("g_conv10")
    kernel, bias = last.get_weights()
    last.set_weights([kernel * scale, bias * scale + (0.02 - low * scale)])
    return model


def psnr(output, reference):
    """PSNR in dB of two images clipped to [0, 1], at most IDENTICAL_DB (equal images)."""
    from sid_tf2.backends.common import agreement_psnr  # pylint: disable=import-outside-toplevel

    return min(IDENTICAL_DB, agreement_psnr(output, reference))


def check_accuracy(purpose, settings, model):
    """PSNR of `settings` against float32 on `model`, on a realistic input (None where the
    settings compute in float32 and need no per-model check)."""
    if settings.precision == "float32" or purpose not in FLOOR_DB:
        return None
    from sid_tf2.model import build_unet, get_camera  # pylint: disable=import-outside-toplevel

    packed = realistic_input(model.input_shape[-1])
    camera = next(name for name in ("sony", "fuji") if get_camera(name).in_channels == model.input_shape[-1])
    variant = settings.variant  # the precision's rounding, run eagerly: no tracing, no compiling
    fast = build_unet(camera, variant.precision, low_precision_from=variant.low_precision_from)
    fast.set_weights(model.get_weights())
    return psnr(np.asarray(fast(packed, training=False), np.float32),
                np.asarray(model(packed, training=False), np.float32))


# --- measuring -------------------------------------------------------------------------------

def _interleaved(calls, budget, started, warm_up=True):
    """Time each call once to warm up (tracing, compilation; unless warmed up already), then in
    MIN_ROUNDS to MAX_ROUNDS interleaved rounds (those past MIN_ROUNDS only within `budget`).
    Returns {name: [s, ...]}."""
    for call in calls.values() if warm_up else ():
        call()
    times = {name: [] for name in calls}
    for round_index in range(MAX_ROUNDS):
        if round_index >= MIN_ROUNDS and time.monotonic() - started > budget:
            break
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return times


def measure_inference(purpose, settings, model, *, shape=None, tile_size=None, budget=BUDGET):
    """Time each of `settings` (TensorFlow settings or another runtime's) on one input of
    `shape` through the predictor the purpose uses, interleaved; PSNR against the first's.

    Returns a list of `Measurement`.
    """
    started = time.monotonic()
    shape = shape or (ENHANCE_INPUT if purpose == "enhance" else EVALUATE_INPUT)
    tile_size = tile_size if tile_size is not None else (ENHANCE_TILE if purpose == "enhance" else None)
    packed = tiled_to(realistic_input(model.input_shape[-1]), *shape)
    rows, calls, reference = [], {}, None
    for candidate in settings:
        try:
            predictor = make_predictor(model, settings=candidate, tile_size=tile_size)

            def call(predictor=predictor, candidate=candidate):
                if candidate.backend == "tensorflow":
                    hardware.apply_math_settings(candidate)  # TF32 on GPUs is process-wide
                return predictor(packed)

            output = call()
        except Exception as error:  # pylint: disable=broad-except  (a candidate the platform lacks)
            rows.append(Measurement(candidate.name, error=f"failed: {type(error).__name__}: {error}"[:200]))
            continue
        reference = output if reference is None else reference
        quality = psnr(output, reference)
        rows.append(Measurement(candidate.name, quality=quality, meets_floor=quality >= FLOOR_DB[purpose]))
        calls[candidate.name] = call
    times = _interleaved(calls, budget, started)
    for row in rows:
        row.times = times.get(row.name, [])
    return rows


def measure_training(settings, camera="sony", *, patch=TRAIN_PATCH, budget=BUDGET):
    """Each candidate takes TRAIN_STEPS steps from the same weights on one realistic batch (its
    losses compared with the first candidate's), then interleaved timed steps.

    Returns a list of `Measurement`.
    """
    import keras  # pylint: disable=import-outside-toplevel

    from sid_tf2.model import build_unet, get_camera  # pylint: disable=import-outside-toplevel
    from sid_tf2.training.step import make_optimizer, make_train_step  # pylint: disable=import-outside-toplevel

    started = time.monotonic()
    spec = get_camera(camera)
    inputs = tiled_to(realistic_input(spec.in_channels), patch, patch)
    ground_truth = tiled_to(np.sqrt(inputs[..., :3]), spec.block_size * patch, spec.block_size * patch)
    keras.utils.set_random_seed(0)
    initial = build_unet(camera).get_weights()
    rows, calls, reference = [], {}, None
    for candidate in settings:
        try:
            model = build_unet(camera, candidate.precision)
            model.set_weights(initial)
            step = make_train_step(model, make_optimizer(1e-4, candidate.precision),
                                   precision=candidate.precision, jit_compile=candidate.jit_compile)
            losses = np.array([float(step(inputs, ground_truth, 1e-4)) for _ in range(TRAIN_STEPS)])
        except Exception as error:  # pylint: disable=broad-except  (a candidate the platform lacks)
            rows.append(Measurement(candidate.name, error=f"failed: {type(error).__name__}: {error}"[:200]))
            continue
        reference = losses if reference is None else reference
        difference = float(np.max(np.abs(losses - reference) / np.abs(reference)))
        finite = bool(np.all(np.isfinite(losses))) and math.isfinite(difference)
        rows.append(Measurement(candidate.name, quality=difference if finite else 1.0,
                                meets_floor=finite and difference <= TRAIN_LOSS_RTOL[candidate.precision]))
        calls[candidate.name] = functools.partial(lambda step: float(step(inputs, ground_truth, 1e-4)), step)
    times = _interleaved(calls, budget, started, warm_up=False)
    for row in rows:
        row.times = times.get(row.name, [])
    return rows


# --- the machine and the cache ---------------------------------------------------------------

def installed_runtimes():
    """{distribution: version} of the deployment runtimes installed (sid_tf2.backends)."""
    from importlib import metadata  # pylint: disable=import-outside-toplevel

    versions = {}
    for distribution in RUNTIME_DISTRIBUTIONS.values():
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            pass
    return versions


def machine_fingerprint(machine=None):
    """What decides the fastest settings, and so identifies a cache entry."""
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    import sid_tf2  # pylint: disable=import-outside-toplevel
    from sid_tf2.backends.common import thread_count  # pylint: disable=import-outside-toplevel

    machine = machine or hardware.detect_hardware()
    flags = " ".join(sorted(machine.cpu_flags))
    return {
        "cpu": hardware.read_cpu_model() or "unknown",
        "cpu_flags_sha1": hashlib.sha1(flags.encode()).hexdigest()[:12],
        "usable_cores": thread_count(),  # the affinity decides speed more than the CPU model
        "onednn": machine.onednn,
        "onednn_bfloat16": machine.onednn_bfloat16,
        "gpus": [f"{name} ({a}.{b})" for name, (a, b) in zip(hardware.gpu_names(), machine.gpu_capabilities)],
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     **installed_runtimes()},
        "sid_tf2": sid_tf2.__version__,
        "tuner": TUNER_REVISION,
    }


def fingerprint_key(fingerprint):
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def cache_path():
    """$SID_TF2_CACHE_DIR/tuning.json, else tuning.json in the platform's user cache directory
    for sid-tf2 (~/.cache/sid-tf2 on Linux)."""
    import platformdirs  # pylint: disable=import-outside-toplevel

    directory = os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("sid-tf2", appauthor=False)
    return os.path.join(directory, CACHE_FILE)


def load_cache(path):
    """{machine key: {"fingerprint": ..., "purposes": {purpose: entry}}}; empty when the file
    is absent, unreadable or not such a mapping (a damaged cache is measured again)."""
    try:
        with open(path, encoding="utf-8") as stream:
            cache = json.load(stream)
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return {key: value for key, value in cache.items() if isinstance(value, dict)} if isinstance(cache, dict) else {}


def _lock(path):
    import filelock  # pylint: disable=import-outside-toplevel

    return filelock.FileLock(path + ".lock", timeout=60)


def store_entry(path, fingerprint, purpose, entry):
    """Merge one purpose's entry into the cache file under a lock (other purposes and machines,
    written meanwhile by other processes, are kept). Returns "" or what went wrong."""
    key = fingerprint_key(fingerprint)
    _PROCESS_CACHE[(path, key, purpose)] = entry
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with _lock(path):
            cache = load_cache(path)
            machine = cache.get(key) if isinstance(cache.get(key), dict) else None
            if not machine or not isinstance(machine.get("purposes"), dict):
                machine = cache[key] = {"fingerprint": fingerprint, "purposes": {}}
            machine["purposes"][purpose] = entry
            write_text(path, json.dumps(cache, indent=1, sort_keys=True, allow_nan=False) + "\n")
    except Exception as error:  # pylint: disable=broad-except  (filelock's Timeout, OSError, WriteError)
        return f"{path}: {getattr(error, 'strerror', None) or error}"
    return ""


def measured_shape(purpose, patch=None):
    """The input a purpose is measured on: [height, width] packed (train: the patch)."""
    if purpose == "train":
        return [min(patch or TRAIN_PATCH, TRAIN_PATCH_LIMIT)] * 2
    return list(ENHANCE_INPUT if purpose == "enhance" else EVALUATE_INPUT)


def parse_entry(purpose, entry, machine, shape):
    """The measurements of a cache entry, checked: raises CacheEntryError for anything this
    tuner would not have written for this machine and input `shape` (wrong types, non-finite or
    non-positive times, other candidates, a runtime no longer installed)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("table"), list):
        raise CacheEntryError("not a table")
    if entry.get("input") != shape:
        raise CacheEntryError(f"measured on {entry.get('input')}, not {shape}")
    expected = list(CANDIDATES[purpose][machine_kind(machine)])
    rows = []
    for row in entry["table"]:
        try:
            rows.append(Measurement(**row))
        except TypeError as error:
            raise CacheEntryError(f"a malformed row ({error})") from None
    if [row.name for row in rows] != expected:
        raise CacheEntryError(f"candidates {[row.name for row in rows]} instead of {expected}")
    for row in rows:
        if not (isinstance(row.times, list) and all(isinstance(t, (int, float)) and math.isfinite(t) and t > 0
                                                    for t in row.times)):
            raise CacheEntryError(f"{row.name}: times must be positive numbers")
        if not isinstance(row.quality, (int, float)) or not math.isfinite(row.quality):
            raise CacheEntryError(f"{row.name}: quality must be a number")
        if not isinstance(row.meets_floor, bool) or not isinstance(row.error, str):
            raise CacheEntryError(f"{row.name}: meets_floor must be true or false, error a text")
        if not row.error and len(row.times) < MIN_ROUNDS:
            raise CacheEntryError(f"{row.name}: fewer than {MIN_ROUNDS} timed rounds")
    if rows[0].error or not rows[0].meets_floor:
        raise CacheEntryError("the reference was not measured")
    installed = installed_runtimes()
    missing = sorted({backend for backend in (SpeedSettings.from_name(row.name).backend for row in rows)
                      if backend != "tensorflow" and RUNTIME_DISTRIBUTIONS.get(backend) not in installed})
    if missing:
        raise CacheEntryError(f"measured with {', '.join(missing)}, no longer installed")
    return rows


def table_lines(purpose, rows):
    """The table as lines: each candidate's median, spread and quality, the reference first."""
    return [f"  {row.describe(purpose)}" + ("  (reference)" if index == 0 else "")
            for index, row in enumerate(rows)]


# --- choosing --------------------------------------------------------------------------------

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
    fingerprint = machine_fingerprint(machine)
    path = cache_path()
    rows, measured_now = None, False
    if not retune:
        rows = _cached_rows(purpose, machine, fingerprint, path, log, measured_shape(purpose, patch))
    if rows is None and (tune or retune):
        rows = _measure_and_store(purpose, machine, fingerprint, path, model, camera, patch, budget, log)
        measured_now = True
    if rows is None:
        choice = reasoned(purpose, machine).name
        return _first_accurate(purpose, dict.fromkeys([choice, names[0]]), model, camera, log, lambda name: (
            "reasoned, not measured: `sid-tune` measures this machine" if name == choice else
            f"the original's computation; {choice} was reasoned, not measured"))
    when = "measured now" if measured_now else "measured before"
    reference = rows[0]
    medians = {row.name: row.median for row in rows}
    return _first_accurate(purpose, rank(rows), model, camera, log, lambda name: (
        f"{reference.median / medians[name]:.2f}x the original's computation, {when}; `sid-tune` "
        f"shows the table" if name != reference.name else
        f"the original's computation: no candidate was {MARGIN:.0%} faster, {when}; `sid-tune` "
        f"shows the table"))


def _with_reason(settings, why):
    return dataclasses.replace(settings, reason=f"{settings.name} ({why})")


def _cached_rows(purpose, machine, fingerprint, path, log, shape):
    key = fingerprint_key(fingerprint)
    entry = _PROCESS_CACHE.get((path, key, purpose))
    if entry is None:
        machine_entry = load_cache(path).get(key) or {}
        purposes = machine_entry.get("purposes") if isinstance(machine_entry, dict) else None
        entry = purposes.get(purpose) if isinstance(purposes, dict) else None
    if entry is None:
        return None
    try:
        return parse_entry(purpose, entry, machine, shape)
    except CacheEntryError as error:
        _warn(log, f"ignoring the {purpose} entry of {path} ({error})")
        return None


def _measure_and_store(purpose, machine, fingerprint, path, model, camera, patch, budget, log):
    options = candidates(purpose, machine)
    say = log or (lambda text: None)
    say(f"measuring the {purpose} settings once for this machine: {len(options)} candidates "
        f"({', '.join(o.name for o in options)}), about {ESTIMATED_SECONDS[purpose] * len(options)} s ...")
    started = time.monotonic()
    if purpose == "train":
        rows = measure_training(options, camera, patch=measured_shape(purpose, patch)[0], budget=budget)
    else:
        rows = measure_inference(purpose, options, model if model is not None else full_range_model(camera),
                                 shape=measured_shape(purpose), budget=budget)
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


def _first_accurate(purpose, names, model, camera, log, why):
    """The first of `names` (the reference last) that meets the purpose's floor on `model`,
    with `why(name)` as its reason; a 16-bit choice that misses it is said in one line."""
    names = list(names)
    for name in names[:-1]:
        settings = settings_named(purpose, name)
        quality = check_accuracy(purpose, settings, model if model is not None else full_range_model(camera))
        if quality is not None and quality < FLOOR_DB[purpose]:
            _warn(log, f"{name} is {quality:.0f} dB from float32 on this network, under the "
                       f"{purpose} floor of {FLOOR_DB[purpose]:.0f} dB: using the next choice")
            continue
        return _with_reason(settings, why(name))
    return _with_reason(settings_named(purpose, names[-1]), why(names[-1]))


def clear(all_machines=False, path=None):
    """Remove this machine's entries (or every machine's); returns how many were removed."""
    path = path or cache_path()
    key = fingerprint_key(machine_fingerprint())
    for cached in [k for k in _PROCESS_CACHE if k[0] == path and (all_machines or k[1] == key)]:
        del _PROCESS_CACHE[cached]
    if not os.path.exists(path):
        return 0
    with _lock(path):
        cache = load_cache(path)
        removed = len(cache) if all_machines else int(key in cache)
        cache = {} if all_machines else {k: v for k, v in cache.items() if k != key}
        if removed:
            write_text(path, json.dumps(cache, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return removed


def predictor_for_purpose(model, *, purpose=None, tune=False, **predictor_options):
    """`sid_tf2.make_predictor`: `sid_tf2.inference.make_predictor(model, **predictor_options)`,
    with the TensorFlow settings tuned for `purpose` when one is given.

    Args:
      purpose: "evaluate" or "enhance" (TensorFlow only): the settings cached as fastest for
        this machine that meet the purpose's accuracy floor on `model`, or the reasoned rule
        when nothing is cached (`tuned_settings`). Explicit `settings`, `precision` or
        `jit_compile` override it.
      tune: with `purpose`, measure the candidates now (about 15-30 s) when nothing valid is
        cached for this machine, instead of using the reasoned rule.
      predictor_options: as `sid_tf2.inference.make_predictor` takes them.
    """
    if purpose is not None:
        backend = predictor_options.get("backend", "tensorflow")
        if backend != "tensorflow":  # the errors make_predictor gives, in its order
            check_tiles(predictor_options.get("tile_size"),
                        predictor_options.get("tile_overlap", DEFAULT_TILE_OVERLAP))
            check_backend(backend, predictor_options.get("precision") or "float32")
            raise ValueError(TENSORFLOW_ONLY.format(backend=backend))
        if all(predictor_options.get(name) is None for name in ("settings", "precision", "jit_compile")):
            predictor_options["settings"] = tuned_settings(purpose, model=model, tune=tune)
    return make_predictor(model, **predictor_options)
