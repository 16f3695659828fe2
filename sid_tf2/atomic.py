"""Writing a file so that readers see either the old file or the complete new one.

The new content goes to a temporary name in the destination's directory (same file system, so
the final rename is atomic) and replaces the destination only when complete. The temporary file
is created with the usual permissions (0666 less the umask), unlike `tempfile.mkstemp`'s 0600,
so results stay readable by the people they are for.
"""

import contextlib
import os
import secrets


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success rename it onto `path`, else remove it.

    The temporary name keeps `path`'s suffix, for writers that choose the format by it.
    """
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".tmp-{secrets.token_hex(4)}-{name}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_bytes(path, data):
    """Write `data` to `path` atomically, flushed to disk before the rename."""
    with atomic_path(path) as temporary:
        with open(temporary, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())


def write_text(path, text):
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))
