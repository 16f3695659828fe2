"""The original TF1 network and training step, rebuilt with tf.compat.v1 and tf_slim.

This is the reference the Keras port is held to. It is written from ORIGINAL.md, op for op: slim
convolutions in the `g_conv*` scopes, leaky ReLU as `max(0.2 x, x)`, slim max-pooling, unnamed
`tf.Variable` upsampling filters (hence `Variable` .. `Variable_3`), `conv2d_transpose` shaped by
the skip tensor, `depth_to_space`, the L1 loss and TF1's `AdamOptimizer`. Variables are TF1
reference variables, as in the original, so a checkpoint saved here has exactly the published
names and the published meta graph can restore it.

Everything lives in a private `tf.Graph` with its own session: the default graph and TF2's eager
state are never touched, so the reference can sit next to Keras models in one test process.

`PublishedMetaGraph` (published_graph.py, re-exported here) runs the authors' own saved graph
behind the same interface, which checks this rebuild against the original itself.
"""

import warnings

import tensorflow as tf
import tf_slim as slim

from parity_tests.published_graph import GraphSession, PublishedMetaGraph
from sid_tf2.model import get_camera

__all__ = ["PublishedMetaGraph", "ReferenceNetwork", "network"]

v1 = tf.compat.v1


def lrelu(x):
    return tf.maximum(x * 0.2, x)


def upsample_and_concat(x1, x2, output_channels, in_channels):
    """The original's upsampling: an unnamed truncated-normal filter, output shaped by x2."""
    shape = [2, 2, output_channels, in_channels]
    deconv_filter = v1.Variable(v1.truncated_normal(shape, stddev=0.02))
    deconv = v1.nn.conv2d_transpose(x1, deconv_filter, tf.shape(x2), strides=[1, 2, 2, 1])
    return tf.concat([deconv, x2], 3)


def _conv_pair(x, filters, scope):
    for index in (1, 2):
        x = slim.conv2d(x, filters, [3, 3], rate=1, activation_fn=lrelu, scope=f"{scope}_{index}")
    return x


def network(input_image, camera):
    """The SID U-Net of ORIGINAL.md: `[N, H, W, C]` -> `[N, bH, bW, 3]`."""
    conv1 = _conv_pair(input_image, 32, "g_conv1")
    pool1 = slim.max_pool2d(conv1, [2, 2], padding="SAME")
    conv2 = _conv_pair(pool1, 64, "g_conv2")
    pool2 = slim.max_pool2d(conv2, [2, 2], padding="SAME")
    conv3 = _conv_pair(pool2, 128, "g_conv3")
    pool3 = slim.max_pool2d(conv3, [2, 2], padding="SAME")
    conv4 = _conv_pair(pool3, 256, "g_conv4")
    pool4 = slim.max_pool2d(conv4, [2, 2], padding="SAME")
    conv5 = _conv_pair(pool4, 512, "g_conv5")

    up6 = upsample_and_concat(conv5, conv4, 256, 512)
    conv6 = _conv_pair(up6, 256, "g_conv6")
    up7 = upsample_and_concat(conv6, conv3, 128, 256)
    conv7 = _conv_pair(up7, 128, "g_conv7")
    up8 = upsample_and_concat(conv7, conv2, 64, 128)
    conv8 = _conv_pair(up8, 64, "g_conv8")
    up9 = upsample_and_concat(conv8, conv1, 32, 64)
    conv9 = _conv_pair(up9, 32, "g_conv9")

    conv10 = slim.conv2d(
        conv9, camera.out_filters, [1, 1], rate=1, activation_fn=None, scope="g_conv10"
    )
    return tf.nn.depth_to_space(conv10, camera.block_size)


class ReferenceNetwork(GraphSession):
    """The original network and its Adam training step, built from ORIGINAL.md.

    Args:
      camera: "sony" or "fuji".
      train_deconv: False trains only the `g_*` variables, as the published model was trained
        (120 checkpoint tensors); True trains all variables, as later code does (128).
      seed: graph-level seed of the original initialisers (Glorot weights, zero biases,
        truncated-normal upsampling filters) run at construction.
    """

    def __init__(self, camera="sony", train_deconv=False, seed=0):
        super().__init__()
        self.camera = get_camera(camera)
        self.train_deconv = train_deconv
        with self.graph.as_default(), warnings.catch_warnings():
            # tf_slim goes through TF's legacy layers, which warn about their own `apply`.
            warnings.filterwarnings("ignore", message=".*layer.apply.*is deprecated")
            v1.set_random_seed(seed)
            # Reference (not resource) variables, as TF 1.3 made them; TF2 would default to
            # resource variables, whose ops differ from the published graph's.
            with v1.variable_scope(v1.get_variable_scope(), use_resource=False):
                self._build()
            self.saver = v1.train.Saver(max_to_keep=None)
            self.session.run(v1.global_variables_initializer())

    def _build(self):
        channels = self.camera.in_channels
        self.input = v1.placeholder(tf.float32, [None, None, None, channels])
        self.ground_truth = v1.placeholder(tf.float32, [None, None, None, 3])
        self.output = network(self.input, self.camera)
        self.loss = tf.reduce_mean(tf.abs(self.output - self.ground_truth))
        self.learning_rate = v1.placeholder(tf.float32)
        trainable = v1.trainable_variables()
        if not self.train_deconv:
            trainable = [v for v in trainable if v.name.startswith("g_")]
        self.train_op = v1.train.AdamOptimizer(learning_rate=self.learning_rate).minimize(
            self.loss, var_list=trainable
        )
