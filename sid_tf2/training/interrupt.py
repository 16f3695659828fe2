"""Ctrl-C and SIGTERM during training: finish the step, checkpoint, stop with a way to resume.

A signal arriving in the middle of a compiled step or a checkpoint write must not cut either
short, so within `StopSignals` (entered when the steps are about to start) SIGINT and SIGTERM
only record that a stop was asked for; the training loop looks after each step, writes a
checkpoint and raises `TrainingInterrupted`. A
second signal stops at once (KeyboardInterrupt), for a user who cannot wait; a checkpoint being
written then is left as a `.tmp-` directory, which the next run removes.
"""

import signal
import threading

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """The run stopped on a signal after writing a checkpoint; `exit_code` is 128 + signal."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class StopSignals:
    """`with StopSignals() as stop:` ... `stop.received` is the first signal's number, or None.

    Outside the main thread (where Python cannot install handlers) it does nothing, and a
    signal the process was started to ignore stays ignored.
    """

    def __init__(self):
        self.received = None
        self._previous = {}

    def _handle(self, signum, frame):
        del frame
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum

    def name(self):
        return signal.Signals(self.received).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:  # e.g. nohup, a background job
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
