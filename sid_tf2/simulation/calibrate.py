"""Estimate a camera's noise profile from dark frames and pairs of flat exposures.

The usual photon-transfer method, per ISO (read from each file's metadata):

* Flat pairs: two exposures of the same flat field at the same settings. Their difference has
  no scene, vignetting or fixed pattern left, only twice the temporal noise; with each row's
  mean taken out (row noise) its variance is 2 (K * mean + read variance). Over pairs at
  several brightness levels, the slope of variance against mean signal is the system gain K
  (DN per electron).
* Dark frames (lens capped, the shortest exposure): each CFA position's mean minus the black
  level is the black-level bias; the spread of the row means, less what the pixel noise
  contributes to them, is the row noise; what is left after taking out the row means is the
  read noise (its variance less the 1/12 DN^2 of rounding to whole DN gives the Gaussian
  sigma). The Tukey-lambda shape is the one whose quantiles line up best with the sorted
  residuals (the probability-plot correlation), and its scale the slope of that line.

Across ISOs, each noise scale's logarithm is fitted by a straight line in log K (slope, bias
and the residual spread `sigma`), which is the profile format of `noise_profile.py`. One ISO
gives the scales but no slope (0) and no spread.
"""

import collections
import dataclasses
import math
import os
import pathlib

import numpy as np

from sid_tf2.simulation.noise_profile import profile_from_dict, save_noise_profile
from sid_tf2.simulation.raw_sources import list_raw_paths, read_raw_source

QUANTISATION_VARIANCE = 1.0 / 12.0
_TUKEY_FIT_SAMPLES = 200_000  # enough for lambda to 0.01; more only costs time
_LAMBDA_GRID = np.round(np.arange(-0.30, 0.301, 0.01), 2)


class CalibrationError(ValueError):
    """Frames that cannot give a profile (the message says which and why)."""


@dataclasses.dataclass(frozen=True)
class IsoCalibration:
    """What one ISO's frames give (DN, DN per electron)."""

    iso: float
    system_gain: float
    gaussian_sigma: float
    tukey_scale: float
    tukey_lambda: float
    row_sigma: float
    black_bias: tuple  # per 2x2 position, raster order
    flat_pairs: int
    dark_frames: int


def _frames_by(paths, key):
    """Read raw files and group their (mosaic - black) float64 frames by `key(source)`."""
    groups = collections.defaultdict(list)
    for path in paths:
        source = read_raw_source(path)
        if source.iso is None:
            raise CalibrationError(f"{path}: no ISO in its metadata: frames are grouped by ISO")
        if source.saturated_fraction > 0:
            raise CalibrationError(f"{path}: {source.saturated_fraction:.2%} of its pixels are "
                                   "saturated: calibration frames must be below the white level")
        frame = source.mosaic.astype(np.float64) - source.black_mosaic()
        groups[key(source)].append((str(path), frame))
    return groups


def _row_free(frame):
    """A frame less each row's mean, and the variance that the subtraction leaves out."""
    return frame - frame.mean(axis=1, keepdims=True), frame.shape[1] / (frame.shape[1] - 1)


def gain_from_flat_pairs(pairs):
    """K: the slope of temporal variance against mean signal over flat pairs [(a, b)]."""
    means, variances = [], []
    for first, second in pairs:
        residual, correction = _row_free(first - second)
        means.append(0.5 * (first.mean() + second.mean()))
        variances.append(0.5 * residual.var() * correction)
    if len(set(np.round(means, 3))) < 2:
        raise CalibrationError("flat pairs at two brightness levels at least are needed per ISO "
                               "to separate the gain from the read noise")
    slope, _ = np.polyfit(means, variances, 1)
    if not slope > 0:
        raise CalibrationError(f"flat pairs give a non-positive gain ({slope:.3g}): are they "
                               "flat, unsaturated and of one ISO?")
    return float(slope)


def tukey_fit(samples):
    """(lambda, scale) of the Tukey-lambda distribution whose quantiles correlate best with the
    sorted samples (probability-plot correlation), on a grid of lambda in [-0.3, 0.3]."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    ordered = np.sort(samples[::max(1, samples.size // _TUKEY_FIT_SAMPLES)])
    positions = (np.arange(1, ordered.size + 1) - 0.5) / ordered.size
    best = None
    for lam in _LAMBDA_GRID:
        if lam == 0:
            quantiles = np.log(positions) - np.log1p(-positions)
        else:
            quantiles = (positions**lam - (1.0 - positions) ** lam) / lam
        correlation = np.corrcoef(quantiles, ordered)[0, 1]
        if best is None or correlation > best[0]:
            best = (correlation, float(lam), quantiles)
    _, lam, quantiles = best
    scale = float(np.polyfit(quantiles, ordered, 1)[0])
    return lam, scale


def dark_noise(frames):
    """(gaussian_sigma, tukey_lambda, tukey_scale, row_sigma, black_bias) of dark frames
    [(path, frame)]."""
    residuals, row_variances, biases = [], [], []
    for path, frame in frames:
        if abs(frame.mean()) > 3 * frame.std():
            raise CalibrationError(f"{path}: not a dark frame (mean {frame.mean():.1f} DN above "
                                   f"black, noise {frame.std():.1f} DN): cap the lens")
        biases.append([frame[r::2, c::2].mean() for r in (0, 1) for c in (0, 1)])
        centred = frame - np.tile(np.reshape(biases[-1], (2, 2)), (frame.shape[0] // 2,
                                                                    frame.shape[1] // 2))
        residual, correction = _row_free(centred)
        pixel_variance = residual.var() * correction
        row_variances.append(centred.mean(axis=1).var() - pixel_variance / frame.shape[1])
        residuals.append(residual)
    residual = np.concatenate([r.ravel() for r in residuals])
    correction = frames[0][1].shape[1] / (frames[0][1].shape[1] - 1)
    read_variance = residual.var() * correction - QUANTISATION_VARIANCE
    if not read_variance > 0:
        raise CalibrationError("dark frames show no read noise above the rounding to whole DN")
    lam, scale = tukey_fit(residual * math.sqrt(correction))
    row_sigma = math.sqrt(max(float(np.mean(row_variances)), 0.0))
    return math.sqrt(read_variance), lam, scale, row_sigma, tuple(np.mean(biases, axis=0))


def log_line(log_k, values):
    """{slope, bias, sigma} of log(values) against log K (slope 0 with a single ISO)."""
    log_values = np.log(values)
    if len(set(log_k)) < 2:
        return {"slope": 0.0, "bias": float(log_values.mean()), "sigma": 0.0}
    slope, bias = np.polyfit(log_k, log_values, 1)
    residual = log_values - (slope * log_k + bias)
    sigma = float(np.sqrt(np.sum(residual**2) / (len(log_k) - 2))) if len(log_k) > 2 else 0.0
    return {"slope": float(slope), "bias": float(bias), "sigma": sigma}


def calibrate(dark_paths, flat_paths, name="calibrated"):
    """(profile dict for `noise_profile.profile_from_dict`, [IsoCalibration] per ISO).

    Flat files are paired in name order within each (ISO, exposure time); every ISO needs dark
    frames and flat pairs at two exposure levels at least.
    """
    darks = _frames_by(dark_paths, lambda source: source.iso)
    flats = _frames_by(flat_paths, lambda source: (source.iso, source.exposure_time))
    if not darks or not flats:
        raise CalibrationError("calibration needs dark frames and flat pairs (raw files with "
                               "ISO in their metadata)")
    results = []
    for iso in sorted(darks):
        pairs = []
        for (flat_iso, _), frames in sorted(flats.items(), key=lambda item: str(item[0])):
            if flat_iso == iso:
                frames = sorted(frames, key=lambda frame: frame[0])
                pairs += [(frames[i][1], frames[i + 1][1]) for i in range(0, len(frames) - 1, 2)]
        if not pairs:
            raise CalibrationError(f"ISO {iso:g} has dark frames but no flat pairs")
        gain = gain_from_flat_pairs(pairs)
        sigma, lam, scale, row_sigma, bias = dark_noise(darks[iso])
        results.append(IsoCalibration(iso, gain, sigma, scale, lam, row_sigma,
                                      tuple(float(b) for b in bias), len(pairs), len(darks[iso])))
    missing = sorted({iso for iso, _ in flats} - set(darks))
    if missing:
        raise CalibrationError(f"ISO {', '.join(f'{iso:g}' for iso in missing)} has flat pairs but "
                               "no dark frames")
    log_k = np.log([r.system_gain for r in results])
    profile = {
        "name": name,
        "description": f"calibrated from {sum(r.dark_frames for r in results)} dark frames and "
                       f"{sum(r.flat_pairs for r in results)} flat pairs at ISO "
                       + ", ".join(f"{r.iso:g}" for r in results),
        "K_range": [float(min(np.exp(log_k))), float(max(np.exp(log_k)))],
        "K_at_iso100": float(100 * np.exp(np.mean(log_k - np.log([r.iso for r in results])))),
        "G": log_line(log_k, [r.gaussian_sigma for r in results]),
        "TL": log_line(log_k, [r.tukey_scale for r in results]),
        "lambda": [min(r.tukey_lambda for r in results), max(r.tukey_lambda for r in results)],
        "Row": log_line(log_k, [max(r.row_sigma, 1e-6) for r in results]),
        "black_bias_std": float(np.std([r.black_bias for r in results])),
    }
    profile_from_dict(profile)  # the result must load as a profile
    return profile, results


def check_profile_output(output_path, overwrite=False):
    """Raise CalibrationError, before any frame is read, for an output that is a folder or a
    profile that exists (perhaps edited by hand) without `overwrite`."""
    if os.path.isdir(output_path):
        raise CalibrationError(f"{output_path}: is a folder; --profile_output names the profile's .json file")
    if os.path.lexists(output_path) and not overwrite:
        raise CalibrationError(f"{output_path}: already exists (pass --overwrite to replace it).")


def calibrate_folders(dark_dir, flat_dir, output_path, name=None, *, overwrite=False):
    """Calibrate from the raw files of two folders and write the profile JSON to `output_path`
    (an existing one only with `overwrite`).

    Returns (profile dict, [IsoCalibration]). The profile's name defaults to the output's stem.
    """
    check_profile_output(output_path, overwrite)
    dark_paths = list_raw_paths(dark_dir)
    flat_paths = list_raw_paths(flat_dir)
    for folder, paths in ((dark_dir, dark_paths), (flat_dir, flat_paths)):
        if not paths:
            raise CalibrationError(f"no raw files in {folder}")
    profile, results = calibrate(dark_paths, flat_paths,
                                 name=name or pathlib.Path(output_path).stem)
    save_noise_profile(output_path,
                                         profile_from_dict(profile, output_path))
    return profile, results
