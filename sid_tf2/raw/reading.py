"""Opening and decoding a raw file with rawpy / LibRaw, and refusing what SID cannot use.

Every failure, and what LibRaw prints about it, becomes one :class:`RawFileError` naming the
file and the reason; the rest of the package raises it too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading

import rawpy

NEED_MOSAIC = "SID needs the sensor's colour mosaic (a Bayer or X-Trans CFA image)"

class RawFileError(ValueError):
    """A raw file that cannot be used, with the file's name and the reason in the message.

    Why a ValueError: the file's content, not the program, is wrong; callers that already catch
    ValueError for bad input keep working.  ``path`` and ``reason`` are kept as attributes, and
    the exception pickles (it crosses process boundaries in data-loading workers).
    """

    def __init__(self, path, reason: str):
        self.path = None if path is None else os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


class _RawFile(rawpy.RawPy):
    """A ``rawpy.RawPy`` that remembers its path, so later errors can name the file."""

    path: str


def read_raw(path) -> rawpy.RawPy:
    """Open and fully decode a raw file; return the ``rawpy.RawPy`` (a context manager).

    Use as ``with read_raw(path) as raw: ...``.  The returned object is a ``rawpy.RawPy``
    subclass with a ``path`` attribute, so that the packing functions can name the file.

    Why decode now: LibRaw opens files lazily and would only notice a truncated or corrupt file
    later, deep inside packing or rendering.  Touching ``raw_image_visible`` forces the unpack,
    so every problem surfaces here as a :class:`RawFileError` naming the file and the reason:
    a missing or unreadable file, a truncated file, a file that is not a raw image at all (a
    JPEG or text file with a raw extension), or a raw file without a colour mosaic (a linear /
    demosaiced DNG, a Foveon or sRAW file, a monochrome sensor).
    """
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    try:
        with open(name, "rb") as f:  # precise reasons: missing, a directory, no permission...
            if not f.read(16):
                raise RawFileError(name, "the file is empty")
    except IsADirectoryError:
        raise RawFileError(name, "is a directory, not a raw file") from None
    except FileNotFoundError:
        raise RawFileError(name, "no such file") from None
    except OSError as e:
        raise RawFileError(name, f"cannot open the file ({e.strerror or e})") from None

    check_fork = getattr(rawpy, "_check_multiprocessing_fork", None)
    if check_fork is not None:  # rawpy.imread's warning about fork + OpenMP deadlocks
        check_fork()
    raw = _RawFile()
    raw.path = name
    with _libraw_stderr() as libraw_said:
        try:
            stage = "open"
            raw.open_file(name)
            stage = "decode"
            mosaic = raw.raw_image_visible  # forces LibRaw's unpack: truncation is detected here
        except Exception as e:  # pylint: disable=broad-except
            raw.close()
            failure = e
        else:
            failure = None
    if failure is not None:
        raise _decode_error(name, failure, stage, libraw_said) from None
    if libraw_said:  # warnings of a file that decoded, or another thread's output
        sys.stderr.write("".join(line + "\n" for line in libraw_said))
    try:
        _check_mosaic(raw, mosaic, name)
    except RawFileError:
        raw.close()
        raise
    return raw


_NOT_RAW = ("not a raw file that LibRaw can read (an unsupported format, or not a camera raw "
            "file at all, e.g. a JPEG or a text file with a raw extension)")


def _looks_like_raw(name):
    """Whether the file starts like a raw container (TIFF-based, Fuji RAF, CR3, Minolta MRW)."""
    with open(name, "rb") as f:
        head = f.read(16)
    return (head[:4] in (b"II*\0", b"MM\0*", b"IIRO", b"IIRS", b"IIU\0", b"\0MRM")
            or head.startswith(b"FUJIFILM") or head[4:8] == b"ftyp")


_FOVEON = ("a Foveon X3F file: this LibRaw does not read them, and they hold three full colour "
           "layers, not a colour mosaic; " + NEED_MOSAIC)


def _decode_error(name, error, stage, libraw_said):
    """The RawFileError for an exception LibRaw raised while opening or unpacking `name`."""
    said = libraw_said[0].split(": ", 1)[-1] if libraw_said else None  # "<file>: what"
    if isinstance(error, rawpy.LibRawFileUnsupportedError):
        with open(name, "rb") as f:
            foveon = f.read(4) == b"FOVb"  # the X3F signature
        return RawFileError(name, _FOVEON if foveon else _NOT_RAW)
    if isinstance(error, rawpy.LibRawIOError):
        if stage == "open" and not _looks_like_raw(name):
            return RawFileError(name, _NOT_RAW)
        where = "its header" if stage == "open" else "its raw image data"
        return RawFileError(name, f"could not read {where}: the file is truncated or unreadable "
                            f"(LibRaw: {said or 'input/output error'})")
    if isinstance(error, rawpy.LibRawDataError):
        return RawFileError(name, f"corrupt raw data (LibRaw: {said or 'data errors while decoding'})")
    if isinstance(error, (rawpy.LibRawError, OSError, RuntimeError, NotImplementedError)):
        return RawFileError(name, f"LibRaw cannot {stage} it "
                            f"({type(error).__name__}: {exception_text(error)})")
    return error


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _libraw_stderr():
    """Capture what LibRaw prints on the process's stderr while a file is opened and unpacked.

    LibRaw writes its own complaints ("<file>: Unexpected end of file") straight to file
    descriptor 2, ahead of the tool's one-line message. Yields a list that receives the captured
    lines when the block ends: the caller puts them in its error, or passes them on to stderr
    when the file decoded, so nothing another thread printed meanwhile is lost.
    """
    with _STDERR_LOCK:
        try:
            capture = tempfile.TemporaryFile()
        except OSError:  # no room even for that: let LibRaw print
            yield []
            return
        lines = []
        with capture:
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(capture.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                text = capture.read().decode("utf-8", "replace")
                lines.extend(line for line in text.splitlines() if line.strip())


def exception_text(error: BaseException) -> str:
    """An exception's arguments as text (LibRaw gives bytes), or its type's name."""
    parts = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in error.args]
    return ", ".join(parts) or type(error).__name__


def _check_mosaic(raw, mosaic, name) -> None:
    """Refuse raw files that hold no single-plane colour mosaic."""
    if mosaic.ndim != 2 or raw.raw_type != rawpy.RawType.Flat:
        raise RawFileError(
            name, "holds no colour mosaic (no CFA): it is a linear / demosaiced raw image "
            "(e.g. a LinearRaw DNG, Foveon or sRAW); " + NEED_MOSAIC)
    pattern = raw_pattern(raw, name)
    if pattern.shape == (1, 1) or raw.num_colors < 3:
        raise RawFileError(
            name, "is a monochrome image (no colour filter array); " + NEED_MOSAIC)


def raw_pattern(raw, name):
    """The file's CFA index pattern; a RawFileError when it has none or LibRaw cannot say."""
    try:
        pattern = raw.raw_pattern
    except NotImplementedError as e:
        raise RawFileError(name, f"unsupported colour filter layout "
                           f"({exception_text(e)})") from None
    if pattern is None:
        raise RawFileError(name, "holds no colour mosaic (no CFA); " + NEED_MOSAIC)
    return pattern
