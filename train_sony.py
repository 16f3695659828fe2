"""The original's train_Sony.py, kept for its users: runs `sid_tf2.train` (installed as sid-train)."""

from sid_tf2 import train

if __name__ == "__main__":
    train.run()
