"""tf.data pipelines over the disk cache: random training patches and full evaluation images.

    cache = prepare_cache(scenes, cache_dir)              # decode once, errors name the file
    for epoch in range(start, epochs + 1):
        for inputs, gt in make_train_dataset(scenes, cache, seed=0, epoch=epoch):
            ...                                         # [1, 512, 512, 4], [1, 1024, 1024, 3]

One call gives one epoch. Each element is a NumPy function that reads only its crop from the
memory-mapped cache, so memory does not grow with the dataset; the map runs in parallel with
`deterministic=True`, and every random choice is a function of (seed, epoch, element index)
(see `sampling`), so a resumed run's epoch e equals the uninterrupted run's epoch e.
"""

import ctypes
import dataclasses

import numpy as np
import tensorflow as tf

from sid_tf2.data.cache import as_cache, infer_camera
from sid_tf2.data.discovery import DatasetError, Pair, Scene, pairs_of
from sid_tf2.data.sampling import (
    CAMERA_BLOCK,
    CAMERA_CHANNELS,
    check_camera,
    draw_sample,
    epoch_order,
    load_eval_example,
    load_train_example,
    packed_shape,
    size_mismatch,
)


def _find_malloc_trim():
    """glibc's malloc_trim, or None (other C libraries)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()
RELEASE_EVERY = 8  # elements between release_freed_memory() calls (benchmarks: ~4 ms CPU per patch)


def release_freed_memory():
    """Hand memory that NumPy has freed back to the system (glibc's `malloc_trim(0)`; ~2 ms).

    Why: each element allocates and frees tens of MB (a 2048x2048x3 float32 crop is 50 MB);
    glibc keeps such freed blocks in its heaps, fragmented across threads, so without this the
    resident memory of a training process creeps up by hundreds of MB over the first epochs of
    a large dataset (benchmarks/RESULTS_pipeline_memory.md). A no-op elsewhere.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _check_scenes(scenes):
    scenes = list(scenes)
    if not scenes:
        raise DatasetError("No scenes to train on: check the data directory, list file and split.")
    for scene in scenes:
        if not isinstance(scene, Scene):
            raise TypeError(f"make_train_dataset takes Scene objects, got {type(scene).__name__}.")
        if not scene.input_paths:
            raise DatasetError(f"Scene {scene.scene_id:05d} ({scene.gt_path}) has no input files.")
    return scenes


def _check_entry(pair, entry, gt_entry, camera, patch_size):
    """Camera, size and pairing checks done before training (errors name the files)."""
    if entry.camera != camera:
        raise DatasetError(
            f"{pair.input_path}: its mosaic is {'X-Trans (fuji)' if entry.camera == 'fuji' else 'Bayer (sony)'} "
            f"but camera={camera!r} was asked for.")
    mismatch = size_mismatch(entry.shape, gt_entry.shape, camera)
    if mismatch:
        raise DatasetError(f"{pair.input_path}: {mismatch} ({pair.gt_path}).")
    height, width = packed_shape(entry.shape, camera)
    if patch_size is not None and (height < patch_size or width < patch_size):
        raise DatasetError(
            f"{pair.input_path}: packed input {height}x{width} is smaller than the patch "
            f"{patch_size}x{patch_size} (mosaic {entry.shape[0]}x{entry.shape[1]}).")
    return height, width


class TrainSampler:
    """The training examples of a list of scenes, as NumPy arrays (what the pipeline maps over).

    Building it decodes whatever is not yet cached (with a progress display) and checks every
    pair's camera and sizes, so problems stop the run here with the file's name.
    """

    def __init__(self, scenes, cache, *, camera="sony", patch_size=512, seed=0, progress=True,
                 column_flips=True):
        self.scenes = _check_scenes(scenes)
        self.column_flips = bool(column_flips)  # False: the released code's no-op column flip
        self.cache = as_cache(cache)
        self.patch_size = int(patch_size)
        if self.patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}.")
        self.seed = int(seed)
        self.order(0)  # checks the seed
        self.cache.prepare(self.scenes, progress=progress)
        self.camera = check_camera(camera) if camera is not None else infer_camera(self.scenes, self.cache)
        self._pairs = []  # per scene: [(pair, input entry, packed shape)], gt entry
        for scene in self.scenes:
            gt_entry = self.cache.ground_truth(scene.gt_path)
            items = []
            for pair in scene.pairs():
                entry = self.cache.input(pair.input_path)
                items.append((pair, entry, _check_entry(pair, entry, gt_entry, self.camera, self.patch_size)))
            self._pairs.append((items, gt_entry))

    @property
    def channels(self):
        return CAMERA_CHANNELS[self.camera]

    @property
    def block(self):
        return CAMERA_BLOCK[self.camera]

    def __len__(self):
        return len(self.scenes)

    def order(self, epoch):
        """The scene indices in the order epoch `epoch` visits them."""
        return epoch_order(len(self.scenes), self.seed, epoch)

    def _draw(self, epoch, index, order):
        scene_index = int((self.order(epoch) if order is None else order)[index])
        items, gt_entry = self._pairs[scene_index]
        draw = draw_sample(self.seed, epoch, index, [shape for _, _, shape in items], self.patch_size,
                           self.camera, self.column_flips)
        return scene_index, items[draw.input_index], gt_entry, draw

    def draw(self, epoch, index, order=None):
        """(scene, pair, draw) of element `index` of epoch `epoch` (`order`: `self.order(epoch)`)."""
        scene_index, (pair, _, _), _, draw = self._draw(epoch, index, order)
        return self.scenes[scene_index], pair, draw

    def example(self, epoch, index, order=None):
        """(input [p, p, C], gt [bp, bp, 3]) float32 of element `index` of epoch `epoch`."""
        _, (pair, entry, _), gt_entry, draw = self._draw(epoch, index, order)
        return load_train_example(entry, gt_entry, pair.ratio, draw, self.patch_size, self.camera)

    def dataset(self, epoch, *, batch_size=1, drop_remainder=False, num_parallel_calls=tf.data.AUTOTUNE,
                prefetch=tf.data.AUTOTUNE, release_memory=RELEASE_EVERY):
        """One epoch as a tf.data.Dataset of (input, gt) float32 batches (see make_train_dataset)."""
        epoch = int(epoch)
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, got {epoch}.")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}.")
        p, bp = self.patch_size, self.block * self.patch_size
        order = self.order(epoch)

        def load(index):
            example = self.example(epoch, int(index), order)
            if release_memory and int(index) % int(release_memory) == 0:
                release_freed_memory()
            return example

        def map_fn(index):
            inputs, gt = tf.numpy_function(load, [index], [tf.float32, tf.float32], stateful=False)
            inputs.set_shape([p, p, self.channels])
            gt.set_shape([bp, bp, 3])
            return inputs, gt

        dataset = tf.data.Dataset.range(len(self.scenes))
        dataset = dataset.map(map_fn, num_parallel_calls=num_parallel_calls, deterministic=True)
        dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
        if prefetch:
            dataset = dataset.prefetch(prefetch)
        return dataset


def make_train_dataset(scenes, cache, *, camera="sony", patch_size=512, batch_size=1, seed=0, epoch=0,
                       drop_remainder=False, num_parallel_calls=tf.data.AUTOTUNE, prefetch=tf.data.AUTOTUNE,
                       progress=True, release_memory=RELEASE_EVERY):
    """One training epoch as a `tf.data.Dataset` of (input, ground_truth) float32 batches.

    Every scene once, in an order that depends on (seed, epoch) only; for each a random input
    among its short exposures, a random `patch_size` crop of the packed input (amplified by the
    pair's ratio and clipped at 1.0) with the matching ground-truth crop, and random row flip,
    column flip and transpose. Element shapes are static: [p, p, 4] and [2p, 2p, 3] for Sony,
    [p, p, 9] and [3p, 3p, 3] for Fuji. With `drop_remainder=False` (the default) the last batch
    may be smaller, so every scene is visited; with True the batch dimension is static too.

    `camera` is "sony" (Bayer: `pack_bayer` with the cached levels, block 2), "fuji" (X-Trans:
    `pack_xtrans`, block 3) or None to infer it (`infer_camera`). `cache` is a RawCache or a
    cache directory; files not cached yet are decoded first (with a progress display), and a
    bad file, a size mismatch, a camera mismatch or an input smaller than the patch raises
    here (naming the file), not inside tf.data. To build many epochs without re-checking,
    keep a `TrainSampler` and call its `dataset(epoch)`. `release_memory=n` returns freed memory
    to the system after every n-th element (`release_freed_memory`); 0 never does.
    """
    sampler = TrainSampler(scenes, cache, camera=camera, patch_size=patch_size, seed=seed, progress=progress)
    return sampler.dataset(epoch, batch_size=batch_size, drop_remainder=drop_remainder,
                           num_parallel_calls=num_parallel_calls, prefetch=prefetch, release_memory=release_memory)


@dataclasses.dataclass(frozen=True)
class EvalExample:
    """A full-image evaluation example."""

    pair: Pair
    input: np.ndarray  # [H/2, W/2, 4] (Sony) or [H/3, W/3, 9] (Fuji): packed * ratio, clipped at 1
    gt: np.ndarray  # [H, W, 3] float32 in [0, 1], cropped to block size x the packed size


def make_eval_pairs(items, cache, *, camera="sony", progress=True):
    """Iterate over full-image evaluation examples of `items` (Pairs and/or Scenes), one at a time.

    Files not cached yet are decoded first (with a progress display) and every pair's camera and
    sizes are checked before the first example; each example is then read from the
    memory-mapped cache when it is reached, so only one image pair is in memory at a time.
    The input has no batch axis: add one (`example.input[None]`) for the model. `camera` as in
    `make_train_dataset` (None infers it).
    """
    pairs = pairs_of(items)
    cache = as_cache(cache)
    cache.prepare(pairs, progress=progress)
    camera = check_camera(camera) if camera is not None else infer_camera(pairs, cache)
    checked = []
    for pair in pairs:  # check every pair before yielding the first
        entry, gt_entry = cache.input(pair.input_path), cache.ground_truth(pair.gt_path)
        _check_entry(pair, entry, gt_entry, camera, None)
        checked.append((pair, entry, gt_entry))
    return _eval_iterator(checked, camera)


def _eval_iterator(checked, camera):
    for pair, entry, gt_entry in checked:
        inputs, gt = load_eval_example(entry, gt_entry, pair.ratio, camera)
        release_freed_memory()
        yield EvalExample(pair, inputs, gt)
