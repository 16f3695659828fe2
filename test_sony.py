"""Evaluate the SID network on the test set (the original's test_Sony.py), on TensorFlow 2.

Evaluation arrives with the evaluation work (the original's output files plus PSNR/SSIM);
this entry point already parses its flags so scripts can depend on it.
"""

import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", "./checkpoint/Sony/", "TF1 checkpoint or Keras weights.")
flags.DEFINE_string("data_dir", "./dataset/Sony/", "SID dataset directory (short/ and long/).")
flags.DEFINE_string("result_dir", "./result_Sony/", "Where the output images go.")


def main(argv):
    del argv
    print(
        "test_sony.py: evaluation is not part of this release yet; see README.md for "
        "converting the published weights and running the model.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    app.run(main)
