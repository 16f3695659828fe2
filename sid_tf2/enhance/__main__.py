"""`python -m sid_tf2.enhance`: the same command as sid-enhance (sid_tf2.enhance.command)."""

from sid_tf2.enhance.command import run

run()
