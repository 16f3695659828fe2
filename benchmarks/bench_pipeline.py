"""Patches per second of the training pipeline against the training step's consumption rate.

    python benchmarks/bench_pipeline.py [--scenes=8] [--patch_size=512] [--warmup=1] [--repeats=3]
        [--work_dir=/tmp/sid_bench_pipeline] [--keep]

Writes `scenes` synthetic full-size Sony scenes straight into the `sid_tf2.data` cache format
(bench_pipeline_memory.build: a 2848 x 4256 uint16 mosaic and a 2848 x 4256 x 3 uint16 ground
truth per scene, about 97 MB; the raw files are empty placeholders), then times, interleaved in
one process (A, B, C, A, B, C, ... after `warmup` rounds):

  A  pipeline: `--epochs_per_round` epochs of `TrainSampler.dataset(epoch)` (patch 512, batch 1,
     AUTOTUNE parallelism and prefetch, a new dataset per epoch as the training loop builds
     them), consumed as fast as possible: patches/s and process CPU ms per patch;
  B  step: one `make_train_step` float32 step (library defaults: all variables trained, no
     XLA) on a fixed in-memory batch of the same size: the rate at which training consumes
     patches (steps/s, batch 1);
  C  fed step (unless --no_fed): `--fed_steps` steps of the same training step fed straight from
     a fresh epoch of the pipeline, i.e. the real loop, where the pipeline's threads share the
     cores with the step: seconds per step, and its overhead over B.

The ratio reported is A's patches/s over B's steps/s (the project's target: at least 10).
"""

import argparse
import os
import resource
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=8,
                        help="Synthetic cached scenes (one epoch = this many patches).")
    parser.add_argument("--patch_size", type=int, default=512)
    parser.add_argument("--epochs_per_round", type=int, default=2, help="Pipeline epochs per timed call (A).")
    parser.add_argument("--fed_steps", type=int, default=2, help="Training steps per timed call of C.")
    parser.add_argument("--no_fed", action="store_true", help="Skip C (steps fed by the pipeline).")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=-1, help="num_parallel_calls and prefetch (-1: AUTOTUNE).")
    parser.add_argument("--work_dir", default="/tmp/sid_bench_pipeline", help="Where the synthetic cache goes.")
    parser.add_argument("--keep", action="store_true", help="Keep the cache (else removed if made by this run).")
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")

    from bench_pipeline_memory import build

    created = not os.path.exists(args.work_dir)
    print(f"caching {args.scenes} synthetic Sony scenes in {args.work_dir}", flush=True)
    try:
        build(args.work_dir, args.scenes)
        results, info = measure(args)
    finally:
        if created and not args.keep:
            shutil.rmtree(args.work_dir, ignore_errors=True)
    report(args, info, results)


def measure(args):
    import numpy as np

    from sid_tf2.data import RawCache, Scene, TrainSampler
    from sid_tf2.model import build_unet
    from sid_tf2.training.step import make_optimizer, make_train_step

    info = common.machine_info()
    print(f"device: {common.device_summary(info)}", flush=True)
    scenes = [Scene(i, os.path.join(args.work_dir, "long", f"{i:05d}_00_10s.ARW"),
                    (os.path.join(args.work_dir, "short", f"{i:05d}_00_0.1s.ARW"),))
              for i in range(args.scenes)]
    cache = RawCache(os.path.join(args.work_dir, ".cache"))
    sampler = TrainSampler(scenes, cache, camera="sony", patch_size=args.patch_size, seed=0, progress=False)
    parallel = args.parallel

    model = build_unet("sony", "float32")
    step = make_train_step(model, make_optimizer(1e-4, "float32"), precision="float32", jit_compile=False)
    inputs, gt = common.synthetic_pair(args.patch_size, args.patch_size)
    lr = np.float32(1e-4)
    epochs = iter(range(10**9))

    def pipeline(index):
        start_cpu, patches = cpu_seconds(), 0
        for _ in range(args.epochs_per_round):
            for batch, _gt in sampler.dataset(next(epochs), num_parallel_calls=parallel, prefetch=parallel):
                patches += int(batch.shape[0])
        return {"patches": patches, "cpu_s": cpu_seconds() - start_cpu}

    def fixed_step(index):
        return float(step(inputs, gt, lr).numpy())

    def fed_step(index):
        steps = 0
        dataset = sampler.dataset(next(epochs), num_parallel_calls=parallel, prefetch=parallel)
        for batch, batch_gt in dataset.take(args.fed_steps):
            step(batch, batch_gt, lr).numpy()
            steps += 1
        return {"steps": steps}

    calls = {"pipeline": pipeline, "step (fixed batch)": fixed_step}
    if not args.no_fed:
        calls["step fed by the pipeline"] = fed_step
    print(f"timing {', '.join(calls)}: {args.warmup} warm-up + {args.repeats} interleaved rounds", flush=True)
    return common.interleaved(calls, warmup=args.warmup, repeats=args.repeats), info


def report(args, info, results):
    common.print_header(f"Training pipeline vs training step, patch {args.patch_size}", info)
    timed = args.repeats
    pipe = results["pipeline"]
    values = pipe["values"][-timed:]
    rates = [v["patches"] / t for v, t in zip(values, pipe["times"])]
    cpu_ms = [1000 * v["cpu_s"] / v["patches"] for v in values]
    patches_per_s = common.median(rates)
    step_s = results["step (fixed batch)"]["median"]
    patches = args.epochs_per_round * args.scenes
    print(f"{args.scenes} cached scenes; pipeline: {args.epochs_per_round} epochs ({patches} "
          f"patches) per call, parallel={'AUTOTUNE' if args.parallel < 0 else args.parallel}; "
          f"{args.warmup} warm-up + {args.repeats} interleaved rounds; medians.\n")
    rows = [
        ["pipeline (TrainSampler.dataset)", f"{patches_per_s:.1f} patches/s",
         f"{min(rates):.1f}-{max(rates):.1f}", f"{common.median(cpu_ms):.0f} CPU ms/patch"],
        ["training step float32 (fixed batch)", f"{step_s:.2f} s/step = {1 / step_s:.3f} steps/s",
         common.spread(results["step (fixed batch)"]["times"]), ""],
    ]
    fed = results.get("step fed by the pipeline")
    if fed:
        per_step = [t / v["steps"] for v, t in zip(fed["values"][-timed:], fed["times"])]
        fed_s = common.median(per_step)
        rows.append(["training step fed by the pipeline", f"{fed_s:.2f} s/step",
                     f"{min(per_step):.2f}-{max(per_step):.2f}",
                     f"{100 * (fed_s / step_s - 1):+.1f} % vs fixed batch"])
    print(common.markdown_table(["measured", "median", "min-max", "note"], rows, "lrrr"))
    ratio = patches_per_s * step_s
    print(f"\nPipeline rate / step consumption rate: {ratio:.0f}x (target >= 10x: "
          f"{'met' if ratio >= 10 else 'not met'}). Pipeline CPU per patch / step time: "
          f"{common.median(cpu_ms) / 1000 / step_s * 100:.1f} %.")


if __name__ == "__main__":
    main()
