"""Low-light simulation and synthetic SID-layout datasets: the entry module.

Library use (the training script):

    from sid_tf2.simulate import write_synthetic_dataset
    summary = write_synthetic_dataset("data/synthetic", num_scenes=8, seed=0)

Command line:

    python -m sid_tf2.simulate --output_dir=DIR [--source_dir=PHOTOS_OR_RAWS] [--num_scenes=8]
        [--size=1024,1024] [--seed=0] [--noise_model=physics|poisson_gaussian]
        [--ratios=fixed|uniform] [--bursts=1] [--profile=sony_a7s2|other]
        [--noise_profile=CAMERA.json]
    python -m sid_tf2.simulate --calibrate --dark_frames=DIR --flat_pairs=DIR
        [--profile_output=noise_profile.json] [--overwrite]

The pieces (unprocessing, the noise model, camera profiles, the dataset writer) live in
`sid_tf2.simulation`; everything public there is re-exported here. Flags are defined only when
this module runs as a script, so importing it never touches absl's global flags.
Expected failures (no usable sources, a bad noise profile, unusable calibration frames) end
in one line `error: ...` and exit status 1.
"""

import sys

from absl import app, flags

from sid_tf2 import cli
from sid_tf2.simulation import *  # noqa: F401,F403  (the public API, re-exported)
from sid_tf2.simulation import PROFILES, __all__, write_synthetic_dataset  # noqa: F401
from sid_tf2.simulation.calibrate import calibrate_folders
from sid_tf2.simulation.profiles import shipped_profile_names


def parse_size(text):
    """'H,W' (or 'HxW') -> (H, W)."""
    parts = str(text).replace("x", ",").split(",")
    if len(parts) != 2:
        raise ValueError(f"size must be H,W, got {text!r}")
    return tuple(int(part) for part in parts)


def define_flags(flag_values=None):
    """Define the command-line flags (on absl's global FLAGS unless given others)."""
    flag_values = flags.FLAGS if flag_values is None else flag_values
    flags.DEFINE_string("output_dir", None, "Folder of the synthetic dataset (required unless "
                        "--calibrate).", flag_values=flag_values)
    flags.DEFINE_string("source_dir", None, "Folder of JPEG/PNG photographs and/or raw files of "
                        "Bayer cameras (recursive); default: the photographs bundled with "
                        "scikit-image.", flag_values=flag_values)
    flags.DEFINE_integer("num_scenes", 8, "Number of scenes.", lower_bound=1,
                         flag_values=flag_values)
    flags.DEFINE_string("size", "1024,1024", "Mosaic size H,W (even numbers).",
                        flag_values=flag_values)
    flags.DEFINE_integer("seed", 0, "Random seed.", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_enum("noise_model", "physics", ["physics", "poisson_gaussian"],
                      "Noise model of the short exposures.", flag_values=flag_values)
    flags.DEFINE_enum("ratios", "fixed", ["fixed", "uniform"],
                      "Exposure ratios: SID's 100/250/300, or uniform in [100, 300].",
                      flag_values=flag_values)
    flags.DEFINE_integer("bursts", 1, "Short-exposure bursts per scene.", lower_bound=1,
                         flag_values=flag_values)
    flags.DEFINE_enum("profile", "sony_a7s2", sorted(PROFILES), "Camera profile.",
                      flag_values=flag_values)
    flags.DEFINE_string("noise_profile", None, "Noise profile JSON (log-linear parameters as "
                        "ELD/LED publish them, or from --calibrate), or a shipped profile's name "
                        f"({', '.join(shipped_profile_names())}); replaces --profile's noise.",
                        flag_values=flag_values)
    flags.DEFINE_bool("calibrate", False, "Estimate a noise profile from --dark_frames and "
                      "--flat_pairs instead of writing a dataset.", flag_values=flag_values)
    flags.DEFINE_string("dark_frames", None, "Folder of dark raw frames (per ISO).",
                        flag_values=flag_values)
    flags.DEFINE_string("flat_pairs", None, "Folder of flat raw exposures, two per ISO and "
                        "exposure time, at two levels at least.", flag_values=flag_values)
    flags.DEFINE_string("profile_output", "noise_profile.json", "Where --calibrate writes the "
                        "profile.", flag_values=flag_values)
    flags.DEFINE_bool("overwrite", False, "Replace an existing --profile_output (otherwise "
                      "--calibrate stops before reading any frame).", flag_values=flag_values)
    return flag_values


def run_calibration(values):
    """--calibrate: estimate, write and summarise a noise profile."""
    if not values.dark_frames or not values.flat_pairs:
        raise ValueError("--calibrate needs --dark_frames=DIR and --flat_pairs=DIR")
    profile, results = calibrate_folders(values.dark_frames, values.flat_pairs,
                                         values.profile_output, overwrite=values.overwrite)
    print("ISO     K (DN/e-)  read sigma  TL scale  lambda  row sigma  darks  pairs")
    for r in results:
        print(f"{r.iso:<7g} {r.system_gain:9.4f}  {r.gaussian_sigma:10.3f}  {r.tukey_scale:8.3f}"
              f"  {r.tukey_lambda:6.2f}  {r.row_sigma:9.3f}  {r.dark_frames:5d}  {r.flat_pairs:5d}")
    print(f"noise profile {profile['name']!r} written to {values.profile_output}")


def main(argv, flag_values=None):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    values = flags.FLAGS if flag_values is None else flag_values
    try:
        size = parse_size(values.size)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    if not values.calibrate and not values.output_dir:
        raise app.UsageError("--output_dir is required (unless --calibrate)")
    try:
        if values.calibrate:
            return run_calibration(values)
        summary = _write(values, size)
    except (ValueError, OSError) as error:  # bad sources, profile or frames, a full disk
        print(f"error: {error}", file=sys.stderr)
        return 1
    _report(summary)
    return 0


def _write(values, size):
    return write_synthetic_dataset(
        values.output_dir,
        source_dir=values.source_dir,
        num_scenes=values.num_scenes,
        size=size,
        seed=values.seed,
        noise_model=values.noise_model,
        ratios=values.ratios,
        bursts=values.bursts,
        profile=values.noise_profile or values.profile,
        progress=True,
    )


def _report(summary):
    print(f"Synthetic dataset: {summary.output_dir}")
    for split in ("train", "val", "test"):
        print(f"  {split}: {len(summary.splits[split])} scenes, list {summary.list_files[split]}")
    print(f"  {summary.num_long} long + {summary.num_short} short DNG files "
          f"({summary.files_written} written now) in {summary.seconds:.1f} s")
    for path, reason in summary.skipped_sources:
        print(f"  skipped {path}: {reason}")
    for warning in summary.warnings:
        print(f"  warning: {warning}")


def run():
    """`sid-simulate` and `python -m sid_tf2.simulate`."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
