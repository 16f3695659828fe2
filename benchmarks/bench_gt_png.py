"""How much faster the disk cache builds from the authors' 16-bit ground-truth PNGs.

    python benchmarks/bench_gt_png.py [--scenes=4] [--height=2848] [--width=4256]
        [--work_dir=/tmp/sid_bench_gt_png] [--keep]

Writes `scenes` full-size Sony-like scenes as DNG files (a 14-bit RGGB mosaic of a smooth
random scene, black 512, white 16383: one short and one long exposure each) and, for each long
exposure, the 16-bit PNG of its rawpy rendering (what the authors' ground-truth release holds;
not timed). Then builds the `sid_tf2.data` cache twice into empty folders, alternating which
goes first per round: A renders the long exposures with rawpy (the default), B reads their
PNGs (`--gt_png_dir`). Reports seconds per scene for each, and checks that both give the same
ground truths. Inputs (short exposures) are decoded the same way in both.
"""

import argparse
import os
import shutil
import sys
import time

import numpy as np


def _scene(rng, height, width, level):
    """A smooth scene (sums of a few random gradients and blobs) as a 14-bit RGGB mosaic."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.full((height, width), 0.2, np.float32)
    for _ in range(6):
        y, x = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.1, 0.4) * max(height, width)
        image += rng.uniform(0.1, 0.5) * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / radius ** 2)
    image = image / image.max() * level
    noisy = rng.poisson(image * (16383 - 512)) + 512
    return np.clip(noisy, 0, 16383).astype(np.uint16)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--height", type=int, default=2848)
    parser.add_argument("--width", type=int, default=4256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work_dir", default="/tmp/sid_bench_gt_png")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from sid_tf2 import cli

    tf = cli.load_tensorflow()
    from sid_tf2.data import RawCache, discover_scenes
    from sid_tf2.dng import write_dng
    from sid_tf2.raw import render_ground_truth_uint16

    root = os.path.abspath(args.work_dir)
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(0)
    png_dir = os.path.join(root, "gt_png")
    os.makedirs(png_dir)
    for index in range(args.scenes):
        scene_id = f"{index + 1:05d}"
        write_dng(os.path.join(root, "short", f"{scene_id}_00_0.1s.ARW"),
                  _scene(rng, args.height, args.width, 0.005), cfa_pattern="RGGB",
                  exposure_time=0.1)
        long_path = os.path.join(root, "long", f"{scene_id}_00_10s.ARW")
        write_dng(long_path, _scene(rng, args.height, args.width, 0.5), cfa_pattern="RGGB",
                  exposure_time=10)
        png = tf.io.encode_png(render_ground_truth_uint16(long_path)).numpy()
        with open(os.path.join(png_dir, f"{scene_id}_00_10s.png"), "wb") as stream:
            stream.write(png)
    scenes = discover_scenes(root)
    print(f"{len(scenes)} scenes of {args.height}x{args.width} in {root}; "
          f"PNGs {sum(os.path.getsize(os.path.join(png_dir, f)) for f in os.listdir(png_dir)) / 1e6:.0f} MB",
          flush=True)

    timings = {"A rawpy rendering": [], "B --gt_png_dir": []}
    caches = {}
    for round_index in range(args.rounds):
        order = list(timings) if round_index % 2 == 0 else list(reversed(timings))
        for name in order:
            folder = os.path.join(root, f"cache_{name[0]}_{round_index}")
            cache = RawCache(folder, gt_png_dir=png_dir if name.startswith("B") else None)
            start = time.perf_counter()
            cache.prepare(scenes, progress=False)
            timings[name].append((time.perf_counter() - start) / len(scenes))
            caches[name] = cache
            print(f"round {round_index} {name}: {timings[name][-1]:.2f} s per scene", flush=True)
    for scene in scenes:
        a, b = (caches[name].ground_truth(scene.gt_path).load() for name in timings)
        assert np.array_equal(a, b), scene.gt_path
    best = {name: min(values) for name, values in timings.items()}
    print(f"cache build, seconds per scene (input + ground truth), best of {args.rounds}: "
          + ", ".join(f"{name} {value:.2f}" for name, value in best.items())
          + f"; {best['A rawpy rendering'] / best['B --gt_png_dir']:.1f}x faster with PNGs; "
          "ground truths identical")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
