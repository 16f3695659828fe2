"""Training: the compiled step, checkpoints that lose nothing, exact resume, the command line."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import keras
import numpy as np
import pytest
from helpers import command_flags, run_command

import sid_tf2
from sid_tf2 import tuning
from sid_tf2.tf1_checkpoint import save_tf1_checkpoint
from sid_tf2.training import (
    TrainConfig,
    TrainingError,
    checkpoints,
    latest_checkpoint,
    make_optimizer,
    make_train_step,
    train,
)
from sid_tf2.training.config import RESUME_KEYS
from sid_tf2.training.initialize import initialize_from

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_SONY = os.path.join(REPO, "train_sony.py")
TINY = ["--epochs=6", "--patch_size=32", "--val_freq=0", "--save_freq=1000", "--seed=7",
        "--checkpoint_every_seconds=0"]  # a checkpoint every epoch


@pytest.fixture
def dataset(synthetic_dataset):
    """4 synthetic scenes of 128x128 (2 train, 1 val, 1 test): packed inputs of 64x64."""
    return synthetic_dataset


def _batch(seed, size=16):
    rng = np.random.default_rng(seed)
    return (rng.random((1, size, size, 4), dtype=np.float32),
            rng.random((1, 2 * size, 2 * size, 3), dtype=np.float32))


def _weights(path):
    """Every array of a .weights.h5 file, by its position in the file."""
    arrays = {}

    def collect(name, item):  # returning anything but None would stop the visit
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(path, "r") as handle:
        handle.visititems(collect)
    return arrays


def test_the_optimizer_has_the_tf1_defaults():
    adam = make_optimizer()
    assert adam.epsilon == 1e-8
    # Exactly TF1's float32 betas (0.899999976..., 0.999000012...), not the decimal 0.9 / 0.999.
    assert adam.beta_1 == float(np.float32(0.9)) and adam.beta_1 != 0.9
    assert adam.beta_2 == float(np.float32(0.999)) and adam.beta_2 != 0.999
    assert isinstance(make_optimizer(precision="mixed_float16"), keras.optimizers.LossScaleOptimizer)


def test_the_defaults_are_the_original_recipe():
    config = TrainConfig()
    schedule = config.schedule
    assert (schedule.epochs, config.output.save_freq, schedule.patch_size, schedule.batch_size) == (4000, 500, 512, 1)
    assert (config.finetune.train_deconv, config.data.column_flips) == (None, True)
    rates = {epoch: schedule.learning_rate_at(epoch) for epoch in (0, 1, 2000, 2001, 4000)}
    assert rates == {0: 1e-4, 1: 1e-4, 2000: 1e-4, 2001: 1e-5, 4000: 1e-5}  # `if epoch > 2000`
    dumps = [epoch for epoch in range(schedule.epochs + 1) if epoch % config.output.save_freq == 0]
    assert dumps == [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000]
    # The command line has the same defaults.
    with command_flags("train_sony") as values:
        values(["train_sony.py"])
        defaults = {k: values[k].value for k in ('epochs', 'save_freq', 'patch_size', 'batch_size', 'learning_rate',
                                                 'lr_drop_epoch', 'train_deconv', 'release_recipe')}
    assert defaults == {
        "epochs": 4000, "save_freq": 500, "patch_size": 512, "batch_size": 1,
        "learning_rate": 1e-4, "lr_drop_epoch": 2000, "train_deconv": None,
        "release_recipe": False}


def test_changing_the_learning_rate_does_not_retrace():
    model = sid_tf2.build_unet("sony")
    optimizer = make_optimizer()
    step = make_train_step(model, optimizer)
    for index, learning_rate in enumerate([1e-4, 1e-5, 3e-5]):
        step(*_batch(index), learning_rate)
    step(*_batch(9, size=24), 1e-4)
    assert step.experimental_get_tracing_count() == 1
    assert np.isclose(float(optimizer.learning_rate.numpy()), 1e-4)


def test_frozen_upsampling_filters_do_not_move():
    model = sid_tf2.build_unet("sony")
    before = {v.path: v.numpy() for v in model.trainable_variables}
    step = make_train_step(model, make_optimizer(), train_deconv=False)
    for index in range(2):
        step(*_batch(index), 1e-3)
    for variable in model.trainable_variables:
        moved = not np.array_equal(before[variable.path], variable.numpy())
        assert moved == (not variable.path.startswith("up")), variable.path


def test_mixed_float16_skips_a_step_whose_gradients_overflow():
    model = sid_tf2.build_unet("sony", precision="mixed_float16")
    optimizer = make_optimizer(precision="mixed_float16")
    step = make_train_step(model, optimizer, precision="mixed_float16")
    step(*_batch(0), 1e-4)
    before = [v.numpy() for v in model.weights]
    scale = float(optimizer.dynamic_scale.numpy())
    inputs, gt = _batch(1)
    step(inputs * 1e6, gt, 1e-4)  # overflows float16 activations
    for a, b in zip(before, model.weights):
        np.testing.assert_array_equal(a, b.numpy())
    assert float(optimizer.dynamic_scale.numpy()) == scale / 2


def test_precision_mismatch_is_refused():
    with pytest.raises(ValueError, match="computes in float32"):
        make_train_step(sid_tf2.build_unet("sony"), make_optimizer(), precision="mixed_bfloat16")
    with pytest.raises(ValueError, match="needs a LossScaleOptimizer"):
        make_train_step(sid_tf2.build_unet("sony", precision="mixed_float16"), make_optimizer(),
                        precision="mixed_float16")


def test_a_crash_while_checkpointing_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    model = sid_tf2.build_unet("sony")
    optimizer = make_optimizer()
    optimizer.build(model.trainable_variables)
    state = checkpoints.TrainingState(next_epoch=1, seed=0)
    good = checkpoints.save_checkpoint(str(tmp_path), model, optimizer, state)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.np, "savez", fail)
    state.next_epoch = 2
    with pytest.raises(OSError, match="disk full"):
        checkpoints.save_checkpoint(str(tmp_path), model, optimizer, state)
    assert latest_checkpoint(str(tmp_path)) == good
    assert checkpoints.restore_checkpoint(good, model, optimizer).next_epoch == 1
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["epoch-000000"]


def test_init_from_a_tf1_checkpoint_brings_the_adam_state(tmp_path):
    source = sid_tf2.build_unet("sony")
    adam = make_optimizer()
    adam.build(source.trainable_variables)
    adam.iterations.assign(42)
    save_tf1_checkpoint(source, tmp_path / "model.ckpt", adam)
    model = sid_tf2.build_unet("sony")
    optimizer = make_optimizer()
    optimizer.build(model.trainable_variables)
    message = initialize_from(str(tmp_path), model, optimizer)
    assert "after 42 steps" in message and int(optimizer.iterations.numpy()) == 42
    for a, b in zip(source.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="not a TF1 checkpoint"):
        initialize_from(str(tmp_path / "checkpoint"), model, optimizer)  # the state file
    with pytest.raises(FileNotFoundError, match="no such file"):
        initialize_from(str(tmp_path / "missing.weights.h5"), model, optimizer)


@pytest.mark.parametrize("train_deconv, frozen", [(None, True), (True, False)])
def test_from_the_release_checkpoint_the_filters_stay_frozen_unless_asked(tmp_path, dataset,
                                                                           train_deconv, frozen):
    """The release has no Adam slots for the upsampling filters: with its late Adam step they
    would start from zero moments and take updates of several times the learning rate."""
    source = sid_tf2.build_unet("sony")
    adam = make_optimizer()
    adam.build([v for v in source.trainable_variables if not v.path.startswith("up")])
    adam.iterations.assign(5000)
    prefix = save_tf1_checkpoint(source, tmp_path / "release" / "model.ckpt", adam)
    messages = []
    result_dir = tmp_path / "run"
    train(TrainConfig.from_flat(data_dir=dataset, result_dir=str(result_dir), epochs=0, patch_size=32,
                                val_freq=0, progress=False, precision="float32", jit_compile=False,
                                init_checkpoint=str(prefix), train_deconv=train_deconv),
          log=messages.append)
    trained = sid_tf2.build_unet("sony")
    trained.load_weights(result_dir / "model.weights.h5")
    moved = not np.array_equal(trained.get_layer("up6").kernel.numpy(), source.get_layer("up6").kernel.numpy())
    assert moved is not frozen
    settings = json.loads((result_dir / "run_settings.json").read_text())
    assert settings["train_deconv"] is not frozen
    text = "\n".join(messages)
    assert ("keeping them frozen" in text) is frozen
    assert ("several times the learning rate" in text) is not frozen


def test_resuming_with_other_settings_is_refused(tmp_path, dataset):
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(tmp_path), epochs=0, patch_size=32,
                                   val_freq=0, progress=False)
    train(config, log=lambda message: None)
    config = config.replace(seed=1, epochs=1)
    with pytest.raises(TrainingError, match="seed: checkpoint 0, now 1"):
        train(config, log=lambda message: None)


@pytest.mark.slow
@pytest.mark.parametrize("settings_file", ["grouped", "flat"])
def test_auto_speed_settings_follow_the_run_being_resumed(tmp_path, dataset, settings_file):
    """Also from a run whose settings file has the flat config that runs wrote before the
    config was grouped."""
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(tmp_path), epochs=0, patch_size=32,
                                   val_freq=0, progress=False, precision="float32", jit_compile=False)
    train(config, log=lambda message: None)
    if settings_file == "flat":
        path = tmp_path / "run_settings.json"
        saved = json.loads(path.read_text())
        flat = {name: value for group in saved["config"].values() for name, value in group.items()}
        path.write_text(json.dumps({**{key: saved[key] for key in RESUME_KEYS}, "config": flat}))
    messages = []
    resumed = train(config.replace(precision="auto", jit_compile=None, epochs=1),
                    log=messages.append)
    assert "speed settings of the run being resumed: float32, XLA off" in messages
    assert resumed.epochs_run == 1


def _train_command(dataset, result_dir, *extra):
    return [TRAIN_SONY, f"--data_dir={dataset}", f"--result_dir={result_dir}", *TINY, *extra]


def test_a_run_killed_and_resumed_ends_bit_identical(tmp_path, dataset):
    uninterrupted = tmp_path / "uninterrupted"
    assert run_command(*_train_command(dataset, uninterrupted)).returncode == 0

    # A real process, killed with SIGKILL mid-run.

    resumed = tmp_path / "resumed"
    process = subprocess.Popen([sys.executable, *_train_command(dataset, resumed)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while latest_checkpoint(str(resumed)) is None or not latest_checkpoint(str(resumed)).endswith("epoch-000002"):
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not latest_checkpoint(str(resumed)).endswith("epoch-000006")
    result = run_command(*_train_command(dataset, resumed))
    assert result.returncode == 0, result.stderr
    assert "resuming from" in result.stdout

    expected = _weights(uninterrupted / "model.weights.h5")
    actual = _weights(resumed / "model.weights.h5")
    assert expected.keys() == actual.keys() and len(expected) == 42
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_the_command_line_leaves_checkpoints_images_and_logs(tmp_path, dataset):
    result_dir = tmp_path / "run"
    result = run_command(*_train_command(dataset, result_dir, "--save_freq=2", "--val_freq=3", "--epochs=3"))
    assert result.returncode == 0, result.stderr
    assert f"speed settings: {tuning.tuned_settings('train').reason}" in result.stdout  # SID_TF2_TUNING=off
    assert "loss" in result.stderr and "val_psnr" in result.stderr
    assert sorted(os.listdir(result_dir / "0000")) and sorted(os.listdir(result_dir / "0002"))
    assert all(name.endswith(".jpg") and "_00_train_" in name for name in os.listdir(result_dir / "0002"))
    assert set(os.listdir(result_dir / "checkpoints")) == {"best", "epoch-000001", "epoch-000002", "epoch-000003"}
    assert (result_dir / "model.weights.h5").exists()
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(result_dir / "logs"))


def test_the_command_line_explains_a_missing_dataset(tmp_path):
    result = run_command(TRAIN_SONY, f"--data_dir={tmp_path / 'none'}", f"--result_dir={tmp_path / 'run'}")
    assert result.returncode == 1
    assert "No training scenes" in result.stderr and "--synthetic" in result.stderr


def test_a_corrupt_raw_file_stops_training_with_its_name(tmp_path, dataset):
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken, ignore=shutil.ignore_patterns(".cache"))
    victim = sorted((broken / "short").glob("0*.dng"))[0]
    victim.write_bytes(victim.read_bytes()[:500])  # truncated
    result = run_command(*_train_command(str(broken), tmp_path / "run"))
    assert result.returncode == 1
    assert victim.name in result.stderr and "Traceback" not in result.stderr
