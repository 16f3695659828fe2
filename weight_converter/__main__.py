"""Convert a TF1 SID checkpoint into Keras weights, a whole Keras model, or a SavedModel.

  python -m weight_converter --checkpoint=checkpoint/Sony/ --output=sony.weights.h5
  python -m weight_converter --checkpoint=checkpoint/Sony/model.ckpt --output=sony.keras
  python -m weight_converter --checkpoint=checkpoint/Fuji/ --output=fuji_savedmodel/

The camera is detected from the tensor shapes unless --camera is given. Nothing is left at
--output when the conversion fails.
"""

import sys

from absl import flags, logging

from sid_tf2 import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", None, "TF1 checkpoint: prefix (.../model.ckpt), file or directory.")
flags.DEFINE_string(
    "output", None, "Where to write: *.weights.h5, *.keras, or a directory for a SavedModel."
)
flags.DEFINE_enum("camera", None, ["sony", "fuji"], "Expected camera; detected when omitted.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output.")
flags.mark_flags_as_required(["checkpoint", "output"])
cli.define_verbose_flag()


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # SavedModel export logs every step at INFO
    cli.load_tensorflow(verbose=FLAGS.verbose)
    # Imported here so that --help answers without loading TensorFlow.
    from sid_tf2.atomic import WriteError
    from weight_converter.convert import ConversionError, convert

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


if __name__ == "__main__":
    cli.run(main)
