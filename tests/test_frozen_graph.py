"""Whole float32 images on a CPU run through a frozen graph in a session (sid_tf2.frozen_graph):
the same output as the Keras model, the weights it was made with, and only where it was
measured faster (the machine is injected, so the suite holds on a GPU machine too)."""

import keras
import numpy as np
import pytest

from sid_tf2 import inference
from sid_tf2.frozen_graph import FrozenGraphRunner
from sid_tf2.inference import make_predictor
from sid_tf2.model import build_unet

PACKED = np.random.default_rng(3).random((1, 40, 56, 4), dtype=np.float32)


@pytest.fixture(scope="module", name="model")
def model_fixture():
    keras.utils.set_random_seed(11)
    return build_unet("sony")


def test_the_frozen_graph_computes_what_the_model_computes(model):
    runner = FrozenGraphRunner(model)
    np.testing.assert_array_equal(runner(PACKED), model(PACKED, training=False).numpy())
    other = np.random.default_rng(4).random((2, 33, 17, 4), dtype=np.float32)  # any size, batch
    np.testing.assert_array_equal(runner(other), model(other, training=False).numpy())
    runner.close()


@pytest.mark.parametrize("options, runs_frozen", [
    ({}, True),
    ({"precision": "mixed_bfloat16"}, False),  # within noise of tf.function: not worth its memory
    ({"precision": "float32+winograd4-5"}, False),
    ({"jit_compile": True}, False),
    ({"tile_size": 32, "tile_overlap": 16}, False),  # tiles are a memory budget
])
def test_only_whole_float32_images_on_a_cpu_run_frozen(model, options, runs_frozen, monkeypatch):
    monkeypatch.setattr(inference, "gpu_names", lambda: [])  # a CPU-only machine, here or not
    predictor = make_predictor(model, **options)
    assert isinstance(predictor._run, FrozenGraphRunner) == runs_frozen  # pylint: disable=protected-access
    if runs_frozen:
        np.testing.assert_array_equal(predictor(PACKED), model(PACKED, training=False).numpy())


def test_gpus_keep_to_a_tf_function(model, monkeypatch):
    monkeypatch.setattr(inference, "gpu_names", lambda: ["Injected GPU"])
    assert not isinstance(make_predictor(model)._run, FrozenGraphRunner)  # pylint: disable=protected-access
