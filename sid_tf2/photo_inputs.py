"""Which raw files a list of paths names, and how much a dark one is amplified.

Shared by `sid-enhance` (`sid_tf2.enhance`) and the int8 calibration on a folder of the user's
raw files (`sid_tf2.backends.calibration`), so that both see the same files with the same
brightness. NumPy only: no TensorFlow.

The automatic ratio (docs/enhancing.md explains the choice of statistic and target)::

    level = mean(min(packed, p99))        # all packed values; p99 = their 99th percentile
    ratio = clip(target / level, 1, 300)  # target 0.1 by default; 300 if level = 0
"""

import os

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


def collect_inputs(paths):
    """``(files, problems)``: the files to process, in order, and ``(path, reason)`` for
    arguments that name nothing.

    Folders contribute their raw files (by extension, hidden files excluded), sorted by name;
    files are kept as given.  A file reached twice is processed once.
    """
    files, problems, seen = [], [], set()

    def add(path):
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        if os.path.isdir(path):
            try:
                names = sorted(os.listdir(path))
            except OSError as error:
                problems.append((path, f"cannot list the folder ({error.strerror or error})"))
                continue
            for name in names:
                full = os.path.join(path, name)
                if not name.startswith(".") and _is_raw_name(name) and os.path.isfile(full):
                    add(full)
        elif os.path.exists(path):
            add(path)
        else:
            problems.append((path, "no such file or folder"))
    return files, problems
