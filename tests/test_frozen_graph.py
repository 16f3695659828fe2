"""CPU inference through a frozen graph in a session (sid_tf2.frozen_graph): the same output as
the Keras model, in every variant the tuner may choose."""

import keras
import numpy as np
import pytest

from sid_tf2 import inference
from sid_tf2.frozen_graph import FrozenGraphRunner
from sid_tf2.inference import make_predictor
from sid_tf2.model import build_unet


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(11)
    model = build_unet("sony")
    for weight in model.weights:  # biases too, so every path carries signal
        weight.assign(weight.numpy() + np.random.default_rng(2).normal(0, 0.01, weight.shape))
    return model


PACKED = np.random.default_rng(3).random((1, 40, 56, 4), dtype=np.float32)


def test_the_frozen_graph_computes_what_the_model_computes(model):
    runner = FrozenGraphRunner(model)
    np.testing.assert_array_equal(runner(PACKED), model(PACKED, training=False).numpy())
    other = np.random.default_rng(4).random((2, 33, 17, 4), dtype=np.float32)  # any size, batch
    np.testing.assert_array_equal(runner(other), model(other, training=False).numpy())
    runner.close()


def test_it_keeps_the_weights_it_was_made_with(model):
    runner = FrozenGraphRunner(model)
    before = runner(PACKED)
    saved = model.get_weights()
    try:
        model.get_layer("g_conv10").bias.assign(np.full(12, 0.5, np.float32))
        np.testing.assert_array_equal(runner(PACKED), before)
    finally:
        model.set_weights(saved)


@pytest.mark.parametrize("options, runs_frozen", [
    ({}, True),
    ({"precision": "mixed_bfloat16"}, True),
    ({"winograd_levels": (4, 5)}, True),  # the Winograd layers' own XLA calls inside the graph
    ({"jit_compile": True}, False),
])
def test_make_predictor_runs_cpu_inference_without_xla_frozen(model, options, runs_frozen, monkeypatch):
    monkeypatch.setattr(inference, "gpu_names", lambda: [])  # a CPU-only machine, here or not
    predictor = make_predictor(model, **options)
    assert isinstance(predictor._run, FrozenGraphRunner) == runs_frozen
    expected = predictor.model(PACKED, training=False).numpy()
    got = predictor(PACKED)
    assert got.dtype == np.float32
    if options == {}:
        np.testing.assert_array_equal(got, expected)
    else:  # XLA's and the graph's own fusions and folded casts may round differently
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-2 if "precision" in options else 1e-5)


def test_tiles_keep_to_a_tf_function_for_their_memory_budget(model):
    assert not isinstance(make_predictor(model, tile_size=32, tile_overlap=16)._run, FrozenGraphRunner)


def test_gpus_keep_to_a_tf_function(model, monkeypatch):
    monkeypatch.setattr(inference, "gpu_names", lambda: ["Injected GPU"])
    assert not isinstance(make_predictor(model)._run, FrozenGraphRunner)
