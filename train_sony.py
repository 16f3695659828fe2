"""Train the SID network (the original's train_Sony.py), on TensorFlow 2.

Training arrives with the training work (tf.function steps, mixed precision, exact resume,
tf.distribute); this entry point already parses its flags so scripts can depend on it.
"""

import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", "./dataset/Sony/", "SID dataset directory (short/ and long/).")
flags.DEFINE_string("result_dir", "./result_Sony/", "Where checkpoints and images go.")


def main(argv):
    del argv
    print(
        "train_sony.py: training is not part of this release yet; see README.md for "
        "converting the published weights and running the model.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    app.run(main)
