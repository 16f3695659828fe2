"""Several steps of the project's training step (`make_train_step`) against the TF1 graphs.

test_training_parity.py compares one raw Keras Adam step; this module holds the step the
training loop really runs (`make_optimizer` + `make_train_step`, a `tf.function` with the L1
loss over the batch) to the original over several steps, each on a different random patch, from
a mid-training TF1 checkpoint (random weights and Adam moments, Adam step 5) loaded by
`load_tf1_checkpoint`. The Keras state after the steps is written back by `save_tf1_checkpoint`
and compared, tensor by tensor, with the TF1 graph's variables after its own `Adam` op ran on
the same patches:

- release layout, `train_deconv=False`: against the authors' published meta graph (needs
  SID_REFERENCE_DIR) and against the tf_slim rebuild with frozen filters;
- full layout, `train_deconv=True`: against the tf_slim rebuild training every variable;
- the freeze itself, without any reference: with `train_deconv=False` the four upsampling
  filters are bit-identical after the steps (and with True they move);
- mixed precision (mixed_bfloat16, mixed_float16) from the same start: finite, no step skipped
  by the loss scale, and the losses of 10 steps on a fixed batch track float32's.

Patches are 1x32x32 (Sony, 4 channels) with 1x64x64 ground truth. `relative_difference` is
max|a - b| / max|b| per tensor; "update" is the same measure on (after - before), which at
1e-4 is limited by the float32 rounding of the weights themselves (an update of 4e-4 next to
weights up to 0.7, whose ulp is 6e-8).

Measured on CPU (max over all tensors; bounds in brackets):

| run                         | loss abs  | weights | update  | moments | beta powers |
| --------------------------- | --------- | ------- | ------- | ------- | ----------- |
| release, lr 1e-4, 4 steps   | 6.0e-7    | 2.1e-7  | 2.1e-4  | 1.9e-6  | 1.2e-7      |
| full,    lr 1e-4, 4 steps   | 5.4e-7    | 1.7e-7  | 1.2e-4  | 2.1e-6  | 1.2e-7      |
| release, lr 1e-3, 2 steps   | 2.7e-7    | 2.1e-7  | 4.9e-5  | 1.6e-6  | 1.4e-7      |
| full,    lr 1e-3, 2 steps   | 3.3e-7    | 2.1e-7  | 4.9e-5  | 1.7e-6  | 1.4e-7      |
| bounds                      | [1e-6]    | [5e-5]  | [1e-3 at 1e-4, 2e-4 at 1e-3] | [1e-5] | [1e-6] |

The published graph and the tf_slim rebuild give the same numbers. The first step's loss is
bit-identical in every run. At lr 1e-3 the steps are large for these weights (the loss falls
from 0.65 to 0.35 in four steps) and by the third step of the full layout a unit crosses a
kink of the network (a leaky-ReLU or max-pool boundary) differently in the two frameworks: the
moments then differ by 2e-3 and the weights by 1.8e-4, so the larger rate runs two steps. At
1e-2 four steps diverge (loss 2.6 to 5.3) and the two frameworks part by 10%: chaos, not a port
difference.

Mixed precision against float32, 10 steps at lr 1e-4 on a fixed 2x32x32 batch (the loss falls
from 0.649 to 0.404): max relative loss difference mixed_bfloat16 9.7e-4 [1e-2], mixed_float16
9.6e-5 [1e-3]; the loss drop (0.245) differs by 2.0e-3 (bfloat16) and 2.4e-4 (float16) of
itself [5e-2]. No mixed_float16 step
was skipped (the loss scale stayed at 32768).
"""

import numpy as np
import pytest
import tensorflow as tf

from parity_tests.published_graph import PublishedMetaGraph
from parity_tests.random_weights import random_checkpoint_values
from parity_tests.tf1_checkpoint_io import read_tf1_checkpoint, write_tf1_checkpoint
from parity_tests.tolerance import relative_difference
from sid_tf2 import build_unet
from sid_tf2.tf1_checkpoint import load_tf1_checkpoint, save_tf1_checkpoint
from sid_tf2.training.step import make_optimizer, make_train_step

SEED = 404
PATCH_SEED = 1
ADAM_STEPS = 5  # the checkpoint's Adam state: as after 5 TF1 steps
PATCH = 32  # packed input side; ground truth is twice that

# learning rate -> (steps, bound on the update difference); see the module docstring.
RUNS = {1e-4: (4, 1e-3), 1e-3: (2, 2e-4)}
LOSS_ATOL = 1e-6
WEIGHT_RTOL = 5e-5
MOMENT_RTOL = 1e-5
POWER_RTOL = 1e-6

MIXED_STEPS = 10
MIXED_LEARNING_RATE = 1e-4
MIXED_LOSS_RTOL = {"mixed_bfloat16": 1e-2, "mixed_float16": 1e-3}
MIXED_DROP_RTOL = 5e-2

LAYOUT = {False: "release", True: "full"}  # train_deconv -> checkpoint layout
UPSAMPLE_NAMES = {"Variable": "up6", "Variable_1": "up7", "Variable_2": "up8", "Variable_3": "up9"}


def _patches(steps):
    """A different random (input, ground truth) patch for every step."""
    rng = np.random.default_rng(PATCH_SEED)
    return [
        (
            rng.uniform(size=(1, PATCH, PATCH, 4)).astype(np.float32),
            rng.uniform(size=(1, 2 * PATCH, 2 * PATCH, 3)).astype(np.float32),
        )
        for _ in range(steps)
    ]


def _start(train_deconv):
    """The mid-training TF1 checkpoint every run starts from."""
    return random_checkpoint_values("sony", SEED, LAYOUT[train_deconv], adam_steps=ADAM_STEPS)


def _keras_model(values, directory, train_deconv, learning_rate, precision="float32"):
    """build_unet + make_optimizer + make_train_step, then the TF1 checkpoint loaded into them.

    The step builds the optimizer on the variables it trains before the checkpoint is loaded,
    so the frozen filters get no Adam slots, as in the published graph.
    """
    write_tf1_checkpoint(directory / "before" / "model.ckpt", values)
    model = build_unet("sony", precision)
    optimizer = make_optimizer(learning_rate, precision)
    step = make_train_step(model, optimizer, precision=precision, train_deconv=train_deconv)
    summary = load_tf1_checkpoint(model, directory / "before", optimizer)
    assert (summary.layout, summary.adam_step) == (LAYOUT[train_deconv], ADAM_STEPS)
    return model, optimizer, step


def _run_steps(step, patches, learning_rate):
    rate = tf.constant(learning_rate, tf.float32)
    return [float(step(tf.constant(x), tf.constant(y), rate)) for x, y in patches]


@pytest.fixture(name="keras_runs", scope="module")
def keras_runs_fixture(tmp_path_factory):
    """(train_deconv, lr) -> (losses, {tf1_name: array} after the steps), each run once."""
    cache = {}

    def get(train_deconv, learning_rate):
        key = (train_deconv, learning_rate)
        if key not in cache:
            steps, _ = RUNS[learning_rate]
            directory = tmp_path_factory.mktemp(f"keras_{LAYOUT[train_deconv]}_{learning_rate:g}")
            model, optimizer, step = _keras_model(
                _start(train_deconv), directory, train_deconv, learning_rate
            )
            losses = _run_steps(step, _patches(steps), learning_rate)
            saved = save_tf1_checkpoint(model, directory / "after" / "model.ckpt", optimizer)
            cache[key] = losses, read_tf1_checkpoint(saved)
        return cache[key]

    return get


def _tf1_losses(reference, patches, learning_rate):
    return [reference.train_step(x, y, learning_rate) for x, y in patches]


def _compare(keras_losses, keras_after, tf1_losses, tf1_after, before, learning_rate):
    """Assert the runs agree; return the worst difference of each kind (for messages)."""
    _, update_rtol = RUNS[learning_rate]
    for index, (actual, expected) in enumerate(zip(keras_losses, tf1_losses)):
        assert actual == pytest.approx(expected, rel=0, abs=LOSS_ATOL), f"loss of step {index}"
    assert keras_after.keys() == tf1_after.keys()
    worst = {}
    for name, expected in sorted(tf1_after.items()):
        actual = keras_after[name]
        if name.endswith(("/Adam", "/Adam_1")):
            checks = {"moments": (relative_difference(actual, expected), MOMENT_RTOL)}
        elif name.endswith("_power"):
            checks = {"powers": (relative_difference(actual, expected), POWER_RTOL)}
        elif np.array_equal(expected, before[name]):  # frozen in TF1: frozen in Keras too
            assert np.array_equal(actual, before[name]), f"{name} moved but TF1 froze it"
            continue
        else:
            checks = {
                "weights": (relative_difference(actual, expected), WEIGHT_RTOL),
                "update": (
                    relative_difference(actual - before[name], expected - before[name]),
                    update_rtol,
                ),
            }
        for kind, (difference, bound) in checks.items():
            assert difference <= bound, f"{name}: {kind} differ by {difference} (bound {bound})"
            worst[kind] = max(worst.get(kind, 0.0), difference)
    return worst


@pytest.mark.parametrize("learning_rate", sorted(RUNS))
def test_release_steps_match_published_meta_graph(sony_meta, keras_runs, tmp_path, learning_rate):
    """train_deconv=False against the authors' own training graph (SID_REFERENCE_DIR)."""
    before = _start(train_deconv=False)
    steps, _ = RUNS[learning_rate]
    with PublishedMetaGraph(sony_meta) as published:
        published.restore(write_tf1_checkpoint(tmp_path / "model.ckpt", before))
        tf1_losses = _tf1_losses(published, _patches(steps), learning_rate)
        tf1_after = published.values()
    for name in UPSAMPLE_NAMES:  # the published graph's Adam leaves the filters alone
        assert np.array_equal(tf1_after[name], before[name]), name
    keras_losses, keras_after = keras_runs(False, learning_rate)
    _compare(keras_losses, keras_after, tf1_losses, tf1_after, before, learning_rate)


@pytest.mark.parametrize("learning_rate", sorted(RUNS))
@pytest.mark.parametrize("train_deconv", [False, True], ids=["release", "full"])
def test_steps_match_tf_slim_reference(reference_networks, keras_runs, train_deconv, learning_rate):
    """train_deconv=True (and False) against the tf_slim rebuild of ORIGINAL.md (tf_slim)."""
    before = _start(train_deconv)
    steps, _ = RUNS[learning_rate]
    reference = reference_networks("sony", train_deconv=train_deconv)
    reference.load(before)
    tf1_losses = _tf1_losses(reference, _patches(steps), learning_rate)
    tf1_after = reference.values()
    keras_losses, keras_after = keras_runs(train_deconv, learning_rate)
    worst = _compare(keras_losses, keras_after, tf1_losses, tf1_after, before, learning_rate)
    if train_deconv:  # the filters trained, and were compared as weights
        for name in UPSAMPLE_NAMES:
            assert not np.array_equal(tf1_after[name], before[name]), name
            assert f"{name}/Adam" in keras_after, name
    assert worst["update"] > 0  # the steps were compared, not only the unchanged weights


@pytest.mark.parametrize("train_deconv", [False, True], ids=["frozen", "trained"])
def test_published_freeze_keeps_upsampling_filters_bit_identical(tmp_path, train_deconv):
    """No reference needed: train_deconv=False leaves up6..up9 exactly as loaded."""
    learning_rate = 1e-4
    before = _start(train_deconv)
    model, optimizer, step = _keras_model(before, tmp_path, train_deconv, learning_rate)
    losses = _run_steps(step, _patches(3), learning_rate)
    assert np.all(np.isfinite(losses))
    for tf1_name, layer in UPSAMPLE_NAMES.items():
        kernel = model.get_layer(layer).kernel.numpy()
        assert np.array_equal(kernel, before[tf1_name]) != train_deconv, layer
    for layer in ("g_conv1_1", "g_conv5_2", "g_conv10"):
        assert not np.array_equal(model.get_layer(layer).kernel.numpy(), before[f"{layer}/weights"])
    # Adam holds two moments per trained parameter: none for the frozen filters.
    frozen = 0 if train_deconv else sum(before[name].size for name in UPSAMPLE_NAMES)
    slots = sum(int(np.prod(v.shape)) for v in optimizer.variables if len(v.shape))
    assert slots == 2 * (model.count_params() - frozen)
    assert int(optimizer.iterations.numpy()) == ADAM_STEPS + 3


@pytest.fixture(name="mixed_start", scope="module")
def mixed_start_fixture():
    """The full-layout start and a fixed batch of two patches, shared by every precision."""
    rng = np.random.default_rng(PATCH_SEED + 6)
    inputs = rng.uniform(size=(2, PATCH, PATCH, 4)).astype(np.float32)
    ground_truth = rng.uniform(size=(2, 2 * PATCH, 2 * PATCH, 3)).astype(np.float32)
    return _start(train_deconv=True), inputs, ground_truth


@pytest.fixture(name="mixed_losses", scope="module")
def mixed_losses_fixture(mixed_start, tmp_path_factory):
    """precision -> (losses of MIXED_STEPS steps, model, optimizer), each run once."""
    values, inputs, ground_truth = mixed_start
    cache = {}

    def get(precision):
        if precision not in cache:
            directory = tmp_path_factory.mktemp(precision)
            model, optimizer, step = _keras_model(
                values, directory, True, MIXED_LEARNING_RATE, precision
            )
            patches = [(inputs, ground_truth)] * MIXED_STEPS
            cache[precision] = _run_steps(step, patches, MIXED_LEARNING_RATE), model, optimizer
        return cache[precision]

    return get


@pytest.mark.parametrize("precision", sorted(MIXED_LOSS_RTOL))
def test_mixed_precision_steps_track_float32(mixed_losses, precision):
    reference, _, _ = mixed_losses("float32")
    losses, model, optimizer = mixed_losses(precision)
    assert np.all(np.isfinite(losses)), losses
    for weight in model.weights:
        assert weight.dtype == "float32", weight.path  # mixed policies keep float32 variables
        assert np.all(np.isfinite(weight.numpy())), weight.path
    # Under mixed_float16 the loss scale skips steps whose gradients overflow; none should.
    assert int(optimizer.iterations.numpy()) == ADAM_STEPS + MIXED_STEPS

    losses, reference = np.array(losses), np.array(reference)
    assert reference[-1] < 0.7 * reference[0], "float32 itself should learn the batch"
    difference = np.abs(losses - reference) / reference
    assert difference.max() <= MIXED_LOSS_RTOL[precision], difference
    drop, reference_drop = losses[0] - losses[-1], reference[0] - reference[-1]
    assert abs(drop - reference_drop) <= MIXED_DROP_RTOL * reference_drop, (drop, reference_drop)
