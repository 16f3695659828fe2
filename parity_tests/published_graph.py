"""The authors' published TF1 training graph, run behind the reference interface.

`GraphSession` is what the TF1 reference (tf1_reference.py) and the published meta graph share:
a private `tf.Graph` and session, strict loading of every variable by TF1 name, Saver restore and
save, a forward pass and one original training step. It needs no tf_slim: a meta graph holds its
own ops, so the published graph can check the port on machines without the `parity` extra.
"""

import os

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1


def _resolve_prefix(path):
    """A checkpoint prefix from a prefix or a directory holding a `checkpoint` state file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        prefix = tf.train.latest_checkpoint(path)
        if prefix is None:
            raise FileNotFoundError(f"{path}: no `checkpoint` state file naming a checkpoint.")
        return prefix
    return path


class GraphSession:
    """A graph, its session and the shared load/values/restore/save/forward/train interface.

    Subclasses set `input`, `output`, `ground_truth`, `learning_rate`, `loss`, `train_op` and
    `saver` inside `self.graph`.
    """

    def __init__(self):
        self.graph = tf.Graph()
        self.session = v1.Session(graph=self.graph)
        self._assign = None  # {name: (placeholder, assign op)}, built on first load()

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def variables(self):
        """{tf1_name: variable} of every global variable of the graph."""
        with self.graph.as_default():
            return {v.op.name: v for v in v1.global_variables()}

    def shapes(self):
        """{tf1_name: shape tuple} of every global variable: what a Saver would write."""
        return {name: tuple(v.shape.as_list()) for name, v in self.variables.items()}

    def load(self, values):
        """Assign every global variable (weights, Adam slots, beta powers) from {tf1_name: array}.

        Strict: a missing, unexpected or misshapen tensor is an error, and nothing is assigned
        unless everything matches.
        """
        variables = self.variables
        missing = sorted(set(variables) - set(values))
        unexpected = sorted(set(values) - set(variables))
        if missing or unexpected:
            raise ValueError(f"load: missing {missing}, unexpected {unexpected}.")
        wrong = {
            name: (np.shape(values[name]), tuple(v.shape.as_list()))
            for name, v in variables.items()
            if np.shape(values[name]) != tuple(v.shape.as_list())
        }
        if wrong:
            raise ValueError(f"load: shape mismatch (given, expected): {wrong}.")
        if self._assign is None:
            with self.graph.as_default():
                self._assign = {}
                for name, v in variables.items():
                    placeholder = v1.placeholder(v.dtype.base_dtype, v.shape, name=f"load/{name}")
                    self._assign[name] = (placeholder, v1.assign(v, placeholder).op)
        ops, feed = [], {}
        for name, (placeholder, op) in self._assign.items():
            feed[placeholder] = np.asarray(values[name], dtype=np.float32)
            ops.append(op)
        self.session.run(ops, feed)

    def values(self):
        """{tf1_name: numpy array} of every global variable."""
        variables = self.variables
        names = sorted(variables)
        arrays = self.session.run([variables[name] for name in names])
        return dict(zip(names, arrays))

    def restore(self, prefix):
        """Restore every global variable from a TF1 checkpoint (prefix or its directory)."""
        # Inside the graph: outside it a Saver believes it runs eagerly.
        with self.graph.as_default():
            self.saver.restore(self.session, _resolve_prefix(prefix))

    def save(self, prefix, write_meta_graph=False):
        """Write a TF1 checkpoint at `prefix` (with its `checkpoint` state file); return it."""
        with self.graph.as_default():
            return self.saver.save(
                self.session, os.fspath(prefix), write_meta_graph=write_meta_graph
            )

    def forward(self, inputs):
        return self.session.run(self.output, {self.input: np.asarray(inputs, np.float32)})

    def train_step(self, inputs, ground_truth, learning_rate):
        """One Adam step on the L1 loss, run as the original does; returns the loss.

        The loss is evaluated in the same run as the update, i.e. before the weights change.
        """
        _, loss = self.session.run(
            [self.train_op, self.loss],
            {
                self.input: np.asarray(inputs, np.float32),
                self.ground_truth: np.asarray(ground_truth, np.float32),
                self.learning_rate: learning_rate,
            },
        )
        return float(loss)


class PublishedMetaGraph(GraphSession):
    """The authors' saved training graph (model.ckpt.meta), imported into a fresh graph.

    The tensor names were read from the published Sony meta graph (saved by TF 1.3): input
    `Placeholder:0`, ground truth `Placeholder_1:0`, output `DepthToSpace:0`, the L1 loss
    `Mean:0`, learning rate `Placeholder_2:0` (a float32 of unknown shape), and the training op
    `Adam` (a NoOp grouping 38 ApplyAdam updates and the two beta-power assignments).

    It holds no values: restore() a complete checkpoint (index and data) first. Only the Sony
    meta graph is in the reference files; a Fuji one would work the same way.
    """

    def __init__(self, meta_path):
        super().__init__()
        with self.graph.as_default():
            self.saver = v1.train.import_meta_graph(os.fspath(meta_path), clear_devices=True)
            get = self.graph.get_tensor_by_name
            self.input = get("Placeholder:0")
            self.ground_truth = get("Placeholder_1:0")
            self.learning_rate = get("Placeholder_2:0")
            self.output = get("DepthToSpace:0")
            self.loss = get("Mean:0")
            self.train_op = self.graph.get_operation_by_name("Adam")
