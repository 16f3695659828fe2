"""Datasets in the SID layout: discovery, a memory-mapped disk cache, tf.data pipelines, checks.

    from sid_tf2 import data

    scenes = data.discover_scenes("dataset/Sony", split="train")      # the original's glob
    cache = data.prepare_cache(scenes, "dataset/Sony/.cache")           # decode once, up front
    sampler = data.TrainSampler(scenes, cache, camera="sony", patch_size=512, seed=0)
    for epoch in range(1, 4001):
        for inputs, gt in sampler.dataset(epoch):                       # or make_train_dataset(...)
            ...
    for example in data.make_eval_pairs(data.discover_pairs("dataset/Sony", split="test"), cache):
        ...                                                             # full images, one at a time

Modules: `discovery` (scenes and pairs), `cache` (decoded arrays on disk), `sampling` (the
original's random crops as pure functions of seed, epoch and index), `pipeline` (tf.data),
`check` (every problem of a dataset; `python -m sid_tf2.data`), `subset` (a few pairs
per ratio, for fine-tuning).
"""

import importlib

# Loaded on first use (PEP 562): `python -m sid_tf2.data --help` and the modules that need only
# discovery or the cache do not pay for TensorFlow, which the pipelines import.
_LAZY = {
    "CachedGroundTruth": "sid_tf2.data.cache",
    "CachedInput": "sid_tf2.data.cache",
    "CheckReport": "sid_tf2.data.check",
    "DatasetError": "sid_tf2.data.discovery",
    "Draw": "sid_tf2.data.sampling",
    "EvalExample": "sid_tf2.data.pipeline",
    "MISALIGNED_SCENES": "sid_tf2.data.discovery",
    "Pair": "sid_tf2.data.discovery",
    "Problem": "sid_tf2.data.check",
    "RawCache": "sid_tf2.data.cache",
    "Scene": "sid_tf2.data.discovery",
    "TrainSampler": "sid_tf2.data.pipeline",
    "augment": "sid_tf2.data.sampling",
    "camera_from_extension": "sid_tf2.data.discovery",
    "check_dataset": "sid_tf2.data.check",
    "count_by_ratio": "sid_tf2.data.subset",
    "count_list": "sid_tf2.data.check",
    "discover_pairs": "sid_tf2.data.discovery",
    "discover_scenes": "sid_tf2.data.discovery",
    "draw_sample": "sid_tf2.data.sampling",
    "epoch_order": "sid_tf2.data.sampling",
    "infer_camera": "sid_tf2.data.cache",
    "make_eval_pairs": "sid_tf2.data.pipeline",
    "make_train_dataset": "sid_tf2.data.pipeline",
    "packed_shape": "sid_tf2.data.sampling",
    "pairs_of": "sid_tf2.data.discovery",
    "prepare_cache": "sid_tf2.data.cache",
    "read_list_file": "sid_tf2.data.discovery",
    "release_freed_memory": "sid_tf2.data.pipeline",
    "split_of": "sid_tf2.data.discovery",
    "subset_scenes": "sid_tf2.data.subset",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sid_tf2.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
