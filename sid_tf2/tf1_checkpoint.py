"""Reading and writing TF1 Saver checkpoints of the SID network by the explicit name table.

The published checkpoints are TF1 `tf.train.Saver` bundles: `model.ckpt.index` (names, shapes,
offsets) and `model.ckpt.data-00000-of-00001` (the bytes, ~84 MB, downloaded separately). This
module checks a bundle against `tf1_names.checkpoint_shapes` before assigning anything, so that a
wrong camera or a truncated download is reported by name instead of half-loading.
"""

import dataclasses
import functools
import glob
import math
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from sid_tf2.constants import CAMERAS, camera_for_channels, first_kernels_text, get_camera
from sid_tf2.tf1_names import (
    BETA_POWERS,
    adam_slot_names,
    checkpoint_shapes,
    weight_table,
)

FIRST_WEIGHTS = "g_conv1_1/weights"  # its input channels tell the camera apart
STATE_FILE = "checkpoint"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used as asked; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class LoadSummary:
    """What `load_tf1_checkpoint` did, for printing and for tests."""

    prefix: str
    camera: str
    layout: str  # "release" (120 tensors) or "full" (128)
    tensors: int
    parameters: int
    adam_step: int  # optimizer steps taken by the TF1 run, from the beta powers
    adam_step_accuracy: str  # "exact", "approximate" or "lower bound" (see adam_step_from_beta_powers)
    slots_filled: tuple = ()  # variables whose Adam moments came from the checkpoint
    slots_zeroed: tuple = ()  # variables the optimizer trains that the checkpoint has no slots for
    slots_unused: tuple = ()  # variables with slots in the checkpoint that the optimizer does not train

    def describe(self):
        steps = {"exact": f"{self.adam_step}", "approximate": f"about {self.adam_step:,}",
                 "lower bound": f"at least {self.adam_step:,}"}[self.adam_step_accuracy]
        text = (
            f"{self.prefix}: {self.camera} network, {self.layout} layout, {self.tensors} tensors, "
            f"{self.parameters:,} parameters, Adam state after {steps} steps"
        )
        if self.slots_filled or self.slots_zeroed:
            text += f"; Adam moments of {len(self.slots_filled)} variables from the checkpoint"
        if self.slots_zeroed:
            text += (f", {len(self.slots_zeroed)} started at zero (no slots in the checkpoint: "
                     f"{', '.join(self.slots_zeroed)})")
        if self.slots_unused:
            text += (f"; slots of {len(self.slots_unused)} variables not loaded (not trained: "
                     f"{', '.join(self.slots_unused)})")
        return text


def resolve_prefix(checkpoint):
    """Turn a checkpoint argument into a bundle prefix such as `.../model.ckpt`.

    Accepts the prefix itself, any of its files (`.index`, `.meta`, `.data-...`), or a directory
    holding either a `checkpoint` state file or a single `*.index` file.
    """
    path = os.fspath(checkpoint)
    if os.path.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest and os.path.exists(latest + ".index"):
            return latest
        indexes = sorted(glob.glob(os.path.join(path, "*.index")))
        if len(indexes) == 1:
            return indexes[0][: -len(".index")]
        if not indexes:
            raise CheckpointError(f"{path}: no TF1 checkpoint here (no *.index file).")
        raise CheckpointError(
            f"{path}: several checkpoints and no usable '{STATE_FILE}' state file; "
            f"name one of {[os.path.basename(i) for i in indexes]} as the prefix."
        )
    for suffix in (".index", ".meta"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    if ".data-" in os.path.basename(path):
        path = path[: path.rindex(".data-")]
    if not os.path.exists(path + ".index"):
        raise CheckpointError(f"{path}.index: missing; {checkpoint} is not a TF1 checkpoint.")
    return path


def _data_shard_hint(prefix):
    camera = os.path.basename(os.path.dirname(os.path.abspath(prefix))).lower()
    camera = camera if camera in CAMERAS else "sony"
    return (
        f"The data shard {prefix}.data-00000-of-00001 is missing: the index alone holds no "
        f"weights. Download the published weights with\n"
        f"  python -m weight_converter.download --camera={camera} "
        f"--output_dir={os.path.dirname(prefix) or '.'}"
    )


def read_shapes(prefix):
    """{name: shape} of every tensor in the bundle (reads only the index)."""
    try:
        return {name: tuple(shape) for name, shape in tf.train.list_variables(prefix)}
    except (tf.errors.OpError, ValueError) as error:
        raise CheckpointError(f"{prefix}.index: unreadable TF1 checkpoint index ({error}).") from None


def read_tensors(prefix, names):
    """{name: np.ndarray} for the given names; fails clearly when the data shard is absent."""
    if not glob.glob(glob.escape(prefix) + ".data-*"):
        raise CheckpointError(_data_shard_hint(prefix))
    reader = tf.train.load_checkpoint(prefix)
    values = {}
    for name in names:
        try:
            values[name] = reader.get_tensor(name)
        except (tf.errors.OpError, ValueError, IndexError) as error:  # IndexError: short read
            raise CheckpointError(
                f"{prefix}: cannot read tensor {name!r} from the data shard; the download may "
                f"be truncated or corrupt ({error})."
            ) from None
    return values


def detect_camera(shapes, prefix="checkpoint"):
    """The camera whose network the checkpoint holds, from the input channels of g_conv1_1."""
    shape = shapes.get(FIRST_WEIGHTS)
    for camera in CAMERAS.values():
        if shape is not None and len(shape) == 4 and shape[2] == camera.in_channels:
            return camera.name
    raise CheckpointError(
        f"{prefix}: not a SID checkpoint: {FIRST_WEIGHTS} has shape {shape}, expected {first_kernels_text()}"
    )


def check_layout(shapes, camera, prefix="checkpoint"):
    """Return the layout ("release" or "full") of a bundle, or raise listing every mismatch.

    Every tensor of the release layout must be present with its shape; the only tensors
    allowed beyond it are the upsampling filters' Adam slots, all eight or none.
    """
    release = checkpoint_shapes(camera, "release")
    full = checkpoint_shapes(camera, "full")
    expected = full if set(full) - set(release) <= set(shapes) else release
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = [
        f"{name}: {list(shapes[name])}, expected {list(shape)}"
        for name, shape in expected.items()
        if name in shapes and tuple(shapes[name]) != tuple(shape)
    ]
    problems = [
        f"{title} ({len(items)}):\n    " + "\n    ".join(items)
        for title, items in (
            ("missing tensors", missing),
            ("unexpected tensors", unexpected),
            ("wrongly shaped tensors", wrong),
        )
        if items
    ]
    if problems:
        raise CheckpointError(
            f"{prefix}: does not match the {get_camera(camera).name} network:\n  "
            + "\n  ".join(problems)
        )
    return "full" if expected is full else "release"


def _adam(optimizer):
    """The Keras Adam that holds the moments (unwrapping a LossScaleOptimizer), built."""
    adam = getattr(optimizer, "inner_optimizer", optimizer)
    if not isinstance(adam, keras.optimizers.Adam):
        raise TypeError(
            f"Adam state moves only into keras.optimizers.Adam, not {type(adam).__name__}."
        )
    return adam


def _ensure_built(optimizer, model):
    """Build the optimizer on the model's trainable variables if nothing built it yet.

    Which variables it tracks decides whether the upsampling filters train (the release
    was trained without them): callers that freeze them build the optimizer themselves.
    """
    if not optimizer.built:
        optimizer.build(model.trainable_variables)


def _slots(adam, variable):
    """(first moment, second moment) of a variable, or None when the optimizer skips it."""
    try:
        index = adam._get_variable_index(variable)
    except KeyError:
        return None
    return adam._momentums[index], adam._velocities[index]


def _model_variable(model, entry):
    return getattr(model.get_layer(entry.layer), entry.attribute)


def model_camera(model):
    """The camera of a `build_unet` model, from its input channels."""
    return camera_for_channels(model.input_shape[-1]).name


# TF1's AdamOptimizer keeps beta^(t+1) in float32 variables, multiplied by float32(beta) after
# every step. TensorFlow flushes subnormal results to zero on CPUs and GPUs, so a power reaches
# zero once it falls below float32's smallest normal number (beta1 after ~830 steps, beta2
# after ~87,000); until then the running product identifies t exactly.
_SMALLEST_NORMAL = float(np.finfo(np.float32).tiny)


@functools.lru_cache(maxsize=None)
def _tf1_powers(beta):
    """TF1's float32 `beta_power` after t = 0, 1, 2, ... steps, while it is a normal number."""
    beta = np.float32(beta)
    count = int(math.log(_SMALLEST_NORMAL) / math.log(float(beta))) + 2
    powers = np.multiply.accumulate(np.full(count, beta, np.float32))  # sequential, in float32
    return powers[powers >= _SMALLEST_NORMAL]


def tf1_beta_power(beta, step):
    """The float32 value TF1's AdamOptimizer holds in `beta_power` after `step` steps."""
    powers = _tf1_powers(float(beta))
    return powers[step] if step < len(powers) else np.float32(0.0)


def _steps_until_zero(beta):
    """Smallest t at which float32 beta^(t+1) is zero, so Adam's bias correction is exactly 1."""
    tiniest = float(np.finfo(np.float32).smallest_subnormal) / 2
    return int(math.ceil(math.log(tiniest) / math.log(beta)))


def adam_step_from_beta_powers(beta1_power, beta2_power, beta1=0.9, beta2=0.999):
    """Steps taken, t, from TF1's `beta1_power`/`beta2_power` (beta^(t+1) after t steps).

    Returns (t, accuracy):
    - "exact": a power equals TF1's float32 running product after t steps (`tf1_beta_power`).
      A plain `log(power) / log(beta)` is off by one for t of about 39,000-69,000, where the
      running product's rounding has drifted from beta^(t+1).
    - "approximate": the powers are not such a product (written by other code); t is the
      step whose product is nearest.
    - "lower bound": both powers have been flushed to zero, as in a run as long as the
      published one (about 644,000 steps); t is the smallest step at which float32 powers are
      zero, with which Adam's bias corrections, and so its updates, equal TF1's exactly.
    """
    for power, beta in ((beta1_power, beta1), (beta2_power, beta2)):
        if not 0.0 <= power <= np.float32(beta):
            raise CheckpointError(f"Adam power {power} is not a power of beta={beta}.")
    for power, beta in ((beta1_power, beta1), (beta2_power, beta2)):
        if np.float32(power) >= _SMALLEST_NORMAL:
            powers = _tf1_powers(float(beta))
            # The products decrease strictly: the nearest one in log space is the step.
            step = int(np.argmin(np.abs(np.log(powers) - math.log(np.float32(power)))))
            return step, "exact" if powers[step] == np.float32(power) else "approximate"
    return _steps_until_zero(beta2), "lower bound"


def load_tf1_checkpoint(model, checkpoint, optimizer=None):
    """Assign a TF1 checkpoint of the SID network to a `build_unet` model (and Adam state).

    Args:
      model: a model from `sid_tf2.build_unet` for the checkpoint's camera.
      checkpoint: a bundle prefix (`checkpoint/Sony/model.ckpt`), one of its files, or its
        directory.
      optimizer: optional `keras.optimizers.Adam` (or a LossScaleOptimizer around one). Its
        moments receive `<var>/Adam` and `<var>/Adam_1`, and its iteration count the steps
        encoded in `beta1_power`, so training continues where the TF1 run stopped. Variables
        without slots in the checkpoint (the upsampling filters of the release) start with
        zero moments, as TF1 would create them. Unbuilt, it is built on the model's
        trainable variables.

    Returns:
      A `LoadSummary`. Raises `CheckpointError` naming every missing, unexpected or wrongly
      shaped tensor before anything is assigned.
    """
    prefix = resolve_prefix(checkpoint)
    shapes = read_shapes(prefix)
    camera = detect_camera(shapes, prefix)
    expected_camera = model_camera(model)
    if camera != expected_camera:
        try:
            check_layout(shapes, expected_camera, prefix)
        except CheckpointError as error:
            raise CheckpointError(
                f"{prefix}: holds a {camera} network but the model is {expected_camera}'s.\n"
                f"{error}"
            ) from None
    layout = check_layout(shapes, camera, prefix)
    values = read_tensors(prefix, sorted(shapes))
    adam_step, accuracy = adam_step_from_beta_powers(
        float(values["beta1_power"]), float(values["beta2_power"])
    )
    entries = weight_table(camera)
    # Everything is checked and planned before the first assignment, so that a load that
    # fails leaves the model and the optimizer as they were.
    slot_plan, filled, zeroed, unused = [], [], [], []
    if optimizer is not None:
        adam = _adam(optimizer)
        _ensure_built(optimizer, model)
        for entry in entries:
            names = adam_slot_names(entry)
            in_checkpoint = all(name in values for name in names)
            slots = _slots(adam, _model_variable(model, entry))
            if slots is None:
                if in_checkpoint:
                    unused.append(entry.tf1_name)
                continue
            (filled if in_checkpoint else zeroed).append(entry.tf1_name)
            for slot_variable, name in zip(slots, names):
                slot_plan.append((slot_variable, values[name] if in_checkpoint
                                  else np.zeros(entry.shape, np.float32)))

    for entry in entries:
        _model_variable(model, entry).assign(values[entry.tf1_name])
    for slot_variable, value in slot_plan:
        slot_variable.assign(value)
    if optimizer is not None:
        _adam(optimizer).iterations.assign(adam_step)
    return LoadSummary(
        prefix=prefix,
        camera=camera,
        layout=layout,
        tensors=len(shapes),
        parameters=sum(int(np.prod(entry.shape)) for entry in entries),
        adam_step=adam_step,
        adam_step_accuracy=accuracy,
        slots_filled=tuple(filled),
        slots_zeroed=tuple(zeroed),
        slots_unused=tuple(unused),
    )


def write_tf1_checkpoint(prefix, values):
    """Write {name: array} as a TF1 V2 bundle at `prefix`, with its `checkpoint` state file.

    The bundle is written under a temporary directory beside it and moved into place only
    when complete, so an interrupted write never leaves a half-written checkpoint.
    """
    prefix = os.path.abspath(os.fspath(prefix))
    directory = os.path.dirname(prefix)
    os.makedirs(directory, exist_ok=True)
    names = sorted(values)
    staging = tempfile.mkdtemp(prefix=".tf1_checkpoint_", dir=directory)
    try:
        staged_prefix = os.path.join(staging, os.path.basename(prefix))
        tf.raw_ops.SaveV2(
            prefix=staged_prefix,
            tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=[tf.constant(np.asarray(values[name], np.float32)) for name in names],
        )
        for path in sorted(glob.glob(glob.escape(staged_prefix) + ".*")):
            os.replace(path, os.path.join(directory, os.path.basename(path)))
        base = os.path.basename(prefix)
        state = f'model_checkpoint_path: "{base}"\nall_model_checkpoint_paths: "{base}"\n'
        with open(os.path.join(staging, STATE_FILE), "w") as handle:
            handle.write(state)
        os.replace(os.path.join(staging, STATE_FILE), os.path.join(directory, STATE_FILE))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return prefix


def save_tf1_checkpoint(model, prefix, optimizer=None):
    """Write a `build_unet` model (and Adam state) as a TF1 checkpoint with the original names.

    The result restores into the published meta graph and the original scripts. Without an
    optimizer the Adam slots are written as a fresh optimizer's (zeros, t = 0), because the
    original's Saver expects them. With one, its moments and step are written; the layout is
    "full" (128 tensors) when it trains the upsampling filters, else "release" (120).
    """
    camera = model_camera(model)
    adam = None if optimizer is None else _adam(optimizer)
    beta1, beta2 = (0.9, 0.999) if adam is None else (float(adam.beta_1), float(adam.beta_2))
    step = 0 if adam is None else int(adam.iterations.numpy())
    values = {}
    for entry in weight_table(camera):
        variable = _model_variable(model, entry)
        values[entry.tf1_name] = variable.numpy()
        slots = None if adam is None else _slots(adam, variable)
        if slots is not None:
            for slot_variable, name in zip(slots, adam_slot_names(entry)):
                values[name] = slot_variable.numpy()
        elif not entry.is_upsample:
            for name in adam_slot_names(entry):
                values[name] = np.zeros(entry.shape, np.float32)
    values[BETA_POWERS[0]] = tf1_beta_power(beta1, step)
    values[BETA_POWERS[1]] = tf1_beta_power(beta2, step)
    return write_tf1_checkpoint(prefix, values)
