"""Noise profiles as JSON files: the log-linear parameters ELD and LED publish per camera.

A camera's noise is described, as in Wei et al. (ELD, CVPR 2020) and Jin et al. (LED, ICCV
2023), by the range of its system gain K (DN per electron, one value per ISO) and by straight
lines in log space that give each noise scale from K (natural logarithms):

    log(sigma) = slope * log(K) + bias + N(0, sigma_fit)

The file holds those numbers:

    {
      "name": "my_camera",                 optional (default: the file's stem)
      "K_range": [0.0939, 6.0106],         gains of the calibrated ISOs, lowest and highest
      "K_at_iso100": 0.0939,               optional (default: the lowest gain), maps ISO -> K
      "G":   {"slope": 0.5407, "bias": 1.2182, "sigma": 0.2675},   Gaussian read noise
      "TL":  {"slope": 0.4621, "bias": 0.5657, "sigma": 0.2634},   Tukey-lambda read noise scale
      "lambda": [-0.143, 0.129],           range of the Tukey-lambda shape
      "Row": {"slope": 0.5275, "bias": -0.5917, "sigma": 0.2943},  row noise
      "black_bias_std": 0.5                optional (default 0): per-channel black-level bias, DN
    }

`python -m sid_tf2.simulate --calibrate` writes such a file (`calibrate.py`). A profile read from
a file keeps the Sony A7S2's colour and white-balance ranges, which only photographs use; raw
sources keep their own.
"""

import dataclasses
import json
import math
import pathlib

from sid_tf2.atomic import write_text
from sid_tf2.simulation.camera_profiles import PROFILES, LogLinear

_LINES = {"G": "gaussian_read", "TL": "tukey_read", "Row": "row"}


class NoiseProfileError(ValueError):
    """A noise-profile file that cannot be used (the message names the file and the field)."""


def _line(path, values, key):
    entry = values.get(key)
    if not isinstance(entry, dict):
        raise NoiseProfileError(f"{path}: needs {key!r}: {{\"slope\", \"bias\", \"sigma\"}}")
    try:
        line = LogLinear(float(entry["slope"]), float(entry["bias"]), float(entry["sigma"]))
    except (KeyError, TypeError, ValueError):
        raise NoiseProfileError(f"{path}: {key!r} needs numbers slope, bias and sigma, "
                                f"got {entry!r}") from None
    if line.std < 0 or not all(math.isfinite(v) for v in dataclasses.astuple(line)):
        raise NoiseProfileError(f"{path}: {key!r} must be finite with sigma >= 0, got {entry!r}")
    return line


def _pair(path, values, key, positive):
    try:
        low, high = (float(v) for v in values[key])
    except (KeyError, TypeError, ValueError):
        raise NoiseProfileError(f"{path}: needs {key!r}: [low, high]") from None
    if not low <= high or (positive and low <= 0) or not all(map(math.isfinite, (low, high))):
        raise NoiseProfileError(f"{path}: {key!r} must be [low, high] with low <= high"
                                + (" and both positive" if positive else "") + f", got {[low, high]}")
    return low, high


def profile_from_dict(values, path="<noise profile>"):
    """A `CameraProfile` from the JSON fields above (`path` only names the source in errors)."""
    if not isinstance(values, dict):
        raise NoiseProfileError(f"{path}: expected a JSON object, got {type(values).__name__}")
    k_low, k_high = _pair(path, values, "K_range", positive=True)
    k_at_iso100 = float(values.get("K_at_iso100", k_low))
    if not k_at_iso100 > 0:
        raise NoiseProfileError(f"{path}: K_at_iso100 must be positive, got {k_at_iso100}")
    name = str(values.get("name") or pathlib.Path(str(path)).stem)
    return dataclasses.replace(
        PROFILES["sony_a7s2"],
        name=name,
        description=str(values.get("description") or f"noise profile {name} from {path} "
                        "(colour and white balance of the Sony A7S2 profile)"),
        log_k_range=(math.log(k_low), math.log(k_high)),
        k_at_iso100=k_at_iso100,
        tukey_lambda_range=_pair(path, values, "lambda", positive=False),
        bias_std=float(values.get("black_bias_std", 0.0)),
        model=f"simulated ({name} noise)",
        **{field: _line(path, values, key) for key, field in _LINES.items()},
    )


def profile_to_dict(profile):
    """The JSON fields of a profile's noise (the inverse of `profile_from_dict`)."""
    values = {"name": profile.name, "description": profile.description,
              "K_range": [math.exp(bound) for bound in profile.log_k_range],
              "K_at_iso100": profile.k_at_iso100,
              "lambda": list(profile.tukey_lambda_range),
              "black_bias_std": profile.bias_std}
    for key, field in _LINES.items():
        line = getattr(profile, field)
        values[key] = {"slope": line.slope, "bias": line.intercept, "sigma": line.std}
    return values


def load_noise_profile(path):
    """Read a noise-profile JSON file as a `CameraProfile`; `NoiseProfileError` says what is wrong."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise NoiseProfileError(f"{path}: cannot read the noise profile ({error.strerror or error})"
                                ) from None
    try:
        values = json.loads(text)
    except ValueError as error:
        raise NoiseProfileError(f"{path}: not valid JSON ({error})") from None
    return profile_from_dict(values, path)


def save_noise_profile(path, profile):
    """Write a profile's noise as JSON (atomically)."""
    write_text(path, json.dumps(profile_to_dict(profile), indent=1) + "\n")
