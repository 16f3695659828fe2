"""Tests of the parity machinery itself: random checkpoints, the TF1 rebuild, the fixtures.

The rebuild is only a reference if it is the original network: its variables must be the name
table's and the published index's, and it must compute what the authors' own saved graph
computes, forward and in a training step.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from parity_tests import make_fixtures
from parity_tests.environment import published_prefix
from parity_tests.published_graph import PublishedMetaGraph
from parity_tests.random_weights import random_checkpoint_values
from parity_tests.tf1_checkpoint_io import (
    checkpoint_shapes_of,
    read_tf1_checkpoint,
    write_tf1_checkpoint,
)
from parity_tests.tolerance import FORWARD_RTOL, relative_difference
from sid_tf2.tf1_names import checkpoint_shapes

CAMERAS = ("sony", "fuji")
LAYOUTS = {"release": False, "full": True}  # layout -> train_deconv
SEED = 11


def _inputs(camera, shape, seed=0):
    channels = {"sony": 4, "fuji": 9}[camera]
    return np.random.default_rng(seed).uniform(size=shape + (channels,)).astype(np.float32)


# --- random_weights -------------------------------------------------------------------------


@pytest.mark.parametrize("camera", CAMERAS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("adam_steps", [0, 4])
def test_random_values_cover_the_layout(camera, layout, adam_steps):
    values = random_checkpoint_values(camera, SEED, layout, adam_steps)
    assert {name: v.shape for name, v in values.items()} == checkpoint_shapes(camera, layout)
    assert all(v.dtype == np.float32 for v in values.values())
    np.testing.assert_allclose(values["beta1_power"], 0.9 ** (adam_steps + 1), rtol=1e-6)
    np.testing.assert_allclose(values["beta2_power"], 0.999 ** (adam_steps + 1), rtol=1e-6)
    first = [v for name, v in values.items() if name.endswith("/Adam")]
    second = [v for name, v in values.items() if name.endswith("/Adam_1")]
    if adam_steps == 0:
        assert not any(np.any(v) for v in first + second)
    else:
        assert all(np.any(v > 0) and np.any(v < 0) for v in first)
        assert all(np.all(v > 0) for v in second)


def test_random_values_are_deterministic_and_layouts_agree():
    a = random_checkpoint_values("sony", SEED, "release", adam_steps=3)
    b = random_checkpoint_values("sony", SEED, "release", adam_steps=3)
    full = random_checkpoint_values("sony", SEED, "full", adam_steps=3)
    other = random_checkpoint_values("sony", SEED + 1, "release", adam_steps=3)
    assert all(np.array_equal(a[name], b[name]) for name in a)
    assert all(np.array_equal(a[name], full[name]) for name in a)
    assert not np.array_equal(a["g_conv1_1/weights"], other["g_conv1_1/weights"])
    assert np.all(a["g_conv1_1/biases"] != 0), "biases must be nonzero so a lost bias shows"


# --- checkpoint writing without tf_slim --------------------------------------------------------


def test_written_checkpoint_reads_back(tmp_path):
    values = random_checkpoint_values("fuji", SEED, "full", adam_steps=2)
    prefix = write_tf1_checkpoint(tmp_path / "model.ckpt", values)
    assert (tmp_path / "checkpoint").read_text().startswith('model_checkpoint_path: "model.ckpt"')
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(prefix)
    read = read_tf1_checkpoint(tmp_path)
    assert read.keys() == values.keys()
    assert all(np.array_equal(read[name], values[name]) for name in values)


# --- the rebuilt TF1 graph ------------------------------------------------------------------


@pytest.mark.parametrize("camera", CAMERAS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_reference_variables_are_the_name_table(reference_networks, camera, layout):
    network = reference_networks(camera, train_deconv=LAYOUTS[layout])
    assert network.shapes() == checkpoint_shapes(camera, layout)


@pytest.mark.parametrize("camera", CAMERAS)
def test_reference_variables_are_the_published_index(reference_networks, camera):
    published = checkpoint_shapes_of(published_prefix(camera))
    assert len(published) == 120
    assert reference_networks(camera).shapes() == published


@pytest.mark.parametrize("camera", CAMERAS)
def test_random_weights_keep_the_output_at_image_scale(reference_networks, camera):
    """Neither vanishing nor exploding: a 1e-5 relative tolerance then means something."""
    network = reference_networks(camera)
    network.load(random_checkpoint_values(camera, SEED))
    output = network.forward(_inputs(camera, (1, 37, 53)))
    assert 0.1 <= output.std() <= 2.0
    assert 0.5 <= np.abs(output).max() <= 10.0


def test_load_is_strict(reference_networks):
    network = reference_networks("sony")
    values = random_checkpoint_values("sony", SEED)
    with pytest.raises(ValueError, match="missing.*Variable"):
        network.load({k: v for k, v in values.items() if k != "Variable"})
    with pytest.raises(ValueError, match="unexpected.*Variable/Adam"):
        network.load(random_checkpoint_values("sony", SEED, "full"))
    with pytest.raises(ValueError, match="shape mismatch"):
        network.load(random_checkpoint_values("fuji", SEED))


@pytest.mark.parametrize("camera", CAMERAS)
def test_reference_saves_and_restores_a_written_checkpoint(reference_networks, tmp_path, camera):
    network = reference_networks(camera, train_deconv=True)
    values = random_checkpoint_values(camera, SEED, "full", adam_steps=2)
    write_tf1_checkpoint(tmp_path / "written" / "model.ckpt", values)
    network.restore(tmp_path / "written")
    restored = network.values()
    assert all(np.array_equal(restored[name], values[name]) for name in values)

    saved = network.save(tmp_path / "saved" / "model.ckpt")
    assert checkpoint_shapes_of(saved) == checkpoint_shapes(camera, "full")
    again = read_tf1_checkpoint(tmp_path / "saved")
    assert all(np.array_equal(again[name], values[name]) for name in values)


def test_full_layout_trains_the_upsampling_filters(reference_networks):
    network = reference_networks("sony", train_deconv=True)
    values = random_checkpoint_values("sony", SEED, "full")
    network.load(values)
    network.train_step(_inputs("sony", (1, 32, 32)), _inputs("sony", (1, 64, 64))[..., :3], 1e-4)
    after = network.values()
    for name in ("Variable", "Variable_3", "Variable_3/Adam", "g_conv1_1/weights"):
        assert not np.array_equal(after[name], values[name]), name


# --- the rebuild against the authors' saved graph ------------------------------------------


def test_published_meta_graph_has_the_documented_names(sony_meta):
    with PublishedMetaGraph(sony_meta) as published:
        assert published.input.shape.as_list() == [None, None, None, 4]
        assert published.ground_truth.shape.as_list() == [None, None, None, 3]
        assert published.loss.op.type == "Mean"
        ops = published.graph.get_operations()
        assert sum(op.type == "ApplyAdam" for op in ops) == 38
        assert published.shapes() == checkpoint_shapes("sony", "release")


@pytest.fixture(name="published_and_reference")
def published_and_reference_fixture(sony_meta, reference_networks, tmp_path):
    """The published graph and the rebuild holding the same random, mid-training values."""
    values = random_checkpoint_values("sony", SEED, "release", adam_steps=5)
    published = PublishedMetaGraph(sony_meta)
    published.restore(write_tf1_checkpoint(tmp_path / "model.ckpt", values))
    reference = reference_networks("sony")
    reference.load(values)
    yield published, reference, values
    published.close()


def test_reference_forward_equals_published_graph(published_and_reference):
    published, reference, _ = published_and_reference
    for shape in [(1, 64, 64), (1, 37, 53), (2, 32, 48)]:
        inputs = _inputs("sony", shape)
        assert relative_difference(reference.forward(inputs), published.forward(inputs)) <= 1e-6


def test_reference_train_step_equals_published_graph(published_and_reference):
    published, reference, values = published_and_reference
    inputs = _inputs("sony", (1, 37, 53))
    ground_truth = _inputs("sony", (1, 74, 106), seed=1)[..., :3]
    loss_reference = reference.train_step(inputs, ground_truth, 1e-4)
    loss_published = published.train_step(inputs, ground_truth, 1e-4)
    assert loss_reference == pytest.approx(loss_published, rel=1e-6)

    after_reference, after_published = reference.values(), published.values()
    assert after_reference.keys() == after_published.keys()
    for name in after_reference:
        difference = relative_difference(after_reference[name], after_published[name])
        assert difference <= 1e-6, name
    # The release graph leaves the upsampling filters alone and counts the step.
    assert np.array_equal(after_reference["Variable_2"], values["Variable_2"])
    assert not np.array_equal(after_reference["g_conv5_1/weights"], values["g_conv5_1/weights"])
    np.testing.assert_allclose(after_reference["beta1_power"], 0.9**7, rtol=1e-6)


def test_reference_checkpoint_restores_into_published_graph(published_and_reference, tmp_path):
    published, reference, _ = published_and_reference
    reference.load(random_checkpoint_values("sony", SEED + 1, "release", adam_steps=1))
    saved = reference.save(tmp_path / "saved" / "model.ckpt")
    assert checkpoint_shapes_of(saved) == checkpoint_shapes_of(published_prefix("sony"))
    published.restore(saved)
    expected, actual = reference.values(), published.values()
    assert all(np.array_equal(actual[name], expected[name]) for name in expected)


# --- the golden fixtures ----------------------------------------------------------------------


@pytest.mark.parametrize("camera", CAMERAS)
def test_fixtures_reproduce_from_the_reference(reference_networks, camera):
    fixture = make_fixtures.load_fixture(camera)
    make_fixtures.check_fingerprint(camera, fixture)
    network = reference_networks(camera)
    network.load(random_checkpoint_values(camera, fixture["weight_seed"]))
    for inputs, expected in zip(fixture["inputs"], fixture["outputs"]):
        assert relative_difference(network.forward(inputs), expected) <= FORWARD_RTOL


def test_fixtures_stay_small():
    sizes = [make_fixtures.fixture_path(camera) for camera in CAMERAS]
    assert sum(os.path.getsize(path) for path in sizes) < 700_000
