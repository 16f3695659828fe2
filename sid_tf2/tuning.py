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

Where TensorFlow's oneDNN can be switched (an x86 CPU without GPUs), the candidates are also
measured with it the other way, in a child process (TF_ENABLE_ONEDNN_OPTS is read when
TensorFlow starts). test_sony.py and sid-enhance then restart themselves once with that setting
when it wins (`switch_onednn`); library calls choose among the settings of their own process.

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
TRAIN_PATCH = 256  # at 128, float32 still beat bfloat16 on a Zen 4 that trains 1.75x faster in bfloat16 at 512
TRAIN_STEPS = 3
TIMED_ROUNDS = 3
START_FRACTION = 0.6  # no candidate starts after this share of the budget (timing needs the rest)
TUNING_ENV = "SID_TF2_TUNING"
CACHE_ENV = "SID_TF2_CACHE_DIR"
CACHE_FILE = "tuning.json"
# Raised whenever the candidates run differently, so that choices measured before are measured
# again (2: CPU inference without XLA through a frozen graph, sid_tf2.frozen_graph).
TUNER_REVISION = 2
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
USER_ONEDNN_ENV = "SID_TF2_USER_ONEDNN"  # set on a restart: the user's own TF_ENABLE_ONEDNN_OPTS
CHILD_SHARE = 0.4  # of the budget, for the other oneDNN state's child process
# Deployment runtimes worth timing for enhancing, and in what (sid_tf2.backends): OpenVINO is
# the fastest of them in float32 and bfloat16 (benchmarks/RESULTS.md, section 4); their int8
# stays near 42 dB, below the enhance floor.
BACKEND_CANDIDATES = {"openvino": ("float32", "bfloat16")}


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


def installed_backends():
    """The deployment runtimes (sid_tf2.backends) whose package is installed here."""
    import importlib.util  # pylint: disable=import-outside-toplevel

    return tuple(name for name in BACKEND_CANDIDATES if importlib.util.find_spec(name) is not None)


def candidates(purpose, machine, backends=None):
    """The settings worth timing for `purpose` on `machine` (a `hardware.Hardware`); the first
    is the original's computation, the reference of the accuracy floors. Those without XLA come
    first: they cost no compilation, so a tight time budget still measures them; deployment
    runtimes (`backends`, default: those installed) come last, for enhancing on CPUs."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}.")
    gpu = bool(machine.gpu_capabilities)
    names = ["float32", "float32+xla"]
    if purpose == "train":
        names += ["mixed_float16+xla"] if gpu else ["mixed_bfloat16", "mixed_bfloat16+xla"]
    elif purpose == "enhance":
        names += (["mixed_float16+xla", "mixed_float16@3+xla"] if gpu else
                  ["mixed_bfloat16", "mixed_bfloat16@3", "mixed_bfloat16+xla"])
    if purpose != "train" and not gpu:  # GPUs have their own Winograd kernels (cuDNN)
        names += ["float32+winograd4-5", "float32+winograd3-5", "float32+xla+winograd4-5",
                  "float32+xla+winograd3-5"]
    options = sorted((settings_named(purpose, name) for name in names),
                     key=lambda settings: settings.jit_compile)  # stable: reference first
    if purpose == "enhance" and not gpu:
        for backend in installed_backends() if backends is None else backends:
            options += [settings_named(purpose, f"{backend}:{precision}")
                        for precision in BACKEND_CANDIDATES[backend]]
    return options


def choose(settings, measurements, *, switchable=True):
    """The fastest candidate that meets the floor (the reference always does); without
    `switchable`, only among those that need no other oneDNN setting than this process's."""
    ranked = sorted((m.seconds, index) for index, m in enumerate(measurements)
                    if m.meets_floor and not m.note and (switchable or settings[index].onednn is None))
    return settings[ranked[0][1]] if ranked else settings[0]


def settings_named(purpose, name, reason=""):
    """The settings a candidate's name stands for: TF32 off for evaluation and for the
    original's computation ("float32"), on elsewhere (it only matters on Ampere+ GPUs)."""
    settings = SpeedSettings.from_name(name, reason)
    return dataclasses.replace(settings, tensor_float_32=purpose != "evaluate" and name != "float32")


def onednn_switchable(machine):
    """Whether oneDNN can be switched for this machine's computation: x86 CPUs without GPUs."""
    import platform  # pylint: disable=import-outside-toplevel

    return not machine.gpu_capabilities and platform.machine().lower() in ("x86_64", "amd64")


def user_onednn_setting():
    """TF_ENABLE_ONEDNN_OPTS as the user set it ("" when unset), across our own restart."""
    return os.environ.get(USER_ONEDNN_ENV, os.environ.get(ONEDNN_ENV, ""))


# --- the machine and the cache ---------------------------------------------------------------

def machine_fingerprint():
    """What decides the fastest settings, and so identifies a cache entry."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    import sid_tf2  # pylint: disable=import-outside-toplevel

    machine = hardware.detect_hardware()
    gpus = hardware.gpu_names()
    flags = " ".join(sorted(machine.cpu_flags))
    return {
        "cpu": hardware.read_cpu_model() or "unknown",
        "cpu_flags_sha1": hashlib.sha1(flags.encode()).hexdigest()[:12],
        "onednn_bfloat16": machine.onednn_bfloat16,
        "gpus": [f"{name} ({a}.{b})" for name, (a, b) in zip(gpus, machine.gpu_capabilities)],
        "tensorflow": tf.__version__,
        # The oneDNN state follows from the CPU, the TensorFlow version and this setting.
        "onednn_setting": user_onednn_setting(),
        "sid_tf2": sid_tf2.__version__,
        "tuner": TUNER_REVISION,
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


def _entry(measurements, purpose, shape):
    return {
        "table": [dataclasses.asdict(m) for m in measurements],
        "input": list(shape),
        "tuned": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "purpose": purpose,
    }


def select(purpose, entry, *, switchable=True):
    """The settings an entry's table makes fastest (see `choose`), as `SpeedSettings`."""
    rows = [Measurement(**row) for row in entry["table"]]
    options = [settings_named(purpose, row.name) for row in rows]
    return choose(options, rows, switchable=switchable)


def summary_line(purpose, entry, *, switchable=True, table=True):
    """One line: the choice, its speed against the original's computation, and the table
    (without `table`: where it was printed)."""
    rows = [Measurement(**row) for row in entry["table"]]
    name = select(purpose, entry, switchable=switchable).name
    chosen = next(row for row in rows if row.name == name)
    speed = f"{rows[0].seconds / chosen.seconds:.2f}x the original's computation"
    if not table:
        return f"{name} ({speed}; measured {entry['tuned']}, the table above)"
    return f"{name} ({speed}; measured {entry['tuned']}: {' | '.join(row.describe(purpose) for row in rows)})"


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


def measure_inference(purpose, settings, model, *, shape=INFERENCE_INPUT, budget=DEFAULT_BUDGET,
                      reference=None):
    """Time each candidate's predictor on one fixed input, interleaved; PSNR against
    `reference` (default: the first candidate's output). Returns (measurements, reference)."""
    from sid_tf2.inference import make_predictor  # pylint: disable=import-outside-toplevel

    packed = reference_input(*shape, model.input_shape[-1])
    started = time.monotonic()
    measurements, runs = [], {}
    for index, candidate in enumerate(settings):
        if index and time.monotonic() - started > START_FRACTION * budget:
            measurements.append(Measurement(candidate.name, note="not measured (time budget)"))
            continue
        try:
            predictor = make_predictor(model, settings=candidate)
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
    return measurements, reference


def measure_training(settings, camera, *, patch=TRAIN_PATCH, budget=DEFAULT_BUDGET, reference=None):
    """Each candidate takes TRAIN_STEPS steps from the same weights on one fixed batch (the
    losses are compared with `reference`, default the first's), then TIMED_ROUNDS timed steps.
    Returns (measurements, reference losses)."""
    import keras  # pylint: disable=import-outside-toplevel

    from sid_tf2.model import build_unet, get_camera  # pylint: disable=import-outside-toplevel
    from sid_tf2.training.step import make_optimizer, make_train_step  # pylint: disable=import-outside-toplevel

    channels, block = get_camera(camera).in_channels, get_camera(camera).block_size
    inputs = reference_input(patch, patch, channels)
    ground_truth = reference_input(block * patch, block * patch, 3, seed=1)
    keras.utils.set_random_seed(0)
    initial = build_unet(camera).get_weights()
    started = time.monotonic()
    measurements = []
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
    return measurements, reference


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


def _default_model(model, camera):
    if model is not None:
        return model
    import keras  # pylint: disable=import-outside-toplevel

    from sid_tf2.model import build_unet  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(0)
    return build_unet(camera)


def measure(purpose, options, *, model=None, camera="sony", shape=None, budget=DEFAULT_BUDGET,
            reference=None):
    """Measure `options` in this process: (measurements, reference, shape)."""
    if purpose == "train":
        patch = int(np.ravel(shape)[0]) if shape is not None else TRAIN_PATCH  # a side, or (side, side)
        measurements, reference = measure_training(options, camera, patch=patch, budget=budget,
                                                   reference=reference)
        return measurements, reference, (patch, patch)
    shape = tuple(shape or INFERENCE_INPUT)
    measurements, reference = measure_inference(purpose, options, _default_model(model, camera),
                                                shape=shape, budget=budget, reference=reference)
    return measurements, reference, shape


def _measure_other_onednn(purpose, options, model, camera, shape, budget, reference, onednn):
    """The same candidates with oneDNN the other way, in a child process (`python -m
    sid_tf2.tune --child=...`): the same weights and reference travel through a directory."""
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel

    other = not onednn
    suffix = "+onednn_on" if other else "+onednn_off"
    options = [o for o in options if o.backend == "tensorflow"]  # the others have no TF oneDNN
    with tempfile.TemporaryDirectory(prefix="sid_tf2_tune_") as work:
        np.save(os.path.join(work, "reference.npy"), reference)
        if purpose != "train":
            _default_model(model, camera).save_weights(os.path.join(work, "model.weights.h5"))
        request = {"purpose": purpose, "camera": camera, "shape": list(shape), "budget": budget,
                   "options": [o.name for o in options]}
        with open(os.path.join(work, "request.json"), "w", encoding="utf-8") as stream:
            json.dump(request, stream)
        env = dict(os.environ, **{ONEDNN_ENV: "1" if other else "0", USER_ONEDNN_ENV: user_onednn_setting(),
                                  "TF_CPP_MIN_LOG_LEVEL": "3"})
        env.pop(TUNING_ENV, None)
        try:
            subprocess.run([sys.executable, "-m", "sid_tf2.tune", f"--child={work}"], env=env,
                           capture_output=True, timeout=budget + 60, check=True)
            with open(os.path.join(work, "measurements.json"), encoding="utf-8") as stream:
                rows = json.load(stream)
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            return [Measurement(o.name + suffix, note=f"failed ({type(error).__name__})") for o in options]
    return [Measurement(**dict(row, name=row["name"] + suffix)) for row in rows]


def run_child(work):
    """The child side of `_measure_other_onednn`: measure and write measurements.json."""
    with open(os.path.join(work, "request.json"), encoding="utf-8") as stream:
        request = json.load(stream)
    purpose = request["purpose"]
    options = [settings_named(purpose, name) for name in request["options"]]
    model = None
    if purpose != "train":
        from sid_tf2.model import build_unet  # pylint: disable=import-outside-toplevel

        model = build_unet(request["camera"])
        model.load_weights(os.path.join(work, "model.weights.h5"))
    with _quiet_retracing():
        measurements, _, _ = measure(purpose, options, model=model, camera=request["camera"],
                                     shape=request["shape"], budget=request["budget"],
                                     reference=np.load(os.path.join(work, "reference.npy")))
    write_text(os.path.join(work, "measurements.json"),
               json.dumps([dataclasses.asdict(m) for m in measurements]))


def tuned_settings(purpose, *, model=None, camera="sony", retune=False, budget=DEFAULT_BUDGET,
                   shape=None, switchable=False, log=print):
    """The settings for `purpose` on this machine: from the cache, else measured now.

    Args:
      purpose: "evaluate", "enhance" or "train".
      model: for evaluate/enhance, the model whose outputs are compared (its weights make the
        accuracy floor meaningful); a seeded random one of `camera` when None.
      retune: measure even if the cache has an entry.
      budget: seconds of measuring (at most MAX_BUDGET); candidates beyond it are skipped.
      shape: the packed input (inference) or the patch side (train) to measure on.
      switchable: the caller can restart with oneDNN switched (`switch_onednn`), so settings
        that need that may be chosen.
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
            line = summary_line(purpose, entry, switchable=switchable)
            return dataclasses.replace(select(purpose, entry, switchable=switchable),
                                       reason=f"tuned for this machine ({path}): {line}")
        except (KeyError, TypeError, ValueError, StopIteration):
            pass  # an entry of another format: measure again
    budget = min(float(budget), MAX_BUDGET)
    machine = hardware.detect_hardware()
    options = candidates(purpose, machine)
    other = onednn_switchable(machine)
    log(f"tuning {purpose} settings for this machine (once; at most {budget:.0f} s"
        f"{', oneDNN on and off' if other else ''}) ...")
    own_budget = budget * (1 - CHILD_SHARE) if other else budget
    with _quiet_retracing():
        measurements, reference, shape = measure(purpose, options, model=model, camera=camera,
                                                 shape=shape, budget=own_budget)
    if other:
        measurements += _measure_other_onednn(purpose, options, model, camera, shape,
                                              budget * CHILD_SHARE, reference, machine.onednn)
    entry = _entry(measurements, purpose, shape)
    cache.setdefault(key, {"fingerprint": fingerprint, "purposes": {}})["purposes"][purpose] = entry
    problem = save_cache(cache, path)
    where = f"not cached: {problem}" if problem else f"cached in {path}"
    line = summary_line(purpose, entry, switchable=switchable)
    log(f"tuned {purpose}: {line}; {where}")
    short = summary_line(purpose, entry, switchable=switchable, table=False)  # the table once
    return dataclasses.replace(select(purpose, entry, switchable=switchable),
                               reason=f"tuned for this machine: {short}")


def switch_onednn(settings, log=print):
    """Restart this command with TF_ENABLE_ONEDNN_OPTS as `settings` need, once.

    oneDNN is chosen when TensorFlow starts, so a setting measured faster with it the other way
    can only be had in a new process: the same command line, with the user's own setting kept
    aside so that the cache entry stays the same. Returns only when no restart is needed (or
    it already happened and oneDNN still is not as asked, which is then logged)."""
    import sys  # pylint: disable=import-outside-toplevel

    if settings.onednn is None or settings.onednn == hardware.onednn_enabled():
        return
    value = "1" if settings.onednn else "0"
    if USER_ONEDNN_ENV in os.environ:
        log(f"warning: oneDNN is still {'off' if settings.onednn else 'on'} after a restart with "
            f"{ONEDNN_ENV}={value}; continuing as it is")
        return
    log(f"restarting with {ONEDNN_ENV}={value}: the tuned settings ({settings.name}) need it")
    env = dict(os.environ, **{ONEDNN_ENV: value, USER_ONEDNN_ENV: user_onednn_setting()})
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


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
