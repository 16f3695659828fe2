"""A progress line with rate and ETA for long work (training steps, images, files).

On a terminal it rewrites one line; in a log (CI, `nohup`, a pipe) it prints a plain line at
most every `log_interval` seconds, so logs stay readable.
"""

import sys
import time


def format_duration(seconds):
    """12s, 3m05s, 2h07m; "--" before anything was measured."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


class Progress:
    """`update(done, **values)` shows `label done/total [values] rate ETA`; `close()` ends it."""

    def __init__(self, label, total, *, unit="step", stream=None, log_interval=10.0, enabled=True):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.log_interval = log_interval
        self.enabled = enabled
        self.interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self._last_log = None

    def eta(self, done):
        elapsed = time.monotonic() - self.start
        if not done or self.total is None:
            return None
        return elapsed / done * (self.total - done)

    def update(self, done, **values):
        if not self.enabled:
            return
        now = time.monotonic()
        finished = self.total is not None and done >= self.total
        if not (self.interactive or finished or self._last_log is None
                or now - self._last_log >= self.log_interval):
            return
        self._last_log = now
        elapsed = now - self.start
        shown = " ".join(f"{key} {_format_value(value)}" for key, value in values.items())
        rate = f"{done / elapsed:.2f} {self.unit}/s" if elapsed > 0 and done else ""
        total = "" if self.total is None else f"/{self.total}"
        line = (f"{self.label} {done}{total} {shown} {rate} "
                f"elapsed {format_duration(elapsed)} ETA {format_duration(self.eta(done))}")
        line = " ".join(line.split())
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
