"""Evaluate the SID network on the test set: the original's test_Sony.py, with trustworthy metrics.

    python test_sony.py --checkpoint=checkpoint/Sony/            # published TF1 weights
    python test_sony.py --checkpoint=result_Sony/model.weights.h5 --protocol=all \
        --list_file=dataset/Sony_test_list.txt --exclude_misaligned
    python test_sony.py --synthetic --checkpoint=result_Synthetic/

Writes result_dir/final/<id>_00_<ratio>_{out,gt,scale}.png as the original did, and
metrics.csv / metrics.json (PSNR and SSIM on the saved 8-bit images, data range 255).
By default the network computes in float32, without TensorFloat-32 on GPUs, with the settings
measured fastest on this machine whose output stays within 100 dB of the original graph's
(sid_tf2.tuning: XLA or Winograd convolutions only where they win here), so the metrics are the
same on every kind of machine; metrics.json records the precision, XLA, TF32, oneDNN state and
device. --faithful computes exactly as the original graph did; --precision=mixed_bfloat16 (or
mixed_float16) is a faster, approximate evaluation.
"""

import os
import sys

from absl import flags, logging

from sid_tf2 import cli, speed_flags
from sid_tf2.atomic import WriteError, make_directory
from sid_tf2.backends import MissingExtraError
from sid_tf2.backends import flags as backend_flags
from sid_tf2.backends.flags import backend_settings, check_backend_flags, define_backend_flags
from sid_tf2.constants import CAMERA_NAMES
from sid_tf2.hardware import apply_math_settings, runtime_report
from sid_tf2.speed_flags import check_speed_flags, define_speed_flags, speed_settings_from_flags

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "A TF1 checkpoint (prefix or directory, e.g. the "
                    "published checkpoint/Sony/), a .weights.h5 or .keras file, or a training "
                    "result_dir. Default ./checkpoint/<Camera>/ (./result_Synthetic/ with --synthetic).")
flags.DEFINE_string("data_dir", None, "SID-layout dataset. Default ./dataset/Sony/ "
                    "(./dataset/Fuji/, ./dataset/Synthetic/).")
flags.DEFINE_string("result_dir", None, "Where final/ and the metrics go. Default ./result_Sony/ "
                    "(./result_Fuji/, ./result_Synthetic/).")
flags.DEFINE_enum("camera", "sony", CAMERA_NAMES, "Sensor: sony (Bayer) or fuji (X-Trans).")
flags.DEFINE_enum("protocol", "original", ["original", "all"], "original: every burst-00 short "
                  "exposure of the test ids (93 Sony images); all: every pair of --list_file.")
flags.DEFINE_string("list_file", None, "The pair list for --protocol=all (e.g. "
                    "dataset/Sony_test_list.txt; a synthetic dataset's test_list.txt by default).")
flags.DEFINE_bool("exclude_misaligned", False, "Leave out scenes 10034, 10045 and 10172, as the "
                  "authors advise for metrics.")
define_speed_flags(purpose="evaluate")  # --precision, --jit_compile, --faithful
flags.adopt_module_key_flags(speed_flags)  # listed by --help
define_backend_flags()  # --backend, --backend_precision
flags.adopt_module_key_flags(backend_flags)
flags.DEFINE_integer("tile_size", 0, "Run in overlapping tiles of this many packed pixels "
                     "(a multiple of 16) to bound memory; 0: whole images.", lower_bound=0)
flags.DEFINE_integer("tile_overlap", 128, "Packed pixels shared by neighbouring tiles.", lower_bound=0)
flags.DEFINE_string("cache_dir", None, "Where decoded raw files are cached (default DATA_DIR/.cache).")
flags.DEFINE_string("gt_png_dir", None, "Ground truths from the authors' 16-bit PNG release "
                    "(<stem>.png per long exposure) instead of rendering the raw files.")
flags.DEFINE_bool("synthetic", False, "Evaluate on the synthetic dataset that "
                  "`train_sony.py --synthetic` generates.")
cli.define_verbose_flag()


def _defaults():
    name = "Synthetic" if FLAGS.synthetic else FLAGS.camera.capitalize()
    data_dir = FLAGS.data_dir or f"./dataset/{name}/"
    result_dir = FLAGS.result_dir or f"./result_{name}/"
    default_checkpoint = "./result_Synthetic/" if FLAGS.synthetic else f"./checkpoint/{name}/"
    list_file = FLAGS.list_file
    if FLAGS.protocol == "all" and list_file is None and FLAGS.synthetic:
        list_file = f"{data_dir.rstrip('/')}/test_list.txt"
    return data_dir, result_dir, FLAGS.checkpoint or default_checkpoint, list_file


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    cli.load_tensorflow(verbose=FLAGS.verbose)
    from sid_tf2.data import DatasetError, RawCache  # rawpy: off --help
    from sid_tf2.evaluation import evaluate, select_pairs  # TensorFlow: after load_tensorflow, off --help
    from sid_tf2.inference import make_predictor  # TensorFlow: after load_tensorflow, off --help
    from sid_tf2.raw import RawFileError  # rawpy: off --help
    from sid_tf2.weights import WeightsError, load_model_weights  # TensorFlow: after load_tensorflow, off --help

    data_dir, result_dir, checkpoint, list_file = _defaults()
    try:
        check_speed_flags()
        check_backend_flags(FLAGS)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        pairs = select_pairs(data_dir, FLAGS.protocol, list_file, FLAGS.exclude_misaligned)
        model, camera = load_model_weights(checkpoint, camera=FLAGS.camera)
        speed = None
        if FLAGS.backend == "tensorflow":
            speed = speed_settings_from_flags(purpose="evaluate", model=model, camera=camera)
            apply_math_settings(speed)
            if speed.warning:
                print(f"warning: {speed.warning}", file=sys.stderr)
        speed, description = backend_settings(FLAGS, speed)  # another runtime's: for the metrics file too
        print(f"speed settings: {description}", flush=True)
        predictor = make_predictor(model, speed, tile_size=FLAGS.tile_size or None, tile_overlap=FLAGS.tile_overlap)
        make_directory(os.path.join(result_dir, "final"))  # an unwritable place: one line, up front
        evaluate(
            predictor, pairs, RawCache.for_dataset(data_dir, FLAGS.cache_dir, FLAGS.gt_png_dir), result_dir,
            camera=camera,
            info={"protocol": FLAGS.protocol, "checkpoint": checkpoint, "data_dir": data_dir,
                  "list_file": list_file, "exclude_misaligned": FLAGS.exclude_misaligned,
                  **runtime_report(speed), "backend": FLAGS.backend,
                  "tile_size": FLAGS.tile_size or None},
        )
    except (WeightsError, DatasetError, RawFileError, WriteError, FileNotFoundError, ValueError,
            MissingExtraError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run():
    """The `sid-test` console script, and test_sony.py."""
    cli.run(main)


if __name__ == "__main__":
    run()
