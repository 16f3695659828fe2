"""A folder of full-size raw frames through sid-enhance, against the network alone.

    python benchmarks/bench_folder.py [--frames=3] [--weights=W.h5] [--size=2848,4256]
        [--format=png] [--tile_size=640] [--fast]

1. Writes `--frames` simulated short exposures of `--size` (a full Sony frame by default) as
   DNG files into a temporary folder (sid_tf2.simulate).
2. The network alone: the predictor sid-enhance would use (the tuned enhance settings, tiles of
   at most `--tile_size`) on each frame's packed, amplified input, one after the other, first
   call (tracing, compilation) included: the time no tool can beat.
3. sid-enhance on the folder, as a user runs it, in its own process; its own total for the files
   (printed as "N file(s) enhanced in ..."): from a ready network to the last file written; the
   start-up, the model load and the network's preparation, during which sid-enhance decodes the
   first file, are not in it.

With `--fast` both sides are OpenVINO int8 (NNCF), as `sid-enhance --fast` runs it.

Reported: both times and their ratio (goal: at most 1.15x), with the machine.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)

ENHANCED = re.compile(r"(\d+) file\(s\) enhanced in (\S+)( s\b)?")


def _seconds(text, unit):
    """'14.6' with the unit ' s' (under a minute), else '3m05s', '2h07m'
    (sid_tf2.progress.format_duration) -> seconds."""
    if unit:
        return float(text)
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return 3600 * hours + 60 * minutes + seconds


def write_frames(folder, count, size, seed=0):
    from sid_tf2.simulate import write_synthetic_dataset

    data = os.path.join(folder, "dataset")
    write_synthetic_dataset(data, num_scenes=max(count, 3), size=size, seed=seed, progress=False)
    shorts = sorted(os.listdir(os.path.join(data, "short")))[:count]
    frames = os.path.join(folder, "frames")
    os.makedirs(frames)
    for name in shorts:
        shutil.move(os.path.join(data, "short", name), os.path.join(frames, name))
    shutil.rmtree(data)
    return frames


def network_alone(frames, weights, tile_size, fast=False):
    """Seconds for the predictor on every frame's network input (packing not included)."""
    import numpy as np

    from sid_tf2 import tuning
    from sid_tf2.enhance import auto_ratio
    from sid_tf2.inference import make_predictor
    from sid_tf2.raw import pack_bayer, read_raw
    from sid_tf2.weights import load_model_weights

    model, _ = load_model_weights(weights)
    settings = "openvino:int8" if fast else tuning.tuned_settings("enhance", model=model, tune=True, log=print)
    predictor = make_predictor(model, settings, tile_size=tile_size or None)  # as sid-enhance
    inputs = []
    for name in sorted(os.listdir(frames)):
        with read_raw(os.path.join(frames, name)) as raw:
            packed = pack_bayer(raw)
        ratio, _ = auto_ratio(packed)
        inputs.append(np.minimum(packed * np.float32(ratio), np.float32(1.0))[None])
    start = time.perf_counter()
    for packed in inputs:
        predictor(packed)
    return time.perf_counter() - start, getattr(settings, "name", settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--weights", default=None, help="A .weights.h5 (else a seeded random init).")
    parser.add_argument("--size", default="2848,4256", help="Mosaic height,width of each frame.")
    parser.add_argument("--format", default="png", help="sid-enhance --format.")
    parser.add_argument("--tile_size", type=int, default=640, help="sid-enhance --tile_size (0: whole).")
    parser.add_argument("--fast", action="store_true", help="OpenVINO int8 on both sides (sid-enhance --fast).")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split(","))

    info = common.machine_info()
    print(f"device: {common.device_summary(info)}", flush=True)
    work = tempfile.mkdtemp(prefix="sid_bench_folder_")
    try:
        weights = args.weights
        if weights is None:
            import keras

            from sid_tf2.model import build_unet

            keras.utils.set_random_seed(0)
            weights = os.path.join(work, "random.weights.h5")
            build_unet("sony").save_weights(weights)
        frames = write_frames(work, args.frames, size)
        network, settings = network_alone(frames, weights, args.tile_size, args.fast)
        print(f"network alone ({settings}): {network:.1f} s for {args.frames} frame(s)", flush=True)
        command = ["sid-enhance", frames, f"--weights={weights}", f"--output_dir={work}/out",
                   f"--format={args.format}", f"--tile_size={args.tile_size}", *(["--fast"] if args.fast else [])]
        executable = shutil.which("sid-enhance")
        argv = [executable, *command[1:]] if executable else [
            sys.executable, "-m", "sid_tf2.enhance", *command[1:]]
        started = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        match = ENHANCED.search(result.stdout)
        folder = _seconds(match.group(2), match.group(3)) if match else wall
        common.print_header(f"A folder of {args.frames} frame(s) of {size[0]}x{size[1]} through sid-enhance", info)
        print(common.markdown_table(
            ["what", "seconds", "vs network alone"],
            [["network alone (tuned enhance settings, first call included)", f"{network:.1f}", "1.00x"],
             [f"sid-enhance --format={args.format} (its own total for the files)", f"{folder:.1f}",
              f"{folder / network:.2f}x"],
             ["sid-enhance, whole process (start-up and model load included)", f"{wall:.1f}",
              f"{wall / network:.2f}x"]]))
        print(f"\nCommand: {' '.join(command)}\nGoal: at most 1.15x the network alone.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
