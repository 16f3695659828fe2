"""Which layers int8 spoils: each convolution quantised alone, then the most sensitive kept float.

    python benchmarks/bench_int8_layers.py --weights=result_dir/model.weights.h5 [--side=512] [--inputs=4]

Per layer: NNCF int8 (sid_tf2.backends.openvino_int8, calibrated on the simulator's default
patches, 8 of 256x256, seed 0) with every other convolution kept float; its mean PSNR against
OpenVINO float32 on `--inputs` held-out simulated inputs (seed 5, packed `--side` square). Then
the frontier: everything int8 except the k most sensitive layers, k = 0, 1, 2, ..., with the
PSNR and the time of one inference against OpenVINO float32 (interleaved rounds, medians). This
is the measurement behind `openvino_int8.FLOAT_LAYERS`.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="Trained .weights.h5 (else random).")
    parser.add_argument("--side", type=int, default=512, help="Packed side of the held-out inputs.")
    parser.add_argument("--inputs", type=int, default=4)
    parser.add_argument("--frontier", type=int, default=4, help="Largest number of layers kept float.")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from sid_tf2.backends.calibration import calibration_patches, simulated_patches
    from sid_tf2.backends.common import agreement_measures
    from sid_tf2.backends.openvino_backend import OpenVINORunner, openvino_runner
    from sid_tf2.backends.openvino_int8 import convolution_names, quantize_openvino
    from sid_tf2.backends.quiet import runtime_output_hidden

    info = common.machine_info()
    print(f"device: {common.device_summary(info)}", flush=True)
    model = common.seeded_model(0, args.weights)
    calibration = calibration_patches("sony")
    held_out = [patch[None] for patch in simulated_patches(args.inputs, args.side, seed=5)]
    float32 = openvino_runner(model)
    references = [float32(batch) for batch in held_out]
    names = convolution_names(model)

    def quantised(float_layers):
        with runtime_output_hidden():
            return OpenVINORunner(quantize_openvino(model, calibration, float_layers=float_layers).model, "int8")

    def quality(run):
        measures = [agreement_measures(run(batch), reference) for batch, reference in zip(held_out, references)]
        return {key: float(np.mean([m[key] for m in measures])) for key in measures[0]}

    alone = {}
    for name in names:
        alone[name] = quality(quantised([other for other in names if other != name]))["psnr"]
        print(f"  {name} alone in int8: {alone[name]:.1f} dB", flush=True)
    ranked = sorted(names, key=alone.get)
    frontier, calls = [], {"openvino:float32": lambda index: float32(held_out[0])}
    for count in range(args.frontier + 1):
        kept = tuple(ranked[:count])
        run = quantised(kept)
        frontier.append((kept, quality(run)))
        calls[f"float: {', '.join(kept) or 'none'}"] = lambda index, run=run: run(held_out[0])
        print(f"  float {kept}: {frontier[-1][1]['psnr']:.1f} dB", flush=True)
    times = common.interleaved(calls, warmup=1, repeats=args.repeats)

    common.print_header(f"int8 layer sensitivity, packed {args.side}x{args.side}, {args.inputs} held-out inputs",
                        info)
    print(f"Weights: {args.weights or 'random (seed 0)'}. PSNR against OpenVINO float32, mean over the inputs.\n")
    print(common.markdown_table(["layer int8 alone", "PSNR dB"], [[name, f"{alone[name]:.1f}"] for name in names]))
    base = times["openvino:float32"]["median"]
    rows = [["(OpenVINO float32)", "identical", "-", "-", f"{base:.3f}", "1.00x"]]
    for kept, measures in frontier:
        label = f"float: {', '.join(kept) or 'none'}"
        median = times[label]["median"]
        rows.append([label, f"{measures['psnr']:.1f}", f"{measures['dark_tenth_psnr']:.1f}",
                     f"{measures['worst_1pct_levels']:.2f}", f"{median:.3f}", f"{base / median:.2f}x"])
    print()
    print(common.markdown_table(["kept float (most sensitive first)", "PSNR dB", "darkest tenth dB",
                                 "worst 1 % (levels)", "median s", "speed vs OpenVINO float32"], rows))


if __name__ == "__main__":
    main()
