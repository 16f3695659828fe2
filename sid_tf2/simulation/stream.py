"""Training pairs simulated on the fly from a folder of photographs or raw files, inside tf.data.

    sampler = OnTheFlySampler(source_dir="my_photos", patch_size=256, seed=0, examples_per_epoch=200)
    for inputs, gt in sampler.dataset(epoch, batch_size=1):   # [1, 256, 256, 4], [1, 512, 512, 3]
        ...

Nothing is written to disk. Element `index` of epoch `epoch` draws everything from
`np.random.default_rng([TAG, seed, epoch, index])`: the photograph, a window of it (at the
scale of a `scene_size` scene, like the crops of a written synthetic dataset), a mirror flip,
the camera's colour matrix and white balance, the exposure ratio and the noise parameters. The
window is unprocessed to a clean 14-bit RGGB mosaic (`unprocess`), its short exposure simulated
(`simulate_short_exposure`), packed with the original's formula (`pack_bayer`, equal to
`pack_sony` for RGGB 512/16383) and multiplied by the ratio, clipped at 1: the input.

The ground truth. A written dataset's target is LibRaw's rendering of the long DNG (rawpy,
as the original), which is too slow per element. Here it is a fast NumPy re-rendering of the
same clean exposure: the window's linear light (the unprocessing's step 2, before the camera
matrix and white balance, i.e. a perfect demosaic and colour correction), encoded with rawpy's
default output gamma (BT.709 curve: power 1/2.222, slope 4.5). Measured on a 256x256 synthetic
scene it is 31.2 dB from rawpy's rendering of the DNG (the photograph itself is 23.2 dB from it:
it keeps the tone curve the unprocessing removed). So targets match the written datasets and
real SID ground truths only approximately: no demosaicking artefacts, no highlight clipping in
camera space, and slightly different colours where the camera matrix saturates.

A raw file among the sources (any Bayer camera's) is used as it is, not unprocessed: see
`raw_stream.py`; its ground truth is LibRaw's rendering, like a written dataset's.

The element shapes equal `sid_tf2.data.TrainSampler`'s ([p, p, 4] and [2p, 2p, 3] float32), and
the sampler has the same interface (`dataset`, `__len__`, `order`, `draw`, `example`), so the
training loop takes either.
"""

import dataclasses
import warnings

import numpy as np
import skimage.transform
import tensorflow as tf

import sid_tf2.simulation.noise as noise_lib
import sid_tf2.simulation.raw_stream as raw_stream_lib
import sid_tf2.simulation.sources as sources_lib
from sid_tf2 import raw as rawlib
from sid_tf2.simulation.profiles import get_profile
from sid_tf2.simulation.raw_sources import RawSourceError, is_raw_path, list_raw_paths
from sid_tf2.simulation.unprocess import (
    inverse_smoothstep,
    sample_wb_gains,
    sample_xyz_to_cam,
    srgb_to_linear,
    unprocess,
)

STREAM_TAG = 5  # keeps these generators apart from the data layer's streams
_PHOTO_CACHE_BYTES = 512 * 2**20


def rawpy_like_gamma(linear):
    """LibRaw's default output curve (BT.709: power 1/2.222, linear slope 4.5 below 0.018)."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear < 0.018, 4.5 * linear, 1.099 * np.power(linear, 1.0 / 2.222) - 0.099).astype(np.float32)


def render_target(image):
    """The on-the-fly ground truth of an sRGB window (see the module docstring)."""
    linear = srgb_to_linear(inverse_smoothstep(image))
    return np.clip(rawpy_like_gamma(linear), 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class SimulatedElement:
    """What element `index` of an epoch drew (the `draw` of the training loop's dumps)."""

    scene_id: int  # the element's index, standing in for a scene id in dump names
    source_index: int
    ratio: float


def _window(photo, side, scene_size, rng, max_zoom=1.25):
    """A random side x side window of `photo` seen at the scale of a scene whose short side is
    `scene_size` (zoomed in by up to `max_zoom`), mirrored with probability 0.5."""
    photo_h, photo_w = photo.shape[:2]
    scale = scene_size / min(photo_h, photo_w) * float(rng.uniform(1.0, max_zoom))
    crop = int(min(photo_h, photo_w, max(2, round(side / scale))))
    top = int(rng.integers(0, photo_h - crop + 1))
    left = int(rng.integers(0, photo_w - crop + 1))
    window = photo[top:top + crop, left:left + crop]
    if rng.random() < 0.5:
        window = window[:, ::-1]
    if crop != side:
        window = skimage.transform.resize(window, (side, side, 3), order=1, mode="edge",
                                          anti_aliasing=crop > side, preserve_range=True)
    return np.clip(np.asarray(window, dtype=np.float32), 0.0, 1.0)


class OnTheFlySampler:
    """Simulated (input, gt) training pairs from photographs or clean raws, generated per element.

    Args:
      source_dir: a folder of photographs and/or Bayer raw files (recursive); None:
        scikit-image's bundled photographs. Every raw file is decoded and checked once here
        (non-Bayer, too dark or too small ones are skipped with a RuntimeWarning naming them).
      photo_paths: an explicit list of sources instead (e.g. a subset).
      patch_size: side of the packed input patch (the ground truth is twice that).
      seed: non-negative integer; with (epoch, index) it fixes every element.
      examples_per_epoch: elements per epoch (an epoch has no natural length here).
      noise_model: "physics" or "poisson_gaussian"; profile: a camera profile name or a
        noise-profile JSON file.
      ratios: "fixed" (100, 250, 300) or "uniform" in [100, 300], scaled so that the largest
        is `max_ratio` (`noise.fitting_max_ratio`: for a camera of fewer bits than the Sony's).
      scene_size: the short side of the scene a window is cut from (a photograph is seen at
        this scale, as a written dataset's scenes of that size would be).
      isos: the ISOs a raw source's pairs are simulated at, one drawn per element; empty: the
        source's own (`raw_pairs.pair_gain`).
    """

    camera = "sony"
    channels = 4
    block = 2

    def __init__(self, source_dir=None, *, photo_paths=None, patch_size=512, seed=0, examples_per_epoch=64,
                 noise_model="physics", profile="sony_a7s2", ratios="fixed", scene_size=1024,
                 max_ratio=noise_lib.SID_MAX_RATIO, isos=()):
        if photo_paths is None:
            photo_paths = (sources_lib.default_photo_paths() if source_dir is None else sorted(
                sources_lib.list_photo_paths(source_dir) + list_raw_paths(source_dir)))
        self.patch_size = int(patch_size)
        self.seed = int(seed)
        self.examples_per_epoch = int(examples_per_epoch)
        self.scene_size = int(scene_size)
        if self.patch_size < 2 or self.seed < 0 or self.examples_per_epoch < 1:
            raise ValueError("patch_size >= 2, seed >= 0 and examples_per_epoch >= 1 are required.")
        if noise_model not in noise_lib.NOISE_MODELS:
            raise ValueError(f"noise_model must be one of {noise_lib.NOISE_MODELS}, not {noise_model!r}.")
        if ratios not in noise_lib.RATIO_MODES:
            raise ValueError(f"ratios must be one of {noise_lib.RATIO_MODES}, not {ratios!r}.")
        if not 1 <= max_ratio <= noise_lib.SID_MAX_RATIO:
            raise ValueError(f"max_ratio must be in [1, {noise_lib.SID_MAX_RATIO:g}], not {max_ratio!r}.")
        self.noise_model, self.ratios, self.max_ratio = noise_model, ratios, float(max_ratio)
        self.profile = get_profile(profile)
        self.isos = tuple(float(iso) for iso in isos)
        self._sources, self._cached_bytes = {}, 0
        self.source_paths, self.skipped_sources = [], []
        for path in map(str, photo_paths):
            if is_raw_path(path):
                try:
                    self._cache(len(self.source_paths), self._read_raw(path))
                except RawSourceError as error:
                    self.skipped_sources.append((path, str(error)))
                    warnings.warn(str(error), RuntimeWarning, stacklevel=2)
                    continue
            self.source_paths.append(path)
        if not self.source_paths:
            raise ValueError(f"No photographs or usable Bayer raw files in "
                             f"{source_dir or 'the scikit-image data folder'}"
                             + "".join(f"; {reason}" for _, reason in self.skipped_sources))
        if self.profile.name == "sony_a7s2" and any(map(is_raw_path, self.source_paths)):
            warnings.warn("raw sources get the Sony A7S2's noise profile; for another camera pass its "
                          "own noise profile (a JSON file, e.g. from `sid_tf2.simulate --calibrate`)",
                          RuntimeWarning, stacklevel=2)
        self._source(0)  # fail now, naming the file, if the first source is unreadable

    def __len__(self):
        return self.examples_per_epoch

    def _read_raw(self, path):
        """(RawSource, its rendered ground truth) of a usable raw file."""
        source = raw_stream_lib.check_raw_source(path, self.patch_size, self.max_ratio)
        return source, raw_stream_lib.render_long_exposure(source)

    def _cache(self, index, item):
        size = item.nbytes if isinstance(item, np.ndarray) else item[0].mosaic.nbytes + item[1].nbytes
        if self._cached_bytes + size <= _PHOTO_CACHE_BYTES:
            self._sources[index] = item
            self._cached_bytes += size

    def _source(self, index):
        """A photograph (float32 RGB) or a raw file's (RawSource, rendered ground truth)."""
        item = self._sources.get(index)
        if item is None:
            path = self.source_paths[index]
            item = self._read_raw(path) if is_raw_path(path) else sources_lib.read_photo(path)
            self._cache(index, item)
        return item

    def _rng(self, epoch, index):
        return np.random.default_rng([STREAM_TAG, self.seed, int(epoch), int(index)])

    def order(self, epoch):
        """Elements are independent draws, so an epoch visits them in index order."""
        del epoch
        return np.arange(self.examples_per_epoch)

    def _choices(self, rng):
        source_index = int(rng.integers(len(self.source_paths)))
        ratio = noise_lib.sample_ratio(rng, self.ratios, self.max_ratio)
        return source_index, ratio

    def draw(self, epoch, index, order=None):
        """(element, element, element): what the loop's dumps need (`.scene_id`, `.ratio`)."""
        del order
        source_index, ratio = self._choices(self._rng(epoch, index))
        element = SimulatedElement(int(index), source_index, ratio)
        return element, element, element

    def example(self, epoch, index, order=None):
        """(input [p, p, 4], gt [2p, 2p, 3]) float32 of element `index` of epoch `epoch`."""
        del order
        rng = self._rng(epoch, index)
        source_index, ratio = self._choices(rng)
        source = self._source(source_index)
        if isinstance(source, tuple):
            raw_source, rendered = source
            params = raw_stream_lib.pair_params(raw_source, rng, self.noise_model, self.profile, self.isos)
            return raw_stream_lib.raw_example(raw_source, rendered, self.patch_size, ratio, params, rng)
        side = 2 * self.patch_size
        image = _window(source, side, self.scene_size, rng)
        profile = self.profile
        xyz_to_cam = sample_xyz_to_cam(rng, profile)
        gains = sample_wb_gains(rng, profile)
        long_mosaic, _ = unprocess(image, xyz_to_cam=xyz_to_cam, wb_gains=gains,
                                   black_level=profile.black_level, white_level=profile.white_level)
        params = noise_lib.sample_noise_params(rng, self.noise_model, profile)
        short = noise_lib.simulate_short_exposure(long_mosaic, ratio, params, rng,
                                                  black_level=profile.black_level, white_level=profile.white_level)
        packed = rawlib.pack_bayer(short, profile.black_level, profile.white_level, pattern="RGGB")
        inputs = np.minimum(packed.astype(np.float32) * np.float32(ratio), np.float32(1.0))
        return np.ascontiguousarray(inputs), render_target(image)

    def dataset(self, epoch, *, batch_size=1, drop_remainder=False, num_parallel_calls=tf.data.AUTOTUNE,
                prefetch=tf.data.AUTOTUNE):
        """One epoch as a tf.data.Dataset of (input, gt) float32 batches, deterministic."""
        epoch = int(epoch)
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, got {epoch}.")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}.")
        p = self.patch_size

        def map_fn(index):
            inputs, gt = tf.numpy_function(lambda i: self.example(epoch, int(i)), [index],
                                           [tf.float32, tf.float32], stateful=False)
            inputs.set_shape([p, p, self.channels])
            gt.set_shape([2 * p, 2 * p, 3])
            return inputs, gt

        dataset = tf.data.Dataset.range(self.examples_per_epoch)
        dataset = dataset.map(map_fn, num_parallel_calls=num_parallel_calls, deterministic=True)
        dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
        if prefetch:
            dataset = dataset.prefetch(prefetch)
        return dataset
