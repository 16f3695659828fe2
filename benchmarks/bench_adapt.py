"""The adaptation gain of `sid-adapt` on a stand-in second camera (issue 22's goal: +2 dB held-out
PSNR over the Sony network as it is, within 30 minutes on a 2-core CPU).

    python benchmarks/bench_adapt.py --init=checkpoint/Sony/ --minutes=30 --output_dir=/tmp/bench_adapt

The stand-in camera, built so that the Sony network meets what a real second camera would give it:

* another Bayer phase (GRBG: the RGGB mosaics the simulator writes from photographs, one column
  cropped off) and other levels (black 600, white 15800 instead of 512 / 16383);
* its noise: the shipped `nikon_d850` profile (ELD's calibration), at ISO 3200;
* clean raws: scikit-image's photographs (one half), unprocessed by the simulator and re-phased;
* held-out "real" pairs from the other half of the photographs, with noise the profile lacks:
  stronger row noise and black-level bias, fixed-pattern column offsets, dark shading (a ramp
  across the frame) and another seed. Their train split also serves as the few real pairs
  (`--simulated_only` withholds them: the gain of the simulated pairs alone).

With `--estimate_noise` the clean raws are what a photographer would shoot: ISO 200, with the
camera's own noise at ISO 200, and `sid-adapt` gets no profile, only `--iso=3200`: the noise is
estimated from the raws themselves (`simulation.noise_estimate`).

`sid-adapt` then runs as a user would run it (a subprocess), and this script prints its held-out
PSNR/SSIM before and after and the time, and writes them to OUTPUT_DIR/bench_adapt.json. The
published weights' TF1 checkpoint is not on this machine; pass the quick-start trained weights
(`python train_sony.py --synthetic ...`'s result_dir/model.weights.h5) with --init instead, and
say so when quoting the result.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np

from sid_tf2 import dng
from sid_tf2.experiments.transfer import split_default_photos
from sid_tf2.simulation import write_synthetic_dataset
from sid_tf2.simulation.noise import sample_noise_params
from sid_tf2.simulation.profiles import gain_at_iso, get_profile
from sid_tf2.simulation.raw_pairs import simulate_raw_short
from sid_tf2.simulation.raw_sources import list_raw_paths, read_raw_source

PHASE, BLACK, WHITE, ISO = "GRBG", 600, 15800, 3200
CLEAN_ISO = 200  # the clean raws' with --estimate_noise
SHIPPED = "nikon_d850"


def standin_profile():
    """The shipped profile with the stand-in camera's levels (what the clean raws are written with)."""
    return dataclasses.replace(get_profile(SHIPPED), name="standin", black_level=BLACK, white_level=WHITE)


def real_profile():
    """The held-out pairs' noise: the profile's, with stronger row noise and black-level bias."""
    base = standin_profile()
    row = dataclasses.replace(base.row, intercept=base.row.intercept + 0.7)
    return dataclasses.replace(base, name="standin_real", row=row, bias_std=3.0)


def rephase(source, path, iso=ISO, rng=None):
    """Write a raw source again with one column cropped off (RGGB -> GRBG) at `iso`; with `rng`,
    with the stand-in camera's noise at that ISO (a clean raw as a camera records it)."""
    if rng is not None:
        gain, _ = gain_at_iso(iso, standin_profile())
        params = sample_noise_params(rng, "physics", standin_profile(), system_gain=gain)
        source = dataclasses.replace(source, mosaic=simulate_raw_short(source, 1.0, params, rng))
    mosaic = source.mosaic[:, 1:-1]
    dng.write_dng(path, mosaic, cfa_pattern=PHASE, black_level=BLACK, white_level=WHITE,
                  color_matrix=np.asarray(source.xyz_to_cam), as_shot_neutral=source.as_shot_neutral,
                  exposure_time=source.exposure_time or 0.1, iso=iso)


def clean_raws(photos, folder, scenes, size, seed, noisy=False):
    """Clean GRBG raws of the stand-in camera from photographs (the simulator's long exposures);
    `noisy`: at ISO 200 with the camera's noise, else noise-free at ISO 3200."""
    written = write_synthetic_dataset(os.path.join(folder, "simulated"), source_dir=photos, num_scenes=scenes,
                                      size=(size, size), seed=seed, profile=standin_profile(), progress=False)
    raws = os.path.join(folder, "raws")
    os.makedirs(raws, exist_ok=True)
    rng = np.random.default_rng(seed + 500) if noisy else None
    for path in sorted(set(list_raw_paths(os.path.join(written.output_dir, "long")))):
        rephase(read_raw_source(path), os.path.join(raws, path.name), CLEAN_ISO if noisy else ISO, rng)
    return raws


def add_unmodelled_noise(pairs_dir, seed):
    """Fixed-pattern column offsets and dark shading on every short exposure, in place."""
    rng = np.random.default_rng(seed)
    columns = None
    for path in list_raw_paths(os.path.join(pairs_dir, "short")):
        source = read_raw_source(path)
        height, width = source.mosaic.shape
        if columns is None or columns.shape[0] != width:
            columns = rng.normal(0.0, 2.0, width)  # the sensor's: one pattern for every frame
        shading = np.linspace(0.0, 6.0, height)[:, None]  # DN, a ramp down the frame
        noisy = np.clip(source.mosaic + columns[None, :] + shading, 0, WHITE).round().astype(np.uint16)
        dng.write_dng(path, noisy, cfa_pattern=source.cfa_pattern, black_level=source.black_level,
                      white_level=source.white_level, color_matrix=np.asarray(source.xyz_to_cam),
                      as_shot_neutral=source.as_shot_neutral, exposure_time=source.exposure_time, iso=source.iso)


def build_camera(folder, scenes, size, noisy_raws=False):
    """(clean raws folder, real pairs folder) of the stand-in camera (kept and reused if present)."""
    source_photos, target_photos = split_default_photos(folder)
    raws = os.path.join(folder, "camera_iso200" if noisy_raws else "camera")
    if not os.path.isdir(os.path.join(raws, "raws")):
        clean_raws(source_photos, raws, scenes, size, seed=0, noisy=noisy_raws)
    target_raws = os.path.join(folder, "target")
    pairs = os.path.join(folder, "real_pairs")
    if not os.path.isdir(pairs):
        target = clean_raws(target_photos, target_raws, scenes, size, seed=1)
        write_synthetic_dataset(pairs, source_dir=target, num_scenes=scenes, seed=77, profile=real_profile(),
                                progress=False)
        add_unmodelled_noise(pairs, seed=78)
    return os.path.join(raws, "raws"), pairs


def test_split_only(pairs, folder):
    """A copy (symbolic links) of the real pairs' test split alone: no real pair to fine-tune on."""
    for kind in ("short", "long"):
        os.makedirs(os.path.join(folder, kind), exist_ok=True)
        for name in os.listdir(os.path.join(pairs, kind)):
            link = os.path.join(folder, kind, name)
            if name.startswith("1") and not os.path.lexists(link):
                os.symlink(os.path.join(pairs, kind, name), link)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", required=True, help="Sony weights in any form --weights takes.")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--output_dir", default="/tmp/bench_adapt")
    parser.add_argument("--scenes", type=int, default=10, help="Scenes of each half (raws and real pairs).")
    parser.add_argument("--size", type=int, default=768, help="Mosaic side of the clean raws.")
    parser.add_argument("--patch_size", type=int, default=256)
    parser.add_argument("--simulated_only", action="store_true", help="Give sid-adapt the real pairs' test "
                        "split only: the gain of pretraining on simulated pairs alone.")
    parser.add_argument("--estimate_noise", action="store_true", help="ISO 200 raws with their noise, no "
                        "profile: sid-adapt estimates the noise from the raws.")
    args = parser.parse_args()
    started = time.monotonic()
    raws, pairs = build_camera(args.output_dir, args.scenes, args.size, noisy_raws=args.estimate_noise)
    if args.simulated_only:
        pairs = test_split_only(pairs, os.path.join(args.output_dir, "real_pairs_test_only"))
    prepared = time.monotonic() - started
    variant = ("_simulated_only" if args.simulated_only else "") + ("_estimated" if args.estimate_noise else "")
    adapted = os.path.join(args.output_dir, "adapted" + variant)
    noise = [f"--iso={ISO}"] if args.estimate_noise else [f"--noise_profile={SHIPPED}"]
    command = [sys.executable, "-m", "sid_tf2.adapt", f"--raws={raws}", *noise, f"--pairs={pairs}",
               f"--init={args.init}", f"--minutes={args.minutes:g}", f"--output_dir={adapted}",
               f"--patch_size={args.patch_size}", "--name=standin"]
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, check=True)
    with open(os.path.join(adapted, "adapt_state.json"), encoding="utf-8") as handle:
        state = json.load(handle)
    result = {"before_psnr": state["before"]["psnr"], "before_ssim": state["before"]["ssim"],
              "after_psnr": state["after"]["psnr"], "after_ssim": state["after"]["ssim"],
              "adapt_seconds": state["seconds"], "prepare_seconds": prepared, "minutes": args.minutes,
              "init": args.init, "simulated_only": args.simulated_only, "estimate_noise": args.estimate_noise,
              "noise": state["noise"], "cpu": common.cpu_info()["model"]}
    result["gain_db"] = result["after_psnr"] - result["before_psnr"]
    name = f"bench_adapt{variant}.json"
    with open(os.path.join(args.output_dir, name), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
