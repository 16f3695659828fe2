"""Reading raw files (rawpy / LibRaw), SID's packing, exposure ratios and ground-truth rendering.

Why one module: everything here turns a camera file into the numbers the network sees, and each
function must match the original code (ORIGINAL.md, "Packing raw data") exactly, because the
published weights were trained on exactly those numbers.  Where the original was fragile (odd
image sizes, file names, any camera other than the two in the paper) the behaviour is made
explicit and documented, and bad input raises :class:`RawFileError` naming the file and reason.

Summary:

* :func:`read_raw` opens and fully decodes a file, refusing anything that is not a colour mosaic.
* :func:`pack_sony` / :func:`pack_xtrans`: the original's packings, bit for bit (float32).
* :func:`pack_bayer`: the Sony packing generalised to any Bayer phase and per-channel levels.
* :func:`exposure_from_name`, :func:`amplification_ratio`: the original's exposure ratio.
* :func:`render_ground_truth`: the original's ground truth (``postprocess`` / 65535).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
import warnings
from typing import NamedTuple

import numpy as np
import rawpy

from sid_tf2.dng import read_tiff_exposure_time

__all__ = [
    "FUJI_BLACK",
    "FUJI_WHITE",
    "MAX_RATIO",
    "SID_XTRANS_PATTERN",
    "SONY_BLACK",
    "SONY_WHITE",
    "RawFileError",
    "SidName",
    "amplification_ratio",
    "bayer_phase",
    "exposure_from_name",
    "pack_bayer",
    "pack_sony",
    "pack_xtrans",
    "parse_sid_name",
    "read_exposure_time",
    "read_raw",
    "render_ground_truth",
    "render_ground_truth_uint16",
]

SONY_BLACK = 512
"""Black level the original subtracts from Sony A7S II raw data (14-bit)."""
SONY_WHITE = 16383
"""White level the original divides by for Sony (2**14 - 1)."""
FUJI_BLACK = 1024
"""Black level the original subtracts from Fuji X-T2 raw data."""
FUJI_WHITE = 16383
"""White level the original divides by for Fuji."""
MAX_RATIO = 300
"""The original caps the amplification ratio gt_exposure / input_exposure at 300."""

SID_XTRANS_PATTERN = np.array(
    [[0, 2, 1, 2, 0, 1],
     [1, 1, 0, 1, 1, 2],
     [1, 1, 2, 1, 1, 0],
     [2, 0, 1, 0, 2, 1],
     [1, 1, 2, 1, 1, 0],
     [1, 1, 0, 1, 1, 2]],
    dtype=np.uint8,
)
"""The X-Trans phase (0 = R, 1 = G, 2 = B) that the original's 9-channel table assumes.

Derived from the table itself: channels 0 and 3 are red, 2 and 4 blue, 1 and 5..8 green, and
every row and column of an X-Trans 6x6 holds both red and blue.  :func:`pack_xtrans` warns when a
file's ``raw_pattern`` differs from it, because the table would then mix colours.
"""

_NEED_MOSAIC = "SID needs the sensor's colour mosaic (a Bayer or X-Trans CFA image)"


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


# --------------------------------------------------------------------------------------------
# Reading.


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


def _decode_error(name, error, stage, libraw_said):
    """The RawFileError for an exception LibRaw raised while opening or unpacking `name`."""
    said = libraw_said[0].split(": ", 1)[-1] if libraw_said else None  # "<file>: what"
    if isinstance(error, rawpy.LibRawFileUnsupportedError):
        return RawFileError(name, _NOT_RAW)
    if isinstance(error, rawpy.LibRawIOError):
        if stage == "open" and not _looks_like_raw(name):
            return RawFileError(name, _NOT_RAW)
        where = "its header" if stage == "open" else "its raw image data"
        return RawFileError(name, f"could not read {where}: the file is truncated or unreadable "
                            f"(LibRaw: {said or 'input/output error'})")
    if isinstance(error, rawpy.LibRawDataError):
        return RawFileError(name, f"corrupt raw data (LibRaw: {said or 'data errors while decoding'})")
    if isinstance(error, (rawpy.LibRawError, OSError, RuntimeError, NotImplementedError)):
        return RawFileError(name, f"LibRaw cannot {stage} it ({type(error).__name__}: {_message(error)})")
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


def _message(error: BaseException) -> str:
    parts = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in error.args]
    return ", ".join(parts) or type(error).__name__


def _check_mosaic(raw, mosaic, name) -> None:
    """Refuse raw files that hold no single-plane colour mosaic."""
    if mosaic.ndim != 2 or raw.raw_type != rawpy.RawType.Flat:
        raise RawFileError(
            name, "holds no colour mosaic (no CFA): it is a linear / demosaiced raw image "
            "(e.g. a LinearRaw DNG, Foveon or sRAW); " + _NEED_MOSAIC)
    pattern = raw_pattern(raw, name)
    if pattern.shape == (1, 1) or raw.num_colors < 3:
        raise RawFileError(
            name, "is a monochrome image (no colour filter array); " + _NEED_MOSAIC)


def raw_pattern(raw, name):
    """The file's CFA index pattern; a RawFileError when it has none or LibRaw cannot say."""
    try:
        pattern = raw.raw_pattern
    except NotImplementedError as e:
        raise RawFileError(name, f"unsupported colour filter layout ({_message(e)})") from None
    if pattern is None:
        raise RawFileError(name, "holds no colour mosaic (no CFA); " + _NEED_MOSAIC)
    return pattern


def _source(raw):
    """Return (2-D mosaic, name or None, raw-object-or-None) for a rawpy object or an array."""
    if hasattr(raw, "raw_image_visible"):
        name = getattr(raw, "path", None) or "<rawpy object>"
        mosaic = raw.raw_image_visible
        if mosaic.ndim != 2:
            raise RawFileError(name, "holds no colour mosaic (no CFA); " + _NEED_MOSAIC)
        return mosaic, name, raw
    mosaic = np.asarray(raw)
    if mosaic.ndim != 2:
        raise ValueError(f"expected a rawpy object or a 2-D mosaic array, got an array of shape "
                         f"{mosaic.shape}")
    if not (np.issubdtype(mosaic.dtype, np.integer) or np.issubdtype(mosaic.dtype, np.floating)):
        raise TypeError(f"expected a numeric mosaic array, got dtype {mosaic.dtype}")
    return mosaic, None, None


def _fail(name, reason):
    """RawFileError for a file, plain ValueError for an array (no file to name)."""
    if name is None:
        return ValueError(reason)
    return RawFileError(name, reason)


# --------------------------------------------------------------------------------------------
# CFA layouts.


def _pattern_letters(raw, name) -> np.ndarray:
    """The file's CFA as an array of colour letters ('R', 'G', 'B', or others such as 'C')."""
    pattern = raw_pattern(raw, name)
    desc = raw.color_desc
    desc = desc.decode("ascii", "replace") if isinstance(desc, bytes) else str(desc)
    if int(pattern.max()) >= len(desc):
        raise RawFileError(name, f"CFA colour index {int(pattern.max())} has no name in "
                           f"color_desc {desc!r}")
    return np.array([[desc[i] for i in row] for row in pattern])


def _layout_from_letters(letters: np.ndarray, name):
    """Map R, G (red rows), B, G2 (blue rows) to their (row, col) in a 2x2 Bayer tile.

    Why by position: the packing must not depend on LibRaw's colour numbering (it calls the
    second green 3 for some files and 1 for others); the geometry of a Bayer tile decides.
    """
    shape = letters.shape
    if shape == (6, 6):
        raise _fail(name, "is an X-Trans (6x6) mosaic, not Bayer: use pack_xtrans")
    flat = "".join(letters.ravel())
    if shape != (2, 2) or sorted(flat) != ["B", "G", "G", "R"]:
        kind = f"{shape[0]}x{shape[1]} pattern {flat!r}"
        if set(flat) - {"R", "G", "B"}:
            kind = f"{len(set(flat))}-colour {kind} (e.g. CMYG)"
        raise _fail(name, f"unsupported colour filter layout: {kind}; pack_bayer handles 2x2 "
                    "RGGB/BGGR/GRBG/GBRG Bayer mosaics, pack_xtrans the 6x6 X-Trans")
    (r_row, r_col), = np.argwhere(letters == "R")
    (b_row, b_col), = np.argwhere(letters == "B")
    if (b_row, b_col) != (1 - r_row, 1 - r_col):
        raise _fail(name, f"unsupported colour filter layout {flat!r}: red and blue are not "
                    "diagonal neighbours as in a Bayer mosaic")
    return {
        "R": (int(r_row), int(r_col)),
        "G": (int(r_row), int(1 - r_col)),  # the green on the red rows
        "B": (int(b_row), int(b_col)),
        "G2": (int(b_row), int(1 - b_col)),  # the green on the blue rows
    }, flat


def bayer_phase(raw) -> str:
    """Return a Bayer file's phase as four letters in raster order, e.g. ``"RGGB"``.

    Why: SID's Sony packing hard-codes RGGB; callers can check a camera before trusting it.
    Raises RawFileError (pointing to pack_xtrans or naming the layout) for non-Bayer files.
    """
    name = getattr(raw, "path", None) or "<rawpy object>"
    _, phase = _layout_from_letters(_pattern_letters(raw, name), name)
    return phase


def _letters_from_argument(pattern) -> np.ndarray:
    """A user-given pattern: a string like 'RGGB' or a 2-D array of indices 0=R 1=G 2=B.

    LibRaw-style arrays with 3 for the second green are accepted too.  The shape is checked
    later, so that a 6x6 X-Trans pattern gets pointed to pack_xtrans.
    """
    if isinstance(pattern, str):
        letters = pattern.strip().upper()
        if len(letters) != 4:
            raise ValueError(f"pattern {pattern!r}: expected four letters such as 'RGGB'")
        return np.array(list(letters)).reshape(2, 2)
    indices = np.asarray(pattern)
    if indices.ndim != 2 or not np.issubdtype(indices.dtype, np.integer) or \
            indices.min() < 0 or indices.max() > 3:
        raise ValueError(f"pattern must be a string like 'RGGB' or a 2x2 array of colour indices "
                         f"0 (R), 1 (G), 2 (B), 3 (G), got {pattern!r}")
    return np.array(["RGBG"[i] for i in indices.ravel()]).reshape(indices.shape)


# --------------------------------------------------------------------------------------------
# Packing.


def _normalise(plane: np.ndarray, black, white) -> np.ndarray:
    """``max(x - black, 0) / (white - black)`` in float32, as the original computes it."""
    plane = plane.astype(np.float32)
    return np.maximum(plane - np.float32(black), np.float32(0)) / np.float32(white - black)


def _even(mosaic: np.ndarray) -> np.ndarray:
    height, width = mosaic.shape
    if height < 2 or width < 2:
        raise ValueError(f"a Bayer mosaic needs at least 2x2 pixels, got {mosaic.shape}")
    return mosaic[: height - height % 2, : width - width % 2]


def pack_sony(raw) -> np.ndarray:
    """The original Sony packing: (H/2, W/2, 4) float32 planes R, G, B, G2.

    ``im = max(raw_image_visible - 512, 0) / (16383 - 512)`` in float32, then the planes
    rows 0::2 cols 0::2 (R), 0::2 1::2 (G), 1::2 1::2 (B), 1::2 0::2 (G2), in that order,
    bit for bit as the original (the published Sony weights expect exactly this).

    Accepts a rawpy object (which must be an RGGB Bayer file, the Sony A7S II's phase: any other
    phase would swap colours, so it raises RawFileError pointing to :func:`pack_bayer`) or a 2-D
    mosaic array of any integer or float dtype (assumed RGGB, not checked).  An odd height or
    width, on which the original would fail, is cropped by its last row / column.
    """
    mosaic, name, source = _source(raw)
    if source is not None:
        _, phase = _layout_from_letters(_pattern_letters(source, name), name)
        if phase != "RGGB":
            raise RawFileError(name, f"pack_sony assumes the Sony RGGB Bayer phase, but this file "
                               f"is {phase}: use pack_bayer")
    mosaic = _even(mosaic)
    planes = [mosaic[0::2, 0::2], mosaic[0::2, 1::2], mosaic[1::2, 1::2], mosaic[1::2, 0::2]]
    return np.stack([_normalise(p, SONY_BLACK, SONY_WHITE) for p in planes], axis=-1)


def pack_bayer(raw, black_level=None, white_level=None, *, pattern=None) -> np.ndarray:
    """Pack any Bayer mosaic as (H/2, W/2, 4) float32 planes R, G, B, G2, normalised to [0, 1].

    Why: SID's Sony packing only suits RGGB sensors with black 512 / white 16383.  This reads the
    phase and levels from the file, so any Bayer camera yields the same channel order the Sony
    network was trained on: R, G (the green on the red rows), B, G2 (the green on the blue rows),
    whatever the phase (RGGB, BGGR, GRBG, GBRG).  Each plane is ``max(x - black, 0) /
    (white - black)`` with its own black level, in float32; on an RGGB file with black 512 and
    white 16383 the result equals :func:`pack_sony` exactly.

    Args:
      raw: a rawpy object (the phase comes from ``raw_pattern`` + ``color_desc``, the levels
        from ``black_level_per_channel`` and ``white_level``) or a 2-D mosaic array (then
        ``pattern``, ``black_level`` and ``white_level`` are required).
      black_level: overrides the file's; one number, or four numbers for the 2x2 positions in
        raster order (row 0 col 0, row 0 col 1, row 1 col 0, row 1 col 1), like ``pattern``.
      white_level: overrides the file's; one number.
      pattern: for arrays only: ``"RGGB"``, ``"BGGR"``, ``"GRBG"``, ``"GBRG"``, or a 2x2 array
        of colour indices (0 = R, 1 = G, 2 = B; 3 = G also accepted, as LibRaw numbers it).

    Raises RawFileError (ValueError for arrays) for an X-Trans mosaic (use :func:`pack_xtrans`)
    and for other layouts (4-colour CMYG, 16x16 Leaf...), naming the file.  An odd height or
    width is cropped by its last row / column.
    """
    mosaic, name, source = _source(raw)
    if source is not None:
        if pattern is not None:
            raise ValueError("pattern is read from the raw file; give it only for arrays")
        letters = _pattern_letters(source, name)
        layout, _ = _layout_from_letters(letters, name)
        if black_level is None:
            per_colour = source.black_level_per_channel
            indices = source.raw_pattern
            black_level = [[per_colour[int(indices[r, c])] for c in range(2)] for r in range(2)]
        if white_level is None:
            white_level = source.white_level
    else:
        if pattern is None or black_level is None or white_level is None:
            raise ValueError("pack_bayer on an array needs pattern=, black_level= and "
                             "white_level= (a bare array carries no metadata)")
        layout, _ = _layout_from_letters(_letters_from_argument(pattern), None)
    blacks = np.asarray(black_level, dtype=np.float64)
    if blacks.ndim == 0:
        blacks = np.full((2, 2), float(blacks))
    elif blacks.size == 4:
        blacks = blacks.reshape(2, 2)
    else:
        raise ValueError(f"black_level must be one number or four (2x2 positions), "
                         f"got {black_level!r}")
    if np.ndim(white_level) != 0:
        raise ValueError(f"white_level must be one number, got {white_level!r}")
    white = float(white_level)
    if not np.all(blacks < white):
        raise _fail(name, f"white level {white:g} is not above the black levels "
                    f"{blacks.ravel().tolist()}")
    mosaic = _even(mosaic)
    planes = []
    for channel in ("R", "G", "B", "G2"):
        row, col = layout[channel]
        black = blacks[row, col]
        planes.append(_normalise(mosaic[row::2, col::2], black, white))
    return np.stack(planes, axis=-1)


# Each entry: output channel, output phase (a, b) and the 6x6 source phase (r, s):
# out[a::2, b::2, c] = im[r::6, s::6]; ORIGINAL.md, "Packing raw data", Fuji.
_XTRANS_TABLE = (
    (0, (0, 0), (0, 0)), (0, (0, 1), (0, 4)), (0, (1, 0), (3, 1)), (0, (1, 1), (3, 3)),
    (1, (0, 0), (0, 2)), (1, (0, 1), (0, 5)), (1, (1, 0), (3, 2)), (1, (1, 1), (3, 5)),
    (2, (0, 0), (0, 1)), (2, (0, 1), (0, 3)), (2, (1, 0), (3, 0)), (2, (1, 1), (3, 4)),
    (3, (0, 0), (1, 2)), (3, (0, 1), (2, 5)), (3, (1, 0), (5, 2)), (3, (1, 1), (4, 5)),
    (4, (0, 0), (2, 2)), (4, (0, 1), (1, 5)), (4, (1, 0), (4, 2)), (4, (1, 1), (5, 5)),
)
# Channels 5..8 take every third pixel: out[..., c] = im[r::3, s::3].
_XTRANS_THIRDS = ((5, (1, 0)), (6, (1, 1)), (7, (2, 0)), (8, (2, 1)))


def pack_xtrans(raw, *, notes=None) -> np.ndarray:
    """The original Fuji X-Trans packing: (H/3, W/3, 9) float32.

    ``im = max(raw_image_visible - 1024, 0) / (16383 - 1024)`` in float32; H and W are cropped
    down to multiples of 6; then the original's 9-channel table (see ``_XTRANS_TABLE``).  The
    values are bit for bit the original's; the original's array was float64 holding these same
    float32 values, this one is float32.

    Accepts a rawpy object (which must have a 6x6 X-Trans pattern; a Bayer file raises
    RawFileError pointing to :func:`pack_bayer` / :func:`pack_sony`) or a 2-D array.  If a
    file's pattern differs from :data:`SID_XTRANS_PATTERN` (the phase the table was written
    for), a RuntimeWarning says so: the table would then put other colours in each channel.
    Given a list as `notes`, the note (without the file's name) is appended to it instead.
    Why: a caller on a worker thread cannot catch the warning for itself, as
    ``warnings.catch_warnings`` changes the whole process's state and would take other
    threads' warnings too.
    """
    mosaic, name, source = _source(raw)
    if source is not None:
        try:
            pattern = source.raw_pattern
        except NotImplementedError as e:
            raise RawFileError(name, f"unsupported colour filter layout ({_message(e)})") from None
        if pattern is None or pattern.shape != (6, 6):
            shape = "no" if pattern is None else f"a {pattern.shape[0]}x{pattern.shape[1]}"
            raise RawFileError(name, f"pack_xtrans needs a 6x6 X-Trans mosaic, this file has "
                               f"{shape} CFA pattern: use pack_bayer (or pack_sony) for Bayer")
        if not np.array_equal(pattern, SID_XTRANS_PATTERN):
            note = (f"X-Trans phase {pattern.tolist()} differs from the one SID's packing table "
                    f"assumes ({SID_XTRANS_PATTERN.tolist()}); channels will hold other colours "
                    "than in the original")
            if notes is None:
                warnings.warn(f"{name}: {note}", RuntimeWarning, stacklevel=2)
            else:
                notes.append(note)
    height, width = (mosaic.shape[0] // 6) * 6, (mosaic.shape[1] // 6) * 6
    if height == 0 or width == 0:
        raise _fail(name, f"an X-Trans mosaic needs at least 6x6 pixels, got {mosaic.shape}")
    im = _normalise(mosaic[:height, :width], FUJI_BLACK, FUJI_WHITE)
    out = np.zeros((height // 3, width // 3, 9), dtype=np.float32)
    for channel, (a, b), (r, s) in _XTRANS_TABLE:
        out[a::2, b::2, channel] = im[r::6, s::6]
    for channel, (r, s) in _XTRANS_THIRDS:
        out[:, :, channel] = im[r::3, s::3]
    return out


# --------------------------------------------------------------------------------------------
# Exposure.


class SidName(NamedTuple):
    """The parts of a SID file name ``<scene:5 digits>_<burst:2 digits>_<exposure>s.<ext>``."""

    scene: int
    burst: int
    exposure: float


_SID_NAME = re.compile(r"(\d{5})_(\d{2})_(\d+(?:\.\d*)?|\.\d+)s\.([A-Za-z0-9]+)")


def parse_sid_name(path) -> SidName:
    """Parse a SID file name such as ``10003_00_0.04s.ARW`` (any directory, any extension).

    Raises ValueError naming the file when the name does not follow the pattern.
    """
    name = os.path.basename(os.fspath(path))
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    match = _SID_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"{path}: file name {name!r} does not follow the SID pattern "
                         "<scene:5 digits>_<burst:2 digits>_<exposure>s.<ext>, "
                         "e.g. 00001_00_0.1s.ARW")
    exposure = float(match.group(3))
    if not exposure > 0:
        raise ValueError(f"{path}: exposure {match.group(3)}s in the file name is not positive")
    return SidName(int(match.group(1)), int(match.group(2)), exposure)


def exposure_from_name(path) -> float:
    """The exposure time in seconds encoded in a SID file name: ``00001_00_0.1s.ARW`` -> 0.1.

    The original took characters 9 to -5 of the base name, which only works for 3-letter
    extensions; this parses the whole ``<id5>_<burst2>_<exposure>s.<ext>`` pattern instead, so
    ``.dng``, ``.ARW``, ``.RAF`` (or any other extension) and any directory give the same number.
    An unparseable name raises ValueError naming the file.
    """
    return parse_sid_name(path).exposure


def amplification_ratio(input_exposure: float, gt_exposure: float) -> float:
    """``min(gt_exposure / input_exposure, 300)`` as float, exactly as the original.

    Why capped: the original never amplified by more than 300 (10 s / 0.033 s would be 303).
    In practice: 100 (0.1 s), 250 (0.04 s), 300 (0.033 s) for a 10 s ground truth.
    """
    if not (np.isfinite(input_exposure) and input_exposure > 0):
        raise ValueError(f"input exposure must be a positive number of seconds, "
                         f"got {input_exposure!r}")
    if not (np.isfinite(gt_exposure) and gt_exposure > 0):
        raise ValueError(f"ground-truth exposure must be a positive number of seconds, "
                         f"got {gt_exposure!r}")
    return float(min(gt_exposure / input_exposure, MAX_RATIO))


def read_exposure_time(path) -> float | None:
    """The exposure time stored in a raw file's metadata (seconds), or None if it has none.

    Why not only rawpy: LibRaw reports ``raw.other.shutter_speed`` as a float32 (0.1 s becomes
    0.10000000149), which would perturb exposure ratios.  For TIFF-based files (DNG, ARW, NEF...)
    the exact Exif RATIONAL is read; for others (e.g. RAF) LibRaw's value is used, rounded to the
    shortest decimal that identifies the float32 (0.1 stays 0.1).  Unreadable files raise
    RawFileError naming the file.
    """
    try:
        exact = read_tiff_exposure_time(path)
    except OSError as e:
        raise RawFileError(path, f"cannot open the file ({e.strerror or e})") from None
    if exact is not None:
        return exact
    with read_raw(path) as raw:
        shutter = float(raw.other.shutter_speed)
    if not shutter > 0:
        return None
    return float(str(np.float32(shutter)))


# --------------------------------------------------------------------------------------------
# Ground truth.


def render_ground_truth_uint16(raw) -> np.ndarray:
    """The original's ground truth as (H, W, 3) uint16, before the division by 65535.

    ``raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16)``:
    LibRaw's demosaic, camera white balance, camera -> sRGB matrix and sRGB gamma, no automatic
    brightening.  Why a uint16 variant: it is half the size of float32 in disk caches and
    converts to :func:`render_ground_truth` exactly.  Accepts a rawpy object or a path.
    """
    if not hasattr(raw, "postprocess"):
        with read_raw(raw) as opened:
            return render_ground_truth_uint16(opened)
    name = getattr(raw, "path", None) or "<rawpy object>"
    pattern = raw.raw_pattern  # before postprocess, which rewrites LibRaw's filter state
    try:
        return raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
                               output_bps=16)
    except (rawpy.LibRawError, RuntimeError) as e:
        hint = ""
        if pattern is not None and pattern.shape == (6, 6):
            hint = " (LibRaw's X-Trans demosaic needs at least 512x512 pixels)"
        raise RawFileError(name, f"LibRaw could not render it ({type(e).__name__}: "
                           f"{_message(e)}){hint}") from None


def render_ground_truth(raw) -> np.ndarray:
    """The original's ground truth: ``postprocess(...) / 65535.0`` as float32 in [0, 1].

    rawpy's output is already gamma-encoded sRGB: do not apply a gamma again (applying it twice
    was a known mistake of users of the original code).  The division is done in float64 and
    then cast, as the original did.  Accepts a rawpy object or a path.
    """
    return (render_ground_truth_uint16(raw) / 65535.0).astype(np.float32)
