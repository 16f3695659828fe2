"""The original's train_Fuji.py: train_sony.py with --camera=fuji as the default."""

from sid_tf2 import train

if __name__ == "__main__":
    train.run(camera="fuji", doc=__doc__)
