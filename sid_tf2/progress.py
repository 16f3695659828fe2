"""The one progress display of every long job: training, evaluation, cache building, downloads.

On a terminal it rewrites one line (at most every `tty_interval` seconds, and always for the
last update); in a log (CI, `nohup`, a pipe) it prints a plain line for the first update, then
at most every `log_interval` seconds and when the work is done, so logs stay readable.  Counts
are shown as `done/total`; byte amounts (`unit="B"`) as `12.3 MB/84.0 MB (14.6%)`, with the
rate in MB/s.
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


def format_bytes(size):
    """512 B, 100.0 KB, 84.3 MB (decimal units, as download sizes are quoted)."""
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("KB", "MB"):
        size /= 1000.0
        if size < 1000:
            return f"{size:.1f} {unit}"
    return f"{size / 1000.0:.1f} GB"


class Progress:
    """`update(done, **values)` shows `label done/total [values] rate ETA`; `close()` ends it."""

    def __init__(self, label, total, *, unit="step", stream=None, log_interval=10.0,
                 tty_interval=0.1, enabled=True):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.log_interval = log_interval
        self.tty_interval = tty_interval
        self.enabled = enabled
        self.interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self._last_log = None
        self._line_open = False
        self._shown = None  # the amount of the last line shown

    def eta(self, done):
        """Seconds left at the average rate so far; None before anything was done."""
        elapsed = time.monotonic() - self.start
        if not done or self.total is None:
            return None
        return elapsed / done * (self.total - done)

    def update(self, done, **values):
        if not self.enabled:
            return
        now = time.monotonic()
        finished = self.total is not None and done >= self.total
        interval = self.tty_interval if self.interactive else self.log_interval
        if not (finished or self._last_log is None or now - self._last_log >= interval):
            return
        if finished and done == self._shown:
            return
        self._last_log = now
        self._shown = done
        line = self._line(done, now - self.start, values)
        if self.interactive:
            self.stream.write("\r\033[K" + line)
            self._line_open = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _line(self, done, elapsed, values):
        shown = " ".join(f"{key} {_format_value(value)}" for key, value in values.items())
        if self.unit == "B":
            amount = format_bytes(done)
            if self.total:
                amount += f"/{format_bytes(self.total)} ({100.0 * done / self.total:.1f}%)"
            rate = f"{format_bytes(done / elapsed)}/s" if elapsed > 0 and done else ""
        else:
            amount = f"{done}" + ("" if self.total is None else f"/{self.total}")
            rate = f"{done / elapsed:.2f} {self.unit}/s" if elapsed > 0 and done else ""
        line = (f"{self.label} {amount} {shown} {rate} "
                f"elapsed {format_duration(elapsed)} ETA {format_duration(self.eta(done))}")
        return " ".join(line.split())

    def close(self, done=None, **values):
        """End the display; with `done`, first show that amount if the last line did not."""
        if self.enabled and done is not None and done != self._shown:
            self._last_log = None  # due now
            self.update(done, **values)
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
