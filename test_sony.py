"""The original's test_Sony.py, kept for its users: runs `sid_tf2.evaluate` (installed as sid-test)."""

from sid_tf2 import evaluate

if __name__ == "__main__":
    evaluate.run()
