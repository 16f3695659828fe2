"""Inference through a frozen graph in a TF1-style session, the way the original ran.

Why: on a CPU with oneDNN (an AVX-512 Zen 4, TensorFlow 2.21), the same Keras model computes
the same output (bit for bit) 3-5 % faster in float32 and about 9 % faster in mixed_bfloat16
when its graph, with the weights frozen into constants, runs in a `tf.compat.v1.Session` than
when a `tf.function` calls it: the port's float32 was 0.94-0.97x the original TF1 graph through
`tf.function` and 1.00-1.03x this way (benchmarks/RESULTS.md, "Tuned settings"). Freezing also
lets Grappler fold the per-call casts of the weights to bfloat16 into constants. With oneDNN off
(Eigen kernels) both ways take the same time.

It costs memory: one inference of a 560x640 tile grows the process by about 660 MB this way
against 270 MB through `tf.function`, a whole frame's peak by about 130 MB (cause not found).
XLA needs `tf.function(jit_compile=True)` and GPUs are not measured here, so `sid_tf2.inference`
uses this runner for whole-image CPU inference without XLA only: tiles are asked for as a
memory budget.
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
