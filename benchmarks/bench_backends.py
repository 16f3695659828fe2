"""Full-frame inference in every backend and precision against the original TF1 graph.

    python benchmarks/bench_backends.py --weights=result_dir/model.weights.h5 \
        --configs=original,openvino:float32,litert:int8 [--memory_configs=...|none] \
        [--warmup=1] [--repeats=3] [--small] [--reference=ref.npy]

Configurations: `original` (the published meta graph in a TF1 session, see
bench_inference.py) and `<backend>:<precision>[+xla][+floatLAYERS][+tiledSIZE]`, which is
`sid_tf2.make_predictor(model, backend=..., precision=..., tile_size=SIZE)`; `+xla` is
TensorFlow's jit_compile (the port's default on this CPU). int8 is calibrated on the
simulator's default patches (8 of 256x256, seed 0). For OpenVINO int8 (NNCF), `+float` names
the layers kept float instead of the default g_conv10 (`+float=g_conv9_2/g_conv10`, or
`+float=none`: every convolution int8); `openvino:qdq_int8` is the int8 OpenVINO ran before
NNCF: ONNX Runtime's static QDQ model (every convolution int8), read by OpenVINO.

The input is a simulated low-light Sony frame (the simulator, seed 1: what exports are checked
on), since quantisation error depends on the data. Every configuration is converted first,
then timed in interleaved rounds in this one process (warm-up rounds apart); medians. A run
holds every configuration's runtime in memory at once, so on a machine of 23 GB time a few
configurations per run; each run times the original again as its own baseline.

Quality: the output against the Keras float32 whole-image output (both clipped to [0, 1]),
which is computed once and cached in --reference: PSNR (data range 1), SSIM on the 8-bit
images, the worst 1 % of pixels' error in 8-bit levels, and the PSNR of the darkest tenth
(`sid_tf2.backends.common.agreement_measures`).
Peak memory: each configuration of --memory_configs again in a fresh process (weights loaded,
converted, one inference); the process's own VmHWM, Python and TensorFlow included.
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

FULL_FRAME = (1424, 2128)
SMALL_FRAME = (352, 528)
CONFIG = re.compile(r"(tensorflow|openvino|litert|onnxruntime):([a-z0-9_]+)(\+xla)?(\+float=([a-z0-9_/]+))?"
                    r"(\+tiled(\d+))?")


def parse_config(name):
    """'openvino:int8+float=g_conv10+tiled640' -> ('openvino', 'int8', False, ('g_conv10',), 640);
    'original' -> None. The float layers are None for the default."""
    if name == "original":
        return None
    match = CONFIG.fullmatch(name)
    if not match:
        raise SystemExit(f"unknown config {name!r}: expected original or "
                         "<backend>:<precision>[+xla][+floatLAYERS][+tiledSIZE]")
    backend, precision, xla, _, layers, _, tile = match.groups()
    float_layers = None if layers is None else tuple(layer for layer in layers.split("/") if layer != "none")
    return backend, precision, bool(xla), float_layers, int(tile) if tile else None


def frame(args):
    """The input frame; a child process loads the parent's copy, since simulating it has a
    larger transient memory peak than some configurations' inference."""
    import numpy as np

    if args.frame:
        return np.load(args.frame)
    from sid_tf2.backends.calibration import check_input

    return check_input("sony", (args.height, args.width))


def make_call(name, model, work_dir, args):
    """A callable packed -> output for one configuration (conversion done here, untimed)."""
    if name == "original":
        graph, _ = common.original_graph(model, work_dir, args.meta)
        return graph.forward
    from sid_tf2.inference import Predictor, make_predictor

    backend, precision, xla, float_layers, tile = parse_config(name)
    if (backend, precision) == ("openvino", "qdq_int8") or float_layers is not None:
        return Predictor(openvino_int8_run(model, precision, float_layers, work_dir), block=2, tile_size=tile)
    return make_predictor(model, backend=backend, precision=precision, jit_compile=xla,
                          tile_size=tile)


def openvino_int8_run(model, precision, float_layers, work_dir):
    """An OpenVINO int8 runner: NNCF's with `float_layers` kept float, or ("qdq_int8") ONNX
    Runtime's QDQ model, every convolution int8, as OpenVINO ran int8 before NNCF."""
    from sid_tf2.backends.calibration import calibration_patches
    from sid_tf2.backends.onnx_backend import to_onnx
    from sid_tf2.backends.openvino_backend import OpenVINORunner
    from sid_tf2.backends.openvino_int8 import quantize_openvino
    from sid_tf2.backends.quiet import runtime_output_hidden

    with runtime_output_hidden():
        if precision == "qdq_int8":
            path = os.path.join(work_dir, "qdq_int8.onnx")
            with open(path, "wb") as stream:
                stream.write(to_onnx(model, quantize="int8", calibration=calibration_patches("sony")))
            return OpenVINORunner(path, "int8")
        return OpenVINORunner(quantize_openvino(model, calibration_patches("sony"), float_layers=float_layers).model,
                              "int8")


def reference_output(args, model, packed):
    """The Keras float32 whole-image output (clipped), cached in --reference."""
    import numpy as np

    if args.reference and os.path.exists(args.reference):
        return np.load(args.reference)
    from sid_tf2.inference import make_predictor

    output = np.clip(make_predictor(model)(packed), 0.0, 1.0)
    if args.reference:
        np.save(args.reference, output)
    return output


def child(args):
    """One configuration in this fresh process: load, convert, one inference, report memory."""
    work_dir = tempfile.mkdtemp(prefix="sid_bench_backends_child_")
    try:
        model = common.seeded_model(args.seed, args.weights)
        packed = frame(args)
        start = time.perf_counter()
        call = make_call(args.child, model, work_dir, args)
        converted = time.perf_counter() - start
        baseline = common.rss_mib()
        start = time.perf_counter()
        call(packed)
        common.report_result({"config": args.child, "convert_s": converted,
                              "baseline_rss_mib": baseline,
                              "first_call_s": time.perf_counter() - start})
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def file_child(args):
    """A deployment process: only NumPy and one runtime (no TensorFlow, no sid_tf2) run an
    exported file on the frame; reports its peak memory."""
    import numpy as np

    sys.modules["tensorflow"] = None  # prove that nothing here needs TensorFlow
    backend, path = args.file_child.split(":", 1)
    packed = np.load(args.frame)
    baseline = common.rss_mib()
    start = time.perf_counter()
    if backend == "openvino":
        import openvino as ov

        core = ov.Core()
        model = core.read_model(path)
        model.reshape(list(packed.shape))
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                     "PERFORMANCE_HINT": "LATENCY"})
        compiled.create_infer_request().infer({0: packed})
    elif backend == "onnxruntime":
        import onnxruntime as ort

        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        session.run(None, {session.get_inputs()[0].name: packed})
    else:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=path, num_threads=os.cpu_count())
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, packed.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(index, packed)
        interpreter.invoke()
    common.report_result({"config": args.file_child, "baseline_rss_mib": baseline,
                          "first_call_s": time.perf_counter() - start})


def file_memory(args, model, work_dir):
    """Peak memory of each --file_configs entry (backend:precision) run from its export."""
    from weight_converter.export import export

    results = {}
    for name in args.file_configs.split(","):
        backend, precision = name.split(":")
        suffix = {"litert": ".tflite", "openvino": ".xml"}.get(backend, ".onnx")
        path = os.path.join(work_dir, f"{backend}-{precision}{suffix}")
        quantize = None if precision == "float32" else precision
        if not os.path.exists(path):
            export(model, "sony", path, quantize=quantize)
        argv = [os.path.abspath(__file__), f"--file_child={backend}:{path}",
                f"--frame={args.frame}"]
        try:
            result, peak = common.run_child(argv)
        except RuntimeError as error:
            print(f"  {name} from its file failed: {error}", flush=True)
            continue
        results[f"{name} (file, runtime alone)"] = dict(result, peak_rss_mib=peak)
        print(f"  {name} from its file: peak {peak:.0f} MiB", flush=True)
    return results


def child_argv(args, name):
    argv = [os.path.abspath(__file__), f"--child={name}", f"--height={args.height}",
            f"--width={args.width}", f"--seed={args.seed}", f"--frame={args.frame}"]
    argv += [f"--weights={args.weights}"] if args.weights else []
    argv += [f"--meta={args.meta}"] if args.meta else []
    return argv


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="Trained .weights.h5 (else random).")
    parser.add_argument("--meta", default=None, help="The published model.ckpt.meta (else "
                        "$SID_REFERENCE_DIR's, else the tf_slim rebuild).")
    parser.add_argument("--configs", default="original,tensorflow:float32+xla,openvino:float32")
    parser.add_argument("--memory_configs", default=None, help="Default: --configs; 'none'.")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--height", type=int, default=FULL_FRAME[0])
    parser.add_argument("--width", type=int, default=FULL_FRAME[1])
    parser.add_argument("--small", action="store_true", help="A 352x528 packed frame.")
    parser.add_argument("--reference", default=None, help="Cache of the float32 output (.npy).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--frame", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--file_child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--file_configs", default="", help="backend:precision entries whose "
                        "export file is run in a process with only NumPy and that runtime, for "
                        "its peak memory (what a deployment needs; e.g. openvino:float32).")
    args = parser.parse_args()
    if args.small:
        args.height, args.width = SMALL_FRAME
    if args.child:
        child(args)
        return
    if args.file_child:
        file_child(args)
        return
    configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    memory = configs if args.memory_configs is None else (
        [] if args.memory_configs == "none" else args.memory_configs.split(","))
    # Nothing timed (--configs=""): only the memory of --memory_configs is measured.
    for name in configs + memory:
        parse_config(name)

    import numpy as np

    info = common.machine_info()
    print(f"device: {common.device_summary(info)}", flush=True)
    model = common.seeded_model(args.seed, args.weights)
    packed = frame(args)
    reference = reference_output(args, model, packed)
    work_dir = tempfile.mkdtemp(prefix="sid_bench_backends_")
    args.frame = os.path.join(work_dir, "frame.npy")
    np.save(args.frame, packed)
    outputs, calls, convert, results, quality = {}, {}, {}, {}, {}
    try:
        for name in configs:
            start = time.perf_counter()
            call = make_call(name, model, work_dir, args)
            convert[name] = time.perf_counter() - start
            print(f"  {name}: ready in {convert[name]:.1f} s", flush=True)

            def timed(index, call=call, name=name):
                outputs[name] = np.clip(call(packed), 0.0, 1.0)

            calls[name] = timed
        if calls:
            results = common.interleaved(calls, warmup=args.warmup, repeats=args.repeats)
        calls.clear()
        from sid_tf2.backends.common import agreement_measures  # TensorFlow: off --help

        quality = {name: agreement_measures(output, reference) for name, output in outputs.items()}
        outputs.clear()
        memory_results = common.peaks_in_children(memory, lambda name: child_argv(args, name),
                                                  "after conversion, before inference")
        if args.file_configs:
            memory_results.update(file_memory(args, model, work_dir))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    report(args, info, configs, convert, results, quality, memory_results)


def report(args, info, configs, convert, results, quality, memory_results):
    common.print_header(f"Backends, packed {args.height}x{args.width} -> "
                        f"{2 * args.height}x{2 * args.width}x3", info)
    print(f"Weights: {args.weights or f'random (seed {args.seed})'}. {args.warmup} warm-up + "
          f"{args.repeats} interleaved rounds, medians. Quality against the Keras float32 "
          "whole-image output, clipped to [0, 1]: PSNR, SSIM (8-bit), the worst 1 % of pixels' "
          "error in 8-bit levels, PSNR of the darkest tenth.\n")
    base = results.get("original", {}).get("median")
    def memory(name):
        result = memory_results.get(name)
        return ([f"{result['peak_rss_mib'] / 1024:.2f}", f"{result['baseline_rss_mib'] / 1024:.2f}"]
                if result else ["-", "-"])

    memory_headers = ["peak GiB (own process)", "of which before inference GiB"]
    def measured(value, digits=1):
        return "identical" if value == float("inf") else f"{value:.{digits}f}"

    rows = []
    for name in configs:
        entry, measures = results[name], quality[name]
        rows.append([name, f"{convert[name]:.1f}", f"{entry['median']:.2f}",
                     common.spread(entry["times"]),
                     f"{base / entry['median']:.2f}x" if base else "-",
                     measured(measures["psnr"]), f"{measures['ssim']:.4f}",
                     f"{measures['worst_1pct_levels']:.2f}", measured(measures["dark_tenth_psnr"]),
                     *memory(name)])
    if rows:
        print(common.markdown_table(["config", "ready s", "median s", "min-max s",
                                     "speed vs original", "PSNR dB vs float32", "SSIM",
                                     "worst 1 % (levels)", "darkest tenth dB", *memory_headers], rows))
    extra = [name for name in memory_results if name not in configs]
    if extra:
        print("\nPeak memory only:\n")
        print(common.markdown_table(["config", *memory_headers],
                                    [[name, *memory(name)] for name in extra]))


if __name__ == "__main__":
    main()
