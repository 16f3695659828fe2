"""Inputs for calibrating int8 quantisation and for checking an export against Keras.

Static int8 quantisation fixes each activation's range from a few representative inputs, so
those inputs must look like what the network sees in use: amplified, noisy low-light raw data,
not uniform noise (whose activations span other ranges). Two sources:

* the project's low-light simulator (Sony/Bayer only): packed patches of photographs unprocessed
  to raw and given the Sony A7S2 noise at ratios 100/250/300, seeded, so calibration is
  reproducible and needs no download;
* a folder of the user's raw files (any Bayer camera, or Fuji X-Trans), packed as `sid-enhance`
  packs them and amplified with its automatic ratio; a centre patch of each file.

The check of an export uses patches the calibration did not see (another seed or other files).
"""

import os

import numpy as np

from sid_tf2.model import get_camera
from sid_tf2.photo_inputs import auto_ratio, collect_inputs
from sid_tf2.raw import pack_bayer, pack_xtrans, read_raw
from sid_tf2.simulation.stream import OnTheFlySampler

DEFAULT_PATCH = 256
DEFAULT_COUNT = 8
CHECK_SEED = 1  # the simulator's seed for check inputs; calibration uses 0


def simulated_patches(count=DEFAULT_COUNT, size=DEFAULT_PATCH, seed=0):
    """`count` packed Sony inputs [size, size, 4] from the simulator (amplified and clipped)."""
    sampler = OnTheFlySampler(patch_size=size, seed=seed, examples_per_epoch=count)
    return [sampler.example(0, index)[0] for index in range(count)]


def _pack_file(path, camera):
    with read_raw(path) as raw:
        packed = pack_xtrans(raw) if camera == "fuji" else pack_bayer(raw)
    ratio, _ = auto_ratio(packed)
    return np.minimum(packed * np.float32(ratio), np.float32(1.0))


def raw_file_patches(sources, camera, count=DEFAULT_COUNT, size=DEFAULT_PATCH, skip=0):
    """Centre patches [size, size, C] of up to `count` raw files (`sources`: a folder, its
    files sorted by name, or a list of files; after the first `skip`), packed for `camera` and
    amplified by `sid-enhance`'s auto ratio."""
    listed = isinstance(sources, (list, tuple))
    inputs = collect_inputs(sources if listed else [sources])
    if inputs.problems:  # a missing folder or file, not a raw one
        path, reason = inputs.problems[0]
        raise ValueError(f"{path}: {reason}")
    files = inputs.files[skip:skip + count]
    if not files:
        raise ValueError(f"{'the files given' if listed else sources}: no raw files to calibrate on"
                         + (f" after the first {skip}" if skip else ""))
    patches = []
    for path in files:
        packed = _pack_file(path, camera)
        height, width = packed.shape[:2]
        side = min(size, height, width) // 16 * 16
        top, left = (height - side) // 2, (width - side) // 2
        patches.append(np.ascontiguousarray(packed[top:top + side, left:left + side]))
    return patches


def calibration_patches(camera, directory=None, count=DEFAULT_COUNT, size=DEFAULT_PATCH):
    """Calibration inputs for `camera`: from `directory`'s raw files, else the simulator."""
    if directory:
        return raw_file_patches(directory, camera, count, size)
    if get_camera(camera).name != "sony":
        raise ValueError("the low-light simulator makes Bayer (Sony) data only: an int8 Fuji network "
                         "is calibrated on X-Trans raw files (sid-enhance uses the files it enhances; "
                         "the converter's --calibration_dir names a folder of them)")
    return simulated_patches(count, size, seed=0)


def check_input(camera, size, directory=None):
    """One packed input [1, H, W, C] for comparing an export with Keras, unseen in calibration.

    `size` is (H, W). Sony: a simulated frame (seed CHECK_SEED) cropped to size. Fuji without
    raw files: a smooth seeded random field, since the simulator makes no X-Trans data.
    """
    height, width = size
    camera = get_camera(camera)
    if directory and os.path.isdir(directory):
        try:
            patch = raw_file_patches(directory, camera.name, count=1, size=max(size),
                                     skip=DEFAULT_COUNT)[0]
        except ValueError:
            patch = raw_file_patches(directory, camera.name, count=1, size=max(size))[0]
        if patch.shape[0] >= height and patch.shape[1] >= width:
            return patch[None, :height, :width]
    if camera.name == "sony":
        patch = simulated_patches(1, max(height, width), seed=CHECK_SEED)[0]
        return patch[None, :height, :width]
    rng = np.random.default_rng(CHECK_SEED)
    coarse = rng.uniform(0.0, 0.6, size=(1, height // 8 + 1, width // 8 + 1, camera.in_channels))
    field = np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2)[:, :height, :width]
    noise = rng.normal(0.0, 0.05, size=field.shape)
    return np.clip(field + noise, 0.0, 1.0).astype(np.float32)
