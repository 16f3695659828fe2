"""Low-light simulation and synthetic SID-layout datasets: the entry module.

Library use (the training script):

    from sid_tf2.simulate import write_synthetic_dataset
    summary = write_synthetic_dataset("data/synthetic", num_scenes=8, seed=0)

Command line:

    python -m sid_tf2.simulate --output_dir=DIR [--source_dir=PHOTOS] [--num_scenes=8]
        [--size=1024,1024] [--seed=0] [--noise_model=physics|poisson_gaussian]
        [--ratios=fixed|uniform] [--bursts=1] [--profile=sony_a7s2|other]

The pieces (unprocessing, the noise model, camera profiles, the dataset writer) live in
`sid_tf2.simulation`; everything public there is re-exported here. Flags are defined only when
this module runs as a script, so importing it never touches absl's global flags.
"""

import sys

from sid_tf2.atomic import WriteError
from sid_tf2.simulation import *  # noqa: F401,F403  (the public API, re-exported)
from sid_tf2.simulation import PROFILES, __all__, write_synthetic_dataset  # noqa: F401


def parse_size(text):
    """'H,W' (or 'HxW') -> (H, W)."""
    parts = str(text).replace("x", ",").split(",")
    if len(parts) != 2:
        raise ValueError(f"size must be H,W, got {text!r}")
    return tuple(int(part) for part in parts)


def define_flags(flag_values=None):
    """Define the command-line flags (on absl's global FLAGS unless given others)."""
    from absl import flags  # pylint: disable=import-outside-toplevel

    flag_values = flags.FLAGS if flag_values is None else flag_values
    flags.DEFINE_string("output_dir", None, "Folder of the synthetic dataset.",
                        required=True, flag_values=flag_values)
    flags.DEFINE_string("source_dir", None, "Folder of JPEG/PNG photographs (recursive); "
                        "default: the photographs bundled with scikit-image.",
                        flag_values=flag_values)
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
    return flag_values


def main(argv, flag_values=None):
    from absl import app, flags  # pylint: disable=import-outside-toplevel

    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    values = flags.FLAGS if flag_values is None else flag_values
    try:
        size = parse_size(values.size)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    try:
        summary = _write(values, size)
    except (ValueError, WriteError) as error:  # no photographs, a bad photo folder, a full disk
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
        profile=values.profile,
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


if __name__ == "__main__":
    from absl import app as _app

    define_flags()
    _app.run(main)
