"""SID's packings of a raw mosaic into the network's input planes, bit for bit the original's.

:func:`pack_sony` and :func:`pack_xtrans` are the original's packings (ORIGINAL.md, "Packing raw
data"); :func:`pack_bayer` generalises the Sony one to any Bayer phase and per-channel levels.
Each accepts a rawpy object (its colour filter layout is checked, so that colours are never
silently swapped) or a bare 2-D mosaic array.
"""

from __future__ import annotations

import warnings

import numpy as np

from sid_tf2.raw.reading import NEED_MOSAIC, RawFileError, exception_text, raw_pattern

SONY_BLACK = 512
"""Black level the original subtracts from Sony A7S II raw data (14-bit)."""
SONY_WHITE = 16383
"""White level the original divides by for Sony (2**14 - 1)."""
FUJI_BLACK = 1024
"""Black level the original subtracts from Fuji X-T2 raw data."""
FUJI_WHITE = 16383
"""White level the original divides by for Fuji."""

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


def _source(raw):
    """Return (2-D mosaic, name or None, raw-object-or-None) for a rawpy object or an array."""
    if hasattr(raw, "raw_image_visible"):
        name = getattr(raw, "path", None) or "<rawpy object>"
        mosaic = raw.raw_image_visible
        if mosaic.ndim != 2:
            raise RawFileError(name, "holds no colour mosaic (no CFA); " + NEED_MOSAIC)
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
            raise RawFileError(name, f"unsupported colour filter layout "
                               f"({exception_text(e)})") from None
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
