"""The SID U-Net as a Keras functional model, written to read top to bottom against the
original TF1 `network()` function.

Layer names equal the TF1 variable scopes (`g_conv1_1` ... `g_conv10`) so that the checkpoint
converter's name table is a plain listing. The four upsampling filters, unnamed `tf.Variable`s in
the original (`Variable` .. `Variable_3`), live in the layers `up6` .. `up9`, named after the
original's Python variables.
"""

import keras

from sid_tf2.constants import CAMERAS, PRECISIONS, Camera, get_camera  # noqa: F401  (the model's names)
from sid_tf2.layers import DepthToSpace, UpsampleAndConcat, lrelu
from sid_tf2.speed_settings import LEVELS, Variant
from sid_tf2.winograd import WinogradConv2D

# The layers of each level: its convolutions (encoder and decoder), the pooling that leads
# into it and the upsampling that lands on it.
LEVEL_OF_LAYER = {
    **{f"g_conv{level}_{i}": level for level in LEVELS for i in (1, 2)},
    **{f"g_conv{10 - level}_{i}": level for level in (1, 2, 3, 4) for i in (1, 2)},
    **{f"pool{level - 1}": level for level in (2, 3, 4, 5)},
    **{f"up{10 - level}": level for level in (1, 2, 3, 4)},
}


def _conv_block(x, filters, scope, variant, level):
    """Two 3x3 slim-style convolutions with leaky ReLU: `<scope>_1`, `<scope>_2`."""
    layer = WinogradConv2D if level in variant.winograd_levels else keras.layers.Conv2D
    for index in (1, 2):
        x = layer(
            filters, 3, padding="same", activation=lrelu, name=f"{scope}_{index}",
            dtype=variant.dtype(level),
        )(x)
    return x


def _pool(x, name, variant):
    return keras.layers.MaxPooling2D(2, padding="same", name=name,
                                     dtype=variant.dtype(LEVEL_OF_LAYER[name]))(x)


def _upsample(x, skip, filters, name, variant):
    return UpsampleAndConcat(filters, name=name, dtype=variant.dtype(LEVEL_OF_LAYER[name]))([x, skip])


def build_unet(camera="sony", precision="float32", *, low_precision_from=1, winograd_levels=()):
    """Build the SID U-Net.

    Args:
      camera: "sony" (4 packed Bayer channels in, output 2x the packed size) or "fuji"
        (9 packed X-Trans channels in, output 3x).
      precision: "float32" (the faithful path), "mixed_float16" or "mixed_bfloat16". Under a
        mixed policy the last convolution and depth_to_space still compute in float32.
      low_precision_from: the first level (1-5) that computes in `precision`; the levels above
        it (the larger, shallower ones, where rounding shows most in the image) stay float32.
      winograd_levels: levels whose 3x3 convolutions run as Winograd F(4x4, 3x3) (float32,
        inference only, after `sid_tf2.winograd.prepare_winograd(model)`).

    Returns:
      A `keras.Model` from `[N, H, W, C]` float32 to `[N, bH, bW, 3]`; any H and W work.
    """
    camera = get_camera(camera)
    v = Variant(precision, low_precision_from, tuple(winograd_levels))

    raw = keras.Input(shape=(None, None, camera.in_channels), name="raw")
    conv1 = _conv_block(raw, 32, "g_conv1", v, 1)
    pool1 = _pool(conv1, "pool1", v)
    conv2 = _conv_block(pool1, 64, "g_conv2", v, 2)
    pool2 = _pool(conv2, "pool2", v)
    conv3 = _conv_block(pool2, 128, "g_conv3", v, 3)
    pool3 = _pool(conv3, "pool3", v)
    conv4 = _conv_block(pool3, 256, "g_conv4", v, 4)
    pool4 = _pool(conv4, "pool4", v)
    conv5 = _conv_block(pool4, 512, "g_conv5", v, 5)

    up6 = _upsample(conv5, conv4, 256, "up6", v)
    conv6 = _conv_block(up6, 256, "g_conv6", v, 4)
    up7 = _upsample(conv6, conv3, 128, "up7", v)
    conv7 = _conv_block(up7, 128, "g_conv7", v, 3)
    up8 = _upsample(conv7, conv2, 64, "up8", v)
    conv8 = _conv_block(up8, 64, "g_conv8", v, 2)
    up9 = _upsample(conv8, conv1, 32, "up9", v)
    conv9 = _conv_block(up9, 32, "g_conv9", v, 1)

    # Computed in float32 under any policy: the output is an image in [0, 1] whose last
    # bits matter for PSNR, and the loss is taken on it.
    conv10 = keras.layers.Conv2D(camera.out_filters, 1, name="g_conv10", dtype="float32")(conv9)
    out = DepthToSpace(camera.block_size, name="depth_to_space", dtype="float32")(conv10)
    return keras.Model(raw, out, name=f"sid_unet_{camera.name}")


def model_variant(model):
    """The `Variant` a `build_unet` model computes with, read from its layers."""
    precision = model.get_layer("g_conv5_1").dtype_policy.name
    low = min(level for level in LEVELS
              if model.get_layer(f"g_conv{level}_1").dtype_policy.name == precision)
    winograd = tuple(level for level in LEVELS
                     if type(model.get_layer(f"g_conv{level}_1")).__name__ == "WinogradConv2D")
    return Variant(precision, low, winograd)
