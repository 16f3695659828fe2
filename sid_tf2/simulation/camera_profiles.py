"""Camera profiles: what a simulated camera looks like (colour, white balance, noise ranges).

A profile bundles every camera-specific number the simulator uses, so a second "domain" is one
more profile rather than a set of flags. `sony_a7s2` is the camera of SID's Sony set: its colour
matrix is the published XYZ->camera matrix for the ILCE-7S (the same matrix serves the ILCE-7SM2
in dcraw/LibRaw's tables) and its noise ranges are the Sony A7S2 calibration of Wei et al.,
"A Physics-based Noise Formation Model for Extreme Low-light Raw Denoising" (CVPR 2020).
`other` is deliberately different: the published Nikon D7000 colour matrix, other white-balance
ranges and shifted noise relations. It is not a calibration of any camera, only a second domain.
"""

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class LogLinear:
    """A noise scale that depends on the system gain K in log space:

    log(sigma) = slope * log(K) + intercept + N(0, std)   (natural logarithms).
    """

    slope: float
    intercept: float
    std: float

    def sample(self, rng, log_k):
        return math.exp(self.slope * log_k + self.intercept + rng.normal(0.0, self.std))


@dataclasses.dataclass(frozen=True)
class CameraProfile:
    """Colour, white-balance and noise-parameter ranges of one simulated camera.

    Attributes:
      name: the key in `PROFILES`.
      description: one line for humans and simulation.json.
      xyz_to_cam: one or more 3x3 XYZ->camera matrices (row-major, DNG ColorMatrix1 convention,
        dcraw scale: any overall scale works). With several, each scene uses a random convex
        combination of them.
      red_gain_range, blue_gain_range: uniform ranges of the white-balance gains (green is 1)
        that a scene's camera would apply; the raw data is divided by them.
      black_level, white_level: the sensor's levels in DN (14-bit Sony: 512 and 16383).
      log_k_range: natural-log range of the system gain K (DN per electron), sampled uniformly.
      tukey_read: log(sigma_read) vs log(K) for Tukey-lambda read noise.
      tukey_lambda_range: uniform range of the Tukey-lambda shape parameter.
      gaussian_read: log(sigma_read) vs log(K) for Gaussian read noise.
      row: log(sigma_row) vs log(K) for row (banding) noise.
      bias_std: standard deviation (DN) of the per-CFA-channel black-level bias. Wei et al.
        calibrate a small per-channel "colour bias"; this scalar is this project's stand-in.
      k_at_iso100: the system gain that corresponds to ISO 100, for the nominal ISO written
        into the files (ISO = 100 * K / k_at_iso100, rounded to a standard value).
      make, model: the DNG Make / Model strings.
    """

    name: str
    description: str
    xyz_to_cam: tuple
    red_gain_range: tuple = (1.9, 2.4)
    blue_gain_range: tuple = (1.5, 1.9)
    black_level: int = 512
    white_level: int = 16383
    log_k_range: tuple = (math.log(0.0939), math.log(6.0106))
    tukey_read: LogLinear = LogLinear(0.4621, 0.5657, 0.2634)
    tukey_lambda_range: tuple = (-0.143, 0.129)
    gaussian_read: LogLinear = LogLinear(0.5407, 1.2182, 0.2675)
    row: LogLinear = LogLinear(0.5275, -0.5917, 0.2943)
    bias_std: float = 0.5
    k_at_iso100: float = 0.0939
    make: str = "sid-tf2"
    model: str = "simulated"

    def matrices(self):
        """The XYZ->camera matrices as an array of shape [n, 3, 3]."""
        return np.asarray(self.xyz_to_cam, dtype=np.float64).reshape(-1, 3, 3)

    def to_dict(self):
        return dataclasses.asdict(self)


# Published dcraw/LibRaw "adobe_coeff" matrices (XYZ->camera, times 10000).
_SONY_ILCE_7S = (5838, -1430, -246, -3497, 11477, 2297, -748, 1885, 5778)
_NIKON_D7000 = (8198, -2239, -724, -4871, 12389, 2798, -1043, 2050, 7181)


def _matrix(coefficients):
    return tuple(tuple(c / 10000.0 for c in coefficients[r * 3:r * 3 + 3]) for r in range(3))


PROFILES = {
    "sony_a7s2": CameraProfile(
        name="sony_a7s2",
        description="Sony A7S II (SID's Sony camera): ILCE-7S colour matrix, Wei et al. noise",
        xyz_to_cam=(_matrix(_SONY_ILCE_7S),),
        model="simulated Sony ILCE-7SM2",
    ),
    "other": CameraProfile(
        name="other",
        description="a second domain: Nikon D7000 colour matrix, other white balance, "
        "shifted noise relations (not a calibrated camera)",
        xyz_to_cam=(_matrix(_NIKON_D7000),),
        red_gain_range=(2.0, 2.6),
        blue_gain_range=(1.2, 1.6),
        log_k_range=(math.log(0.05), math.log(3.0)),
        tukey_read=LogLinear(0.45, 0.95, 0.25),
        tukey_lambda_range=(-0.05, 0.2),
        gaussian_read=LogLinear(0.52, 1.55, 0.25),
        row=LogLinear(0.55, -0.1, 0.3),
        bias_std=1.0,
        k_at_iso100=0.05,
        model="simulated other camera",
    ),
}
