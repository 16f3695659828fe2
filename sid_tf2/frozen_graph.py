"""Inference through a frozen graph in a TF1-style session, the way the original ran.

Why: on a CPU with oneDNN (an AVX-512 Zen 4, TensorFlow 2.21), the same float32 Keras model
computes the same output (bit for bit) faster when its graph, with the weights frozen into
constants, runs in a `tf.compat.v1.Session` than when a `tf.function` calls it. Measured in
interleaved rounds of a full Sony frame against the published graph on a quiet machine (issue
20): frozen 1.015x the original (5.44-5.63 s), `tf.function` 0.949x (5.71-6.61 s), spreads
apart. In mixed_bfloat16 the two were within noise (1.97x against 1.93x, spreads overlapping),
so only float32 runs this way: `sid_tf2.inference` uses it for whole-image float32 inference on
a CPU without XLA or Winograd layers (test_sony.py's default), never for tiles, which are asked
for as a memory budget.

It costs memory: freezing passes the graph through copies (freed and handed back below), and a
whole float32 frame peaked at 3.4 GB this way against the original graph's 3.25 GB (issue 13);
tiles stay with `tf.function`. The weights are frozen at construction, the same snapshot
semantics as every other predictor.
"""

import ctypes
import gc

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2


def _release_freed_memory():
    """Hand the heap's free pages back to the system (glibc only; elsewhere nothing).

    Freezing passes the graph through several copies, about 250 MB for this network, that
    Python and TensorFlow free but glibc keeps mapped: without this, every byte of them would
    count on top of the inference's own peak."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)  # the process's own symbols: libc's, without a search
    except (OSError, AttributeError):
        pass


class FrozenGraphRunner:
    """A callable from a packed float32 NumPy batch to the model's NumPy output, computed by
    the model's inference graph with its current weights frozen in.

    The weights are copied at construction: a runner does not see later weight updates.
    """

    def __init__(self, model):
        signature = tf.TensorSpec([None, None, None, model.input_shape[-1]], tf.float32)
        concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(signature)
        frozen = convert_variables_to_constants_v2(concrete)
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), name="")
        self._feed = frozen.inputs[0].name
        self._fetch = frozen.outputs[0].name
        del concrete, frozen
        _release_freed_memory()
        self._session = tf.compat.v1.Session(graph=self.graph)

    def __call__(self, packed):
        return self._session.run(self._fetch, {self._feed: packed})

    def close(self):
        self._session.close()
