"""Evaluate the SID network on the test set: the original's test_Sony.py, with trustworthy metrics.

    python test_sony.py --checkpoint=checkpoint/Sony/            # published TF1 weights
    python test_sony.py --checkpoint=result_Sony/model.weights.h5 --protocol=all \
        --list_file=dataset/Sony_test_list.txt --exclude_misaligned
    python test_sony.py --synthetic --checkpoint=result_Synthetic/

Writes result_dir/final/<id>_00_<ratio>_{out,gt,scale}.png as the original did, and
metrics.csv / metrics.json (PSNR and SSIM on the saved 8-bit images, data range 255).
By default the network runs with the fastest settings for this machine (on a CPU without
native 16-bit arithmetic: float32 with XLA, whose full-frame output equalled the original
graph's bit for bit in benchmarks/RESULTS.md); --faithful computes as the original graph did.
"""

import sys

from absl import app, flags, logging

from sid_tf2 import speed_flags
from sid_tf2.backends import flags as backend_flags
from sid_tf2.backends.flags import define_backend_flags, predictor_options
from sid_tf2.speed_flags import define_speed_flags, speed_settings_from_flags

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "A TF1 checkpoint (prefix or directory, e.g. the "
                    "published checkpoint/Sony/), a .weights.h5 or .keras file, or a training "
                    "result_dir. Default ./checkpoint/<Camera>/ (./result_Synthetic/ with --synthetic).")
flags.DEFINE_string("data_dir", None, "SID-layout dataset. Default ./dataset/Sony/ "
                    "(./dataset/Fuji/, ./dataset/Synthetic/).")
flags.DEFINE_string("result_dir", None, "Where final/ and the metrics go. Default ./result_Sony/ "
                    "(./result_Fuji/, ./result_Synthetic/).")
flags.DEFINE_enum("camera", "sony", ["sony", "fuji"], "Sensor: sony (Bayer) or fuji (X-Trans).")
flags.DEFINE_enum("protocol", "original", ["original", "all"], "original: every burst-00 short "
                  "exposure of the test ids (93 Sony images); all: every pair of --list_file.")
flags.DEFINE_string("list_file", None, "The pair list for --protocol=all (e.g. "
                    "dataset/Sony_test_list.txt; a synthetic dataset's test_list.txt by default).")
flags.DEFINE_bool("exclude_misaligned", False, "Leave out scenes 10034, 10045 and 10172, as the "
                  "authors advise for metrics.")
define_speed_flags()  # --precision, --jit_compile, --faithful
flags.adopt_module_key_flags(speed_flags)  # listed by --help
define_backend_flags()  # --backend, --backend_precision
flags.adopt_module_key_flags(backend_flags)
flags.DEFINE_integer("tile_size", 0, "Run in overlapping tiles of this many packed pixels "
                     "(a multiple of 16) to bound memory; 0: whole images.", lower_bound=0)
flags.DEFINE_integer("tile_overlap", 128, "Packed pixels shared by neighbouring tiles.", lower_bound=0)
flags.DEFINE_string("cache_dir", None, "Where decoded raw files are cached (default DATA_DIR/.cache).")
flags.DEFINE_bool("synthetic", False, "Evaluate on the synthetic dataset that "
                  "`train_sony.py --synthetic` generates.")


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
    from sid_tf2.data import DatasetError, RawCache
    from sid_tf2.backends import MissingExtraError
    from sid_tf2.evaluation import evaluate, select_pairs
    from sid_tf2.inference import make_predictor
    from sid_tf2.raw import RawFileError
    from sid_tf2.weights import WeightsError, load_model_weights

    data_dir, result_dir, checkpoint, list_file = _defaults()
    try:
        speed = speed_settings_from_flags()
        model_precision, predictor_kwargs, settings = predictor_options(FLAGS, speed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"speed settings: {settings}", flush=True)
    if speed.warning and FLAGS.backend == "tensorflow":
        print(f"warning: {speed.warning}", file=sys.stderr)
    try:
        pairs = select_pairs(data_dir, FLAGS.protocol, list_file, FLAGS.exclude_misaligned)
        model, camera = load_model_weights(checkpoint, camera=FLAGS.camera,
                                           precision=model_precision)
        predictor = make_predictor(
            model, tile_size=FLAGS.tile_size or None, tile_overlap=FLAGS.tile_overlap,
            **predictor_kwargs,
        )
        evaluate(
            predictor, pairs, RawCache.for_dataset(data_dir, FLAGS.cache_dir), result_dir,
            camera=camera,
            info={"protocol": FLAGS.protocol, "checkpoint": checkpoint, "data_dir": data_dir,
                  "list_file": list_file, "exclude_misaligned": FLAGS.exclude_misaligned,
                  "backend": FLAGS.backend, "precision": predictor_kwargs["precision"],
                  "jit_compile": predictor_kwargs.get("jit_compile", False),
                  "tile_size": FLAGS.tile_size or None},
        )
    except (WeightsError, DatasetError, RawFileError, FileNotFoundError, ValueError,
            MissingExtraError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    app.run(main)
