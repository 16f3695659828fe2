"""The Keras U-Net: shapes, names, parameter counts, precision policy and saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sid_tf2
from sid_tf2.layers import DepthToSpace, UpsampleAndConcat

CONV_NAMES = [f"g_conv{i}_{j}" for i in range(1, 10) for j in (1, 2)] + ["g_conv10"]


@pytest.mark.parametrize(
    "camera, channels, scale, params",
    [("sony", 4, 2, 7_760_268), ("fuji", 9, 3, 7_762_203)],
)
@pytest.mark.parametrize("batch, height, width", [(1, 32, 32), (1, 37, 53), (2, 17, 16)])
def test_output_shape_and_parameters(camera, channels, scale, params, batch, height, width):
    model = sid_tf2.build_unet(camera)
    assert model.count_params() == params
    output = model(np.random.rand(batch, height, width, channels).astype("float32"))
    assert tuple(output.shape) == (batch, scale * height, scale * width, 3)


def test_layer_names_follow_the_tf1_scopes():
    model = sid_tf2.build_unet("sony")
    names = {layer.name for layer in model.layers}
    assert set(CONV_NAMES) <= names
    assert {"up6", "up7", "up8", "up9", "depth_to_space"} <= names
    # The four filters are the original's only parameters besides the 19 convolutions.
    upsample = sum(model.get_layer(f"up{i}").count_params() for i in range(6, 10))
    assert upsample == 696_320


def test_odd_sizes_equal_the_full_transposed_convolution_cropped_bottom_right():
    layer = UpsampleAndConcat(3)
    x = tf.random.uniform((1, 4, 5, 6))
    skip = tf.random.uniform((1, 7, 9, 3))
    output = layer([x, skip])
    full = tf.nn.conv2d_transpose(x, layer.kernel, (1, 8, 10, 3), strides=2, padding="SAME")
    np.testing.assert_allclose(output[..., :3], full[:, :7, :9, :], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(output[..., 3:], skip)


def test_upsample_rejects_a_skip_of_the_wrong_width():
    with pytest.raises(ValueError, match="skip tensor has 4 channels"):
        UpsampleAndConcat(3)([tf.zeros((1, 2, 2, 6)), tf.zeros((1, 4, 4, 4))])


def test_depth_to_space_is_tensorflow_dcr_order():
    x = np.arange(2 * 3 * 12, dtype="float32").reshape(1, 2, 3, 12)
    output = DepthToSpace(2)(x).numpy()
    # DCR: output[2i + a, 2j + b, c] = input[i, j, (2a + b) * 3 + c]
    for a in range(2):
        for b in range(2):
            np.testing.assert_array_equal(output[0, a::2, b::2, :], x[0, :, :, (2 * a + b) * 3 : (2 * a + b + 1) * 3])


@pytest.mark.parametrize("precision, compute", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")])
def test_mixed_precision_keeps_the_last_layers_in_float32(precision, compute):
    model = sid_tf2.build_unet("sony", precision=precision)
    assert model.get_layer("g_conv1_1").compute_dtype == compute
    assert model.get_layer("up6").compute_dtype == compute
    assert model.get_layer("g_conv10").compute_dtype == "float32"
    assert model.get_layer("depth_to_space").compute_dtype == "float32"
    assert all(weight.dtype == "float32" for weight in model.weights)
    output = model(np.random.rand(1, 19, 21, 4).astype("float32"))
    assert output.dtype == tf.float32 and np.isfinite(output.numpy()).all()


@pytest.mark.parametrize("camera, precision", [("sony", "float32"), ("fuji", "mixed_bfloat16")])
def test_keras_file_round_trip_needs_no_custom_objects(tmp_path, camera, precision):
    model = sid_tf2.build_unet(camera, precision=precision)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    channels = sid_tf2.get_camera(camera).in_channels
    x = np.random.rand(1, 23, 18, channels).astype("float32")
    np.testing.assert_array_equal(model(x), reloaded(x))
    assert reloaded.get_layer("g_conv10").compute_dtype == "float32"


def test_unknown_camera_and_precision_are_rejected():
    with pytest.raises(ValueError, match="Unknown camera 'canon'"):
        sid_tf2.build_unet("canon")
    with pytest.raises(ValueError, match="Unknown precision 'float64'"):
        sid_tf2.build_unet("sony", precision="float64")
