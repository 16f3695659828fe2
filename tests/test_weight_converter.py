"""The TF1 checkpoint converter: round trips, Adam state, layouts, errors and the CLI."""

import math
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_command

import sid_tf2
from sid_tf2.tf1_checkpoint import (
    CheckpointError,
    adam_step_from_beta_powers,
    load_tf1_checkpoint,
    resolve_prefix,
    save_tf1_checkpoint,
    tf1_beta_power,
    write_tf1_checkpoint,
)
from sid_tf2.tf1_names import checkpoint_shapes, weight_table
from weight_converter.convert import ConversionError, convert


def _randomised_adam(model, step, train_deconv=True):
    """An Adam with random moments over the model's variables (optionally not the filters)."""
    optimizer = keras.optimizers.Adam(epsilon=1e-8)
    variables = [
        v for v in model.trainable_variables if train_deconv or not v.path.startswith("up")
    ]
    optimizer.build(variables)
    rng = np.random.default_rng(step)
    for variable in optimizer.variables:
        if len(variable.shape):
            variable.assign(rng.random(variable.shape, dtype=np.float32))
    optimizer.iterations.assign(step)
    return optimizer


def _values(variables):
    return [v.numpy() for v in variables]


@pytest.fixture(scope="module")
def sony_checkpoint(tmp_path_factory):
    """A full-layout (128-tensor) Sony checkpoint with Adam state after 321 steps."""
    model = sid_tf2.build_unet("sony")
    optimizer = _randomised_adam(model, step=321)
    prefix = save_tf1_checkpoint(model, tmp_path_factory.mktemp("sony") / "model.ckpt", optimizer)
    return prefix, model, optimizer


@pytest.mark.parametrize("train_deconv, layout, count", [(True, "full", 128), (False, "release", 120)])
def test_keras_tf1_keras_round_trip_is_exact(tmp_path, train_deconv, layout, count):
    model = sid_tf2.build_unet("fuji")
    optimizer = _randomised_adam(model, step=57, train_deconv=train_deconv)
    prefix = save_tf1_checkpoint(model, tmp_path / "model.ckpt", optimizer)
    assert dict(tf.train.list_variables(prefix)).keys() == checkpoint_shapes("fuji", layout).keys()
    assert len(tf.train.list_variables(prefix)) == count

    restored = sid_tf2.build_unet("fuji")
    restored_optimizer = keras.optimizers.Adam(epsilon=1e-8)
    restored_optimizer.build(
        [v for v in restored.trainable_variables if train_deconv or not v.path.startswith("up")]
    )
    summary = load_tf1_checkpoint(restored, tmp_path, restored_optimizer)
    assert (summary.camera, summary.layout, summary.tensors) == ("fuji", layout, count)
    assert (summary.adam_step, summary.adam_step_accuracy) == (57, "exact")
    trained = [e.tf1_name for e in weight_table("fuji") if train_deconv or not e.is_upsample]
    assert (list(summary.slots_filled), summary.slots_zeroed) == (trained, ())
    for a, b in zip(_values(model.weights), _values(restored.weights)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_values(optimizer.variables), _values(restored_optimizer.variables)):
        np.testing.assert_array_equal(a, b)


def test_release_layout_gives_the_filters_zero_moments(tmp_path, sony_checkpoint):
    _, model, _ = sony_checkpoint
    release = _randomised_adam(model, step=3, train_deconv=False)
    prefix = save_tf1_checkpoint(model, tmp_path / "model.ckpt", release)
    optimizer = keras.optimizers.Adam()
    fresh = sid_tf2.build_unet("sony")
    load_tf1_checkpoint(fresh, prefix, optimizer)  # builds on every trainable variable
    index = optimizer._get_variable_index(fresh.get_layer("up6").kernel)
    assert not optimizer._momentums[index].numpy().any()
    assert not optimizer._velocities[index].numpy().any()
    assert optimizer.iterations.numpy() == 3


def test_release_layout_reports_the_slots_it_filled_and_zeroed(tmp_path, sony_checkpoint):
    _, model, _ = sony_checkpoint
    prefix = save_tf1_checkpoint(model, tmp_path / "model.ckpt", _randomised_adam(model, 3, False))
    summary = load_tf1_checkpoint(sid_tf2.build_unet("sony"), prefix, keras.optimizers.Adam())
    assert len(summary.slots_filled) == 38
    assert summary.slots_zeroed == ("Variable", "Variable_1", "Variable_2", "Variable_3")
    assert "4 started at zero" in summary.describe()
    frozen = sid_tf2.build_unet("sony")
    optimizer = keras.optimizers.Adam()
    optimizer.build([v for v in frozen.trainable_variables
                     if v.path.split("/")[0] not in ("g_conv1_1", "g_conv1_2")])
    summary = load_tf1_checkpoint(frozen, prefix, optimizer)
    assert summary.slots_unused == ("g_conv1_1/weights", "g_conv1_1/biases",
                                    "g_conv1_2/weights", "g_conv1_2/biases")


@pytest.mark.parametrize("problem", ["optimizer", "beta_power"])
def test_a_failing_load_assigns_nothing(tmp_path, sony_checkpoint, problem):
    _, model, _ = sony_checkpoint
    prefix = save_tf1_checkpoint(model, tmp_path / "good" / "model.ckpt", _randomised_adam(model, 3))
    optimizer = keras.optimizers.Adam()
    if problem == "optimizer":
        optimizer = keras.optimizers.SGD()
    else:  # a beta power that no Adam run can hold, in an otherwise good checkpoint
        reader = tf.train.load_checkpoint(prefix)
        values = {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)}
        values["beta2_power"] = np.float32(1.5)
        prefix = write_tf1_checkpoint(tmp_path / "bad" / "model.ckpt", values)
    target = sid_tf2.build_unet("sony")
    before = _values(target.weights)
    with pytest.raises((TypeError, CheckpointError)):
        load_tf1_checkpoint(target, prefix, optimizer)
    for a, b in zip(before, _values(target.weights)):
        np.testing.assert_array_equal(a, b)


def test_without_optimizer_the_checkpoint_holds_a_fresh_adam_state(tmp_path):
    model = sid_tf2.build_unet("sony")
    prefix = save_tf1_checkpoint(model, tmp_path / "model.ckpt")
    reader = tf.train.load_checkpoint(prefix)
    assert reader.get_tensor("beta1_power") == np.float32(0.9)
    assert not reader.get_tensor("g_conv5_1/weights/Adam_1").any()
    assert len(tf.train.list_variables(prefix)) == 120
    assert open(tmp_path / "checkpoint").read().startswith('model_checkpoint_path: "model.ckpt"')


def test_adam_step_is_read_from_tf1s_float32_running_products():
    for step in (0, 10, 827, 828, 5000, 50_000, 87_292):
        powers = (float(tf1_beta_power(0.9, step)), float(tf1_beta_power(0.999, step)))
        assert adam_step_from_beta_powers(*powers) == (step, "exact")
    # TF1 multiplies a float32 power by float32(beta) after every step: at 50,000 steps the
    # product has drifted from 0.999 ** 50,001 enough that log(power) / log(beta) is off by one.
    drifted = float(tf1_beta_power(0.999, 50_000))
    assert round(math.log(drifted) / math.log(0.999)) - 1 != 50_000
    # Powers that are no such product (computed in float64) are placed at the nearest step.
    assert adam_step_from_beta_powers(0.9**11, 0.999**11) == (10, "approximate")


def test_adam_step_survives_underflowed_beta_powers():
    assert tf1_beta_power(0.9, 900) == 0.0  # flushed to zero, as TensorFlow does
    assert adam_step_from_beta_powers(0.0, float(tf1_beta_power(0.999, 5001))) == (5001, "exact")
    step, accuracy = adam_step_from_beta_powers(0.0, 0.0)  # the published, 644k-step run
    assert accuracy == "lower bound"
    # From that step on, float32 bias corrections are exactly 1, as in the TF1 run.
    assert tf.pow(tf.constant(0.999), float(step + 1)).numpy() == 0.0
    with pytest.raises(CheckpointError, match="not a power"):
        adam_step_from_beta_powers(1.5, 0.5)


def test_a_fuji_checkpoint_read_as_sony_lists_the_tensors(tmp_path):
    prefix = save_tf1_checkpoint(sid_tf2.build_unet("fuji"), tmp_path / "model.ckpt")
    with pytest.raises(CheckpointError) as error:
        load_tf1_checkpoint(sid_tf2.build_unet("sony"), prefix)
    message = str(error.value)
    assert "holds a fuji network but the model is sony's" in message
    assert "g_conv1_1/weights: [3, 3, 9, 32], expected [3, 3, 4, 32]" in message
    assert "g_conv10/biases: [27], expected [12]" in message


def test_missing_and_unexpected_tensors_are_listed_by_name(tmp_path):
    values = {
        name: np.zeros(shape, np.float32) for name, shape in checkpoint_shapes("sony").items()
    }
    del values["g_conv3_2/biases"], values["g_conv7_1/weights/Adam_1"]
    values["g_conv11/weights"] = np.zeros((1,), np.float32)
    values["Variable/Adam"] = np.zeros((2, 2, 256, 512), np.float32)  # one slot of the 8
    prefix = write_tf1_checkpoint(tmp_path / "model.ckpt", values)
    model = sid_tf2.build_unet("sony")
    before = _values(model.weights)
    with pytest.raises(CheckpointError) as error:
        load_tf1_checkpoint(model, prefix)
    message = str(error.value)
    assert "missing tensors (2):\n    g_conv3_2/biases\n    g_conv7_1/weights/Adam_1" in message
    assert "unexpected tensors (2):\n    Variable/Adam\n    g_conv11/weights" in message
    # Nothing was assigned before the check failed.
    for a, b in zip(before, _values(model.weights)):
        np.testing.assert_array_equal(a, b)


def test_a_missing_data_shard_says_how_to_download(tmp_path, sony_checkpoint):
    prefix, _, _ = sony_checkpoint
    directory = tmp_path / "Sony"
    directory.mkdir()
    shutil.copy(prefix + ".index", directory / "model.ckpt.index")
    with pytest.raises(CheckpointError) as error:
        load_tf1_checkpoint(sid_tf2.build_unet("sony"), directory)
    assert "model.ckpt.data-00000-of-00001 is missing" in str(error.value)
    assert "python -m weight_converter.download --camera=sony" in str(error.value)


def test_a_truncated_data_shard_is_reported(tmp_path, sony_checkpoint):
    prefix, _, _ = sony_checkpoint
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(prefix + suffix, tmp_path / f"model.ckpt{suffix}")
    with open(tmp_path / "model.ckpt.data-00000-of-00001", "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_tf1_checkpoint(sid_tf2.build_unet("sony"), tmp_path / "model.ckpt")


def test_prefix_resolution(tmp_path, sony_checkpoint):
    prefix, _, _ = sony_checkpoint
    assert resolve_prefix(os.path.dirname(prefix)) == prefix
    assert resolve_prefix(prefix + ".index") == prefix
    assert resolve_prefix(prefix + ".data-00000-of-00001") == prefix
    with pytest.raises(CheckpointError, match="no TF1 checkpoint here"):
        resolve_prefix(tmp_path)
    with pytest.raises(CheckpointError, match="nothing.ckpt.index: missing"):
        resolve_prefix(tmp_path / "nothing.ckpt")


@pytest.mark.parametrize("name", ["sony.weights.h5", "sony.keras", "savedmodel"])
def test_every_output_kind_reproduces_the_model(tmp_path, sony_checkpoint, name):
    prefix, model, _ = sony_checkpoint
    output = str(tmp_path / name)
    summary, kind = convert(prefix, output)
    assert summary.camera == "sony"
    x = np.random.rand(1, 27, 31, 4).astype("float32")
    expected = model(x).numpy()
    if kind == "weights":
        converted = sid_tf2.build_unet("sony")
        converted.load_weights(output)
        actual = converted(x).numpy()
    elif kind == "model":
        actual = keras.saving.load_model(output)(x).numpy()
    else:
        serving = tf.saved_model.load(output).signatures["serving_default"]
        (actual,) = serving(tf.constant(x)).values()
    np.testing.assert_array_equal(actual, expected)
    assert sorted(os.listdir(tmp_path)) == [name]  # no staging leftovers


def test_conversion_refuses_bad_outputs(tmp_path, sony_checkpoint):
    prefix, _, _ = sony_checkpoint
    with pytest.raises(ConversionError, match="ending in .weights.h5"):
        convert(prefix, str(tmp_path / "model.h5"))
    existing = tmp_path / "old.keras"
    existing.write_text("keep me")
    with pytest.raises(ConversionError, match="already exists"):
        convert(prefix, str(existing))
    assert existing.read_text() == "keep me"


def test_cli_converts_and_prints_what_it_converted(tmp_path, sony_checkpoint):
    prefix, _, _ = sony_checkpoint
    output = tmp_path / "sony.weights.h5"
    result = run_command("weight_converter", f"--checkpoint={os.path.dirname(prefix)}", f"--output={output}")
    assert result.returncode == 0, result.stderr
    assert "sony network, full layout, 128 tensors, 7,760,268 parameters" in result.stdout
    assert "after 321 steps" in result.stdout
    assert output.exists()


def test_cli_fails_cleanly_on_the_wrong_camera(tmp_path, sony_checkpoint):
    prefix, _, _ = sony_checkpoint
    output = tmp_path / "fuji.keras"
    result = run_command("weight_converter", f"--checkpoint={prefix}", f"--output={output}", "--camera=fuji")
    assert result.returncode != 0
    assert "holds a sony network but the model is fuji's" in result.stderr
    assert "g_conv1_1/weights: [3, 3, 4, 32], expected [3, 3, 9, 32]" in result.stderr
    assert os.listdir(tmp_path) == []


def test_the_public_api_imports_from_the_packages():
    import weight_converter
    from sid_tf2 import tf1_checkpoint, tuning

    assert weight_converter.load_tf1_checkpoint is tf1_checkpoint.load_tf1_checkpoint
    assert weight_converter.save_tf1_checkpoint is tf1_checkpoint.save_tf1_checkpoint
    assert sid_tf2.make_predictor is tuning.predictor_for_purpose
    with pytest.raises(AttributeError):
        weight_converter.no_such_name  # pylint: disable=pointless-statement
