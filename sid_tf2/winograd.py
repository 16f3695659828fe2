"""Winograd F(4x4, 3x3): the network's 3x3 convolutions with 2.25x fewer multiplications.

A direct 3x3 convolution spends 9 multiply-adds per input channel on each output pixel. The
minimal filtering algorithm of Winograd (applied to CNNs by Lavin and Gray, 2016) computes a
4x4 block of outputs from a 6x6 block of inputs with 36 products per channel pair instead of
144: the input block and the filter are carried into a transformed domain (B^T d B, G g G^T),
multiplied element by element (for all channels at once, 36 matrix products), and brought back
(A^T m A). On wide layers, where the channel products dominate, that is a real saving; on narrow
ones the transforms cost more than they save, which is why `sid_tf2.tuning` measures where it
wins on the machine instead of assuming it.

The transforms add rounding: the filter transform is therefore done once, in float64, and the
result is checked against the direct convolution (`tests/test_winograd.py`: about 1e-6 of the
output's scale in float32). Inference only: the transformed filters are a copy of the weights,
made by `WinogradConv2D.prepare()` after the weights are set.

Convolution in TensorFlow is a correlation (out[i] = sum_k in[i + k] w[k]); the matrices below,
for the interpolation points 0, 1, -1, 2, -2 and infinity, compute exactly that.
"""

import keras
import numpy as np
import tensorflow as tf

from sid_tf2.layers import PACKAGE

TILE = 4  # output pixels per tile side
SPAN = 6  # input pixels per tile side: TILE + 3 - 1

# Input transform B^T (6x6), filter transform G (6x3), output transform A^T (4x6).
B_T = np.array([
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
], np.float64)
G = np.array([
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
], np.float64)
A_T = np.array([
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
], np.float64)


def transform_filter(kernel):
    """G g G^T of a [3, 3, in, out] kernel, in float64: [6, 6, in, out] float32."""
    kernel = np.asarray(kernel, np.float64)
    return np.einsum("ia,abco,kb->ikco", G, kernel, G).astype(np.float32)


def _combine(matrix, parts):
    """Rows of `matrix` applied to a list of equally shaped tensors (skipping zero terms)."""
    result = []
    for row in matrix:
        terms = [float(c) * part if c not in (1, -1) else (part if c == 1 else -part)
                 for c, part in zip(row, parts) if c]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        result.append(total)
    return result


def winograd_conv3x3(x, transformed):
    """SAME, stride-1 3x3 convolution of x [N, H, W, C] with a filter already carried into the
    Winograd domain ([6, 6, C, O], `transform_filter`); returns [N, H, W, O] without bias."""
    shape = tf.shape(x)
    n, h, w = shape[0], shape[1], shape[2]
    channels, filters = transformed.shape[2], transformed.shape[3]
    tiles_h, tiles_w = (h + TILE - 1) // TILE, (w + TILE - 1) // TILE
    # SAME padding of a 3x3 filter is one pixel on each side; pad the bottom and right further
    # so that the tiles cover the image exactly (the extra outputs are cut off at the end).
    padded = tf.pad(x, [[0, 0], [1, TILE * tiles_h + 1 - h], [1, TILE * tiles_w + 1 - w], [0, 0]])
    rows = [padded[:, j:j + TILE * tiles_h:TILE] for j in range(SPAN)]  # [N, th, Wp, C] each
    rows = _combine(B_T, rows)
    inputs = []
    for row in rows:
        columns = [row[:, :, j:j + TILE * tiles_w:TILE] for j in range(SPAN)]  # [N, th, tw, C]
        inputs.extend(_combine(B_T, columns))
    count = n * tiles_h * tiles_w
    v = tf.reshape(tf.stack(inputs), [SPAN * SPAN, count, channels])
    u = tf.reshape(tf.cast(transformed, x.dtype), [SPAN * SPAN, channels, filters])
    m = tf.matmul(v, u)  # [36, tiles, O]: the element-wise products, summed over channels
    m = [[m[SPAN * i + k] for k in range(SPAN)] for i in range(SPAN)]  # m[i][k]: [tiles, O]
    # Y = A^T M A: first over i (rows), then over k (columns).
    by_column = [_combine(A_T, [m[i][k] for i in range(SPAN)]) for k in range(SPAN)]  # [k][a]
    y = [_combine(A_T, [by_column[k][a] for k in range(SPAN)]) for a in range(TILE)]  # [a][b]
    y = tf.stack([tf.stack(row) for row in y])  # [4, 4, tiles, O]
    y = tf.reshape(y, [TILE, TILE, n, tiles_h, tiles_w, filters])
    y = tf.transpose(y, [2, 3, 0, 4, 1, 5])  # [N, th, 4, tw, 4, O]
    y = tf.reshape(y, [n, TILE * tiles_h, TILE * tiles_w, filters])
    return y[:, :h, :w]


# Each layer's transforms and products compiled by XLA into a few fused loops, whether or not
# the rest of the model is: unfused, the transforms' many whole-tensor temporaries cost more
# than the saved products (a full Sony frame, Zen 4: levels 4-5 0.91x, 3-5 0.63x the direct
# convolution's time); fused, the widest layers of levels 4 and 5 run 1.6-1.9x as fast as
# oneDNN's direct convolution, level 3's 1.4x, levels 1-2 lose (bench_winograd_layer.py). The
# tuner measures which levels gain in the whole network.
compiled_winograd_conv3x3 = tf.function(winograd_conv3x3, jit_compile=True)


@keras.saving.register_keras_serializable(package=PACKAGE)
class WinogradConv2D(keras.layers.Conv2D):
    """A 3x3, stride-1, SAME `Conv2D` (same weights, same name) computed by Winograd F(4x4, 3x3)
    once `prepare()` has transformed its kernel; before that, as a plain Conv2D.

    The transformed kernel is a constant of the traced function, so `prepare()` must run after
    the weights are final and before the first call: inference only.
    """

    def prepare(self):
        if tuple(self.kernel_size) != (3, 3) or tuple(self.strides) != (1, 1) or self.padding != "same":
            raise ValueError(f"{self.name}: Winograd F(4x4, 3x3) needs a 3x3, stride-1, SAME convolution.")
        self.winograd_kernel = transform_filter(self.kernel.numpy())

    def call(self, inputs):
        transformed = getattr(self, "winograd_kernel", None)
        if transformed is None:
            return super().call(inputs)
        outputs = compiled_winograd_conv3x3(inputs, tf.constant(transformed))
        outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        return self.activation(outputs)


def prepare_winograd(model):
    """Transform the kernels of every `WinogradConv2D` of a model (after its weights are set)."""
    layers = [layer for layer in model.layers if isinstance(layer, WinogradConv2D)]
    for layer in layers:
        layer.prepare()
    return len(layers)
