"""Timing candidates on the code path each purpose runs, and checking their accuracy.

- `evaluate` (test_sony.py) runs whole images, `enhance` (sid-enhance) one tile of its default
  tiling through the same predictor, `train` steps on the run's patch size. Every candidate is
  timed in the same interleaved rounds as the reference, in this process.
- Inputs are realistic: a simulated low-light frame (`realistic_input`), and without a trained
  model a seeded network whose output spans [0, 1] (`full_range_model`), since a random
  network's near-zero output makes a precision's error look 20 dB smaller.
"""

import functools
import math
import time

import keras
import numpy as np

from sid_tf2 import hardware
from sid_tf2.backends.common import agreement_psnr
from sid_tf2.constants import camera_for_channels
from sid_tf2.inference import make_predictor
from sid_tf2.model import build_unet, get_camera
from sid_tf2.simulation.stream import OnTheFlySampler
from sid_tf2.training.step import make_optimizer, make_train_step
from sid_tf2.tuning.ranking import FLOOR_DB, IDENTICAL_DB, TRAIN_LOSS_RTOL, Measurement

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


def measured_shape(purpose, patch=None):
    """The input a purpose is measured on: [height, width] packed (train: the patch)."""
    if purpose == "train":
        return [min(patch or TRAIN_PATCH, TRAIN_PATCH_LIMIT)] * 2
    return list(ENHANCE_INPUT if purpose == "enhance" else EVALUATE_INPUT)


@functools.lru_cache(maxsize=4)
def realistic_input(channels, side=CHECK_SIDE):
    """A simulated low-light frame as the network sees it, [1, side, side, channels]: a
    photograph unprocessed to a raw mosaic, darkened with a camera's noise, packed and amplified
    (`sid_tf2.simulation`). For a 9-channel (Fuji) network the Bayer channels stand in for the
    X-Trans ones."""
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
    return min(IDENTICAL_DB, agreement_psnr(output, reference))


def needs_accuracy_check(purpose, settings):
    """Whether `settings` are checked on the model that will run: 16-bit ones, for a purpose
    with an output floor (float32 settings were checked when measured)."""
    return settings.precision != "float32" and purpose in FLOOR_DB


def check_accuracy(purpose, settings, model):
    """PSNR of `settings` against float32 on `model`, on a realistic input (None where the
    settings need no per-model check)."""
    if not needs_accuracy_check(purpose, settings):
        return None
    packed = realistic_input(model.input_shape[-1])
    if settings.backend != "tensorflow":  # a converted model (int8: calibrated for this one)
        return psnr(make_predictor(model, settings)(packed), np.asarray(model(packed, training=False), np.float32))
    camera = camera_for_channels(model.input_shape[-1]).name
    variant = settings.variant  # the precision's rounding, run eagerly: no tracing, no compiling
    fast = build_unet(camera, variant.precision, low_precision_from=variant.low_precision_from)
    fast.set_weights(model.get_weights())
    return psnr(np.asarray(fast(packed, training=False), np.float32),
                np.asarray(model(packed, training=False), np.float32))


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
            predictor = make_predictor(model, candidate, tile_size=tile_size)

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

