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

A directory is replaced (`publish`) so that its name always holds a whole copy, old or new: the
two are exchanged in one step where Linux can (renameat2's RENAME_EXCHANGE); elsewhere the old
copy steps aside under a name that says whose it is, and a crash before the new one takes its
place is undone by `remove_leftovers`, which puts the old copy back.
"""

import contextlib
import ctypes
import errno
import functools
import hashlib
import os
import pathlib
import re
import secrets
import shutil
import sys

STAGING_PREFIX = ".tmp-"
RETIRED_PREFIX = f"{STAGING_PREFIX}old-"  # a replaced directory's whole copy, until it is removed
_RETIRED_NAME = re.compile(re.escape(RETIRED_PREFIX) + r"[0-9a-f]{8}-(.+)", re.DOTALL)

# errno values that describe the place written to, with the words used in messages.
_PLACE_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long for the file system",
}
_SPACE_ERRORS = (errno.ENOSPC, errno.EDQUOT)
_MB = 1e6


class WriteError(OSError):
    """A write that failed because of where it went: no space, read-only, no permission.

    `needed` and `free` (bytes, or None when unknown) are shown for space problems only, where
    they tell the user how much to free.
    """

    def __init__(self, path, reason, *, needed=None, free=None, code=None, hint=""):
        super().__init__(code, reason)
        self.path = os.fspath(path)
        self.reason = reason
        self.needed = needed
        self.free = free
        self.hint = hint  # the flag that puts the file elsewhere, where there is one

    def with_hint(self, hint):
        """The same error, naming what the user can do about it (e.g. the flag that fixes it)."""
        return WriteError(self.path, self.reason, needed=self.needed, free=self.free, code=self.errno, hint=hint)

    def __str__(self):
        text = f"{self.path}: {self.reason}"
        if self.free is not None:
            needed = "" if self.needed is None else f"about {_megabytes(self.needed)} MB needed, "
            text += f" ({needed}{_megabytes(self.free)} MB free)"
        return f"{text}; {self.hint}" if self.hint else text


def _megabytes(count):
    if count >= _MB or count == 0:
        return f"{count / _MB:.0f}"
    return f"{max(count / _MB, 0.001):.3f}".rstrip("0")


def _file_system_stats(path):
    """statvfs of the file system that holds `path` (or would hold it)."""
    probe = os.path.abspath(os.fspath(path))
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    return os.statvfs(probe)


def free_bytes(path):
    """Bytes available to this user on the file system that holds `path` (or would hold it)."""
    stats = _file_system_stats(path)
    return stats.f_bavail * stats.f_frsize


def ensure_space(path, needed):
    """Raise `WriteError` up front when `path`'s file system has fewer than `needed` bytes free,
    or is read-only (the real cause then, whatever space it shows)."""
    stats = _file_system_stats(path)
    if stats.f_flag & os.ST_RDONLY:
        raise WriteError(path, _PLACE_ERRORS[errno.EROFS], code=errno.EROFS)
    free = stats.f_bavail * stats.f_frsize
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


def _name_max(directory):
    """The longest file name, in bytes, that `directory`'s file system takes."""
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _kept_suffix(name):
    """The ending that writers read the format from: ".png", ".weights.h5", ".tar.gz"."""
    suffixes = pathlib.PurePath(name).suffixes[-2:]
    joined = "".join(suffixes)
    return joined if len(joined) <= 16 else "".join(suffixes[-1:])[:16]


def staging_name(name, max_bytes=255):
    """A fresh staging name for the file `name`: `.tmp-<8 hex>-<name>`, or where that would
    pass the file system's `max_bytes` (a legal 248-character output name would), the name's
    digest with its suffix instead: `.tmp-<8 hex>-~<16 hex><suffix>`, so that a legal output
    name never fails for its temporary name. `is_staging_for` recognises both."""
    token = secrets.token_hex(4)
    full = f"{STAGING_PREFIX}{token}-{name}"
    if len(os.fsencode(full)) <= max_bytes:
        return full
    return f"{STAGING_PREFIX}{token}-~{_digest(name)}{_kept_suffix(name)}"


def is_staging_for(staged, name):
    """Whether `staged` is a staging name that `staging_name(name)` makes."""
    prefix = re.fullmatch(re.escape(STAGING_PREFIX) + r"[0-9a-f]{8}-(.+)", staged, re.DOTALL)
    return bool(prefix) and prefix.group(1) in (name, f"~{_digest(name)}{_kept_suffix(name)}")


def _digest(name):
    return hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def _staging_path(path, needed):
    """A fresh name beside `path` (its parent created, `needed` bytes of space checked) under
    which the content is assembled before it takes `path`'s place."""
    directory, name = os.path.split(os.path.abspath(path))
    make_directory(directory)
    if needed is not None:
        ensure_space(path, needed)
    return os.path.join(directory, staging_name(name, _name_max(directory)))


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
    """Move the directory `staged` to `final`, replacing a previous one; never half of either,
    and never neither: a crash at any moment leaves `final` whole, or (on file systems that
    cannot exchange two names) a retired copy that `remove_leftovers` puts back."""
    with reporting(final):
        if not os.path.exists(final):
            os.replace(staged, final)
            return
        if _exchange(staged, final):
            old = staged  # a staging name again: a crash now leaves it to remove_leftovers
        else:
            directory, name = os.path.split(os.path.abspath(final))
            retired = os.path.join(directory, f"{RETIRED_PREFIX}{secrets.token_hex(4)}-{name}")
            os.replace(final, retired)
            os.replace(staged, final)
            # A retired name only ever holds a whole copy, so it is renamed before the removal.
            old = os.path.join(directory, f"{STAGING_PREFIX}{secrets.token_hex(4)}-{name}")
            os.replace(retired, old)
    shutil.rmtree(old, ignore_errors=True)


_AT_FDCWD = -100  # <fcntl.h>: paths relative to the working directory
_RENAME_EXCHANGE = 2  # <linux/fs.h>
_CANNOT_EXCHANGE = (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP)  # old kernel, file system without it


@functools.lru_cache(maxsize=None)
def _renameat2():
    """libc's renameat2 (Linux, glibc 2.28 and later), or None."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None) \
        if sys.platform == "linux" else None
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        function.restype = ctypes.c_int
    return function


def _exchange(first, second):
    """Swap two existing names in one step; False where the system or file system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _CANNOT_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), first, None, second)


def remove_leftovers(directory):
    """Clear what killed writers left in `directory` (names starting `.tmp-`); return the names
    removed.

    A retired copy (`.tmp-old-<hex>-NAME`, see `publish`) whose NAME is missing is the one whole
    copy left by a crash in mid-replacement: it is renamed back to NAME, not removed. Only for
    directories that one process owns at a time (a locked result directory): in a shared one,
    another process's write in progress looks the same.
    """
    try:
        names = sorted(name for name in os.listdir(directory) if name.startswith(STAGING_PREFIX))
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        path = os.path.join(directory, name)
        retired = _RETIRED_NAME.fullmatch(name)
        with reporting(path):
            if retired and not os.path.lexists(os.path.join(directory, retired.group(1))):
                os.replace(path, os.path.join(directory, retired.group(1)))
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        removed.append(name)
    return removed


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
