"""Writing files so that readers see either the old file or the complete new one, and a
write that fails for want of space or permission says so in one line.

The new content goes to a temporary name in the destination's directory (same file system, so
the final rename is atomic) and replaces the destination only when complete. The temporary file
is created with the usual permissions (0666 less the umask), unlike `tempfile.mkstemp`'s 0600,
so results stay readable by the people they are for.

Why one error type for the place written to: a full disk, a read-only mount or a directory
without permission is the user's to fix, not a bug, so every command reports a `WriteError` as
`error: PATH: reason (about N MB needed, M MB free)` and exits 1 instead of a traceback. Staging
names start with `.tmp-`, so leftovers of a killed process are recognisable (`remove_leftovers`).
"""

import contextlib
import errno
import os
import secrets
import shutil

STAGING_PREFIX = ".tmp-"

# errno values that describe the place written to, with the words used in messages.
_PLACE_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
_SPACE_ERRORS = (errno.ENOSPC, errno.EDQUOT)
_MB = 1e6


class WriteError(OSError):
    """A write that failed because of where it went: no space, read-only, no permission.

    `needed` and `free` (bytes, or None when unknown) are shown for space problems only, where
    they tell the user how much to free.
    """

    def __init__(self, path, reason, *, needed=None, free=None, code=None):
        super().__init__(code, reason)
        self.path = os.fspath(path)
        self.reason = reason
        self.needed = needed
        self.free = free

    def __str__(self):
        if self.free is None:
            return f"{self.path}: {self.reason}"
        needed = "" if self.needed is None else f"about {_megabytes(self.needed)} MB needed, "
        return f"{self.path}: {self.reason} ({needed}{_megabytes(self.free)} MB free)"


def _megabytes(count):
    if count >= _MB or count == 0:
        return f"{count / _MB:.0f}"
    return f"{max(count / _MB, 0.001):.3f}".rstrip("0")


def free_bytes(path):
    """Bytes available to this user on the file system that holds `path` (or would hold it)."""
    probe = os.path.abspath(os.fspath(path))
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    stats = os.statvfs(probe)
    return stats.f_bavail * stats.f_frsize


def ensure_space(path, needed):
    """Raise `WriteError` up front when `path`'s file system has fewer than `needed` bytes free."""
    free = free_bytes(path)
    if free < needed:
        raise WriteError(path, "not enough free space", needed=needed, free=free, code=errno.ENOSPC)


def as_write_error(path, error, needed=None):
    """The `WriteError` an OSError stands for, or None when it is not about the place written to.

    TensorFlow and h5py often lose the errno and keep only its text, so the text is read too.
    """
    code = getattr(error, "errno", None)
    if code not in _PLACE_ERRORS:
        text = str(error)
        code = next((number for number in _PLACE_ERRORS if os.strerror(number) in text), None)
        if code is None:
            return None
    free = None
    if code in _SPACE_ERRORS:
        try:
            free = free_bytes(path)
        except OSError:
            free = 0
    return WriteError(path, _PLACE_ERRORS[code], needed=needed if free is not None else None,
                      free=free, code=code)


@contextlib.contextmanager
def reporting(path, needed=None):
    """Turn an OSError about the place written to, inside the block, into a `WriteError` for `path`."""
    try:
        yield
    except WriteError:
        raise
    except OSError as error:
        translated = as_write_error(path, error, needed)
        if translated is None:
            raise
        raise translated from None


def make_directory(path):
    """`os.makedirs(path, exist_ok=True)`, failing with a `WriteError` naming `path`."""
    with reporting(path):
        os.makedirs(path, exist_ok=True)


def _staging_path(path, needed):
    """A fresh name beside `path` (its parent created, `needed` bytes of space checked) under
    which the content is assembled before it takes `path`'s place."""
    directory, name = os.path.split(os.path.abspath(path))
    make_directory(directory)
    if needed is not None:
        ensure_space(path, needed)
    return os.path.join(directory, f"{STAGING_PREFIX}{secrets.token_hex(4)}-{name}")


@contextlib.contextmanager
def atomic_path(path, needed=None):
    """Yield a temporary path beside `path`; on success rename it onto `path`, else remove it.

    The temporary name keeps `path`'s suffix, for writers that choose the format by it. When
    `needed` (bytes) is given, the free space is checked first.
    """
    temporary = _staging_path(path, needed)
    try:
        with reporting(path, needed):
            yield temporary
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextlib.contextmanager
def staging_directory(final, needed=None):
    """Yield an empty directory beside `final` to assemble a directory in; `publish` it after.

    Left over only when the process is killed; `remove_leftovers` finds it by its prefix.
    """
    staged = _staging_path(final, needed)
    try:
        with reporting(final, needed):
            os.mkdir(staged)
            yield staged
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def publish(staged, final):
    """Move the directory `staged` to `final`, replacing a previous one; never half of either."""
    with reporting(final):
        if not os.path.exists(final):
            os.replace(staged, final)
            return
        retired = os.path.join(os.path.dirname(final), f"{STAGING_PREFIX}old-{secrets.token_hex(4)}")
        os.replace(final, retired)
        os.replace(staged, final)
    shutil.rmtree(retired, ignore_errors=True)


def remove_leftovers(directory):
    """Remove what killed writers left in `directory` (names starting `.tmp-`); return the names.

    Only for directories that one process owns at a time (a locked result directory): in a
    shared one, another process's write in progress looks the same.
    """
    try:
        names = sorted(name for name in os.listdir(directory) if name.startswith(STAGING_PREFIX))
    except FileNotFoundError:
        return []
    for name in names:
        path = os.path.join(directory, name)
        with reporting(path):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    return names


def write_bytes(path, data):
    """Write `data` to `path` atomically, flushed to disk before the rename."""
    with atomic_path(path, needed=len(data)) as temporary:
        with open(temporary, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())


def write_text(path, text):
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))
