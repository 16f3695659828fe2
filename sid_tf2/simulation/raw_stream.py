"""Training pairs simulated on the fly from clean raw files (the raw half of `stream.py`).

An element cut from a raw source is a window of its mosaic, 2p x 2p at even offsets (so the CFA
phase is the source's), whose short exposure is simulated in the raw domain (`raw_pairs`),
packed with the source's own phase and levels (`pack_bayer`) and amplified by the ratio, clipped
at 1: the input, as SID makes it. The ground truth is the same window of LibRaw's rendering of
the source's clean long exposure, made by `sid_tf2.raw.render_ground_truth_uint16` from the very
DNG the dataset writer would write for it (its CFA, levels, colour matrix and white balance; no
rotation), so it equals a written dataset's ground truth. Then SID's augmentation: each of a row
flip, a column flip and a transpose with probability 1/2, on input and ground truth alike.
"""

import pathlib
import tempfile
import warnings

import numpy as np

from sid_tf2 import dng
from sid_tf2 import raw as rawlib
from sid_tf2.simulation.noise import sample_noise_params, simulate_short_exposure
from sid_tf2.simulation.raw_pairs import pair_gain
from sid_tf2.simulation.raw_sources import RawSourceError, read_usable_source


def check_raw_source(path, patch_size, max_ratio):
    """Read a raw source for on-the-fly use; `RawSourceError` says why it cannot serve (not
    Bayer, too dark for `max_ratio`, or smaller than a 2p x 2p window). Its notes (no colour
    matrix...) are warnings naming the file."""
    source = read_usable_source(path, max_ratio)
    for note in source.notes:
        warnings.warn(f"{path}: {note}", RuntimeWarning, stacklevel=2)
    side = 2 * int(patch_size)
    if min(source.mosaic.shape) < side:
        raise RawSourceError(
            f"{path}: its {source.mosaic.shape[0]}x{source.mosaic.shape[1]} mosaic is smaller "
            f"than a training window ({side}x{side} for patch size {patch_size})")
    return source


def render_long_exposure(source):
    """uint16 [H, W, 3]: SID's ground truth of a raw source, rendered from its long-exposure DNG."""
    with tempfile.TemporaryDirectory(prefix="sid-raw-source-") as folder:
        path = pathlib.Path(folder) / "long.dng"
        dng.write_dng(path, source.mosaic, cfa_pattern=source.cfa_pattern,
                      black_level=source.black_level, white_level=source.white_level,
                      color_matrix=np.asarray(source.xyz_to_cam),
                      as_shot_neutral=source.as_shot_neutral)
        return rawlib.render_ground_truth_uint16(path)


def raw_example(source, rendered, patch_size, ratio, params, rng):
    """(input [p, p, 4], gt [2p, 2p, 3]) float32 of one window of a raw source."""
    side = 2 * int(patch_size)
    height, width = source.mosaic.shape
    top = 2 * int(rng.integers(0, (height - side) // 2 + 1))
    left = 2 * int(rng.integers(0, (width - side) // 2 + 1))
    window = source.mosaic[top:top + side, left:left + side]
    black = source.black_mosaic()[top:top + side, left:left + side]
    short = simulate_short_exposure(window, ratio, params, rng, black_level=black,
                                              white_level=source.white_level)
    packed = rawlib.pack_bayer(short, source.black_level, source.white_level,
                               pattern=source.cfa_pattern)
    inputs = np.minimum(packed * np.float32(ratio), np.float32(1.0))
    gt = (rendered[top:top + side, left:left + side] / 65535.0).astype(np.float32)  # as SID
    if rng.random() < 0.5:
        inputs, gt = inputs[::-1], gt[::-1]
    if rng.random() < 0.5:
        inputs, gt = inputs[:, ::-1], gt[:, ::-1]
    if rng.random() < 0.5:
        inputs, gt = inputs.transpose(1, 0, 2), gt.transpose(1, 0, 2)
    return np.ascontiguousarray(inputs), np.ascontiguousarray(gt)


def pair_params(source, rng, noise_model, profile, isos=()):
    """The noise of one element: the profile's at the source's ISO or one of `isos`
    (`raw_pairs.pair_gain`)."""
    gain, _, _ = pair_gain(source, rng, profile, isos)
    return sample_noise_params(rng, noise_model, profile, system_gain=gain)
