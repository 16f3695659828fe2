"""Choosing a camera profile (built in by name, a shipped noise profile by name, or a
noise-profile JSON file) and reading the ISO <-> system gain relation from it.

Shipped noise profiles are JSON files in `shipped_profiles/` (the cameras ELD, Wei et al.
CVPR 2020, calibrated; each file cites its source), chosen by their stem: `nikon_d850`.

The profiles themselves are in `camera_profiles.py`, their JSON files in `noise_profile.py`;
this module sits above both, so that every caller can name a profile either way.
"""

import math
import pathlib

from sid_tf2.simulation.camera_profiles import PROFILES, CameraProfile
from sid_tf2.simulation.noise_profile import load_noise_profile

SHIPPED_DIR = pathlib.Path(__file__).with_name("shipped_profiles")


def shipped_profile_names():
    """The names of the noise profiles shipped with the package (their files' stems)."""
    return sorted(path.stem for path in SHIPPED_DIR.glob("*.json"))


def profile_names():
    """Every name `get_profile` takes: the built-in profiles and the shipped noise profiles."""
    return sorted(set(PROFILES) | set(shipped_profile_names()))


def get_profile(profile):
    """Return a `CameraProfile` for a name in `PROFILES`, a shipped noise profile's name or a
    noise-profile JSON file (`noise_profile.load_noise_profile`), or pass a profile through."""
    if isinstance(profile, CameraProfile):
        return profile
    if str(profile).lower().endswith(".json"):
        return load_noise_profile(profile)
    if str(profile) in PROFILES:
        return PROFILES[str(profile)]
    if str(profile) in shipped_profile_names():
        return load_noise_profile(SHIPPED_DIR / f"{profile}.json")
    raise ValueError(
        f"Unknown camera profile {profile!r}: expected one of {profile_names()} or a "
        "noise-profile .json file.")


_STANDARD_ISOS = (
    50, 64, 80, 100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500,
    3200, 4000, 5000, 6400, 8000, 10000, 12800, 16000, 20000, 25600, 32000, 40000, 51200,
    64000, 80000, 102400, 128000, 160000, 204800, 256000, 409600,
)


def nominal_iso(system_gain, profile):
    """The standard ISO value nearest (in log space) to 100 * K / k_at_iso100."""
    profile = get_profile(profile)
    if system_gain <= 0:
        return 100
    target = math.log(100.0 * system_gain / profile.k_at_iso100)
    return min(_STANDARD_ISOS, key=lambda iso: abs(math.log(iso) - target))


def gain_at_iso(iso, profile):
    """(K, clamped): the system gain at `iso`, K = k_at_iso100 * iso / 100 (gain is proportional
    to ISO), clamped to the profile's calibrated range; `clamped` says whether it was."""
    profile = get_profile(profile)
    low, high = (math.exp(bound) for bound in profile.log_k_range)
    gain = profile.k_at_iso100 * float(iso) / 100.0
    clamped = not low * (1 - 1e-9) <= gain <= high * (1 + 1e-9)  # exp(log(x)) may round
    return min(max(gain, low), high), clamped
