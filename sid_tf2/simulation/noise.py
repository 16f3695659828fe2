"""A physics-based noise model of a short exposure, in raw units (DN).

The short exposure of a scene whose long exposure is known has the expected signal
`(long - black) / ratio` DN above black. The model (Wei et al., CVPR 2020) adds, in DN:

  shot noise     K * Poisson(signal / K)            (K: system gain, DN per electron)
  read noise     sigma_read * TukeyLambda(lambda)   or  N(0, sigma_read^2)
  row noise      one N(0, sigma_row^2) offset per sensor row
  black bias     a small constant per CFA position (the black level is not exactly 512)
  quantisation   uniform in (-0.5, 0.5) DN

`simulate_short_exposure` returns integer raw data like a file's, where rounding to whole DN *is*
the quantisation (its error is uniform in (-0.5, 0.5) for a continuous signal), so no second
uniform term is added there; `raw_noise_dn` (the float path) adds the uniform term explicitly.
The simple "poisson_gaussian" variant keeps only shot and Gaussian read noise.

All functions take a `numpy.random.Generator` and are vectorised (about 0.1 s for 1024x1024).
"""

import dataclasses
import math

import numpy as np

from sid_tf2.simulation.profiles import get_profile

NOISE_MODELS = ("physics", "poisson_gaussian")
READ_NOISES = ("tukey", "gaussian")
RATIO_MODES = ("fixed", "uniform")
FIXED_RATIOS = (100.0, 250.0, 300.0)
UNIFORM_RATIO_RANGE = (100.0, 300.0)
SID_MAX_RATIO = 300.0
SID_SATURATED_SHORT_DN = (16383 - 512) / SID_MAX_RATIO  # the Sony A7S2's full scale at ratio 300


@dataclasses.dataclass(frozen=True)
class NoiseParams:
    """The noise of one short exposure. Set a scale to 0 to switch that component off.

    Attributes:
      model: "physics" or "poisson_gaussian" (informational).
      system_gain: K in DN per electron; 0 switches shot noise off.
      read_noise: "tukey" (Tukey-lambda, scale `read_sigma`, shape `read_lambda`) or
        "gaussian" (standard deviation `read_sigma`).
      read_sigma: read-noise scale in DN.
      read_lambda: Tukey-lambda shape (unused for Gaussian read noise).
      row_sigma: standard deviation of the per-row offset in DN.
      bias: DN offsets of the CFA positions (0,0), (0,1), (1,0), (1,1) (R, G, G, B for RGGB).
      quantization: whether `raw_noise_dn` adds U(-0.5, 0.5) DN (rounding does it for integers).
    """

    model: str = "physics"
    system_gain: float = 1.0
    read_noise: str = "tukey"
    read_sigma: float = 0.0
    read_lambda: float = 0.0
    row_sigma: float = 0.0
    bias: tuple = (0.0, 0.0, 0.0, 0.0)
    quantization: bool = True

    def __post_init__(self):
        if self.read_noise not in READ_NOISES:
            raise ValueError(f"read_noise must be one of {READ_NOISES}, not {self.read_noise!r}")
        if self.system_gain < 0 or self.read_sigma < 0 or self.row_sigma < 0:
            raise ValueError(f"Noise scales must be non-negative: {self}")
        if len(self.bias) != 4:
            raise ValueError(f"bias needs 4 values (one per CFA position), got {self.bias!r}")

    def to_dict(self):
        return {**dataclasses.asdict(self), "bias": [float(b) for b in self.bias]}

    @classmethod
    def from_dict(cls, values):
        values = dict(values)
        values["bias"] = tuple(values.get("bias", (0.0,) * 4))
        return cls(**values)


def sample_noise_params(rng, model="physics", profile="sony_a7s2", *, read_noise=None,
                        system_gain=None):
    """Sample the noise of one short exposure from a camera profile's calibrated ranges.

    log K ~ U(profile.log_k_range), or K = `system_gain` when the exposure's ISO fixes it;
    then, for the physics model, Tukey-lambda read noise with log(sigma) = 0.4621 log K +
    0.5657 + N(0, 0.2634) and lambda ~ U(-0.143, 0.129) (Sony A7S2 values), row noise
    log(sigma_row) = 0.5275 log K - 0.5917 + N(0, 0.2943), and a per-channel black-level bias
    N(0, profile.bias_std). The "poisson_gaussian" model has Gaussian read
    noise, log(sigma) = 0.5407 log K + 1.2182 + N(0, 0.2675), and nothing else.

    Args:
      rng: a `numpy.random.Generator`.
      model: "physics" or "poisson_gaussian".
      profile: a `CameraProfile`, its name or a noise-profile JSON file.
      read_noise: override the read-noise distribution ("tukey" or "gaussian"); the default is
        "tukey" for physics and "gaussian" for poisson_gaussian.
      system_gain: K in DN per electron (e.g. `profiles.gain_at_iso`); None samples it.

    Returns:
      A `NoiseParams`.
    """
    if model not in NOISE_MODELS:
        raise ValueError(f"noise model must be one of {NOISE_MODELS}, not {model!r}")
    profile = get_profile(profile)
    if read_noise is None:
        read_noise = "tukey" if model == "physics" else "gaussian"
    if read_noise not in READ_NOISES:
        raise ValueError(f"read_noise must be one of {READ_NOISES}, not {read_noise!r}")
    log_k = rng.uniform(*profile.log_k_range) if system_gain is None else math.log(system_gain)
    if read_noise == "tukey":
        read_sigma = profile.tukey_read.sample(rng, log_k)
        read_lambda = rng.uniform(*profile.tukey_lambda_range)
    else:
        read_sigma = profile.gaussian_read.sample(rng, log_k)
        read_lambda = 0.0
    if model == "physics":
        row_sigma = profile.row.sample(rng, log_k)
        bias = tuple(float(b) for b in rng.normal(0.0, profile.bias_std, 4))
    else:
        row_sigma = 0.0
        bias = (0.0, 0.0, 0.0, 0.0)
    return NoiseParams(
        model=model,
        system_gain=float(math.exp(log_k)),
        read_noise=read_noise,
        read_sigma=float(read_sigma),
        read_lambda=float(read_lambda),
        row_sigma=float(row_sigma),
        bias=bias,
        quantization=model == "physics",
    )


def sample_ratio(rng, ratios="fixed", max_ratio=SID_MAX_RATIO):
    """An exposure ratio: one of (100, 250, 300) ("fixed") or uniform in [100, 300], scaled so
    that the largest is `max_ratio` (`fitting_max_ratio`: a camera of fewer bits)."""
    scale = max_ratio / SID_MAX_RATIO
    if ratios == "fixed":
        return float(FIXED_RATIOS[rng.integers(len(FIXED_RATIOS))]) * scale
    if ratios == "uniform":
        return float(rng.uniform(*UNIFORM_RATIO_RANGE)) * scale
    raise ValueError(f"ratios must be one of {RATIO_MODES}, not {ratios!r}")


def fitting_max_ratio(white_level, black_level):
    """The largest exposure ratio for a camera's bit depth: SID's 300, or less where a
    saturated pixel would keep fewer digital numbers in the short exposure than it does on the
    Sony A7S2 at 300 (14 bits: (16383 - 512) / 300, about 53 DN). A 12-bit camera gets about
    72, a 10-bit one about 18: amplified further, the short exposures would be mostly
    quantisation, which no network can see through."""
    full_scale = float(white_level) - float(black_level)
    return float(min(SID_MAX_RATIO, max(1.0, full_scale / SID_SATURATED_SHORT_DN)))


def tukey_lambda(rng, lam, size, scale=1.0):
    """Samples of scale * TukeyLambda(lam), by its quantile function at uniform u:

    Q(u) = (u**lam - (1 - u)**lam) / lam, and the logistic log(u / (1 - u)) at lam = 0.
    """
    u = rng.random(size)
    u = np.clip(u, np.finfo(np.float64).tiny, None)  # u = 0 would give an infinite tail
    if abs(lam) < 1e-6:
        q = np.log(u) - np.log1p(-u)
    else:
        q = (u**lam - (1.0 - u) ** lam) / lam
    return scale * q


def _cfa_tile(values, shape):
    """Tile 4 per-CFA-position values ((0,0), (0,1), (1,0), (1,1)) over the last two axes."""
    height, width = shape[-2:]
    pattern = np.asarray(values, dtype=np.float64).reshape(2, 2)
    return np.tile(pattern, ((height + 1) // 2, (width + 1) // 2))[:height, :width]


def raw_noise_dn(signal_dn, params, rng, *, quantize=None):
    """The noisy raw value (float, DN above black) of an expected signal in DN above black.

    Args:
      signal_dn: the expected signal, shape [..., H, W] (a CFA mosaic; rows are the H axis).
      params: `NoiseParams`.
      rng: a `numpy.random.Generator`.
      quantize: add U(-0.5, 0.5) DN; default `params.quantization`.

    Returns:
      float32 array of the same shape, not clipped (negative values are possible).
    """
    signal = np.maximum(np.asarray(signal_dn, dtype=np.float64), 0.0)
    shape = signal.shape
    if signal.ndim < 2:
        raise ValueError(f"signal_dn must be a mosaic [..., H, W], got shape {shape}")
    k = params.system_gain
    if k > 0:
        noisy = rng.poisson(signal / k).astype(np.float64)
        noisy *= k
    else:
        noisy = signal.copy()
    if params.read_sigma > 0:
        if params.read_noise == "tukey":
            noisy += tukey_lambda(rng, params.read_lambda, shape, params.read_sigma)
        else:
            noisy += rng.normal(0.0, params.read_sigma, shape)
    if params.row_sigma > 0:
        noisy += rng.normal(0.0, params.row_sigma, shape[:-1] + (1,))
    if any(params.bias):
        noisy += _cfa_tile(params.bias, shape)
    if params.quantization if quantize is None else quantize:
        noisy += rng.uniform(-0.5, 0.5, shape)
    return noisy.astype(np.float32)


def simulate_short_exposure(long_mosaic_dn, ratio, params, rng, black_level=512,
                            white_level=16383):
    """Simulate a short exposure's raw data from a long exposure's.

    Args:
      long_mosaic_dn: the long exposure's raw values as stored (black level included), shape
        [..., H, W], any integer or float dtype.
      ratio: long exposure time / short exposure time (> 0); the short's expected signal is
        `max(long - black, 0) / ratio`.
      params: `NoiseParams` (e.g. from `sample_noise_params`).
      rng: a `numpy.random.Generator`.
      black_level, white_level: the sensor's levels in DN.

    Returns:
      uint16 raw values (black level included), rounded to whole DN and clipped to
      [0, white_level]. `(mean(short) - black) * ratio` estimates `mean(long) - black`, apart
      from the black-level bias and clipping.
    """
    if not ratio > 0:
        raise ValueError(f"ratio must be positive, got {ratio!r}")
    long_dn = np.asarray(long_mosaic_dn, dtype=np.float64)
    signal = np.maximum(long_dn - black_level, 0.0) / ratio
    noisy = raw_noise_dn(signal, params, rng, quantize=False)
    noisy += black_level
    np.rint(noisy, out=noisy)
    np.clip(noisy, 0, white_level, out=noisy)
    return noisy.astype(np.uint16)
