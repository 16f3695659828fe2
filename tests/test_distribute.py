"""tf.distribute training equals one-device training: MirroredStrategy and MultiWorkerMirrored.

Both strategies run in child processes: logical CPU devices must be configured before
TensorFlow initialises, and a multi-worker cluster is several processes by nature. Everything
stays on 127.0.0.1 and every child runs under a time limit and is killed on failure.

- Mirrored, at the step level: two logical CPUs, `make_train_step(strategy=...)` on batches of
  2 (one example per replica) and a last batch of 1 (one replica gets none, as at the end of
  an epoch of 161 Sony scenes in batches of 2), against the one-device step on the same batches
  from the same weights. The Adam moments are compared too: Adam's update hardly depends on the
  scale of the gradients, but its moments do, so a mean-instead-of-sum aggregation across
  replicas would show there (a factor 2 in the first moment, 4 in the second).
- Multi-worker, end to end: `train_sony.py --distribute=multi_worker` in two worker processes
  on a tiny synthetic dataset with 3 training scenes (batches of 2, then 1), against the same
  run on one device.
- `train_sony.py --distribute=mirrored --cpu_devices=2` with the machine's default settings,
  and with the settings chosen on CPUs with AVX512-BF16 or AMX (mixed_bfloat16 without XLA,
  oneDNN on), whatever this machine's CPU: it trains.

Comparisons run in float32 (pinned), and the mirrored step runs with oneDNN on
(TF_ENABLE_ONEDNN_OPTS=1) on every machine: oneDNN's convolution mis-shapes an empty batch,
which the replica without an example of a last, partial batch gets, and that stopped every
distributed run on CPUs where TensorFlow turns oneDNN on by default (AVX512-BF16/VNNI, AMX).

Measured (2 CPU cores; max|a - b| / max|b| per tensor, relative for losses):
- mirrored vs one device (4 steps at lr 1e-4): losses equal (0), weights 1.5e-7, Adam moments
  1.5e-5 (g_conv10's bias: a sum over every output pixel of +-1/N terms, whose rounding
  depends on the reduction order); bounds 1e-6, 1e-6 and 1e-4.
- multi-worker: the two workers' weights are bit-identical; against one device 4.6e-6 (a
  bias that starts at zero, so its own scale is only the ~4e-4 it moved); bound 5e-5.
Before the fix in `make_train_step` the last, partial batch's loss was divided by the nominal
global batch (2) instead of the examples it held (1): its loss (and gradients) were halved
under any strategy, so distributed training differed from one-device training every epoch.

About 2 minutes in all on 2 cores (each child imports TensorFlow and traces the step).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = REPO / "train_sony.py"

MIRRORED_TIMEOUT = 150  # seconds
CLUSTER_TIMEOUT = 180

MIRRORED_LOSS_RTOL = 1e-6
MIRRORED_WEIGHT_RTOL = 1e-6
MIRRORED_MOMENT_RTOL = 1e-4
MULTI_WORKER_WEIGHT_RTOL = 5e-5


def _child_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


def _relative(actual, expected):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    scale = np.abs(expected).max()
    difference = np.abs(actual - expected).max()
    return float(difference / scale) if scale > 0 else float(difference)


# --- MirroredStrategy on two logical CPUs, at the step level --------------------------------

MIRRORED_CHILD = textwrap.dedent(
    """
    import json
    import sys

    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras

    from sid_tf2 import build_unet
    from sid_tf2.training.step import make_optimizer, make_train_step

    LEARNING_RATE = 1e-4
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    keras.utils.set_random_seed(0)
    single = build_unet("sony")
    rng = np.random.default_rng(0)
    for weight in single.weights:  # no tensor all zeros, so each has a scale to compare at
        if weight.path.endswith("bias"):
            weight.assign(rng.normal(0.0, 0.05, weight.shape).astype(np.float32))
    initial = [w.numpy() for w in single.weights]

    with strategy.scope():
        model = build_unet("sony", "float32")
        optimizer = make_optimizer(LEARNING_RATE, "float32")
    model.set_weights(initial)
    step = make_train_step(model, optimizer, precision="float32", jit_compile=False,
                           strategy=strategy, global_batch_size=2)
    single_optimizer = make_optimizer(LEARNING_RATE, "float32")
    single_step = make_train_step(single, single_optimizer, precision="float32", jit_compile=False)

    # Batches of 2, 2, 2, then 1: one example per replica, and a last partial batch.
    inputs = rng.uniform(size=(7, 32, 32, 4)).astype(np.float32)
    ground_truth = rng.uniform(size=(7, 64, 64, 3)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, ground_truth)).batch(2)
    learning_rate = tf.constant(LEARNING_RATE, tf.float32)
    losses, single_losses, per_replica = [], [], []
    for (x, y), (xd, yd) in zip(dataset, strategy.experimental_distribute_dataset(dataset)):
        per_replica.append([int(t.shape[0]) for t in strategy.experimental_local_results(xd)])
        losses.append(float(step(xd, yd, learning_rate)))
        single_losses.append(float(single_step(x, y, learning_rate)))

    def relative(a, b):
        scale = np.abs(b).max()
        return float(np.abs(a - b).max() / scale) if scale > 0 else float(np.abs(a - b).max())

    def local_copies(variable):
        return strategy.experimental_local_results(getattr(variable, "value", variable))

    weights = {w.path: relative(w.numpy(), s.numpy()) for w, s in zip(model.weights, single.weights)}
    moments = {
        v.path: relative(v.numpy(), s.numpy())
        for v, s in zip(optimizer.variables, single_optimizer.variables)
        if np.ndim(s.numpy())
    }
    copies = [local_copies(v) for v in model.weights + optimizer.variables]
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "per_replica_batches": per_replica,
        "losses": losses,
        "single_losses": single_losses,
        "weights": weights,
        "moments": moments,
        "moved": {w.path: float(np.abs(w.numpy() - i).max()) for w, i in zip(model.weights, initial)},
        "iterations": [int(optimizer.iterations.numpy()), int(single_optimizer.iterations.numpy())],
        "mirrored_weights": all(len(local_copies(w)) == 2 for w in model.weights),
        "copies_equal": all(
            all(np.array_equal(c[0].numpy(), other.numpy()) for other in c[1:]) for c in copies
        ),
    }))
    """
)


@pytest.fixture(name="mirrored_result", scope="module")
def mirrored_result_fixture():
    try:
        completed = subprocess.run(
            [sys.executable, "-c", MIRRORED_CHILD], cwd=REPO, env=_child_env(TF_ENABLE_ONEDNN_OPTS="1"),
            capture_output=True, text=True, timeout=MIRRORED_TIMEOUT,
        )
    except subprocess.TimeoutExpired as error:  # run() has killed the child
        pytest.fail(f"the MirroredStrategy child did not finish in {MIRRORED_TIMEOUT} s:\n"
                    f"{_tail(error.stderr.decode() if isinstance(error.stderr, bytes) else error.stderr or '')}")
    assert completed.returncode == 0, _tail(completed.stdout + completed.stderr)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_mirrored_runs_two_replicas_with_a_partial_last_batch(mirrored_result):
    assert mirrored_result["replicas"] == 2
    assert mirrored_result["mirrored_weights"], "the model's variables are not mirrored"
    assert mirrored_result["per_replica_batches"] == [[1, 1], [1, 1], [1, 1], [1, 0]]
    assert mirrored_result["iterations"] == [4, 4]


def test_mirrored_step_equals_single_device_step(mirrored_result):
    for step, (loss, expected) in enumerate(
        zip(mirrored_result["losses"], mirrored_result["single_losses"])
    ):
        assert loss == pytest.approx(expected, rel=MIRRORED_LOSS_RTOL), f"step {step}"
    worst = max(mirrored_result["weights"].items(), key=lambda item: item[1])
    assert worst[1] <= MIRRORED_WEIGHT_RTOL, worst
    # Every tensor moved (up to ~lr per step; less where the gradients are near Adam's
    # epsilon, as deep in a freshly initialised network), so equal weights say something.
    moved = mirrored_result["moved"]
    assert min(moved.values()) > 0, [name for name, value in moved.items() if value == 0]
    assert max(moved.values()) > 1e-4


def test_mirrored_gradients_are_summed_across_replicas(mirrored_result):
    """The moments depend on the gradients' scale: a mean over replicas would be off by 2x."""
    worst = max(mirrored_result["moments"].items(), key=lambda item: item[1])
    assert worst[1] <= MIRRORED_MOMENT_RTOL, worst


def test_mirrored_replicas_stay_in_sync(mirrored_result):
    assert mirrored_result["copies_equal"], "the replicas' copies of a variable differ"


# --- MultiWorkerMirroredStrategy: train_sony.py in two worker processes ----------------------

TRAIN_FLAGS = [
    "--epochs=1",  # epochs 0 and 1: with 3 scenes in batches of 2, four steps
    "--patch_size=32",
    "--batch_size=2",
    "--val_freq=0",
    "--save_freq=1000",
    "--learning_rate=1e-4",
    "--seed=0",
]
FLOAT32 = ["--precision=float32", "--nojit_compile"]  # what the one-device run computes


def _free_ports(count):
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run_cluster(data_dir, result_dir, workdir, workers=2):
    """Run train_sony.py --distribute=multi_worker in `workers` processes; return their logs."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(workers)]}
    processes, logs = [], []
    try:
        for index in range(workers):
            config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            log = open(workdir / f"worker-{index}.log", "w+")
            logs.append(log)
            processes.append(subprocess.Popen(
                [sys.executable, str(TRAIN_SCRIPT), f"--data_dir={data_dir}",
                 f"--result_dir={result_dir}", "--distribute=multi_worker", *TRAIN_FLAGS, *FLOAT32],
                cwd=workdir, env=_child_env(TF_CONFIG=json.dumps(config)),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ))
        deadline = time.monotonic() + CLUSTER_TIMEOUT
        while any(p.poll() is None for p in processes):
            failed = [p for p in processes if p.poll() not in (None, 0)]
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the group this test started
                process.wait()
        outputs = []
        for log in logs:
            log.seek(0)
            outputs.append(log.read())
            log.close()
    codes = [p.returncode for p in processes]
    if codes != [0] * workers:
        report = "\n".join(f"--- worker {i} (exit {c}) ---\n{_tail(o)}"
                           for i, (c, o) in enumerate(zip(codes, outputs)))
        pytest.fail(f"multi-worker training failed or exceeded {CLUSTER_TIMEOUT} s:\n{report}")
    return outputs


def _weights(path):
    from sid_tf2 import build_unet

    model = build_unet("sony")
    model.load_weights(path)
    return {w.path: w.numpy() for w in model.weights}


@pytest.fixture(name="synthetic_data", scope="module")
def synthetic_data_fixture(tmp_path_factory):
    """A tiny SID-layout dataset with 3 training scenes (so the last batch of 2 holds 1)."""
    from sid_tf2.simulate import write_synthetic_dataset

    data_dir = tmp_path_factory.mktemp("synthetic") / "Sony"
    summary = write_synthetic_dataset(data_dir, num_scenes=5, size=(128, 128), seed=0,
                                      progress=False)
    assert summary.num_long == 5
    assert len(list((data_dir / "long").glob("0*"))) == 3, "expected 3 training scenes"
    return data_dir


def test_multi_worker_training_equals_one_device(synthetic_data, tmp_path):
    import keras

    from sid_tf2 import build_unet
    from sid_tf2.training import TrainConfig, train

    # One device first (it also fills the shared decode cache the workers then read).
    single = train(TrainConfig.from_flat(
        data_dir=str(synthetic_data), result_dir=str(tmp_path / "single"), epochs=1,
        patch_size=32, batch_size=2, val_freq=0, save_freq=1000, learning_rate=1e-4, seed=0,
        progress=False, precision="float32", jit_compile=False,
    ), log=lambda line: None)
    assert single.epochs_run == 2

    result_dir = tmp_path / "multi"
    _run_cluster(synthetic_data, result_dir, tmp_path)
    settings = json.loads((result_dir / "run_settings.json").read_text())
    assert (settings["precision"], settings["config"]["runtime"]["jit_compile"]) == ("float32", False)
    chief = _weights(result_dir / "model.weights.h5")
    other = _weights(result_dir / "workers" / "worker-1" / "model.weights.h5")
    expected = _weights(tmp_path / "single" / "model.weights.h5")

    keras.utils.set_random_seed(0)  # the run's initial weights, as the loop draws them
    initial = {w.path: w.numpy() for w in build_unet("sony").weights}

    assert chief.keys() == other.keys() == expected.keys() == initial.keys()
    moved = {}
    for name in chief:
        assert np.array_equal(chief[name], other[name]), f"{name}: the workers disagree"
        difference = _relative(chief[name], expected[name])
        assert difference <= MULTI_WORKER_WEIGHT_RTOL, f"{name}: {difference} from one device"
        moved[name] = float(np.abs(chief[name] - initial[name]).max())
    # Four Adam steps at 1e-4 move an element by at most ~4e-4 (much less where gradients are
    # near Adam's epsilon, deep in a fresh network): every tensor moved, from this init.
    assert min(moved.values()) > 0, [name for name, value in moved.items() if value == 0]
    assert max(moved.values()) < 2e-3, max(moved.items(), key=lambda item: item[1])
    assert max(moved.values()) > 1e-4


# --- train_sony.py --distribute=mirrored on two logical CPUs, as a user runs it ---------------

@pytest.mark.parametrize("speed_flags, onednn", [
    ([], None),  # this machine's defaults, whatever its CPU
    (["--precision=mixed_bfloat16", "--nojit_compile"], "1"),  # the choice on AVX512-BF16/AMX CPUs
], ids=["defaults", "bf16-cpu-settings"])
def test_mirrored_training_runs_from_the_command_line(synthetic_data, tmp_path, speed_flags, onednn):
    extra = {} if onednn is None else {"TF_ENABLE_ONEDNN_OPTS": onednn}
    try:
        completed = subprocess.run(
            [sys.executable, str(TRAIN_SCRIPT), f"--data_dir={synthetic_data}",
             f"--result_dir={tmp_path / 'run'}", "--distribute=mirrored", "--cpu_devices=2",
             *TRAIN_FLAGS, *speed_flags],
            cwd=tmp_path, env=_child_env(**extra), capture_output=True, text=True,
            timeout=MIRRORED_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"train_sony.py --distribute=mirrored did not finish in {MIRRORED_TIMEOUT} s")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, _tail(output)
    assert "2 replica(s)" in output, _tail(output)
    assert (tmp_path / "run" / "model.weights.h5").exists()
