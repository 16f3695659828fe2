"""Which raw files a list of paths names, and how much a dark one is amplified.

Shared by `sid-enhance` (`sid_tf2.enhance`) and the int8 calibration on a folder of the user's
raw files (`sid_tf2.backends.calibration`), so that both see the same files with the same
brightness. NumPy only: no TensorFlow.

The automatic ratio (docs/enhancing.md explains the choice of statistic and target)::

    level = mean(min(packed, p99))        # all packed values; p99 = their 99th percentile
    ratio = clip(target / level, 1, 300)  # target 0.1 by default; 300 if level = 0
"""

import os
import stat
import typing

import numpy as np

from sid_tf2.raw import MAX_RATIO, RAW_EXTENSIONS

AUTO_TARGET = 0.1
"""Default brightness that ``--ratio=auto`` gives the amplified input (see the docstring)."""
AUTO_PERCENTILE = 99.0
"""Values above this percentile are clipped to it before the mean, for ``--ratio=auto``."""


def auto_ratio(packed, target=AUTO_TARGET, percentile=AUTO_PERCENTILE):
    """``(ratio, level)`` for ``--ratio=auto``: ``clip(target / level, 1, 300)``.

    ``level`` is the mean of the packed values (all channels) after clipping those above the
    `percentile`-th percentile to it; an all-black input (level 0) gets the cap, 300.
    """
    if not target > 0:
        raise ValueError(f"the auto-ratio target must be positive, got {target!r}")
    values = np.asarray(packed, np.float32).ravel()
    if values.size == 0:
        raise ValueError("cannot choose a ratio for an empty image")
    ceiling = np.percentile(values, percentile)
    level = float(np.minimum(values, ceiling).mean(dtype=np.float64))
    if level <= 0:
        return float(MAX_RATIO), level
    return float(np.clip(target / level, 1.0, MAX_RATIO)), level


def _is_raw_name(name):
    return os.path.splitext(name)[1].lower() in RAW_EXTENSIONS


_SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"))


def _kind(mode):
    """What a non-regular, non-directory file is, in words."""
    return next((words for test, words in _SPECIAL_KINDS if test(mode)), "not a regular file")


def _stat_problem(error):
    """Why a path cannot be reached, from the OSError of its stat: the real cause, not always
    "missing" (a raw file in a folder this user cannot enter exists, but is out of reach)."""
    if isinstance(error, PermissionError):
        return "permission denied (a folder on its path cannot be entered)"
    if isinstance(error, NotADirectoryError):
        return "no such file or folder (a part of its path is a file)"
    if isinstance(error, FileNotFoundError):
        return "no such file or folder"
    return f"cannot reach it ({error.strerror or error})"


class Inputs(typing.NamedTuple):
    """What a list of paths names: `files` to process, in order; `problems`, (path, reason) of
    arguments that name nothing usable; `skipped`, (path, reason) of special files (FIFOs,
    sockets, devices) that folders hold under raw names, passed over without being opened."""

    files: list
    problems: list
    skipped: list


def collect_inputs(paths):
    """The `Inputs` that `paths` (files and folders) name.

    Folders contribute their raw files (by extension, hidden files excluded), sorted by name;
    files are kept as given.  A file reached twice is processed once.  Nothing is opened: a
    FIFO named like a raw file would block its reader forever, so special files are refused
    (given as arguments) or skipped (found in folders) by their type alone.
    """
    files, problems, skipped, seen = [], [], [], set()

    def add(path):
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except OSError as error:
            problems.append((path, _stat_problem(error)))
            continue
        if stat.S_ISDIR(mode):
            _add_folder(path, add, problems, skipped)
        elif stat.S_ISREG(mode):
            add(path)
        else:
            problems.append((path, f"{_kind(mode)}, not a regular file: refused without opening it"))
    return Inputs(files, problems, skipped)


def _add_folder(path, add, problems, skipped):
    try:
        names = sorted(os.listdir(path))
    except OSError as error:
        problems.append((path, f"cannot list the folder ({error.strerror or error})"))
        return
    for name in names:
        full = os.path.join(path, name)
        if name.startswith(".") or not _is_raw_name(name):
            continue
        try:
            mode = os.stat(full).st_mode
        except OSError as error:
            problems.append((full, _stat_problem(error)))
            continue
        if stat.S_ISREG(mode):
            add(full)
        elif not stat.S_ISDIR(mode):
            skipped.append((full, f"{_kind(mode)}, not a regular file: skipped"))
