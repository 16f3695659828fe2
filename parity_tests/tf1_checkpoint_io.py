"""Writing and reading TF1 (V2 format) checkpoints without tf_slim and without a graph.

The converter's tests need real TF1 checkpoints in both layouts, with random values, on machines
that have neither the published weights nor tf_slim. A TF1 checkpoint is only an index, a data
file and a `checkpoint` state file, and `tf.raw_ops.SaveV2` writes the first two from named
tensors exactly as TF1's Saver does for plain variables, so no graph is needed.
"""

import os

import numpy as np
import tensorflow as tf


def write_tf1_checkpoint(prefix, values):
    """Write `values` ({tf1_name: array}) as the TF1 checkpoint `prefix` and return the prefix.

    Writes `<prefix>.index`, `<prefix>.data-00000-of-00001` and, beside them, the `checkpoint`
    state file naming this prefix (relative, as the published ones do), so that both the prefix
    and its directory can be given to a loader. Must run eagerly.
    """
    if not tf.executing_eagerly():
        raise RuntimeError("write_tf1_checkpoint runs eagerly; call it outside any tf.Graph.")
    if not values:
        raise ValueError("write_tf1_checkpoint: no tensors given.")
    prefix = os.fspath(prefix)
    directory = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(directory, exist_ok=True)
    names = sorted(values)
    tensors = [tf.constant(np.asarray(values[name])) for name in names]
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=tensors,
    )
    _write_state_file(directory, os.path.basename(prefix))
    return prefix


def _write_state_file(directory, name):
    """The `checkpoint` text proto TF1's Saver writes, naming `name` relative to `directory`."""
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = f"model_checkpoint_path: {quoted}\nall_model_checkpoint_paths: {quoted}\n"
    temporary = os.path.join(directory, "checkpoint.tmp")
    with open(temporary, "w") as f:
        f.write(text)
    os.replace(temporary, os.path.join(directory, "checkpoint"))


def read_tf1_checkpoint(prefix):
    """Every tensor of a TF1 checkpoint (prefix or directory) as {tf1_name: numpy array}."""
    reader = tf.train.load_checkpoint(os.fspath(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def checkpoint_shapes_of(prefix):
    """{tf1_name: shape tuple} of a checkpoint; works on an index without its data file."""
    return {name: tuple(shape) for name, shape in tf.train.list_variables(os.fspath(prefix))}
