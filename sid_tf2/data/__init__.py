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

from sid_tf2.data.cache import CachedGroundTruth, CachedInput, RawCache, infer_camera, prepare_cache
from sid_tf2.data.check import CheckReport, Problem, check_dataset, count_list
from sid_tf2.data.discovery import (MISALIGNED_SCENES, DatasetError, Pair, Scene, camera_from_extension,
                                    discover_pairs, discover_scenes, pairs_of, read_list_file, split_of)
from sid_tf2.data.pipeline import EvalExample, TrainSampler, make_eval_pairs, make_train_dataset, release_freed_memory
from sid_tf2.data.sampling import Draw, augment, draw_sample, epoch_order, packed_shape
from sid_tf2.data.subset import count_by_ratio, subset_scenes

__all__ = [
    "MISALIGNED_SCENES",
    "CachedGroundTruth",
    "CachedInput",
    "CheckReport",
    "DatasetError",
    "Draw",
    "EvalExample",
    "Pair",
    "Problem",
    "RawCache",
    "Scene",
    "TrainSampler",
    "augment",
    "camera_from_extension",
    "check_dataset",
    "count_by_ratio",
    "count_list",
    "discover_pairs",
    "discover_scenes",
    "draw_sample",
    "epoch_order",
    "infer_camera",
    "make_eval_pairs",
    "make_train_dataset",
    "packed_shape",
    "pairs_of",
    "prepare_cache",
    "read_list_file",
    "release_freed_memory",
    "split_of",
    "subset_scenes",
]
