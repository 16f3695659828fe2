"""One 3x3 convolution of each U-Net level: TensorFlow's direct convolution against Winograd.

    python benchmarks/bench_winograd_layer.py [--size=1424,2128] [--repeats=3]

For each level's widest 3x3 convolution on a full Sony frame (packed `--size`, divided by the
level's pooling), interleaved in one process: `tf.nn.conv2d` (oneDNN or Eigen, as this
TensorFlow runs it), `sid_tf2.winograd` F(4x4, 3x3) compiled by XLA as `WinogradConv2D` runs
it, and the same unfused (the transforms as separate TensorFlow ops). Reported: median seconds,
the speed-up over the direct convolution, and the largest error relative to the output's scale.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)

LAYERS = (  # (level, input channels, filters): the widest 3x3 convolution of each level
    (1, 64, 32), (2, 128, 64), (3, 256, 128), (4, 512, 256), (5, 512, 512))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1424,2128", help="Packed height,width at level 1.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import numpy as np
    import tensorflow as tf

    from sid_tf2.winograd import compiled_winograd_conv3x3, transform_filter, winograd_conv3x3

    info = common.machine_info()
    height, width = (int(v) for v in args.size.split(","))
    rng = np.random.default_rng(0)
    rows = []
    for level, channels, filters in LAYERS:
        scale = 2 ** (level - 1)
        x = tf.constant(rng.random((1, height // scale, width // scale, channels), np.float32))
        kernel = (rng.standard_normal((3, 3, channels, filters)) * 0.05).astype(np.float32)
        direct_kernel, transformed = tf.constant(kernel), tf.constant(transform_filter(kernel))
        direct = tf.function(lambda x: tf.nn.conv2d(x, direct_kernel, 1, "SAME"))
        unfused = tf.function(lambda x: winograd_conv3x3(x, transformed))
        configs = {"direct": lambda _: direct(x).numpy(),
                   "winograd, XLA": lambda _: compiled_winograd_conv3x3(x, transformed).numpy(),
                   "winograd, unfused": lambda _: unfused(x).numpy()}
        print(f"level {level}: {channels} -> {filters} channels, {x.shape[1]}x{x.shape[2]}", flush=True)
        results = common.interleaved(configs, warmup=1, repeats=args.repeats)
        reference = results["direct"]["values"][0]
        for name, result in results.items():
            error = float(np.abs(result["values"][-1] - reference).max() / np.abs(reference).max())
            rows.append([str(level), f"{channels}->{filters}", name, f"{result['median']:.3f}",
                         f"{results['direct']['median'] / result['median']:.2f}x", f"{error:.1e}"])
    common.print_header("3x3 convolutions: direct against Winograd F(4x4, 3x3)", info)
    print(common.markdown_table(["level", "channels", "convolution", "median s", "speed vs direct",
                                 "max error / max |output|"], rows))


if __name__ == "__main__":
    main()
