"""Peak memory and speed of the training pipeline as the dataset grows.

    python benchmarks/bench_pipeline_memory.py --sizes=4,16,64,128 --work_dir=/tmp/sid_bench

Builds synthetic Sony-sized scenes straight in the cache format (a 2848 x 4256 uint16 mosaic and
a 2848 x 4256 x 3 uint16 ground truth per scene, about 97 MB; the raw files are empty
placeholders, since the cache is keyed by their path, size and mtime), then, for each size, runs
one epoch of `make_train_dataset` (patch 512, batch 1) in a fresh Python process and reports
that process's peak resident memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), its resident
memory before the epoch (TensorFlow's baseline), the patches per second (wall clock, including
building the sampler) and the CPU time per patch (less sensitive to other load). The larger datasets
reuse the smaller ones' scenes (the cache of N scenes is the first N of the largest).

The original kept every decoded image in RAM: per scene a float32 ground truth (145 MB) and a
float32 packed input per ratio (48 MB each, up to three ratios), so its memory grows by 190 to
290 MB per scene (161 Sony training scenes: 31 to 47 GB).
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time

MOSAIC_SHAPE = (2848, 4256)  # Sony A7S II raw_image_visible


def _rss_kb():
    with open("/proc/self/status") as stream:
        for line in stream:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def build(work_dir, count):
    """Cache `count` synthetic full-size Sony scenes under work_dir (reusing existing ones)."""
    import numpy as np

    from sid_tf2.data import RawCache

    cache = RawCache(os.path.join(work_dir, ".cache"))
    rng = np.random.default_rng(0)
    base_mosaic = base_gt = None
    start = time.monotonic()
    for scene_id in range(count):
        short = os.path.join(work_dir, "short", f"{scene_id:05d}_00_0.1s.ARW")
        long = os.path.join(work_dir, "long", f"{scene_id:05d}_00_10s.ARW")
        for path in (short, long):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not os.path.exists(path):
                open(path, "w").close()
        if cache.lookup(short, "input") and cache.lookup(long, "gt"):
            continue
        if base_mosaic is None:
            base_mosaic = rng.integers(512, 1200, size=MOSAIC_SHAPE, dtype=np.uint16)
            base_gt = rng.integers(0, 65535, size=MOSAIC_SHAPE + (3,), dtype=np.uint16)
        cache.store_input(short, np.roll(base_mosaic, scene_id, axis=1))
        cache.store_ground_truth(long, np.roll(base_gt, scene_id, axis=1))
        print(f"  cached scene {scene_id + 1}/{count} ({time.monotonic() - start:.0f} s)", flush=True)


def child(work_dir, count, patch_size, epochs, parallel, release_memory):
    """One process: epochs of the pipeline over the first `count` scenes; prints a JSON line."""
    from sid_tf2.data import RawCache, Scene, make_train_dataset
    from sid_tf2.data.pipeline import RELEASE_EVERY

    release_memory = RELEASE_EVERY if release_memory is None else release_memory

    scenes = [
        Scene(i, os.path.join(work_dir, "long", f"{i:05d}_00_10s.ARW"),
              (os.path.join(work_dir, "short", f"{i:05d}_00_0.1s.ARW"),))
        for i in range(count)
    ]
    cache = RawCache(os.path.join(work_dir, ".cache"))
    baseline_kb = _rss_kb()
    patches = 0
    checksum = 0.0
    start = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    for epoch in range(epochs):
        dataset = make_train_dataset(scenes, cache, patch_size=patch_size, seed=0, epoch=epoch, progress=False,
                                     num_parallel_calls=parallel, prefetch=parallel, release_memory=release_memory)
        for inputs, gt in dataset:
            patches += int(inputs.shape[0])
            checksum += float(inputs[0, 0, 0, 0]) + float(gt[0, 0, 0, 0])
    seconds = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = usage.ru_utime + usage.ru_stime - cpu_start
    peak_kb = usage.ru_maxrss
    print(json.dumps({"scenes": count, "patches": patches, "seconds": seconds, "baseline_rss_mb": baseline_kb / 1024,
                      "peak_rss_mb": peak_kb / 1024, "end_rss_mb": _rss_kb() / 1024,
                      "patches_per_s": patches / seconds, "cpu_ms_per_patch": 1000 * cpu_seconds / patches,
                      "checksum": checksum}))


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as stream:
            model = next(line.split(":", 1)[1].strip() for line in stream if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    import numpy
    import tensorflow as tf

    return (f"{model}, {os.cpu_count()} logical cores available, {pages / 2**30:.0f} GiB RAM; "
            f"Linux {platform.release()}; Python {platform.python_version()}, NumPy {numpy.__version__}, "
            f"TensorFlow {tf.__version__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="4,16,64,128", help="Scene counts, comma-separated.")
    parser.add_argument("--work_dir", default="/tmp/sid_bench_pipeline_memory", help="Where the cache goes.")
    parser.add_argument("--keep", action="store_true", help="Keep the synthetic cache (else removed when made here).")
    parser.add_argument("--patch_size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=1, help="Epochs per measurement.")
    parser.add_argument("--parallel", type=int, default=-1,
                        help="num_parallel_calls and prefetch of the pipeline (-1: tf.data.AUTOTUNE).")
    parser.add_argument("--release_memory", type=int, default=None,
                        help="make_train_dataset(release_memory=N): malloc_trim every N elements, 0 never "
                        "(default: the library's default).")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.work_dir, args.child, args.patch_size, args.epochs, args.parallel, args.release_memory)
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    created = not os.path.exists(args.work_dir)
    print(f"building {max(sizes)} cached scenes in {args.work_dir}", flush=True)
    try:
        build(args.work_dir, max(sizes))
        rows = [measure(args, count) for count in sizes]
    finally:
        if created and not args.keep:
            shutil.rmtree(args.work_dir, ignore_errors=True)
    report(args, rows)


def measure(args, count):
    """Run one child process over `count` scenes and return its JSON result."""
    command = [sys.executable, os.path.abspath(__file__), f"--child={count}", f"--work_dir={args.work_dir}",
               f"--patch_size={args.patch_size}", f"--epochs={args.epochs}", f"--parallel={args.parallel}"]
    if args.release_memory is not None:
        command.append(f"--release_memory={args.release_memory}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(f"child for {count} scenes failed:\n{result.stderr[-3000:]}")
    row = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def report(args, rows):
    print()
    print(f"Machine: {machine()}")
    flags = f"--sizes={args.sizes} --patch_size={args.patch_size} --epochs={args.epochs} --parallel={args.parallel}"
    if args.release_memory is not None:
        flags += f" --release_memory={args.release_memory}"
    print(f"Command: python benchmarks/bench_pipeline_memory.py {flags}")
    print()
    print("| scenes | cache on disk | patches | RSS before the epoch | peak RSS | peak - before | patches/s "
          "| CPU ms per patch |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    scene_mb = (MOSAIC_SHAPE[0] * MOSAIC_SHAPE[1] * 2 * 4) / 2**20
    for row in rows:
        print(f"| {row['scenes']} | {row['scenes'] * scene_mb / 1024:.2f} GiB | {row['patches']} | "
              f"{row['baseline_rss_mb']:.0f} MiB | {row['peak_rss_mb']:.0f} MiB | "
              f"{row['peak_rss_mb'] - row['baseline_rss_mb']:.0f} MiB | {row['patches_per_s']:.1f} | "
              f"{row['cpu_ms_per_patch']:.0f} |")


if __name__ == "__main__":
    main()
