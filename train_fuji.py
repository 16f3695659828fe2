"""The original's train_Fuji.py: train_sony.py with --camera=fuji as the default."""

from absl import app, flags

import train_sony

flags.adopt_module_key_flags(train_sony)  # listed by --help

if __name__ == "__main__":
    train_sony.FLAGS.set_default("camera", "fuji")
    app.run(train_sony.main)
