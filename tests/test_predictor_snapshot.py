"""One snapshot semantics for every predictor: it computes with the weights its model had when it
was made, whatever the backend, precision or tiling, so that changing (or training) the model
afterwards never changes a predictor's output half-way through a folder."""

import keras
import numpy as np
import pytest

import sid_tf2

KINDS = {
    "whole float32": {},
    "tiles": {"tile_size": 256, "tile_overlap": 64},
    "bfloat16": {"precision": "mixed_bfloat16"},
    "XLA": {"jit_compile": True},
    "Winograd": {"precision": "float32+winograd4-5"},
    "OpenVINO": {"backend": "openvino"},
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_predictor_keeps_the_weights_it_was_made_with(kind):
    if KINDS[kind].get("backend") == "openvino":
        pytest.importorskip("openvino", reason="the export extra is not installed")
    keras.utils.set_random_seed(11)
    model = sid_tf2.build_unet("sony")
    packed = np.random.default_rng(5).random((1, 288, 304, 4), dtype=np.float32)
    predictor = sid_tf2.make_predictor(model, **KINDS[kind])
    before = predictor(packed)
    model.set_weights([2.0 * weights for weights in model.get_weights()])  # as a training step would
    np.testing.assert_array_equal(predictor(packed), before)
    assert not np.array_equal(sid_tf2.make_predictor(model, **KINDS[kind])(packed), before)
