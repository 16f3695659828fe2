"""One training run per result directory: a lock file naming the run that holds it.

Two runs on one directory would interleave their checkpoints and each would resume from the
other's. `result_dir/.lock` holds the PID, host and start time of the run that owns the
directory, and the run holds an advisory `flock` on it for as long as it lives. The kernel
drops a `flock` when its process dies, however it dies (SIGKILL included), so a lock file whose
`flock` can be taken belongs to a run that is gone: it is taken over, with a note. The PID and
host are for the message; on another host (a shared file system that does not pass `flock`
between machines) the process cannot be checked, so such a lock is refused with what to do.
"""

import fcntl
import json
import os
import socket
import time

from sid_tf2.atomic import reporting

LOCK_FILE = ".lock"


class ResultDirBusy(RuntimeError):
    """Another run holds the result directory."""


def _describe(owner):
    started = owner.get("started")
    since = f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}" if started else ""
    return f"PID {owner.get('pid')} on {owner.get('host')}{since}"


def _read_owner(handle):
    os.lseek(handle, 0, os.SEEK_SET)
    text = os.read(handle, 4096).decode("utf-8", "replace")
    try:
        owner = json.loads(text) if text.strip() else {}
    except ValueError:
        owner = {"pid": "?", "host": "?"}
    return owner if isinstance(owner, dict) else {}


class ResultDirLock:
    """`with ResultDirLock(result_dir, log):` the block runs as the directory's only user."""

    def __init__(self, result_dir, log=print):
        self.path = os.path.join(result_dir, LOCK_FILE)
        self.log = log
        self._handle = None

    def __enter__(self):
        with reporting(self.path):
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = _read_owner(handle)
            os.close(handle)
            raise ResultDirBusy(
                f"{os.path.dirname(self.path)} is in use by another training run ({_describe(owner)}); "
                "wait for it to end, stop it, or use another --result_dir.") from None
        owner = _read_owner(handle)
        host = socket.gethostname()
        if owner.get("host") not in (None, host):
            os.close(handle)
            raise ResultDirBusy(
                f"{os.path.dirname(self.path)} is locked by a run on another machine ({_describe(owner)}), "
                f"which cannot be checked from here; if it has ended, delete {self.path}.")
        if owner:
            self.log(f"note: took over the lock of a run that is gone ({_describe(owner)})")
        me = json.dumps({"pid": os.getpid(), "host": host, "started": time.time()}).encode("utf-8")
        with reporting(self.path):
            os.ftruncate(handle, 0)
            os.pwrite(handle, me, 0)
        self._handle = handle
        return self

    def __exit__(self, *exc_info):
        # Emptied, not removed: removing a locked file lets a third run lock a new file of the
        # same name while a second still waits on the old one.
        try:
            os.ftruncate(self._handle, 0)
        except OSError:
            pass  # a full or read-only disk: the flock still goes with the handle
        os.close(self._handle)
        self._handle = None
