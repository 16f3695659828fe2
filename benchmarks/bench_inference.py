"""Full-frame inference: the original TF1 graph against the port's `make_predictor`.

    python benchmarks/bench_inference.py --weights=result_dir/model.weights.h5 \
        [--meta=.../checkpoint/Sony/model.ckpt.meta] [--configs=...] [--warmup=1] [--repeats=3]
        [--small] [--height=1424 --width=2128] [--memory_configs=...|none]

A full Sony frame packs to 1 x 1424 x 2128 x 4 and comes out 1 x 2848 x 4256 x 3 (`--small`:
1 x 352 x 528 x 4, for a quick run). The input is a fixed synthetic, image-like frame
(common.synthetic_pair).

Configurations (`--configs`, comma-separated):
  original      the original graph in float32 through a TF1 session fed by feed_dict: the
                published meta graph (--meta or $SID_REFERENCE_DIR) restored from a TF1
                checkpoint of the same weights written by weight_converter.save_tf1_checkpoint,
                else the tf_slim rebuild (parity_tests/tf1_reference.py)
  <precision>[@LEVEL][+xla][+winogradA-B][+tiled]
                `make_predictor` with precision float32, mixed_bfloat16 or mixed_float16
                (`@3`: float32 on levels 1-2, the precision from level 3 down), `+xla` for
                jit_compile=True, `+winograd3-5` for Winograd F(4x4, 3x3) on levels 3 to 5,
                `+tiled` for tiles of at most --tile (512) packed pixels with --overlap (128),
                `+tiledSIZE` for tiles of at most SIZE (the tuner's candidate names, sid_tf2.tuning)

1. Wall time: after `warmup` rounds, `repeats` rounds run each configuration once in turn
   (A, B, C, A, B, C, ...) in this process; medians, and the original's median divided by each
   (speed-up).
2. Quality: PSNR (outputs clipped to [0, 1] as the original's test script does, data range 1)
   against the port's float32 whole-image output.
3. Peak resident memory: each configuration of `--memory_configs` again in a fresh process
   (model built, weights loaded, one inference including tracing/compilation); its own
   `ru_maxrss`, and its RSS before the inference. On a GPU the device's peak is added.
4. FLOPs: the forward pass of the whole frame, counted analytically from the convolutions'
   static shapes (common.unet_forward_flops); GFLOP/s = frame FLOPs / time (useful work: tiles
   recompute their overlaps, which the "tiled compute" column states).

Use trained weights (--weights): the speed does not depend on them, but PSNR does (random
weights give near-constant outputs that any precision reproduces).
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
PORT_CONFIGS = tuple(f"{p}{x}{t}" for p in PRECISIONS for x in ("", "+xla") for t in ("", "+tiled"))
TILED = re.compile(r"(.*?)\+tiled(\d+)?")
ALL_CONFIGS = ("original",) + PORT_CONFIGS
FULL_FRAME = (1424, 2128)
SMALL_FRAME = (352, 528)
REFERENCE = "float32"  # PSNR is measured against this configuration's output


def parse_config(name, default_tile):
    """(SpeedSettings, tile) of a configuration: 'mixed_bfloat16+xla+tiled' -> (bfloat16 with
    XLA, default_tile); 'float32+xla+winograd3-5+tiled640' -> (..., 640); 'original' -> float32."""
    from sid_tf2.speed_settings import SpeedSettings

    if name == "original":
        return SpeedSettings(), None
    tiled = TILED.fullmatch(name)
    base, tile = (tiled.group(1), int(tiled.group(2) or default_tile)) if tiled else (name, None)
    try:
        return SpeedSettings.from_name(base), tile
    except ValueError as error:
        raise SystemExit(f"unknown config {name!r}: expected original or {error} "
                         "followed by [+tiled[SIZE]]") from None


def frame(args):
    packed, _ = common.synthetic_pair(args.height, args.width, seed=args.seed)
    return packed


def make_call(name, model, args, work_dir):
    """(callable packed -> float32 output, description) for one configuration."""
    if name == "original":
        graph, description = common.original_graph(model, work_dir, args.meta)
        return graph.forward, description
    from sid_tf2.inference import make_predictor

    settings, tile = parse_config(name, args.tile)
    predictor = make_predictor(model, settings, tile_size=tile, tile_overlap=args.overlap)
    return predictor, None


def tiled_compute_factor(args, tile):
    """Pixels the tiles compute over the frame's pixels (overlaps are computed twice); 1 whole."""
    if tile is None:
        return 1.0
    from sid_tf2.inference import tile_spans

    rows = tile_spans(args.height, tile, args.overlap)
    cols = tile_spans(args.width, tile, args.overlap)
    area = sum((y1 - y0) * (x1 - x0) for y0, y1 in rows for x0, x1 in cols)
    return area / (args.height * args.width)


def tile_layout(args, tile):
    """'3x4 tiles of 560x640' for the frame."""
    from sid_tf2.inference import tile_spans

    rows = tile_spans(args.height, tile, args.overlap)
    cols = tile_spans(args.width, tile, args.overlap)
    return (f"{len(rows)}x{len(cols)} tiles of {rows[0][1] - rows[0][0]}x{cols[0][1] - cols[0][0]}")


def child(args):
    """One configuration in this fresh process: build, one inference, report memory."""
    import numpy as np

    name = args.child
    work_dir = tempfile.mkdtemp(prefix="sid_bench_inference_child_")
    try:
        model = common.seeded_model(args.seed, args.weights)
        call, _ = make_call(name, model, args, work_dir)
        if name == "original":
            del model  # the original's process needs no Keras model once the checkpoint is written
        packed = frame(args)
        baseline = common.rss_mib()
        start = time.perf_counter()
        output = call(packed)
        seconds = time.perf_counter() - start
        result = {"config": name, "baseline_rss_mib": baseline, "seconds_first_call": seconds,
                  "checksum": float(np.mean(output))}
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            try:
                result["gpu_peak_mib"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
            except (ValueError, RuntimeError):
                pass
        common.report_result(result)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def child_argv(args, name):
    argv = [os.path.abspath(__file__), f"--child={name}", f"--height={args.height}", f"--width={args.width}",
            f"--tile={args.tile}", f"--overlap={args.overlap}", f"--seed={args.seed}"]
    if args.weights:
        argv.append(f"--weights={args.weights}")
    if args.meta:
        argv.append(f"--meta={args.meta}")
    return argv


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="Trained .weights.h5 (else a seeded random init).")
    parser.add_argument("--meta", default=None, help="The published model.ckpt.meta (else $SID_REFERENCE_DIR, "
                        "else the tf_slim rebuild).")
    parser.add_argument("--configs", default=",".join(ALL_CONFIGS), help="Comma-separated configurations to time.")
    parser.add_argument("--memory_configs", default=None,
                        help="Configurations to measure peak memory of, each in its own process "
                        "(default: the same as --configs; 'none' to skip).")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--height", type=int, default=FULL_FRAME[0], help="Packed input height (default 1424).")
    parser.add_argument("--width", type=int, default=FULL_FRAME[1], help="Packed input width (default 2128).")
    parser.add_argument("--small", action="store_true", help=f"Use a {SMALL_FRAME[0]}x{SMALL_FRAME[1]} frame.")
    parser.add_argument("--tile", type=int, default=512, help="tile_size of the +tiled configurations.")
    parser.add_argument("--overlap", type=int, default=128, help="tile_overlap of the +tiled configurations.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no_peak", action="store_true", help="Skip the peak-throughput probe.")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    if args.small:
        args.height, args.width = SMALL_FRAME
    if args.child:
        child(args)
        return
    configs = [n.strip() for n in args.configs.split(",") if n.strip()]
    memory = configs if args.memory_configs is None else (
        [] if args.memory_configs == "none" else [n.strip() for n in args.memory_configs.split(",") if n.strip()])
    for name in configs + memory:
        parse_config(name, args.tile)

    import numpy as np

    info = common.machine_info()
    print(f"device: {common.device_summary(info)}", flush=True)
    peaks = {} if args.no_peak else common.peak_throughput(("float32", "bfloat16", "float16"))
    flops = common.unet_forward_flops(args.height, args.width)["total"]
    print(f"forward FLOPs of a {args.height}x{args.width} frame: {flops / 1e9:.0f} GFLOP", flush=True)

    model = common.seeded_model(args.seed, args.weights)
    packed = frame(args)
    work_dir = tempfile.mkdtemp(prefix="sid_bench_inference_")
    outputs, calls, description = {}, {}, None
    try:
        for name in configs:
            call, text = make_call(name, model, args, work_dir)
            description = text or description

            def timed(index, call=call, name=name):
                outputs[name] = np.clip(call(packed), 0.0, 1.0)  # only the last output is kept
                return None

            calls[name] = timed
        print(f"timing {', '.join(configs)}: {args.warmup} warm-up + {args.repeats} interleaved rounds", flush=True)
        results = common.interleaved(calls, warmup=args.warmup, repeats=args.repeats)
        calls.clear()
        reference = outputs.get(REFERENCE)
        if reference is None:
            from sid_tf2.inference import make_predictor

            reference = np.clip(make_predictor(model)(packed), 0.0, 1.0)
        from sid_tf2.backends.common import agreement_psnr  # TensorFlow: off --help

        quality = {name: agreement_psnr(output, reference) for name, output in outputs.items()}
        worst = {name: float(np.abs(output - reference).max()) for name, output in outputs.items()}
        outputs.clear()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    memory_results = common.peaks_in_children(memory, lambda name: child_argv(args, name))
    report(args, info, peaks, flops, configs, results, quality, worst, memory_results, description)


def psnr_text(value):
    return "identical" if value == float("inf") else f"{value:.1f}"


def report(args, info, peaks, flops, configs, results, quality, worst, memory_results, description):
    common.print_header(f"Inference, packed {args.height}x{args.width} -> "
                        f"{2 * args.height}x{2 * args.width}x3", info)
    tiles = sorted({tile for name in configs + list(memory_results)
                    for tile in [parse_config(name, args.tile)[1]] if tile})
    layouts = "; ".join(f"tiles of at most {tile} with overlap {args.overlap}: {tile_layout(args, tile)}, "
                        f"computing {tiled_compute_factor(args, tile):.2f}x the frame's pixels"
                        for tile in tiles)
    print(f"Original: {description or 'not timed'}. Weights: {args.weights or f'random (seed {args.seed})'}. "
          f"Forward FLOPs per frame: {flops / 1e9:.0f} GFLOP (analytic). {layouts or 'No tiles'}. "
          f"{args.warmup} warm-up + {args.repeats} interleaved "
          "rounds; medians. PSNR against the port's float32 whole-image output, clipped to [0, 1], "
          "data range 1.\n")
    if peaks:
        print(common.peak_markdown(peaks) + "\n")
    base = results.get("original", {}).get("median")
    base_best = min(results["original"]["times"]) if "original" in results else None
    base_memory = memory_results.get("original", {}).get("peak_rss_mib")
    rows = []
    for name in configs:
        entry = results[name]
        settings, tile = parse_config(name, args.tile)
        precision = settings.precision
        seconds = entry["median"]
        gflops = flops / seconds / 1e9
        peak = common.peak_for(precision, peaks)
        rows.append([
            name, f"{sum(entry['first']):.1f}", f"{seconds:.2f}", common.spread(entry["times"]),
            f"{base / seconds:.2f}x ({base_best / min(entry['times']):.2f}x)" if base else "-", f"{gflops:.1f}",
            f"{100 * gflops * tiled_compute_factor(args, tile) / peak:.0f} %" if peak else "-",
            psnr_text(quality[name]), f"{worst[name]:.2e}",
        ])
    print(common.markdown_table(
        ["config", "warm-up s", "median s", "min-max s", "speed-up vs original (of minima)", "GFLOP/s (frame)",
         "of peak (computed)", "PSNR dB vs float32", "max abs diff"], rows))
    if memory_results:
        print("\nPeak resident memory, each configuration in its own process (one inference):\n")
        rows = []
        for name, result in memory_results.items():
            peak = result["peak_rss_mib"]
            row = [name, f"{peak:.0f}", f"{result['baseline_rss_mib']:.0f}", f"{peak - result['baseline_rss_mib']:.0f}",
                   f"{peak / base_memory:.2f}x" if base_memory else "-", f"{result['seconds_first_call']:.1f}"]
            if "gpu_peak_mib" in result:
                row.append(f"{result['gpu_peak_mib']:.0f}")
            rows.append(row)
        headers = ["config", "peak RSS MiB", "RSS before inference MiB", "peak - before MiB",
                   "peak vs original", "first call s"]
        if any("gpu_peak_mib" in r for r in memory_results.values()):
            headers.append("GPU peak MiB")
        print(common.markdown_table(headers, rows))


if __name__ == "__main__":
    main()
