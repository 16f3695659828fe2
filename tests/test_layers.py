"""Every custom Keras layer of the project through the one harness (tests/helpers.py)."""

import numpy as np
from helpers import run_layer_test

from sid_tf2.layers import DepthToSpace, UpsampleAndConcat
from sid_tf2.winograd import WinogradConv2D

RNG = np.random.default_rng(0)


def test_upsample_and_concat(tmp_path):
    x = RNG.random((1, 5, 7, 16), dtype=np.float32)
    skip = RNG.random((1, 9, 13, 8), dtype=np.float32)  # odd: the full 2x output cropped
    output = run_layer_test(lambda: UpsampleAndConcat(8, name="up"), [x, skip], tmp_path)
    assert output.shape == (1, 9, 13, 16)


def test_depth_to_space(tmp_path):
    x = RNG.random((1, 4, 6, 12), dtype=np.float32)
    output = run_layer_test(lambda: DepthToSpace(2, name="d2s"), [x], tmp_path)
    assert output.shape == (1, 8, 12, 3)


def test_winograd_conv2d(tmp_path):
    x = RNG.random((1, 20, 28, 8), dtype=np.float32)
    output = run_layer_test(lambda: WinogradConv2D(16, 3, padding="same", name="w"), [x], tmp_path,
                            prepare=lambda layer: layer.prepare(),
                            policies=("float32",))  # Winograd computes in float32 only (model.Variant)
    assert output.shape == (1, 20, 28, 16)
