"""Forward parity: the Keras port, loaded through the converter, computes what TF1 computed.

Every test writes a random TF1 checkpoint (random_weights.py, written without tf_slim by
tf1_checkpoint_io.py), loads it into `sid_tf2.build_unet` with
`sid_tf2.tf1_checkpoint.load_tf1_checkpoint`, and compares in float32 against, in
decreasing order of independence:

- the authors' published meta graph (needs SID_REFERENCE_DIR; Sony only, as only its meta graph
  is in the reference files),
- the tf_slim rebuild of ORIGINAL.md (needs tf_slim),
- the golden fixtures (needs neither, so it runs everywhere).

Difference: max|keras - tf1| / max|tf1| <= 1e-5 (DESIGN). Shapes include an odd one (37x53),
where the transposed convolutions are cropped, and a batch of 2.
"""

import numpy as np
import pytest
import tensorflow as tf

from parity_tests import make_fixtures
from parity_tests.environment import published_file
from parity_tests.published_graph import PublishedMetaGraph
from parity_tests.random_weights import random_checkpoint_values
from parity_tests.tf1_checkpoint_io import write_tf1_checkpoint
from parity_tests.tolerance import FORWARD_RTOL, relative_difference
from sid_tf2 import build_unet, get_camera
from sid_tf2.tf1_checkpoint import load_tf1_checkpoint

CAMERAS = ("sony", "fuji")
SHAPES = ((1, 64, 64), (1, 37, 53), (2, 32, 48))  # (batch, height, width) of the packed input
SEEDS = {"sony": 101, "fuji": 102}


def random_inputs(camera, shape, seed=0):
    channels = get_camera(camera).in_channels
    return np.random.default_rng(seed).uniform(size=shape + (channels,)).astype(np.float32)


def keras_from_values(camera, values, directory):
    """A build_unet model loaded by the converter from `values` written as a TF1 checkpoint."""
    write_tf1_checkpoint(directory / "model.ckpt", values)
    model = build_unet(camera)
    summary = load_tf1_checkpoint(model, directory)
    assert summary.camera == camera
    return model


def keras_forward(model, inputs):
    return model(tf.constant(inputs), training=False).numpy()


@pytest.fixture(name="keras_models", scope="module")
def keras_models_fixture(tmp_path_factory):
    """{camera: (random values, Keras model loaded from them)}, built once per module."""
    models = {}
    for camera in CAMERAS:
        values = random_checkpoint_values(camera, SEEDS[camera])
        directory = tmp_path_factory.mktemp(f"checkpoint_{camera}")
        models[camera] = values, keras_from_values(camera, values, directory)
    return models


@pytest.mark.parametrize("camera", CAMERAS)
def test_keras_matches_golden_fixtures(tmp_path, camera):
    """Needs neither tf_slim nor the reference files: TF1 outputs stored in the repository."""
    fixture = make_fixtures.load_fixture(camera)
    make_fixtures.check_fingerprint(camera, fixture)
    values = random_checkpoint_values(camera, fixture["weight_seed"])
    model = keras_from_values(camera, values, tmp_path)
    for inputs, expected in zip(fixture["inputs"], fixture["outputs"]):
        actual = keras_forward(model, inputs)
        assert actual.shape == expected.shape
        assert relative_difference(actual, expected) <= FORWARD_RTOL, inputs.shape


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("camera", CAMERAS)
def test_keras_matches_tf1_reference(reference_networks, keras_models, camera, shape):
    values, model = keras_models[camera]
    reference = reference_networks(camera)
    reference.load(values)
    inputs = random_inputs(camera, shape)
    expected = reference.forward(inputs)
    actual = keras_forward(model, inputs)
    assert actual.shape == expected.shape
    assert relative_difference(actual, expected) <= FORWARD_RTOL


@pytest.fixture(name="published_sony", scope="module")
def published_sony_fixture(keras_models, tmp_path_factory):
    """The published Sony meta graph restored from the same random checkpoint as the model."""
    meta = published_file("sony", ".meta")
    values, _ = keras_models["sony"]
    prefix = write_tf1_checkpoint(tmp_path_factory.mktemp("published") / "model.ckpt", values)
    with PublishedMetaGraph(meta) as published:
        published.restore(prefix)
        yield published


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_keras_matches_published_meta_graph(published_sony, keras_models, shape):
    """Needs SID_REFERENCE_DIR but not tf_slim: the meta graph carries its own ops."""
    _, model = keras_models["sony"]
    inputs = random_inputs("sony", shape)
    expected = published_sony.forward(inputs)
    actual = keras_forward(model, inputs)
    assert actual.shape == expected.shape
    assert relative_difference(actual, expected) <= FORWARD_RTOL


def test_tolerance_sees_one_weight_off_by_1e_3(tmp_path):
    """A negative control: the comparison is not vacuous at the random weights' scale.

    One element of the last upsampling filter (the one cropped at odd sizes) moved by 1e-3
    changes the output by ~6e-5 of its scale, well beyond the 1e-5 tolerance.
    """
    fixture = make_fixtures.load_fixture("sony")
    values = random_checkpoint_values("sony", fixture["weight_seed"])
    values["Variable_3"][0, 0, 0, 0] += 1e-3
    model = keras_from_values("sony", values, tmp_path)
    for inputs, expected in zip(fixture["inputs"], fixture["outputs"]):
        assert relative_difference(keras_forward(model, inputs), expected) > 2 * FORWARD_RTOL
