"""The registered Keras pieces of the SID U-Net that Keras does not provide as-is.

Each one mirrors an operation of the original TF1 graph exactly, and each is registered with
`keras.saving.register_keras_serializable` so that a saved `.keras` model reloads without
`custom_objects` or `safe_mode` changes (a `Lambda` layer would not).
"""

import keras
import tensorflow as tf

PACKAGE = "sid_tf2"


@keras.saving.register_keras_serializable(package=PACKAGE)
def lrelu(x):
    """The original's leaky ReLU, written as it was: `max(0.2 * x, x)`.

    Keeping the max form (rather than `keras.activations.leaky_relu`) keeps the gradient at
    exactly zero identical to the TF1 graph's `Maximum` op.
    """
    return tf.maximum(0.2 * x, x)


@keras.saving.register_keras_serializable(package=PACKAGE)
class UpsampleAndConcat(keras.layers.Layer):
    """2x transposed convolution shaped by the skip tensor, then concatenation with the skip.

    The original calls `tf.nn.conv2d_transpose(x, filter, output_shape=tf.shape(skip),
    strides=2, padding="SAME")` with a bias-free filter of shape `[2, 2, filters, in_channels]`.
    Taking the output size from the skip tensor at run time is what lets odd input sizes work:
    a 2x2 stride-2 transposed convolution of an `h x w` map is `2h x 2w`, and when the skip is
    `(2h - 1)` high, SAME padding in TF puts the missing row at the bottom (and the missing
    column at the right), so the result is the full `2h x 2w` output cropped at the bottom and
    right. `keras.layers.Conv2DTranspose` computes its output size statically from the input
    alone and cannot reproduce that, hence this layer.

    Inputs: `[x, skip]`; output: `concat([upsampled, skip], axis=-1)` with
    `filters + skip_channels` channels.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)

    def build(self, input_shape):
        x_shape, skip_shape = input_shape
        if skip_shape[-1] != self.filters:
            raise ValueError(
                f"{self.name}: the skip tensor has {skip_shape[-1]} channels but the layer "
                f"upsamples to {self.filters}; the original network requires them equal."
            )
        # Same initializer as the original: tf.truncated_normal(stddev=0.02), no bias.
        self.kernel = self.add_weight(
            name="kernel",
            shape=(2, 2, self.filters, x_shape[-1]),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )

    def call(self, inputs):
        x, skip = inputs
        kernel = tf.cast(self.kernel, x.dtype)
        upsampled = tf.nn.conv2d_transpose(
            x, kernel, output_shape=tf.shape(skip), strides=[1, 2, 2, 1], padding="SAME"
        )
        return tf.concat([upsampled, skip], axis=3)

    def compute_output_shape(self, input_shape):
        _, skip_shape = input_shape
        channels = None if skip_shape[-1] is None else self.filters + skip_shape[-1]
        return tuple(skip_shape[:-1]) + (channels,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DepthToSpace(keras.layers.Layer):
    """TensorFlow's `depth_to_space` (DCR order), the last op of the original network.

    TF's channel order differs from a plain pixel shuffle (PyTorch's `pixel_shuffle` is CRD),
    so this calls `tf.nn.depth_to_space` itself instead of reshaping by hand.
    """

    def __init__(self, block_size, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, x):
        return tf.nn.depth_to_space(x, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        b = self.block_size
        return (
            n,
            None if h is None else h * b,
            None if w is None else w * b,
            None if c is None else c // (b * b),
        )

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}
