"""The tuning cache: one table per machine and purpose, in a JSON file that cannot break a run.

An entry is keyed by the machine's fingerprint (CPU, its flags, usable cores, oneDNN, GPUs, the
versions of TensorFlow, Keras, NumPy and the runtimes, this tuner's revision). A damaged,
partial or foreign entry is refused (`CacheEntryError`) and measured again; writes merge under
a file lock, so processes tuning at once keep each other's purposes; a cache that cannot be
written keeps its table for the process (`_PROCESS_CACHE`).
"""

import hashlib
import json
import math
import os
from importlib import metadata

import filelock
import keras
import numpy as np
import platformdirs
import tensorflow as tf

from sid_tf2 import __version__, hardware
from sid_tf2.atomic import write_text
from sid_tf2.backends.common import thread_count
from sid_tf2.speed_settings import SpeedSettings
from sid_tf2.tuning.measuring import MIN_ROUNDS
from sid_tf2.tuning.ranking import CANDIDATES, Measurement, machine_kind

CACHE_ENV = "SID_TF2_CACHE_DIR"
CACHE_FILE = "tuning.json"
# Raised whenever the candidates or their measurement change, so older tables are measured again
# (3: few candidates per kind, tiles for enhance, the margin, no oneDNN switching).
TUNER_REVISION = 3
RUNTIME_DISTRIBUTIONS = {"openvino": "openvino", "onnxruntime": "onnxruntime", "litert": "ai-edge-litert"}
_PROCESS_CACHE = {}  # (cache path, machine key, purpose) -> entry, for caches that can't be written


class CacheEntryError(ValueError):
    """A cache entry that is not a table this tuner wrote for this machine."""


def installed_runtimes():
    """{distribution: version} of the deployment runtimes installed (sid_tf2.backends)."""
    versions = {}
    for distribution in RUNTIME_DISTRIBUTIONS.values():
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            pass
    return versions


def machine_fingerprint(machine=None):
    """What decides the fastest settings, and so identifies a cache entry."""
    machine = machine or hardware.detect_hardware()
    flags = " ".join(sorted(machine.cpu_flags))
    return {
        "cpu": hardware.read_cpu_model() or "unknown",
        "cpu_flags_sha1": hashlib.sha1(flags.encode()).hexdigest()[:12],
        "usable_cores": thread_count(),  # the affinity decides speed more than the CPU model
        "onednn": machine.onednn,
        "onednn_bfloat16": machine.onednn_bfloat16,
        "gpus": [f"{name} ({a}.{b})" for name, (a, b) in zip(hardware.gpu_names(), machine.gpu_capabilities)],
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                     **installed_runtimes()},
        "sid_tf2": __version__,
        "tuner": TUNER_REVISION,
    }


def fingerprint_key(fingerprint):
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


def cache_path():
    """$SID_TF2_CACHE_DIR/tuning.json, else tuning.json in the platform's user cache directory
    for sid-tf2 (~/.cache/sid-tf2 on Linux)."""
    directory = os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("sid-tf2", appauthor=False)
    return os.path.join(directory, CACHE_FILE)


def load_cache(path):
    """{machine key: {"fingerprint": ..., "purposes": {purpose: entry}}}; empty when the file
    is absent, unreadable or not such a mapping (a damaged cache is measured again)."""
    try:
        with open(path, encoding="utf-8") as stream:
            cache = json.load(stream)
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return {key: value for key, value in cache.items() if isinstance(value, dict)} if isinstance(cache, dict) else {}


def _write(path, cache):
    write_text(path, json.dumps(cache, indent=1, sort_keys=True, allow_nan=False) + "\n")


def _lock(path):
    return filelock.FileLock(path + ".lock", timeout=60)


def store_entry(path, fingerprint, purpose, entry):
    """Merge one purpose's entry into the cache file under a lock (other purposes and machines,
    written meanwhile by other processes, are kept). Returns "" or what went wrong."""
    key = fingerprint_key(fingerprint)
    _PROCESS_CACHE[(path, key, purpose)] = entry
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with _lock(path):
            cache = load_cache(path)
            machine = cache.get(key)  # load_cache keeps only mappings
            if not machine or not isinstance(machine.get("purposes"), dict):
                machine = cache[key] = {"fingerprint": fingerprint, "purposes": {}}
            machine["purposes"][purpose] = entry
            _write(path, cache)
    except Exception as error:  # pylint: disable=broad-except  (filelock's Timeout, OSError, WriteError)
        return f"{path}: {getattr(error, 'strerror', None) or error}"
    return ""


def cached_entry(path, key, purpose):
    """The entry stored for the machine `key` and `purpose` (this process's own first), or None."""
    entry = _PROCESS_CACHE.get((path, key, purpose))
    if entry is None:
        machine_entry = load_cache(path).get(key) or {}
        purposes = machine_entry.get("purposes") if isinstance(machine_entry, dict) else None
        entry = purposes.get(purpose) if isinstance(purposes, dict) else None
    return entry


def parse_entry(purpose, entry, machine, shape):
    """The measurements of a cache entry, checked: raises CacheEntryError for anything this
    tuner would not have written for this machine and input `shape` (wrong types, non-finite or
    non-positive times, other candidates, a runtime no longer installed)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("table"), list):
        raise CacheEntryError("not a table")
    if entry.get("input") != shape:
        raise CacheEntryError(f"measured on {entry.get('input')}, not {shape}")
    expected = list(CANDIDATES[purpose][machine_kind(machine)])
    rows = []
    for row in entry["table"]:
        try:
            rows.append(Measurement(**row))
        except TypeError as error:
            raise CacheEntryError(f"a malformed row ({error})") from None
    if [row.name for row in rows] != expected:
        raise CacheEntryError(f"candidates {[row.name for row in rows]} instead of {expected}")
    for row in rows:
        if not (isinstance(row.times, list) and all(isinstance(t, (int, float)) and math.isfinite(t) and t > 0
                                                    for t in row.times)):
            raise CacheEntryError(f"{row.name}: times must be positive numbers")
        if not isinstance(row.quality, (int, float)) or not math.isfinite(row.quality):
            raise CacheEntryError(f"{row.name}: quality must be a number")
        if not isinstance(row.meets_floor, bool) or not isinstance(row.error, str):
            raise CacheEntryError(f"{row.name}: meets_floor must be true or false, error a text")
        if not row.error and len(row.times) < MIN_ROUNDS:
            raise CacheEntryError(f"{row.name}: fewer than {MIN_ROUNDS} timed rounds")
    if rows[0].error or not rows[0].meets_floor:
        raise CacheEntryError("the reference was not measured")
    installed = installed_runtimes()
    missing = sorted({backend for backend in (SpeedSettings.from_name(row.name).backend for row in rows)
                      if backend != "tensorflow" and RUNTIME_DISTRIBUTIONS.get(backend) not in installed})
    if missing:
        raise CacheEntryError(f"measured with {', '.join(missing)}, no longer installed")
    return rows


def clear(all_machines=False, path=None):
    """Remove this machine's entries (or every machine's); returns how many were removed."""
    path = path or cache_path()
    key = fingerprint_key(machine_fingerprint())
    for cached in [k for k in _PROCESS_CACHE if k[0] == path and (all_machines or k[1] == key)]:
        del _PROCESS_CACHE[cached]
    if not os.path.exists(path):
        return 0
    with _lock(path):
        cache = load_cache(path)
        removed = len(cache) if all_machines else int(key in cache)
        cache = {} if all_machines else {k: v for k, v in cache.items() if k != key}
        if removed:
            _write(path, cache)
    return removed
