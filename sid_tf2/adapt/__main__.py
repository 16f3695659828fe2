"""`python -m sid_tf2.adapt`: the same command as `sid-adapt`."""

from sid_tf2.adapt.command import run

if __name__ == "__main__":
    run()
