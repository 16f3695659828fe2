"""Convert a TF1 SID checkpoint into Keras weights, a whole Keras model, or a SavedModel;
or export any SID weights to LiteRT (.tflite), ONNX (.onnx) or OpenVINO IR (.xml and .bin).

  python -m weight_converter --checkpoint=checkpoint/Sony/ --output=sony.weights.h5
  python -m weight_converter --checkpoint=checkpoint/Sony/model.ckpt --output=sony.keras
  python -m weight_converter --checkpoint=checkpoint/Fuji/ --output=fuji_savedmodel/
  python -m weight_converter --checkpoint=result_Sony/ --output=sony.tflite --input_size=512,512
  python -m weight_converter --checkpoint=sony.weights.h5 --output=sony_int8.onnx --quantize=int8
  python -m weight_converter --checkpoint=sony.weights.h5 --output=sony_int8.xml --quantize=int8

The camera is detected from the tensor shapes unless --camera is given. For .tflite, .onnx and .xml,
--checkpoint may be anything sid-enhance takes (a TF1 checkpoint, .weights.h5, .keras or a
training result_dir); the export is run in its own runtime and compared with the Keras model
(PSNR printed), and kept only if it agrees. Nothing is left at --output when anything fails.
"""

import sys

from absl import flags, logging

from sid_tf2 import cli
from sid_tf2.atomic import WriteError
from sid_tf2.backends import MissingExtraError
from sid_tf2.constants import CAMERA_NAMES

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "TF1 checkpoint: prefix (.../model.ckpt), file or directory.")
flags.DEFINE_string(
    "output", None, "Where to write: *.weights.h5, *.keras, or a directory for a SavedModel."
)
flags.DEFINE_enum("camera", None, CAMERA_NAMES, "Expected camera; detected when omitted.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output.")
flags.DEFINE_list("input_size", None, "H,W: fix the packed input size of a .tflite/.onnx export "
                  "(default: dynamic sizes).")
flags.DEFINE_enum("quantize", None, ["float16", "dynamic_int8", "int8"], "Quantise a .tflite "
                  "export (float16 weights, int8 weights, or calibrated int8 throughout), an "
                  ".onnx export (int8, ONNX Runtime's quantiser) or an .xml OpenVINO IR (int8, NNCF's, "
                  "the last layer in float).")
flags.DEFINE_string("calibration_dir", None, "Raw files to calibrate int8 on and to check the "
                    "export with (default: the low-light simulator's patches; Sony only).")
flags.mark_flags_as_required(["checkpoint", "output"])
cli.define_verbose_flag()


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # SavedModel export logs every step at INFO
    cli.load_tensorflow(verbose=FLAGS.verbose)
    from weight_converter.convert import ConversionError, convert  # TensorFlow: after load_tensorflow, off --help
    from weight_converter.export import export_format  # TensorFlow: after load_tensorflow, off --help

    if export_format(FLAGS.output):
        return _export()
    if FLAGS.input_size or FLAGS.quantize or FLAGS.calibration_dir:
        print("error: --input_size, --quantize and --calibration_dir apply to .tflite, .onnx and .xml "
              "outputs only", file=sys.stderr)
        return 2
    try:
        summary, kind = convert(
            FLAGS.checkpoint, FLAGS.output, camera=FLAGS.camera, overwrite=FLAGS.overwrite
        )
    except (ConversionError, WriteError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"converted {summary.describe()}")
    print(f"wrote {kind}: {FLAGS.output}")
    return 0


def _input_size():
    """--input_size as (H, W), or None; raises ValueError for anything but two positive ints."""
    if not FLAGS.input_size:
        return None
    try:
        size = tuple(int(value) for value in FLAGS.input_size)
    except ValueError:
        size = ()
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"--input_size must be H,W (two positive integers), got "
                         f"{','.join(FLAGS.input_size)}")
    return size


def _export():
    from sid_tf2.weights import WeightsError, load_model_weights  # TensorFlow: off --help
    from weight_converter.export import ExportError, export  # TensorFlow: off --help

    try:
        input_size = _input_size()
        model, camera = load_model_weights(FLAGS.checkpoint, camera=FLAGS.camera)
        report = export(model, camera, FLAGS.output, input_size=input_size,
                        quantize=FLAGS.quantize, calibration_dir=FLAGS.calibration_dir,
                        overwrite=FLAGS.overwrite)
    except (WeightsError, ExportError, MissingExtraError, WriteError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"exported the {camera} network from {FLAGS.checkpoint}")
    print(f"wrote {report.describe()}: {FLAGS.output}")
    return 0


def run():
    """`sid-convert` and `python -m weight_converter`."""
    cli.run(main)


if __name__ == "__main__":
    run()
