"""tf.distribute for training: one device, several GPUs of a machine, or several machines.

`mirrored` replicates the model on every visible GPU (or every logical CPU device) of one machine;
`multi_worker` spans machines described by the TF_CONFIG environment variable. Only the chief
writes the run's checkpoints, images and logs; other workers write their checkpoints under
`result_dir/workers/<task>-<id>/`, as TensorFlow recommends, so no two processes write one file.
"""

import json
import os

import tensorflow as tf


def make_strategy(name):
    """The strategy for "none", "mirrored" or "multi_worker"."""
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # Every GPU; without GPUs, every logical CPU device (train_sony.py --cpu_devices), which
        # MirroredStrategy would otherwise reduce to one.
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--distribute=multi_worker reads the cluster from TF_CONFIG, which is not set: "
                'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\' on the first machine.'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown distribution {name!r}: none, mirrored or multi_worker.")


def _task(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None, 0, {}
    return resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict()


def is_chief(strategy):
    """True for the process that writes the run's outputs."""
    task_type, task_id, cluster = _task(strategy)
    if task_type is None:
        return True
    return task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in cluster)


def worker_result_dir(result_dir, strategy):
    task_type, task_id, _ = _task(strategy)
    return os.path.join(result_dir, "workers", f"{task_type}-{task_id}")


def describe(strategy):
    """A one-line account of the devices and workers in use."""
    task_type, task_id, cluster = _task(strategy)
    where = f"{strategy.num_replicas_in_sync} replica(s)"
    if task_type is not None:
        where += f", task {task_type}-{task_id} of {json.dumps(cluster)}"
    return where
