"""Seconds per training step: the original TF1 graph against the port's `make_train_step`.

    python benchmarks/bench_train_step.py [--size=512] [--configs=original,float32,...]
        [--warmup=1] [--repeats=3] [--meta=.../checkpoint/Sony/model.ckpt.meta] [--weights=W.h5]

One Sony step on a `size` x `size` packed patch (1 x 512 x 512 x 4 -> 1 x 1024 x 1024 x 3 by
default), batch 1, Adam at learning rate 1e-4, the four upsampling filters frozen as in the
published model (`train_deconv=False`: the original's `Adam` updates only the g_* variables).

Configurations (`--configs`, comma-separated):
  original              the original graph's `Adam` op run by a TF1 session, fed by feed_dict:
                        the published meta graph with --meta or $SID_REFERENCE_DIR, else the
                        tf_slim rebuild in parity_tests/tf1_reference.py
  float32, mixed_bfloat16, mixed_float16
                        `make_train_step` in that precision; append `+xla` for jit_compile=True

Every configuration starts from the same weights (--weights, else a seeded random init) and a
fresh Adam, and is fed the same sequence of synthetic patches. After `warmup` rounds, `repeats`
rounds run one step of each configuration in turn (A, B, C, A, B, C, ...), so load changes hit
all of them alike. Reported: the median seconds per step, the original's median divided by it
(speed-up), GFLOP/s and the fraction of this machine's measured peak for the compute dtype, and
the loss of every step (evaluated before that step's update, as the original does) to show
which precision follows float32 from the same start.

FLOPs per step: 3 x the forward pass, whose FLOPs are counted analytically from the static
shapes of the convolutions in the traced Keras graph (common.unet_forward_flops).
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)

PORT_CONFIGS = ("float32", "float32+xla", "mixed_bfloat16", "mixed_bfloat16+xla", "mixed_float16",
                "mixed_float16+xla")
ALL_CONFIGS = ("original",) + PORT_CONFIGS


def parse_config(name):
    """'mixed_bfloat16+xla' -> ('mixed_bfloat16', True)."""
    precision, _, suffix = name.partition("+")
    if name not in ALL_CONFIGS or (suffix and suffix != "xla"):
        raise SystemExit(f"unknown config {name!r}: expected some of {', '.join(ALL_CONFIGS)}")
    return precision, suffix == "xla"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="Side of the packed patch (default 512).")
    parser.add_argument("--configs", default=",".join(ALL_CONFIGS), help="Comma-separated configurations.")
    parser.add_argument("--warmup", type=int, default=1, help="Untimed rounds first (tracing, XLA compile).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed rounds.")
    parser.add_argument("--meta", default=None, help="The published model.ckpt.meta (else $SID_REFERENCE_DIR, "
                        "else the tf_slim rebuild).")
    parser.add_argument("--weights", default=None, help="Start from these .weights.h5 (else a seeded init).")
    parser.add_argument("--batches", type=int, default=2, help="Distinct synthetic patches, used in turn.")
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no_peak", action="store_true", help="Skip the peak-throughput probe.")
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    for name in configs:
        parse_config(name)

    import keras
    import numpy as np

    from sid_tf2.model import build_unet
    from sid_tf2.training.step import make_optimizer, make_train_step

    info = common.machine_info()
    print(f"device: {common.device_summary(info)}", flush=True)
    peaks = {} if args.no_peak else common.peak_throughput(("float32", "bfloat16", "float16"))
    flops = common.train_step_flops(args.size, args.size)
    print(f"FLOPs per step at {args.size}: {flops / 1e9:.1f} GFLOP", flush=True)

    keras.utils.set_random_seed(args.seed)
    start_model = build_unet("sony", "float32")
    if args.weights:
        start_model.load_weights(args.weights)
    start_weights = start_model.get_weights()
    batches = [common.synthetic_pair(args.size, args.size, seed=args.seed + i) for i in range(args.batches)]
    lr = np.float32(args.learning_rate)

    work_dir = tempfile.mkdtemp(prefix="sid_bench_train_")
    calls, description = {}, None
    try:
        for name in configs:
            precision, jit = parse_config(name)
            if name == "original":
                graph, description = common.original_graph(start_model, work_dir, args.meta)
                calls[name] = (lambda g: lambda i: g.train_step(*batches[i % len(batches)], float(lr)))(graph)
                continue
            model = build_unet("sony", precision)
            model.set_weights(start_weights)
            optimizer = make_optimizer(args.learning_rate, precision)
            step = make_train_step(model, optimizer, precision=precision, train_deconv=False, jit_compile=jit)
            calls[name] = (lambda s: lambda i: float(s(*batches[i % len(batches)], lr).numpy()))(step)
        print(f"timing {', '.join(configs)}: {args.warmup} warm-up + {args.repeats} interleaved rounds", flush=True)
        results = common.interleaved(calls, warmup=args.warmup, repeats=args.repeats)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    report(args, info, peaks, flops, configs, results, description)


def report(args, info, peaks, flops, configs, results, description):
    common.print_header(f"Training step, Sony patch {args.size}x{args.size} (batch 1)", info)
    print(f"Original: {description or 'not run'}. Start weights: {args.weights or f'random (seed {args.seed})'}. "
          f"FLOPs per step: {flops / 1e9:.1f} GFLOP (3 x forward, analytic). "
          f"{args.warmup} warm-up + {args.repeats} interleaved rounds; medians.\n")
    if peaks:
        print(common.peak_markdown(peaks) + "\n")
    base = results.get("original", {}).get("median")
    base_best = min(results["original"]["times"]) if "original" in results else None
    base_losses = results.get("original", {}).get("values")
    steps = args.warmup + args.repeats
    rows = []
    for name in configs:
        entry = results[name]
        precision, _ = parse_config(name)
        seconds = entry["median"]
        gflops = flops / seconds / 1e9
        peak = common.peak_for(precision, peaks)
        losses = entry["values"]
        deviation = (f"{max(abs(a - b) for a, b in zip(losses, base_losses)):.2e}"
                     if base_losses and name != "original" else "-")
        rows.append([
            name, f"{sum(entry['first']):.1f}", f"{seconds:.2f}", common.spread(entry["times"]),
            f"{base / seconds:.2f}x ({base_best / min(entry['times']):.2f}x)" if base else "-", f"{gflops:.1f}",
            f"{100 * gflops / peak:.0f} %" if peak else "-",
            f"{losses[0]:.6f}", f"{losses[-1]:.6f}", deviation,
        ])
    print(common.markdown_table(
        ["config", "warm-up s", "median s/step", "min-max s", "speed-up vs original (of minima)", "GFLOP/s",
         "of peak", "loss step 1", f"loss step {steps}", "max abs loss diff vs original"], rows))
    print("\nLosses per step (same start, same patches):\n")
    print(common.markdown_table(["config"] + [f"step {i + 1}" for i in range(steps)],
                                [[name] + [f"{v:.6f}" for v in results[name]["values"]] for name in configs]))


if __name__ == "__main__":
    main()
