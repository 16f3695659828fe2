"""PNG encoding of a network output: libpng (tf.io.encode_png) against sid_tf2.png.

    python benchmarks/bench_png.py [--weights=W.h5] [--size=1424,2128] [--bit_depth=8] [--repeats=3]

The network (float32, whole image) enhances a simulated short exposure of `--size` packed pixels
(a full Sony frame by default; sid_tf2.simulate's scene, amplified as sid-enhance does), the
output is quantised as sid-enhance writes it, and each encoder encodes it, interleaved in one
process: libpng at zlib levels 1 and 6, sid_tf2.png at level 1 on one thread and on two.
Reported per encoder: median seconds, file size, and a check that libpng decodes the same pixels.
Use trained weights: a random network's output is noise, not a photo.
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)


def network_output(weights, height, width, bit_depth):
    import numpy as np

    from sid_tf2.enhance import auto_ratio
    from sid_tf2.inference import make_predictor
    from sid_tf2.metrics import quantise
    from sid_tf2.raw import pack_bayer, read_raw
    from sid_tf2.simulate import write_synthetic_dataset

    folder = tempfile.mkdtemp(prefix="sid_bench_png_")
    write_synthetic_dataset(folder, num_scenes=3, size=(2 * height, 2 * width), seed=0, progress=False)
    short = os.path.join(folder, "short", sorted(os.listdir(os.path.join(folder, "short")))[0])
    with read_raw(short) as raw:
        packed = pack_bayer(raw)
    ratio, _ = auto_ratio(packed)
    output = make_predictor(common.seeded_model(weights=weights))(
        np.minimum(packed * np.float32(ratio), 1.0)[None])[0]
    shutil.rmtree(folder, ignore_errors=True)
    return quantise(output, np.uint8 if bit_depth == 8 else np.uint16)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="Trained .weights.h5 (else a seeded random init).")
    parser.add_argument("--size", default="1424,2128", help="Packed height,width of the frame.")
    parser.add_argument("--bit_depth", type=int, choices=(8, 16), default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import numpy as np
    import tensorflow as tf

    from sid_tf2.png import encode_png

    info = common.machine_info()
    height, width = (int(v) for v in args.size.split(","))
    image = network_output(args.weights, height, width, args.bit_depth)
    configs = {
        "libpng level 1": lambda _: tf.io.encode_png(image, compression=1).numpy(),
        "libpng level 6": lambda _: tf.io.encode_png(image, compression=6).numpy(),
        "sid_tf2.png level 1, 1 thread": lambda _: encode_png(image, level=1, threads=1),
        "sid_tf2.png level 1, 2 threads": lambda _: encode_png(image, level=1, threads=2),
    }
    results = common.interleaved(configs, warmup=1, repeats=args.repeats)
    common.print_header(f"PNG encoding of a {image.shape[1]}x{image.shape[0]} {args.bit_depth}-bit "
                        "network output", info)
    rows = []
    for name, result in results.items():
        data = result["values"][-1]
        same = np.array_equal(tf.io.decode_png(data, dtype=tf.as_dtype(image.dtype)).numpy(), image)
        rows.append([name, f"{result['median']:.3f}", common.spread(result["times"]),
                     f"{len(data) / 1e6:.1f}", "yes" if same else "NO"])
    print(common.markdown_table(["encoder", "median s", "min-max s", "MB", "decodes to the same pixels"],
                                rows))


if __name__ == "__main__":
    main()
