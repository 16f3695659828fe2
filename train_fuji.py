"""The original's train_Fuji.py: train_sony.py with --camera=fuji as the default."""

from absl import flags

import train_sony
from sid_tf2 import cli

flags.adopt_module_key_flags(train_sony)  # listed by --help

if __name__ == "__main__":
    train_sony.FLAGS.set_default("camera", "fuji")
    cli.run(train_sony.main)
