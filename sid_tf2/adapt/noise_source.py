"""Which noise the adapted camera's simulated pairs get, and the profile file that records it.

In order of preference: a profile the user names (`--noise_profile`, a JSON file or a shipped
name), one calibrated from the camera's own dark frames and flat pairs (`--dark_frames`,
`--flat_pairs`), one estimated from the flat and dark areas of the raws themselves
(`simulation.noise_estimate`: the gain per ISO is measured, the noise's shape is the Sony
calibration's), and when the raws do not show their noise, the Sony A7S2's with a warning that
says why: a wrong profile costs part of the gain.
Whatever is chosen is written to the output folder as JSON, so that the training stages (which
read a profile by path and check it on resume) and the user see the same numbers.
"""

import dataclasses
import os

from sid_tf2.simulation.calibrate import calibrate_folders
from sid_tf2.simulation.noise_estimate import EstimationError, estimate_profile
from sid_tf2.simulation.noise_profile import profile_from_dict, save_noise_profile
from sid_tf2.simulation.profiles import get_profile

PROFILE_FILE = "noise_profile.json"
FALLBACK = "sony_a7s2"
FALLBACK_WARNING = ("warning: no --noise_profile and no --dark_frames/--flat_pairs, and no noise estimate "
                    "from the raws ({reason}): using the Sony A7S2's noise profile; calibrate the camera "
                    "or name a shipped profile for a better result")


@dataclasses.dataclass(frozen=True)
class NoiseChoice:
    path: str  # the profile JSON in the output folder
    description: str  # for the report
    warning: str = None


def choose_noise(path, *, noise_profile=None, dark_frames=None, flat_pairs=None, raws=()):
    """Settle the camera's noise profile and write it to `path` (JSON); `raws` (paths) are the
    camera's clean raws, to estimate it from when neither a profile nor frames are given.

    Raises ValueError (one line, naming the file or flag) for a bad profile or calibration.
    """
    if noise_profile and (dark_frames or flat_pairs):
        raise ValueError("give --noise_profile or --dark_frames/--flat_pairs, not both")
    if bool(dark_frames) != bool(flat_pairs):
        raise ValueError("calibration needs both --dark_frames=DIR and --flat_pairs=DIR")
    if dark_frames:
        for flag, folder in (("--dark_frames", dark_frames), ("--flat_pairs", flat_pairs)):
            if not os.path.isdir(folder):
                raise ValueError(f"{flag}={folder}: not a directory")
        values, results = calibrate_folders(dark_frames, flat_pairs, path, name="calibrated")
        isos = ", ".join(f"{result.iso:g}" for result in results)
        return NoiseChoice(path, f"calibrated from `{dark_frames}` and `{flat_pairs}` (ISO {isos}): "
                           f"`{values['name']}`")
    if noise_profile:
        profile = get_profile(noise_profile)
        save_noise_profile(path, profile)
        return NoiseChoice(path, f"`{noise_profile}` ({profile.description})")
    try:
        values, _ = estimate_profile(raws, name="estimated")
    except EstimationError as error:
        profile = get_profile(FALLBACK)
        save_noise_profile(path, profile)
        return NoiseChoice(path, f"`{FALLBACK}` (fallback: {profile.description})",
                           FALLBACK_WARNING.format(reason=error))
    save_noise_profile(path, profile_from_dict(values))
    return NoiseChoice(path, values["description"])

