"""Peak memory and time of full-frame inference, whole-image vs tiled, each in its own process.

    python benchmarks/bench_inference_memory.py [--weights=result_dir/model.weights.h5]

A full Sony frame packs to 1 x 1424 x 2128 x 4 and comes out 2848 x 4256 x 3. Each
configuration runs in a fresh Python process (peak resident memory is a per-process high-water
mark), warms up once, and reports the median of the timed runs, the peak RSS, and the largest
difference from the whole-image float32 output, in 8-bit steps.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

FRAME = (1, 1424, 2128, 4)
CONFIGS = {
    "whole": {"tile_size": None},
    "tiled 512/128": {"tile_size": 512, "tile_overlap": 128},
    "tiled 256/64": {"tile_size": 256, "tile_overlap": 64},
}


def _input():
    # A smooth, dark-scene-like input, fixed so every process sees the same frame.
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0 : FRAME[1], 0 : FRAME[2]].astype(np.float32)
    base = 0.25 + 0.2 * np.sin(y / 97.0) * np.cos(x / 131.0)
    noise = rng.normal(0.0, 0.03, size=FRAME).astype(np.float32)
    return np.clip(base[None, :, :, None] + noise, 0.0, 1.0)


def child(name, weights, repeats, reference_path):
    import sid_tf2
    from sid_tf2.inference import make_predictor

    model = sid_tf2.build_unet("sony")
    if weights:
        model.load_weights(weights)
    predictor = make_predictor(model, **CONFIGS[name])
    packed = _input()
    output = predictor(packed)  # warm-up (tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        output = predictor(packed)
        times.append(time.perf_counter() - start)
    clipped = np.clip(output, 0.0, 1.0)
    if reference_path and not os.path.exists(reference_path):
        np.save(reference_path, clipped)
    difference = float(np.abs(clipped - np.load(reference_path)).max() * 255) if reference_path else None
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"config": name, "median_s": float(np.median(times)), "peak_rss_mib": peak_mib,
                      "max_diff_8bit_steps": difference}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="a .weights.h5 (default: random weights)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--reference", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.weights, args.repeats, args.reference)
        return
    reference = os.path.abspath("bench_inference_memory_reference.npy")
    if os.path.exists(reference):
        os.remove(reference)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print("| configuration | median time (s) | peak RSS (MiB) | max diff vs whole (8-bit steps) |")
    print("| --- | ---: | ---: | ---: |")
    try:
        for name in CONFIGS:
            command = [sys.executable, __file__, f"--child={name}", f"--repeats={args.repeats}",
                       f"--reference={reference}"]
            if args.weights:
                command.append(f"--weights={args.weights}")
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            row = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"| {name} | {row['median_s']:.1f} | {row['peak_rss_mib']:.0f} | {row['max_diff_8bit_steps']:.4f} |",
                  flush=True)
    finally:
        if os.path.exists(reference):
            os.remove(reference)


if __name__ == "__main__":
    main()
