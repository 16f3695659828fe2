"""Estimate a camera's noise profile from its ordinary raw files, without calibration frames.

Why: most people who adapt the network to their camera have its raws but no dark frames or flat
pairs, and the Sony A7S2's noise in their place costs part of the gain. A raw file shows its own
noise wherever the scene is flat, and its read noise in the dark areas (the "noise level
function" of a single image, as in Foi et al., IEEE TIP 2008).

Per file and CFA position (a half-resolution plane), each pixel less the mean of its four
same-colour neighbours removes smooth scene content. In 8x8 blocks the variance of that
residual, scaled to a pixel's, is the noise plus whatever texture the block holds. Texture only
adds, so within each brightness bin a low percentile of the block variances is the noise floor;
the same percentile of pure noise, measured once by simulation, is divided out. The floors
against the signal fit `variance = K * signal + read^2`: the slope is the system gain K at the
files' ISO, and the intercept, pinned by the dark areas, the read noise.

One ISO gives one point of the profile's lines in log K. The rest is the Sony A7S2's
calibration (Wei et al., CVPR 2020), anchored at that point: its slopes, its Tukey-lambda shape,
its row noise relative to the read noise. K is taken proportional to ISO, and the profile spans
the ISOs the Sony calibration spans. Files at two ISOs or more give the read-noise slope too.
"""

import collections
import functools
import math

import numpy as np

from sid_tf2.simulation.calibrate import QUANTISATION_VARIANCE, log_line
from sid_tf2.simulation.camera_profiles import PROFILES
from sid_tf2.simulation.noise_profile import profile_from_dict
from sid_tf2.simulation.raw_sources import read_raw_source

BLOCK = 8
PERCENTILE = 10.0
MIN_BLOCKS_PER_BIN = 40
MAX_BINS = 24
MIN_SIGNAL_SPAN = 4.0  # brightest bin over the darkest positive one: K apart from the read noise
OUTLIER_RATIO = 1.5  # a bin this far above the line is texture, not noise
DARK_ENOUGH = 2.0  # the read noise shows where the shot noise of the darkest bin is at most this times it
_NEIGHBOUR_SCALE = math.sqrt(1.25)  # a pixel less the mean of 4 independent others: variance 1.25x


class EstimationError(ValueError):
    """The raw files do not show their noise well enough (the message says which and why)."""


def _block_statistics(plane, floor, ceiling):
    """(mean signal, residual variance) of each 8x8 block of one CFA plane (float64, black
    subtracted); blocks that reach `floor` (a black the camera clips at) or `ceiling` (its
    saturation) are left out: their noise is cut short."""
    centre = plane[1:-1, 1:-1]
    neighbours = 0.25 * (plane[:-2, 1:-1] + plane[2:, 1:-1] + plane[1:-1, :-2] + plane[1:-1, 2:])
    residual = (centre - neighbours) / _NEIGHBOUR_SCALE
    rows, cols = (centre.shape[0] // BLOCK) * BLOCK, (centre.shape[1] // BLOCK) * BLOCK

    def blocks(array):
        return array[:rows, :cols].reshape(rows // BLOCK, BLOCK, cols // BLOCK, BLOCK).swapaxes(1, 2).reshape(
            -1, BLOCK * BLOCK)

    signal, noise = blocks(centre), blocks(residual)
    usable = (signal.min(axis=1) > floor) & (signal.max(axis=1) < ceiling)
    return signal[usable].mean(axis=1), noise[usable].var(axis=1, ddof=1)


@functools.cache
def _percentile_of_pure_noise():
    """The PERCENTILE of the block variances of unit Gaussian noise: what `_block_statistics`
    and the percentile make of a variance of 1 (its blocks' samples are correlated)."""
    noise = np.random.default_rng(0).normal(size=(514, 514))
    _, variances = _block_statistics(noise, -np.inf, np.inf)
    return float(np.percentile(variances, PERCENTILE))


def source_blocks(source):
    """(mean signal, noise variance) of the usable 8x8 blocks of each CFA plane of a RawSource."""
    frame = source.mosaic.astype(np.float64) - source.black_mosaic()
    floor, ceiling = frame.min(), source.white_level - max(source.black_level)
    planes = [_block_statistics(frame[row::2, col::2], floor, ceiling) for row in (0, 1) for col in (0, 1)]
    return np.concatenate([mean for mean, _ in planes]), np.concatenate([variance for _, variance in planes])


def noise_level_function(blocks):
    """(signal DN, noise variance DN^2) per brightness bin of `blocks`, [(means, variances)]."""
    means = np.concatenate([mean for mean, _ in blocks])
    variances = np.concatenate([variance for _, variance in blocks])
    bins = min(MAX_BINS, means.size // MIN_BLOCKS_PER_BIN)
    if bins < 4:
        raise EstimationError(f"{means.size} usable 8x8 blocks (of each colour): too few to see the noise")
    order = np.argsort(means)
    signal, floor = [], []
    for members in np.array_split(order, bins):
        signal.append(float(np.median(means[members])))
        floor.append(float(np.percentile(variances[members], PERCENTILE)) / _percentile_of_pure_noise())
    return np.array(signal), np.array(floor)


def _weighted_line(signal, variance):
    """(K, intercept) of `variance = K * signal + intercept`, weighted by relative error (the
    floors' spread grows with them; no floor counts for less than the rounding to whole DN)."""
    weights = 1.0 / np.maximum(variance, QUANTISATION_VARIANCE)
    design = np.stack([signal, np.ones_like(signal)], axis=1) * weights[:, None]
    (gain, intercept), *_ = np.linalg.lstsq(design, variance * weights, rcond=None)
    return float(gain), float(intercept)


def fit_gain_and_read_noise(signal, variance, where):
    """(K, read sigma or None) from the noise level function `variance = K * signal + read^2`.

    Bins that lie far above the first fit (all of their blocks textured) are dropped and the
    line fitted again. The read noise is None when no bin is dark enough for it to show (the
    shot noise of the darkest bin outweighs it): the intercept then says nothing."""
    positive = signal[signal > 0]
    if positive.size < 2 or signal.max() / positive.min() < MIN_SIGNAL_SPAN:
        raise EstimationError(f"{where}: too little range of brightness (from {max(signal.min(), 0):.0f} to "
                              f"{signal.max():.0f} DN above black) to tell the gain from the read noise")
    gain, intercept = _weighted_line(signal, variance)
    kept = variance < OUTLIER_RATIO * np.maximum(gain * signal + intercept, 1e-9)
    if kept.sum() >= 4:
        signal, variance = signal[kept], variance[kept]
        gain, intercept = _weighted_line(signal, variance)
    shot_share = gain * np.median(signal) / np.median(variance) if gain > 0 else 0.0
    if shot_share < 0.2:
        raise EstimationError(f"{where}: no shot noise to be seen (a gain of {gain:.3g} DN per electron): "
                              "are they noise-free renderings rather than camera raws?")
    read_variance = intercept - QUANTISATION_VARIANCE
    if gain * signal.min() > DARK_ENOUGH * max(read_variance, 0.0):
        return gain, None
    if not read_variance > 0:
        raise EstimationError(f"{where}: no read noise above the rounding to whole DN in the dark areas")
    return gain, math.sqrt(read_variance)


def estimate_profile(paths, name="estimated", files_per_iso=16):
    """(profile dict for `noise_profile.profile_from_dict`, {iso: (K, read sigma or None, files)}).

    At most `files_per_iso` files (in name order) are measured per ISO: a large folder's estimate
    has long converged by then, at a second or two per file. Raises EstimationError (naming the
    file or files) when the raws cannot give an estimate."""
    by_iso = collections.defaultdict(list)
    for path in sorted(paths):
        source = read_raw_source(path)
        if source.iso is None:
            raise EstimationError(f"{path}: no ISO in its metadata: the gain is estimated per ISO")
        if len(by_iso[float(source.iso)]) < files_per_iso:
            by_iso[float(source.iso)].append(source_blocks(source))
    if not by_iso:
        raise EstimationError("no raw files to estimate the noise from")
    per_iso = {}
    for iso, blocks in sorted(by_iso.items()):
        where = f"the {len(blocks)} raw file(s) at ISO {iso:g}"
        gain, read = fit_gain_and_read_noise(*noise_level_function(blocks), where)
        per_iso[iso] = (gain, read, len(blocks))
    return _profile(per_iso, name), per_iso


def _profile(per_iso, name):
    """The profile dict: this camera's K per ISO; its read noise where the dark areas showed it
    (else the Sony calibration's at the same gains); the Sony calibration's shape around both."""
    sony = PROFILES["sony_a7s2"]
    isos = np.array(list(per_iso))
    log_k = np.log([gain for gain, _, _ in per_iso.values()])
    k_at_iso100 = float(np.exp(np.mean(log_k - np.log(isos / 100.0))))
    measured = [(math.log(gain), math.log(read)) for gain, read, _ in per_iso.values() if read is not None]
    sony_read = sony.gaussian_read
    if len({lk for lk, _ in measured}) >= 2:
        gaussian = log_line(*(np.array(column) for column in zip(*measured)))
    else:  # none or one gain: the Sony calibration's slope, through the measured point if any
        gaussian = {"slope": sony_read.slope, "sigma": sony_read.std,
                    "bias": float(np.mean([lr - sony_read.slope * lk for lk, lr in measured]))
                    if measured else sony_read.intercept}
    # How far this camera's read noise lies from the Sony's at the same gains, in log sigma.
    shift = float(np.mean([lr - (sony_read.slope * lk + sony_read.intercept) for lk, lr in measured])
                  if measured else 0.0)

    def shifted(line):
        return {"slope": line.slope, "bias": line.intercept + shift, "sigma": line.std}

    def read_text(read):
        return f"read noise {read:.2f} DN" if read is not None else "read noise not seen (too few dark areas)"

    span = np.exp(np.array(sony.log_k_range)) / sony.k_at_iso100
    described = "; ".join(f"ISO {iso:g}: K {gain:.3g} DN/e-, {read_text(read)}, {files} file(s)"
                          for iso, (gain, read, files) in per_iso.items())
    rest = "the rest" if measured else "the read noise and the rest"
    profile = {
        "name": name,
        "description": f"estimated from the camera's raws ({described}); {rest} from the Sony A7S2's "
                       "calibration" + (", anchored there" if measured else " at these gains"),
        "K_range": [float(k_at_iso100 * span[0]), float(k_at_iso100 * span[1])],
        "K_at_iso100": k_at_iso100,
        "G": gaussian,
        "TL": shifted(sony.tukey_read),
        "lambda": list(sony.tukey_lambda_range),
        "Row": shifted(sony.row),
        "black_bias_std": sony.bias_std,
    }
    profile_from_dict(profile)  # the result must load as a profile
    return profile
