"""Winograd F(4x4, 3x3) against the direct convolution, and the model variants that use it.

Measured (max |a - b| / max |b| against a float64 direct convolution of the same float32
inputs): 2e-6 to 9e-6 for 3 to 128 channels, where float32's direct convolution is 1e-7 to
1.3e-6; bound 2e-5. A whole model with Winograd on levels 3-5 stays above 120 dB from float32.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sid_tf2
from sid_tf2.model import Variant, build_unet, model_variant
from sid_tf2.winograd import WinogradConv2D, prepare_winograd, transform_filter, winograd_conv3x3

RTOL = 2e-5


@pytest.mark.parametrize("height, width, channels, filters", [
    (8, 8, 3, 5), (13, 17, 32, 64), (37, 53, 128, 128), (1, 1, 4, 4), (5, 3, 2, 2), (16, 4, 9, 7),
])
@pytest.mark.parametrize("jit", [False, True])
def test_winograd_equals_the_direct_convolution(height, width, channels, filters, jit):
    rng = np.random.default_rng(height * width + channels)
    x = rng.standard_normal((2, height, width, channels)).astype(np.float32)
    kernel = (rng.standard_normal((3, 3, channels, filters)) * 0.1).astype(np.float32)
    exact = tf.nn.conv2d(x.astype(np.float64), kernel.astype(np.float64), 1, "SAME").numpy()
    run = tf.function(winograd_conv3x3, jit_compile=jit)
    got = run(tf.constant(x), tf.constant(transform_filter(kernel))).numpy()
    assert got.shape == exact.shape
    assert np.abs(got - exact).max() <= RTOL * np.abs(exact).max()


def test_the_filter_transform_is_done_in_float64():
    kernel = np.random.default_rng(0).standard_normal((3, 3, 2, 2)).astype(np.float32)
    transformed = transform_filter(kernel)
    assert transformed.dtype == np.float32 and transformed.shape == (6, 6, 2, 2)
    # Row 0 of G is (1/4, 0, 0): U[0, 0] = g[0, 0] / 16 exactly.
    np.testing.assert_array_equal(transformed[0, 0], np.float32(kernel[0, 0].astype(np.float64) / 16))

@pytest.mark.slow

def test_a_winograd_model_holds_the_same_weights_and_output():
    keras.utils.set_random_seed(5)
    plain = build_unet("sony")
    for weight in plain.weights:  # biases too, so every path carries signal
        weight.assign(weight.numpy() + np.random.default_rng(1).normal(0, 0.01, weight.shape))
    winograd = build_unet("sony", winograd_levels=(3, 4, 5))
    assert [w.path for w in winograd.weights] == [w.path for w in plain.weights]
    winograd.set_weights(plain.get_weights())
    assert model_variant(winograd) == Variant("float32", 1, (3, 4, 5))
    assert isinstance(winograd.get_layer("g_conv7_2"), WinogradConv2D)
    assert not isinstance(winograd.get_layer("g_conv2_1"), WinogradConv2D)
    assert prepare_winograd(winograd) == 10
    packed = np.random.default_rng(2).random((1, 48, 80, 4), dtype=np.float32)
    expected = plain(packed).numpy()
    got = winograd(packed).numpy()
    mse = np.mean((np.clip(got, 0, 1) - np.clip(expected, 0, 1)) ** 2)
    assert mse == 0 or 10 * np.log10(1 / mse) > 120
    # Measured 3.5e-7 of the output's range (Zen 4, oneDNN on); bound about 10x that.
    assert np.abs(got - expected).max() <= 5e-6 * np.abs(expected).max()


def test_variants_are_checked():
    with pytest.raises(ValueError, match="float32"):
        build_unet("sony", "mixed_bfloat16", winograd_levels=(5,))
    with pytest.raises(ValueError, match="low_precision_from"):
        build_unet("sony", "mixed_bfloat16", low_precision_from=6)


def test_per_level_precision_keeps_the_outer_levels_float32():
    keras.utils.set_random_seed(6)
    plain = build_unet("sony")
    deep = build_unet("sony", "mixed_bfloat16", low_precision_from=3)
    deep.set_weights(plain.get_weights())
    assert model_variant(deep) == Variant("mixed_bfloat16", 3)
    policies = {layer.name: layer.dtype_policy.name for layer in deep.layers}
    assert {policies[n] for n in ("g_conv1_1", "g_conv2_2", "g_conv8_1", "g_conv9_2", "up8", "up9",
                                  "pool1", "g_conv10")} == {"float32"}
    assert {policies[n] for n in ("g_conv3_1", "g_conv5_2", "g_conv7_2", "pool2", "up6", "up7")} == {
        "mixed_bfloat16"}
    packed = np.random.default_rng(3).random((1, 32, 48, 4), dtype=np.float32)
    expected, got = plain(packed).numpy(), deep(packed).numpy()
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() <= 5e-2 * np.abs(expected).max()  # bfloat16 in the middle

@pytest.mark.slow
def test_make_predictor_builds_the_variant_asked_for():
    keras.utils.set_random_seed(7)
    model = build_unet("sony")
    predictor = sid_tf2.make_predictor(model, "float32+winograd4-5", jit_compile=True)
    assert model_variant(predictor.model) == Variant("float32", 1, (4, 5))
    assert model_variant(model) == Variant()  # the caller's model is not changed
    packed = np.random.default_rng(4).random((1, 32, 32, 4), dtype=np.float32)
    np.testing.assert_allclose(predictor(packed), sid_tf2.make_predictor(model)(packed),
                               rtol=0, atol=2e-6)  # measured 1.2e-7 on outputs up to 0.18
