"""The SID U-Net as a Keras functional model, written to read top to bottom against the
original TF1 `network()` function.

Layer names equal the TF1 variable scopes (`g_conv1_1` ... `g_conv10`) so that the checkpoint
converter's name table is a plain listing. The four upsampling filters, unnamed `tf.Variable`s in
the original (`Variable` .. `Variable_3`), live in the layers `up6` .. `up9`, named after the
original's Python variables.
"""

import dataclasses

import keras

from sid_tf2.constants import PRECISIONS
from sid_tf2.layers import DepthToSpace, UpsampleAndConcat, lrelu


@dataclasses.dataclass(frozen=True)
class Camera:
    """What differs between the Sony (Bayer) and Fuji (X-Trans) networks."""

    name: str
    in_channels: int  # channels of the packed raw input
    block_size: int  # depth_to_space factor: output is block_size times the packed size

    @property
    def out_filters(self):
        """Filters of g_conv10: 3 colour channels for each of block_size**2 output pixels."""
        return 3 * self.block_size**2


CAMERAS = {
    "sony": Camera("sony", in_channels=4, block_size=2),
    "fuji": Camera("fuji", in_channels=9, block_size=3),
}


def get_camera(camera):
    """Return the `Camera` for a name ("sony" or "fuji", any case) or pass one through."""
    if isinstance(camera, Camera):
        return camera
    try:
        return CAMERAS[str(camera).lower()]
    except KeyError:
        raise ValueError(
            f"Unknown camera {camera!r}: expected one of {sorted(CAMERAS)}."
        ) from None


def _conv_block(x, filters, scope, dtype):
    """Two 3x3 slim-style convolutions with leaky ReLU: `<scope>_1`, `<scope>_2`."""
    for index in (1, 2):
        x = keras.layers.Conv2D(
            filters, 3, padding="same", activation=lrelu, name=f"{scope}_{index}", dtype=dtype
        )(x)
    return x


def _pool(x, name, dtype):
    return keras.layers.MaxPooling2D(2, padding="same", name=name, dtype=dtype)(x)


def build_unet(camera="sony", precision="float32"):
    """Build the SID U-Net.

    Args:
      camera: "sony" (4 packed Bayer channels in, output 2x the packed size) or "fuji"
        (9 packed X-Trans channels in, output 3x).
      precision: "float32" (the faithful path), "mixed_float16" or "mixed_bfloat16". Under a
        mixed policy the last convolution and depth_to_space still compute in float32.

    Returns:
      A `keras.Model` from `[N, H, W, C]` float32 to `[N, bH, bW, 3]`; any H and W work.
    """
    camera = get_camera(camera)
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}: expected one of {PRECISIONS}.")
    dtype = precision

    raw = keras.Input(shape=(None, None, camera.in_channels), name="raw")
    conv1 = _conv_block(raw, 32, "g_conv1", dtype)
    pool1 = _pool(conv1, "pool1", dtype)
    conv2 = _conv_block(pool1, 64, "g_conv2", dtype)
    pool2 = _pool(conv2, "pool2", dtype)
    conv3 = _conv_block(pool2, 128, "g_conv3", dtype)
    pool3 = _pool(conv3, "pool3", dtype)
    conv4 = _conv_block(pool3, 256, "g_conv4", dtype)
    pool4 = _pool(conv4, "pool4", dtype)
    conv5 = _conv_block(pool4, 512, "g_conv5", dtype)

    up6 = UpsampleAndConcat(256, name="up6", dtype=dtype)([conv5, conv4])
    conv6 = _conv_block(up6, 256, "g_conv6", dtype)
    up7 = UpsampleAndConcat(128, name="up7", dtype=dtype)([conv6, conv3])
    conv7 = _conv_block(up7, 128, "g_conv7", dtype)
    up8 = UpsampleAndConcat(64, name="up8", dtype=dtype)([conv7, conv2])
    conv8 = _conv_block(up8, 64, "g_conv8", dtype)
    up9 = UpsampleAndConcat(32, name="up9", dtype=dtype)([conv8, conv1])
    conv9 = _conv_block(up9, 32, "g_conv9", dtype)

    # Computed in float32 under any policy: the output is an image in [0, 1] whose last
    # bits matter for PSNR, and the loss is taken on it.
    conv10 = keras.layers.Conv2D(camera.out_filters, 1, name="g_conv10", dtype="float32")(conv9)
    out = DepthToSpace(camera.block_size, name="depth_to_space", dtype="float32")(conv10)
    return keras.Model(raw, out, name=f"sid_unet_{camera.name}")
