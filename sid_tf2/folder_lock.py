"""One writer per folder: a lock file naming the run that holds it.

Two training runs on one result directory would interleave their checkpoints and each would
resume from the other's; two sid-enhance runs on one output folder would replace each other's
images without --overwrite and each compute every file. `FOLDER/.lock` holds the PID, host and
start time of the run that owns the folder, and the run holds an advisory `flock` on it for as
long as it lives. The kernel drops a `flock` when its process dies, however it dies (SIGKILL
included), so a lock file whose `flock` can be taken belongs to a run that is gone: it is taken
over, with a note. The PID and host are for the message; on another host (a shared file system
that does not pass `flock` between machines) the process cannot be checked, so such a lock is
refused with what to do. A second run stops at once rather than waiting: its user learns which
run holds the folder and can choose another folder, where waiting would look like a hang.

The lock file is removed when the run ends, so a photographer's output folder holds only images.
Removing a locked file opens a race (a second run opened the old file, a third creates a new
one, both lock "their" file), so a run that gets the `flock` checks that its file is still the
one at the path and tries again if not. On a full disk the owner record may not fit: the `flock`
alone still keeps the folder, and the run's first real write reports the full disk by its name.
"""

import errno
import fcntl
import json
import os
import socket
import time

from sid_tf2.atomic import reporting

LOCK_FILE = ".lock"
_ATTEMPTS = 5  # a lock file removed between open and flock by an ending run: try again


class FolderBusy(RuntimeError):
    """Another run holds the folder."""


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


class FolderLock:
    """`with FolderLock(folder, log):` the block runs as the folder's only writer.

    `holder` names the kind of run in messages ("training run", "sid-enhance run") and `flag`
    the flag that names another folder ("--result_dir", "--output_dir").
    """

    def __init__(self, folder, log=print, *, holder="training run", flag="--result_dir"):
        self.path = os.path.join(folder, LOCK_FILE)
        self.log = log
        self.holder, self.flag = holder, flag
        self._handle = None

    def __enter__(self):
        for _ in range(_ATTEMPTS):
            handle = self._open_and_lock()
            if self._still_at_path(handle):
                break
            os.close(handle)  # the run that held it ended and removed it: lock the new file
        else:
            raise FolderBusy(f"{os.path.dirname(self.path)}: its lock file keeps being replaced; "
                             f"is another {self.holder} starting and stopping there?")
        owner = _read_owner(handle)
        host = socket.gethostname()
        if owner.get("host") not in (None, host):
            os.close(handle)
            raise FolderBusy(
                f"{os.path.dirname(self.path)} is locked by a run on another machine ({_describe(owner)}), "
                f"which cannot be checked from here; if it has ended, delete {self.path}.")
        if owner:
            self.log(f"note: took over the lock of a run that is gone ({_describe(owner)})")
        me = json.dumps({"pid": os.getpid(), "host": host, "started": time.time()}).encode("utf-8")
        try:
            os.ftruncate(handle, 0)
            os.pwrite(handle, me, 0)
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                os.close(handle)
                with reporting(self.path):
                    raise
        self._handle = handle
        return self

    def _open_and_lock(self):
        with reporting(self.path):
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = _read_owner(handle)
            os.close(handle)
            raise FolderBusy(
                f"{os.path.dirname(self.path)} is in use by another {self.holder} ({_describe(owner)}); "
                f"wait for it to end, stop it, or use another {self.flag}.") from None
        return handle

    def _still_at_path(self, handle):
        try:
            return os.path.samestat(os.fstat(handle), os.stat(self.path))
        except FileNotFoundError:
            return False

    def __exit__(self, *exc_info):
        # Removed while still locked, then released: a run that opened it meanwhile finds, once
        # it has the flock, that its file is no longer at the path, and starts over.
        try:
            os.remove(self.path)
        except OSError:
            pass  # a read-only remount: the flock still goes with the handle
        os.close(self._handle)
        self._handle = None
