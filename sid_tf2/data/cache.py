"""A disk cache of decoded raw files, read back memory-mapped so RAM stays bounded.

Decoding a raw file (and rendering a ground truth with LibRaw) costs far more than a training
step, and the original kept every decoded image in RAM (more than 64 GB for Sony). Here each
file is decoded once into compact arrays on disk:

* an input (short exposure): its uint16 mosaic (`raw_image_visible`), with its CFA pattern and
  the black and white levels its packing uses, in `<name>.input.npy` + `<name>.input.json`;
* a ground truth (long exposure): its rendered uint16 H x W x 3 image (`postprocess` with the
  original's settings), in `<name>.gt.npy` + `<name>.gt.json`; or, with `gt_png_dir`, the
  authors' 16-bit PNG of the same rendering (their ground-truth release), decoded instead of
  demosaicing the raw file: rendering a full Sony frame is most of the cache's build time
  (benchmarks/RESULTS_gt_png.md).

Arrays are opened with `np.load(mmap_mode="r")`, so a crop reads only the rows it needs and
nothing stays resident once the crop is copied. `<name>` is the file's stem plus a hash of its
absolute path and a hash of (path, size, mtime): a modified file gets a new entry (and the stale
one is removed when the new one is written). Every file is written under a temporary name and
renamed into place, the JSON last, so an interrupted run never leaves a half-written entry.
"""

import dataclasses
import glob
import hashlib
import io
import json
import os
import sys
import time
import warnings

import numpy as np

from sid_tf2 import raw as rawlib
from sid_tf2.atomic import WriteError, make_directory, write_bytes, write_text
from sid_tf2.data.discovery import EXTENSION_CAMERAS, DatasetError, pairs_of
from sid_tf2.progress import Progress, format_duration

FORMAT_VERSION = 1
CACHE_DIR_NAME = ".cache"
XTRANS_BLOCK = 6


@dataclasses.dataclass(frozen=True)
class CachedInput:
    """A cached short exposure: the visible mosaic and how to pack it."""

    source: str
    array_path: str
    shape: tuple  # (H, W) of raw_image_visible
    cfa: str  # colours of the CFA's repeating block, row by row: "RGGB" (2x2) or 36 letters (6x6)
    camera: str  # "sony" (Bayer, 4 packed channels) or "fuji" (X-Trans, 9 channels)
    black_level: tuple  # Bayer: the 2x2 positions in raster order; X-Trans: one value
    white_level: float

    def load(self):
        """The uint16 mosaic, memory-mapped read-only."""
        return _load_array(self.array_path, self.shape, self.source)


@dataclasses.dataclass(frozen=True)
class CachedGroundTruth:
    """A cached long exposure: the rendered uint16 image."""

    source: str
    array_path: str
    shape: tuple  # (H, W, 3)

    def load(self):
        """The uint16 H x W x 3 rendering, memory-mapped read-only."""
        return _load_array(self.array_path, self.shape, self.source)


def _load_array(path, shape, source):
    array = np.load(path, mmap_mode="r")
    if array.shape != tuple(shape) or array.dtype != np.uint16:
        raise rawlib.RawFileError(
            source, f"its cache file {path} holds {array.dtype} {array.shape}, expected uint16 "
            f"{tuple(shape)}; delete it to decode the file again.")
    return array


def _hash(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def describe_cfa(raw):
    """(cfa, camera) of a rawpy object: the CFA block's colours row by row and the packing."""
    pattern = np.asarray(raw.raw_pattern)
    letters = raw.color_desc.decode("ascii") if isinstance(raw.color_desc, bytes) else str(raw.color_desc)
    cfa = "".join(letters[index] if index < len(letters) else "?" for index in pattern.ravel())
    if pattern.shape == (2, 2) and sorted(cfa) == ["B", "G", "G", "R"]:
        return cfa, "sony"
    if pattern.shape == (XTRANS_BLOCK, XTRANS_BLOCK) and set(cfa) == {"R", "G", "B"}:
        if not np.array_equal(pattern, rawlib.SID_XTRANS_PATTERN):
            warnings.warn(f"{getattr(raw, 'path', 'a raw file')}: X-Trans phase {cfa!r} differs from the one "
                          "the original's packing table assumes; its channels will hold other colours",
                          RuntimeWarning, stacklevel=2)
        return cfa, "fuji"
    raise ValueError(f"unsupported colour filter array {pattern.shape} {cfa!r} (expected a 2x2 Bayer or 6x6 X-Trans)")


def packing_levels(raw, path, camera):
    """The black levels and white level the original's packing uses for this file.

    Bayer: four black levels for the 2x2 positions in raster order (as `pack_bayer` takes them)
    and a white level: the original's fixed Sony levels (512, 16383) for .ARW files, so that the
    packing equals `pack_sony` bit for bit; a file's own levels otherwise (DNG). X-Trans:
    `pack_xtrans` always uses the original's Fuji levels (1024, 16383), recorded here as such.
    """
    if camera == "fuji":
        own = (float(np.mean(raw.black_level_per_channel)), float(raw.white_level))
        if not path.lower().endswith(".raf") and own != (rawlib.FUJI_BLACK, rawlib.FUJI_WHITE):
            warnings.warn(f"{path}: X-Trans levels {own} differ from the {rawlib.FUJI_BLACK} and "
                          f"{rawlib.FUJI_WHITE} that the original's Fuji packing uses", RuntimeWarning, stacklevel=2)
        return (float(rawlib.FUJI_BLACK),), float(rawlib.FUJI_WHITE)
    if EXTENSION_CAMERAS.get(os.path.splitext(path)[1].lower()) == "sony":
        return (float(rawlib.SONY_BLACK),) * 4, float(rawlib.SONY_WHITE)
    per_colour = [float(level) for level in raw.black_level_per_channel]
    pattern = np.asarray(raw.raw_pattern)
    return tuple(per_colour[int(pattern[r, c])] for r in range(2) for c in range(2)), float(raw.white_level)


class RawCache:
    """Decoded inputs and ground truths on disk, keyed by path, size and modification time.

    With `gt_png_dir`, the ground truth of a long exposure `long/<stem>.<ext>` is the 16-bit
    PNG `gt_png_dir/<stem>.png` (the authors' release, rendered by rawpy with the original's
    settings), cached under the PNG's own path and state.
    """

    def __init__(self, cache_dir, gt_png_dir=None):
        self.cache_dir = os.path.abspath(os.fspath(cache_dir))
        self.gt_png_dir = None if gt_png_dir is None else os.path.abspath(os.fspath(gt_png_dir))
        self.decoded = []  # paths this object decoded (the rest came from disk)
        self._memo = {}

    @classmethod
    def for_dataset(cls, data_dir, cache_dir=None, gt_png_dir=None):
        """The cache `cache_dir`, by default `data_dir/.cache/`."""
        return cls(cache_dir if cache_dir is not None else os.path.join(os.fspath(data_dir), CACHE_DIR_NAME),
                   gt_png_dir)

    def __repr__(self):
        return f"RawCache({self.cache_dir!r})"

    # -- lookup -------------------------------------------------------------------------------
    def _names(self, path, kind):
        path = os.path.abspath(os.fspath(path))
        try:
            stat = os.stat(path)
        except OSError as error:
            raise rawlib.RawFileError(path, f"cannot read the file ({error.strerror or error})") from None
        stem = os.path.splitext(os.path.basename(path))[0]
        path_hash = _hash(path)
        state_hash = _hash(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
        base = os.path.join(self.cache_dir, f"{stem}.{path_hash}.{state_hash}.{kind}")
        pattern = os.path.join(self.cache_dir, f"{glob.escape(stem)}.{path_hash}.*.{kind}.*")
        return path, (stat.st_size, stat.st_mtime_ns), base, pattern

    def lookup(self, path, kind):
        """The cached entry of `path` ("input" or "gt"), or None when it must be decoded.

        An entry that is cut short or unreadable (a disk that filled up, a copy interrupted), or
        one left from before the file changed (its size or modification time differ), is never
        used: a note on stderr names it, and the caller decodes the file again.
        """
        path, state, base, stale_pattern = self._names(path, kind)
        memo = self._memo.get((path, kind))
        if memo is not None and memo[0] == state:
            return memo[1]
        try:
            with open(base + ".json", encoding="utf-8") as stream:
                meta = json.load(stream)
        except FileNotFoundError:
            if any(not name.startswith(base + ".") for name in glob.glob(stale_pattern)):
                _note(f"{path} changed since it was cached (size or modification time differ); "
                      "decoding it again")
            return None
        except (OSError, ValueError) as error:
            _note(f"the cache entry {base}.json of {path} is unreadable ({error}); decoding it again")
            return None
        try:
            if meta.get("version") != FORMAT_VERSION or meta.get("source") != path:
                return None  # another format version, or a hash collision: decode afresh
            entry = self._entry(meta, base + ".npy")
            entry.load()  # the header must agree with the metadata
        except (OSError, ValueError, KeyError, TypeError) as error:
            _note(f"the cache entry {base}.npy of {path} is cut short or corrupt ({_describe_entry_error(error)}); "
                  "decoding it again")
            return None
        self._memo[(path, kind)] = (state, entry)
        return entry

    @staticmethod
    def _entry(meta, array_path):
        if meta["kind"] == "input":
            return CachedInput(meta["source"], array_path, tuple(meta["shape"]), meta["cfa"],
                               meta["camera"], tuple(meta["black_level"]), float(meta["white_level"]))
        return CachedGroundTruth(meta["source"], array_path, tuple(meta["shape"]))

    def input(self, path):
        """The cached input entry of `path`, decoding the file first when needed."""
        return self.lookup(path, "input") or self._decode(path, "input")

    def ground_truth(self, path):
        """The cached ground-truth entry of `path`, decoding (rendering) the file when needed."""
        source = self.ground_truth_source(path)
        return self.lookup(source, "gt") or self._decode(source, "gt")

    def ground_truth_source(self, path):
        """The file the ground truth of the long exposure `path` comes from: itself, or its PNG
        in `gt_png_dir` (RawFileError naming both when that PNG is missing)."""
        if self.gt_png_dir is None:
            return path
        stem = os.path.splitext(os.path.basename(os.fspath(path)))[0]
        png = os.path.join(self.gt_png_dir, stem + ".png")
        if not os.path.isfile(png):
            raise rawlib.RawFileError(path, f"its ground-truth PNG {png} is missing from the "
                                      "--gt_png_dir folder")
        return png

    # -- decoding -----------------------------------------------------------------------------
    def _decode(self, path, kind):
        names = self._names(path, kind)  # the file's state before reading it
        path = names[0]
        if path.lower().endswith(".png"):
            return self._decode_png(names)
        try:
            with rawlib.read_raw(path) as raw:
                if kind == "input":
                    cfa, camera = describe_cfa(raw)
                    # a copy: raw_image_visible is a view of LibRaw's buffer, freed on close
                    array = np.array(raw.raw_image_visible, dtype=np.uint16, copy=True, order="C")
                    black, white = packing_levels(raw, path, camera)
                    meta = {"cfa": cfa, "camera": camera, "black_level": list(black), "white_level": white}
                else:
                    array = np.ascontiguousarray(rawlib.render_ground_truth_uint16(raw), dtype=np.uint16)
                    meta = {}
        except rawlib.RawFileError:
            raise
        except Exception as error:  # anything else LibRaw or the CFA check reports
            raise rawlib.RawFileError(path, f"cannot decode it ({type(error).__name__}: {error})") from error
        if array.ndim != (2 if kind == "input" else 3) or min(array.shape[:2]) == 0:
            raise rawlib.RawFileError(path, f"decoded to an unusable array of shape {array.shape}")
        entry = self._store(names, kind, array, meta)
        self.decoded.append(path)
        return entry

    def _decode_png(self, names):
        """A ground truth from a 16-bit RGB PNG (TensorFlow decodes 16-bit PNGs; Pillow would
        reduce them to 8 bits)."""
        import tensorflow as tf  # pylint: disable=import-outside-toplevel  (TensorFlow: only for 16-bit PNGs)

        path = names[0]
        with open(path, "rb") as stream:
            header = stream.read(26)  # signature, IHDR's length and type, width, height, depth, colour
        if header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
            raise rawlib.RawFileError(path, "not a PNG file")
        if header[24] != 16 or header[25] != 2:
            raise rawlib.RawFileError(path, f"needs a 16-bit RGB PNG (as the authors' release), got "
                                      f"{header[24]}-bit PNG colour type {header[25]}")
        try:
            array = tf.io.decode_png(tf.io.read_file(path), dtype=tf.uint16).numpy()
        except tf.errors.OpError as error:
            raise rawlib.RawFileError(path, f"cannot decode the PNG ({error.message})") from None
        entry = self._store(names, "gt", np.ascontiguousarray(array), {})
        self.decoded.append(path)
        return entry

    def _store(self, names, kind, array, meta):
        path, state, base, stale_pattern = names
        meta = dict(meta, version=FORMAT_VERSION, kind=kind, source=path, size=state[0], mtime_ns=state[1],
                    shape=list(array.shape))
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        try:
            make_directory(self.cache_dir)
            write_bytes(base + ".npy", buffer.getbuffer())
            write_text(base + ".json", json.dumps(meta, indent=1))
        except WriteError as error:  # e.g. a read-only dataset: the flag that moves the cache
            raise error.with_hint("--cache_dir=DIR keeps the decoded frames elsewhere") from None
        for stale in glob.glob(stale_pattern):  # entries of an earlier version of the file
            if not stale.startswith(base + "."):
                try:
                    os.unlink(stale)
                except FileNotFoundError:
                    pass
        entry = self._entry(meta, base + ".npy")
        self._memo[(path, kind)] = (state, entry)
        return entry

    def store_input(self, path, mosaic, *, cfa="RGGB", black_level=None, white_level=None):
        """Cache `mosaic` (2-D uint16) as the decoded input of the existing file `path`.

        For synthetic data and benchmarks that skip the raw format: `cfa` is "RGGB"-like (Bayer,
        camera "sony") or 36 letters (X-Trans, camera "fuji"); Bayer levels (one black level or
        four in raster order, and white) default to the original's Sony levels 512 and 16383.
        """
        mosaic = np.ascontiguousarray(mosaic, dtype=np.uint16)
        camera = "sony" if len(cfa) == 4 else "fuji"
        if mosaic.ndim != 2 or len(cfa) not in (4, XTRANS_BLOCK**2):
            raise ValueError(f"need a 2-D mosaic and a 2x2 or 6x6 cfa, got {mosaic.shape} and {cfa!r}")
        if camera == "fuji":  # pack_xtrans has the original's levels built in
            if (black_level, white_level) not in ((None, None), (rawlib.FUJI_BLACK, rawlib.FUJI_WHITE)):
                raise ValueError("X-Trans packing uses the original's levels 1024 and 16383 only.")
            black, white = [float(rawlib.FUJI_BLACK)], float(rawlib.FUJI_WHITE)
        else:
            black_level = rawlib.SONY_BLACK if black_level is None else black_level
            black = [float(level) for level in np.broadcast_to(black_level, (4,))]
            white = float(rawlib.SONY_WHITE if white_level is None else white_level)
        meta = {"cfa": cfa, "camera": camera, "black_level": black, "white_level": white}
        return self._store(self._names(path, "input"), "input", mosaic, meta)

    def store_ground_truth(self, path, image):
        """Cache `image` (H x W x 3 uint16) as the rendered ground truth of the existing file `path`."""
        image = np.ascontiguousarray(image, dtype=np.uint16)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"need an H x W x 3 image, got {image.shape}")
        return self._store(self._names(path, "gt"), "gt", image, {})

    def prepare(self, items, progress=True, stream=None):
        """Decode every input and ground truth of `items` (Scenes and/or Pairs) not yet cached.

        Shows files i/N and an ETA on `stream` (stderr) when `progress`. Raises RawFileError
        naming the first file that cannot be decoded. Returns the number of files decoded.
        """
        jobs = []
        for pair in pairs_of(items):
            jobs.append((pair.input_path, "input"))
            jobs.append((self.ground_truth_source(pair.gt_path), "gt"))
        jobs = list(dict.fromkeys((os.path.abspath(path), kind) for path, kind in jobs))
        missing = [(path, kind) for path, kind in jobs if self.lookup(path, kind) is None]
        if not missing:
            return 0
        stream = stream or sys.stderr
        meter = Progress(f"decoding raw files into {self.cache_dir}:", len(missing), unit="file",
                         stream=stream, enabled=progress)
        meter.update(0, file=os.path.basename(missing[0][0]))  # at once: decoding takes a while
        for done, (path, kind) in enumerate(missing, 1):
            self._decode(path, kind)
            meter.update(done, file=os.path.basename(path))
        meter.close()
        if progress:
            stream.write(f"decoded {len(missing)} raw files ({len(jobs) - len(missing)} already "
                         f"cached) in {format_duration(time.monotonic() - meter.start)} into "
                         f"{self.cache_dir}\n")
            stream.flush()
        return len(missing)


def _note(message):
    print(f"note: {message}", file=sys.stderr, flush=True)


def _describe_entry_error(error):
    if isinstance(error, rawlib.RawFileError):
        return error.reason
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def as_cache(cache):
    """A RawCache from a RawCache or a directory path."""
    if isinstance(cache, RawCache):
        return cache
    if cache is None:
        raise ValueError("A cache is needed: a RawCache or a cache directory.")
    return RawCache(cache)


def infer_camera(items, cache=None):
    """The packing of the inputs of `items` (Scenes and/or Pairs): "sony" (Bayer, 4 channels) or
    "fuji" (X-Trans, 9 channels).

    .ARW means sony and .RAF fuji, from the name; other files (DNG) are decided by their CFA
    pattern, read from `cache` (a RawCache or directory; decoding the file when not cached).
    Raises DatasetError when the inputs mix both, or a DNG needs a cache that was not given.
    """
    cameras = {}
    for pair in pairs_of(items):
        camera = EXTENSION_CAMERAS.get(os.path.splitext(pair.input_path)[1].lower())
        if camera is None:
            if cache is None:
                raise DatasetError(f"{pair.input_path}: the camera of a DNG comes from its CFA pattern; "
                                   "give a cache to read it from.")
            cache = as_cache(cache)
            camera = cache.input(pair.input_path).camera
        cameras.setdefault(camera, pair.input_path)
    if len(cameras) > 1:
        raise DatasetError("The inputs mix cameras: " + ", ".join(
            f"{camera} (e.g. {path})" for camera, path in sorted(cameras.items())))
    if not cameras:
        raise DatasetError("No inputs to infer the camera from.")
    return next(iter(cameras))


def prepare_cache(pairs, cache_dir, progress=True):
    """Decode every file of `pairs` (Pairs or Scenes) into the cache up front; return the cache.

    Raises `sid_tf2.raw.RawFileError` (a ValueError) naming the first unreadable, truncated or
    non-raw file, before any training starts. `cache_dir` may also be a RawCache.
    """
    cache = as_cache(cache_dir)
    cache.prepare(pairs, progress=progress)
    return cache


__all__ = ["CachedGroundTruth", "CachedInput", "RawCache", "as_cache", "describe_cfa", "infer_camera", "prepare_cache"]
