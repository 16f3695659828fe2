"""Measured, not guessed: the fastest settings for a purpose on this machine, cached.

Which precision, compiler (XLA or not) and convolution algorithm (direct or Winograd) is fastest
differs between CPU kinds and GPUs, and a rule written on one machine is wrong on the next (on
an AVX2-only Zen 3 XLA wins; on an AVX512-BF16 Zen 4 it loses to oneDNN). So the first time a
purpose runs on a machine, `tuned_settings` times the candidate settings on a short input, keeps
the fastest that meets the purpose's accuracy floor, caches the choice per machine (CPU model
and flags, GPUs, TensorFlow version, oneDNN state, sid-tf2 version) in the user's cache
directory, and prints one line with the choice and the table behind it, as cuDNN's autotuner and
FFTW's wisdom do. `python -m sid_tf2.tune` shows, re-tunes or clears the cache.

Purposes and their floors, always against the original's computation (float32 without XLA,
the first candidate, measured in the same run):
- evaluate (test_sony.py): float32 only, output >= 100 dB PSNR against the original's;
- enhance (sid-enhance): >= 55 dB (8-bit output quantises at about 59 dB), so bfloat16 and
  float16 may win;
- train (train_sony.py): the loss of a few steps from the same weights within the tolerance the
  parity tests hold for that precision.

SID_TF2_TUNING=off skips measuring and uses the reasoned rule of `sid_tf2.hardware` (the test
suite does so, so that it never depends on timings); SID_TF2_CACHE_DIR moves the cache.
"""

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import statistics
import time

import numpy as np

from sid_tf2 import hardware
from sid_tf2.atomic import write_text
from sid_tf2.hardware import SpeedSettings

PURPOSES = ("evaluate", "enhance", "train")
FLOOR_DB = {"evaluate": 100.0, "enhance": 55.0}
# Relative loss difference from float32 over TRAIN_STEPS steps: parity_tests bounds.
TRAIN_LOSS_RTOL = {"float32": 1e-4, "mixed_bfloat16": 1e-2, "mixed_float16": 1e-3}
DEFAULT_BUDGET = 45.0  # seconds of measuring, compilation included
MAX_BUDGET = 60.0
INFERENCE_INPUT = (256, 384)  # packed height and width of the inference input
TRAIN_PATCH = 128
TRAIN_STEPS = 3
TIMED_ROUNDS = 3
START_FRACTION = 0.6  # no candidate starts after this share of the budget (timing needs the rest)
TUNING_ENV = "SID_TF2_TUNING"
CACHE_ENV = "SID_TF2_CACHE_DIR"
CACHE_FILE = "tuning.json"


@dataclasses.dataclass
class Measurement:
    """One candidate's row of the table."""

    name: str
    seconds: float = float("nan")  # median of the timed rounds (inference) or steps (train)
    quality: float = float("nan")  # PSNR in dB (inference) or relative loss difference (train)
    meets_floor: bool = False
    note: str = ""  # why it was not measured or failed

    def describe(self, purpose):
        if self.note:
            return f"{self.name}: {self.note}"
        quality = (f"loss {self.quality:.1e}" if purpose == "train" else
                   "identical" if self.quality == float("inf") else f"{self.quality:.0f} dB")
        return f"{self.name} {self.seconds:.3f}s {quality}{'' if self.meets_floor else ' (below the floor)'}"


def _s(precision, jit, *, low=1, winograd=(), tf32=True):
    return SpeedSettings(precision, jit, tensor_float_32=tf32, low_precision_from=low,
                         winograd_levels=tuple(winograd))


def candidates(purpose, machine):
    """The settings worth timing for `purpose` on `machine` (a `hardware.Hardware`); the first
    is the original's computation, the reference of the accuracy floors. Those without XLA come
    first: they cost no compilation, so a tight time budget still measures them."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}.")
    gpu = bool(machine.gpu_capabilities)
    tf32 = purpose != "evaluate"  # evaluation keeps float32 convolutions float32 on GPUs
    result = [_s("float32", False, tf32=False), _s("float32", True, tf32=tf32)]
    if purpose == "train":
        low = [_s("mixed_float16", True)] if gpu else [_s("mixed_bfloat16", False), _s("mixed_bfloat16", True)]
    elif purpose == "enhance":
        low = ([_s("mixed_float16", True), _s("mixed_float16", True, low=3)] if gpu else
               [_s("mixed_bfloat16", False), _s("mixed_bfloat16", False, low=3), _s("mixed_bfloat16", True)])
    else:
        low = []
    if purpose != "train" and not gpu:  # GPUs have their own Winograd kernels (cuDNN)
        low += [_s("float32", True, winograd=(4, 5), tf32=tf32),
                _s("float32", True, winograd=(3, 4, 5), tf32=tf32)]
    return sorted(result + low, key=lambda settings: settings.jit_compile)  # stable: reference first


def choose(purpose, settings, measurements):
    """The fastest candidate that meets the floor (the reference always does)."""
    ranked = sorted((m.seconds, index) for index, m in enumerate(measurements)
                    if m.meets_floor and not m.note)
    return settings[ranked[0][1]] if ranked else settings[0]


# --- the machine and the cache ---------------------------------------------------------------

def machine_fingerprint():
    """What decides the fastest settings, and so identifies a cache entry."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    import sid_tf2  # pylint: disable=import-outside-toplevel

    machine = hardware.detect_hardware()
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            gpus.append(tf.config.experimental.get_device_details(device).get("device_name", device.name))
        except (RuntimeError, ValueError):
            gpus.append(device.name)
    flags = " ".join(sorted(machine.cpu_flags))
    return {
        "cpu": hardware.read_cpu_model() or "unknown",
        "cpu_flags_sha1": hashlib.sha1(flags.encode()).hexdigest()[:12],
        "native_bfloat16": machine.native_bfloat16_cpu,
        "gpus": [f"{name} ({a}.{b})" for name, (a, b) in zip(gpus, machine.gpu_capabilities)],
        "tensorflow": tf.__version__,
        "onednn": machine.onednn,
        "sid_tf2": sid_tf2.__version__,
    }


def fingerprint_key(fingerprint):
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def cache_path():
    """$SID_TF2_CACHE_DIR/tuning.json, else the user's cache directory's sid-tf2/tuning.json."""
    directory = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "sid-tf2")
    return os.path.join(directory, CACHE_FILE)


def load_cache(path=None):
    """{machine key: {"fingerprint": ..., "purposes": {purpose: entry}}}; empty if absent or
    unreadable (a damaged cache is only re-measured, never an error)."""
    path = path or cache_path()
    try:
        with open(path, encoding="utf-8") as stream:
            cache = json.load(stream)
        return cache if isinstance(cache, dict) else {}
    except (OSError, ValueError):
        return {}


def save_cache(cache, path=None):
    """Write the cache atomically; returns an error text instead of raising (a cache that cannot
    be written costs a re-measurement next time, nothing more)."""
    path = path or cache_path()
    try:
        write_text(path, json.dumps(cache, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        return f"{path}: {error.strerror or error}"
    return ""


def _settings_from_entry(entry, reason):
    choice = entry["choice"]
    return SpeedSettings(choice["precision"], bool(choice["jit_compile"]), reason,
                         tensor_float_32=bool(choice["tensor_float_32"]),
                         low_precision_from=int(choice["low_precision_from"]),
                         winograd_levels=tuple(choice["winograd_levels"]))


def _entry(settings, measurements, purpose, shape):
    return {
        "choice": {"precision": settings.precision, "jit_compile": settings.jit_compile,
                   "tensor_float_32": settings.tensor_float_32,
                   "low_precision_from": settings.low_precision_from,
                   "winograd_levels": list(settings.winograd_levels), "name": settings.name},
        "table": [dataclasses.asdict(m) for m in measurements],
        "input": list(shape),
        "tuned": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "purpose": purpose,
    }


def summary_line(purpose, entry):
    """One line: the choice, its speed against the original's computation, and the table."""
    rows = [Measurement(**row) for row in entry["table"]]
    reference = rows[0].seconds
    chosen = next(row for row in rows if row.name == entry["choice"]["name"])
    speed = f"{reference / chosen.seconds:.2f}x the original's computation" if chosen.seconds else ""
    table = " | ".join(row.describe(purpose) for row in rows)
    return f"{entry['choice']['name']} ({speed}; measured {entry['tuned']}: {table})"


# --- measuring -------------------------------------------------------------------------------

def reference_input(height, width, channels, seed=0):
    """A fixed, image-like packed input in [0, 1]: smooth structure, edges and noise, so that
    precision losses show as they would on a photograph (a constant input hides them)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    image = 0.3 + 0.2 * np.sin(rows / 17.0)[..., None] * np.cos(cols / 23.0)[..., None]
    image = image + 0.2 * ((rows // 32 + cols // 32) % 2)[..., None]
    image = image * rng.uniform(0.6, 1.0, channels).astype(np.float32)
    image = image + rng.normal(0.0, 0.03, (height, width, channels)).astype(np.float32)
    return np.clip(image, 0.0, 1.0)[None].astype(np.float32)


def _psnr(output, reference):
    output, reference = np.clip(output, 0, 1), np.clip(reference, 0, 1)
    mse = float(np.mean((output.astype(np.float64) - reference) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def measure_inference(purpose, settings, model, *, shape=INFERENCE_INPUT, budget=DEFAULT_BUDGET):
    """Time each candidate's predictor on one fixed input, interleaved; PSNR against the first."""
    from sid_tf2.inference import Predictor  # pylint: disable=import-outside-toplevel

    packed = reference_input(*shape, model.input_shape[-1])
    started = time.monotonic()
    measurements, runs, reference = [], {}, None
    for index, candidate in enumerate(settings):
        if index and time.monotonic() - started > START_FRACTION * budget:
            measurements.append(Measurement(candidate.name, note="not measured (time budget)"))
            continue
        try:
            predictor = Predictor(model, candidate)
            hardware.apply_math_settings(candidate)  # TF32 on GPUs is process-wide
            output = predictor(packed)  # traces (and compiles with XLA)
        except Exception as error:  # pylint: disable=broad-except  (a candidate the platform lacks)
            measurements.append(Measurement(candidate.name, note=f"failed ({type(error).__name__})"))
            continue
        reference = output if reference is None else reference
        quality = float(_psnr(output, reference))
        measurements.append(Measurement(candidate.name, quality=quality,
                                        meets_floor=bool(quality >= FLOOR_DB[purpose])))
        runs[index] = (predictor, [])
    for _ in range(TIMED_ROUNDS):
        for predictor, times in runs.values():
            if times and time.monotonic() - started > budget:
                continue
            hardware.apply_math_settings(predictor.settings)
            start = time.perf_counter()
            predictor(packed)
            times.append(time.perf_counter() - start)
    for index, (_, times) in runs.items():
        measurements[index].seconds = statistics.median(times)
    return measurements


def measure_training(settings, camera, *, patch=TRAIN_PATCH, budget=DEFAULT_BUDGET):
    """Each candidate takes TRAIN_STEPS steps from the same weights on one fixed batch (the
    losses are compared with the first's), then TIMED_ROUNDS timed steps."""
    import keras  # pylint: disable=import-outside-toplevel

    from sid_tf2.model import build_unet, get_camera  # pylint: disable=import-outside-toplevel
    from sid_tf2.training.step import make_optimizer, make_train_step  # pylint: disable=import-outside-toplevel

    channels, block = get_camera(camera).in_channels, get_camera(camera).block_size
    inputs = reference_input(patch, patch, channels)
    ground_truth = reference_input(block * patch, block * patch, 3, seed=1)
    keras.utils.set_random_seed(0)
    initial = build_unet(camera).get_weights()
    started = time.monotonic()
    measurements, reference = [], None
    for index, candidate in enumerate(settings):
        if index and time.monotonic() - started > START_FRACTION * budget:
            measurements.append(Measurement(candidate.name, note="not measured (time budget)"))
            continue
        try:
            model = build_unet(camera, candidate.precision)
            model.set_weights(initial)
            step = make_train_step(model, make_optimizer(1e-4, candidate.precision),
                                   precision=candidate.precision, jit_compile=candidate.jit_compile)
            losses = np.array([float(step(inputs, ground_truth, 1e-4)) for _ in range(TRAIN_STEPS)])
            times = []
            for _ in range(TIMED_ROUNDS):
                start = time.perf_counter()
                float(step(inputs, ground_truth, 1e-4))
                times.append(time.perf_counter() - start)
        except Exception as error:  # pylint: disable=broad-except  (a candidate the platform lacks)
            measurements.append(Measurement(candidate.name, note=f"failed ({type(error).__name__})"))
            continue
        reference = losses if reference is None else reference
        difference = float(np.max(np.abs(losses - reference) / np.abs(reference)))
        measurements.append(Measurement(
            candidate.name, seconds=statistics.median(times), quality=difference,
            meets_floor=bool(np.all(np.isfinite(losses))) and difference <= TRAIN_LOSS_RTOL[candidate.precision]))
    return measurements


def _reasoned(purpose):
    """The rule of sid_tf2.hardware, for SID_TF2_TUNING=off."""
    settings = hardware.resolve_speed_settings(purpose="evaluate" if purpose == "evaluate" else "fastest")
    return dataclasses.replace(settings, reason=f"{settings.reason} [{TUNING_ENV}=off: reasoned, not measured]")


@contextlib.contextmanager
def _quiet_retracing():
    """Each candidate is a new tf.function of the same code, which TensorFlow reports as
    "excessive retracing": expected here, so its logger is kept to errors meanwhile."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def _measure(purpose, options, model, camera, shape, budget):
    if purpose == "train":
        patch = shape or TRAIN_PATCH
        return measure_training(options, camera, patch=patch, budget=budget), (patch, patch)
    if model is None:
        import keras  # pylint: disable=import-outside-toplevel

        from sid_tf2.model import build_unet  # pylint: disable=import-outside-toplevel

        keras.utils.set_random_seed(0)
        model = build_unet(camera)
    shape = shape or INFERENCE_INPUT
    return measure_inference(purpose, options, model, shape=shape, budget=budget), shape


def tuned_settings(purpose, *, model=None, camera="sony", retune=False, budget=DEFAULT_BUDGET,
                   shape=None, log=print):
    """The settings for `purpose` on this machine: from the cache, else measured now.

    Args:
      purpose: "evaluate", "enhance" or "train".
      model: for evaluate/enhance, the model whose outputs are compared (its weights make the
        accuracy floor meaningful); a seeded random one of `camera` when None.
      retune: measure even if the cache has an entry.
      budget: seconds of measuring (at most MAX_BUDGET); candidates beyond it are skipped.
      shape: the packed input (inference) or the patch side (train) to measure on.
      log: where the one-line summary goes.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}.")
    if os.environ.get(TUNING_ENV, "").lower() == "off":
        return _reasoned(purpose)
    fingerprint = machine_fingerprint()
    key = fingerprint_key(fingerprint)
    path = cache_path()
    cache = load_cache(path)
    entry = cache.get(key, {}).get("purposes", {}).get(purpose)
    if entry and not retune:
        try:
            return _settings_from_entry(entry, f"tuned for this machine ({path}): "
                                        + summary_line(purpose, entry))
        except (KeyError, TypeError, ValueError, StopIteration):
            pass  # an entry of another format: measure again
    budget = min(float(budget), MAX_BUDGET)
    options = candidates(purpose, hardware.detect_hardware())
    log(f"tuning {purpose} settings for this machine (once; at most {budget:.0f} s) ...")
    with _quiet_retracing():
        measurements, shape = _measure(purpose, options, model, camera, shape, budget)
    chosen = choose(purpose, options, measurements)
    entry = _entry(chosen, measurements, purpose, shape)
    cache.setdefault(key, {"fingerprint": fingerprint, "purposes": {}})["purposes"][purpose] = entry
    problem = save_cache(cache, path)
    where = f"not cached: {problem}" if problem else f"cached in {path}"
    line = summary_line(purpose, entry)
    log(f"tuned {purpose}: {line}; {where}")
    return _settings_from_entry(entry, f"tuned for this machine: {line}")


def clear(all_machines=False, path=None):
    """Remove this machine's entries (or every machine's); returns how many were removed."""
    path = path or cache_path()
    cache = load_cache(path)
    if all_machines:
        removed, cache = len(cache), {}
    else:
        removed = 1 if cache.pop(fingerprint_key(machine_fingerprint()), None) else 0
    problem = save_cache(cache, path) if removed else ""
    if problem:
        raise OSError(problem)
    return removed
