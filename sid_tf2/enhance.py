"""sid-enhance: brighten your own dark raw photos with a SID network.

    sid-enhance PHOTO.ARW [MORE.DNG FOLDER ...] --weights=PATH [--output_dir=enhanced] [--ratio=auto]
    python -m sid_tf2.enhance ...   (the same)

Inputs are raw files and folders; a folder contributes the raw files directly inside it (by
extension, case-insensitive: .arw .dng .nef .cr2 .cr3 .raf .orf .rw2 .pef .srw .raw), sorted by
name; its other files (and hidden ones such as macOS ``._IMG.ARW``) are skipped silently.  A
file named on the command line is always tried.

Each file goes through the network its sensor needs: a Bayer mosaic (any phase: RGGB, BGGR,
GRBG, GBRG; black and white levels from the file) through ``pack_bayer`` and the Sony network,
an X-Trans mosaic through ``pack_xtrans`` and the Fuji network.  The camera is read from
``--weights`` (a ``.weights.h5``, a ``.keras``, a TF1 checkpoint, or a training result_dir;
see :mod:`sid_tf2.weights`), and a file whose sensor needs the other network fails with a
message saying so.  The network's input is, as in the original, ``min(packed * ratio, 1)``.

Outputs, in ``--output_dir`` (default ``./enhanced/``, created when missing):

* ``<stem>_sid.png``: the network output, 8-bit PNG by default; ``--bit_depth=16`` for 16-bit;
  ``--format=jpeg`` writes ``<stem>_sid.jpg`` (8-bit, ``--quality``), ``--format=tiff``
  ``<stem>_sid.tif`` (8 or 16-bit).  Its size is the mosaic's, cropped to even sides for Bayer
  (the packed size times 2) and to multiples of 6 for X-Trans (times 3), and it is turned
  upright like the camera's orientation tag (as rawpy renders the file; ``--noorient`` keeps
  the sensor's orientation, as the original did, and records the camera's orientation in the
  file instead).
* with ``--compare``, ``<stem>_compare.<ext>`` in the same format and bit depth: left, the raw
  file rendered by rawpy (camera white balance, no auto-brightening), scaled so that its mean
  equals the network output's mean (the original test script's ``_scale`` image); right, the
  network output; both cropped to their common size, so the image is H x 2W.

Every output carries the raw file's metadata (:mod:`sid_tf2.exif`: Make, Model, DateTime,
exposure, aperture, ISO, focal length, lens and GPS as far as the file has them) in its Exif
block (PNG eXIf chunk, JPEG APP1, TIFF tags), with Orientation 1 and a Software tag that names
sid-enhance and the ratio used.

An output that already exists is never replaced unless ``--overwrite``: a file whose outputs
exist is skipped (and named, on its progress line and at the end) without running the network.
Every file is written under a temporary name and renamed, and a file's images are written only
after all of them were computed: an unreadable or failing input leaves no output behind.

The amplification ratio
-----------------------
``--ratio=N`` multiplies the packed, black-subtracted, white-normalised raw data by N (the
original's ``gt_exposure / input_exposure``: 100, 250 or 300 on SID's test set).

``--ratio=auto`` (the default) picks, per file, the ratio that gives the amplified input the
brightness of a normally exposed photograph.  Definition::

    level = mean(min(packed, p99))        # all packed values; p99 = their 99th percentile
    ratio = clip(target / level, 1, 300)  # target = --auto_target, default 0.1; 300 if level = 0

``level`` is the mean with the brightest 1 % of values clipped to the 99th percentile, so that
a few street lights or lamps in a dark frame do not hold the rest of the picture down.  The
default target, 0.1 of the raw range, is where a camera's meter puts an average scene: ISO 12232
places 18 % grey at 10/78 = 12.8 % of the saturation level in the green channels, and red and
blue sit lower before white balance, so the mean over the four packed channels is about 0.1.
Why image statistics and not only metadata: exposure time and ISO say how the photo was taken,
not how bright the scene was, and SID's ratio is exactly the brightening that a long exposure
of the same scene would have had; the long exposures of SID were well exposed, which is what
the target stands for.  The cap at 300 is the original's (the largest ratio it was trained on);
ratios below 1 would darken.  For each file the chosen ratio is printed with the file's exposure
time and ISO (when the file records them) and the equivalent exposure, ratio x exposure time:
the long exposure the network pretends was taken.  A darker file gets a larger ratio.

Progress: one line per file, ``i/N name: ratio ..., WxH, seconds, ETA``; a file that fails is
reported with its reason and the others are still processed.  TensorFlow's start-up lines are
hidden unless ``--verbose``.  A full disk or an unwritable ``--output_dir`` stops the run at once
with one line (``error: PATH: reason (about N MB needed, M MB free)``): the other files would
fail the same way.  An output folder that this run created and left empty is removed.  Exit
status: 0 when every file succeeded or was skipped, 1 when any failed (the count and the names
are repeated at the end), 2 for a usage problem found before any file was touched (missing or
unusable --weights, bad flags).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import sys
import time

import numpy as np
from absl import flags

from sid_tf2 import __version__, cli, tiff
from sid_tf2.atomic import WriteError, make_directory
from sid_tf2.backends import MissingExtraError, require_runtime
from sid_tf2.backends.flags import check_backend_flags, define_backend_flags, predictor_options
from sid_tf2.constants import ALIGNMENT, DEFAULT_TILE_OVERLAP
from sid_tf2.dng import read_tiff_exposure_time
from sid_tf2.exif import exif_blob, orientation_of_flip, read_photo_metadata
from sid_tf2.photo_inputs import AUTO_PERCENTILE, AUTO_TARGET, RAW_EXTENSIONS, auto_ratio, collect_inputs
from sid_tf2.progress import Progress, format_duration
from sid_tf2.raw import RawFileError, pack_bayer, pack_xtrans, raw_pattern, read_raw
from sid_tf2.raw import render_ground_truth
from sid_tf2.speed_flags import check_speed_flags, define_speed_flags, speed_settings_from_flags

# TensorFlow and the modules that import it (hardware, inference, metrics, images, weights) are
# imported where they are used, so that --help and usage errors answer without loading it.

__all__ = [
    "AUTO_PERCENTILE",
    "AUTO_TARGET",
    "FORMAT_EXTENSIONS",
    "RAW_EXTENSIONS",
    "EnhanceResult",
    "apply_orientation",
    "auto_ratio",
    "collect_inputs",
    "compare_image",
    "define_flags",
    "enhance_file",
    "main",
    "output_paths",
    "run",
    "software_tag",
    "write_output",
]

DEFAULT_TILE_SIZE = 640
"""Largest tile side in packed pixels: a full Sony frame runs as 3x4 tiles of 560x640, peaking
at 1.3 GB with XLA (whole: 2.8 GB) and computing 1.42x its pixels (benchmarks/RESULTS.md)."""

SENSOR_CAMERA = {"Bayer": "sony", "X-Trans": "fuji"}
CAMERA_SENSOR = {camera: sensor for sensor, camera in SENSOR_CAMERA.items()}

FORMAT_EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "tiff": ".tif"}
DEFAULT_OUTPUT_DIR = "enhanced"
PNG_LEVEL = 1  # sid_tf2.png's fast encoder; libpng's default 6 takes 15x as long for 8 % smaller files
COMPARE_DESCRIPTION = ("Left: the raw file rendered by LibRaw and scaled to the mean of the "
                       "network output; right: the network output.")


# --------------------------------------------------------------------------------------------
# The ratio.


def _parse_ratio(text):
    """'auto' or a positive number."""
    text = str(text).strip().lower()
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--ratio must be 'auto' or a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"--ratio must be 'auto' or a positive number, got {text!r}")
    return value


# --------------------------------------------------------------------------------------------
# Inputs.


# --------------------------------------------------------------------------------------------
# One file.


@dataclasses.dataclass
class EnhanceResult:
    """What :func:`enhance_file` did for one file."""

    path: str
    sensor: str  # "Bayer" or "X-Trans"
    ratio: float
    auto: bool
    level: float | None  # with --ratio=auto: the packed input's robust mean (see auto_ratio)
    exposure_time: float | None  # seconds, from the file's metadata
    iso: float | None
    size: tuple  # (height, width) of the output image
    outputs: list  # paths written
    notes: list  # warnings worth showing (e.g. an unusual X-Trans phase)

    def describe_ratio(self):
        """e.g. ``ratio 123.4 (auto; exposure 1/10 s, ISO 3200, as if 12.3 s)``."""
        details = ["auto"] if self.auto else []
        if self.exposure_time is not None:
            details.append(f"exposure {_format_exposure(self.exposure_time)}")
        if self.iso is not None:
            details.append(f"ISO {self.iso:g}")
        if self.level is not None:
            details.append(f"input level {self.level:.3g}")
        if self.exposure_time is not None:
            details.append(f"as if {_format_exposure(self.exposure_time * self.ratio)}")
        return f"ratio {self.ratio:.4g} ({', '.join(details)})" if details else \
            f"ratio {self.ratio:.4g}"


def _format_exposure(seconds):
    if seconds < 1 and abs(1 / seconds - round(1 / seconds)) < 1e-6 * (1 / seconds):
        return f"1/{round(1 / seconds)} s"
    return f"{seconds:.4g} s"


def _metadata(path, raw):
    """(exposure time in seconds or None, ISO or None) of an open file."""
    try:
        exposure = read_tiff_exposure_time(path)  # the exact Exif rational for TIFF-based raws
    except OSError:
        exposure = None
    other = getattr(raw, "other", None)
    if exposure is None and other is not None:
        shutter = float(getattr(other, "shutter_speed", 0) or 0)
        exposure = float(str(np.float32(shutter))) if shutter > 0 else None
    iso = float(getattr(other, "iso_speed", 0) or 0) if other is not None else 0.0
    return exposure, (iso if iso > 0 else None)


def _sensor(raw, path):
    """"Bayer" or "X-Trans" from the file's CFA pattern, or RawFileError."""
    pattern = raw_pattern(raw, path)
    if pattern.shape == (6, 6):
        return "X-Trans"
    if pattern.shape == (2, 2):
        return "Bayer"
    raise RawFileError(path, f"unsupported sensor: a {pattern.shape[0]}x{pattern.shape[1]} colour "
                       "filter pattern; SID handles Bayer (2x2) and X-Trans (6x6) sensors")


def _check_camera(sensor, camera, path):
    needed = SENSOR_CAMERA[sensor]
    if needed != camera:
        raise RawFileError(
            path, f"{sensor} sensor needs {needed.capitalize()} weights, but --weights holds the "
            f"{camera.capitalize()} network (for {CAMERA_SENSOR[camera]} sensors)")


def apply_orientation(image, flip, *, inverse=False):
    """Turn an image as LibRaw's ``sizes.flip`` says (what ``postprocess`` does), or back.

    ``flip`` is a bit mask: 1 mirrors columns, 2 mirrors rows, 4 then transposes; e.g. 3 is a
    half turn, 5 a quarter turn counter-clockwise and 6 clockwise.  ``inverse=True`` undoes it.
    """
    flip = int(flip or 0)
    if inverse and flip & 4:
        image = np.swapaxes(image, 0, 1)
    if flip & 2:
        image = image[::-1]
    if flip & 1:
        image = image[:, ::-1]
    if not inverse and flip & 4:
        image = np.swapaxes(image, 0, 1)
    return np.ascontiguousarray(image)


def compare_image(rendered, output):
    """Side by side: `rendered` scaled to the mean of `output` (left), `output` (right).

    Both are float images in [0, 1]; they are cropped to their common size from the top left,
    so the result is H x 2W x 3.
    """
    height = min(rendered.shape[0], output.shape[0])
    width = min(rendered.shape[1], output.shape[1])
    rendered = rendered[:height, :width]
    output = output[:height, :width]
    mean = float(rendered.mean(dtype=np.float64))
    scale = float(output.mean(dtype=np.float64)) / mean if mean > 0 else 1.0
    left = np.clip(rendered * np.float32(scale), 0.0, 1.0)
    return np.concatenate([left, output], axis=1)


def _to_bits(image, bit_depth):
    from sid_tf2.metrics import quantise  # pylint: disable=import-outside-toplevel

    return quantise(image, np.uint8 if bit_depth == 8 else np.uint16)


def software_tag(ratio, auto):
    """The Software tag of every output: the program, its version and the ratio used."""
    return f"sid-enhance (sid-tf2 {__version__}), ratio {ratio:.4g} ({'auto' if auto else 'given'})"


def write_output(path, image, metadata_entries, *, quality=95, png_level=PNG_LEVEL):
    """Write one output image with its metadata, in the format `path`'s extension names."""
    if path.endswith(FORMAT_EXTENSIONS["tiff"]):
        ifd0, exif, gps = metadata_entries
        tiff.write_tiff(path, ifd0, image, exif=exif, gps=gps)
    else:
        from sid_tf2.images import write_image  # pylint: disable=import-outside-toplevel

        write_image(path, image, exif=exif_blob(metadata_entries), quality=quality,
                    png_level=png_level)


def output_paths(path, output_dir, *, image_format="png", compare=False):
    """The files :func:`enhance_file` writes for `path`: ``[<stem>_sid.<ext>, (compare)]``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    extension = FORMAT_EXTENSIONS[image_format]
    paths = [os.path.join(output_dir, f"{stem}_sid{extension}")]
    if compare:
        paths.append(os.path.join(output_dir, f"{stem}_compare{extension}"))
    return paths


@dataclasses.dataclass
class DecodedFile:
    """A raw file read and ready for the network (:func:`decode_file`), with what its outputs
    need afterwards."""

    path: str
    sensor: str
    network_input: np.ndarray | None  # packed, amplified, clipped: [H, W, C] float32
    ratio: float
    auto: bool
    level: float | None
    exposure_time: float | None
    iso: float | None
    metadata: object  # sid_tf2.exif.PhotoMetadata
    flip: int
    rendered: np.ndarray | None  # LibRaw's rendering, for --compare
    notes: list


def decode_file(path, camera, *, ratio="auto", auto_target=AUTO_TARGET, compare=False):
    """Read, check and pack a raw file and amplify it for the network.

    Raises RawFileError (a ValueError) naming the file for unusable input.
    """
    path = os.fspath(path)
    notes = []
    with read_raw(path) as raw:
        sensor = _sensor(raw, path)
        _check_camera(sensor, camera, path)
        exposure, iso = _metadata(path, raw)
        metadata = read_photo_metadata(path, raw)
        if sensor == "Bayer":
            packed = pack_bayer(raw)
        else:
            packed = pack_xtrans(raw, notes=notes)  # not a warning: this may run in a thread
        flip = int(raw.sizes.flip)
        rendered = render_ground_truth(raw) if compare else None  # always upright
    if ratio == "auto":
        value, level = auto_ratio(packed, auto_target)
    else:
        value, level = float(ratio), None
    np.multiply(packed, np.float32(value), out=packed)  # in place: large photos, low peak memory
    np.minimum(packed, np.float32(1.0), out=packed)
    return DecodedFile(path, sensor, packed, value, ratio == "auto", level, exposure, iso,
                       metadata, flip, rendered, notes)


def write_results(decoded, output, output_dir, *, bit_depth=8, image_format="png", compare=False,
                  orient=True, quality=95, png_level=PNG_LEVEL):
    """Write the images of one file from the network's output [bH, bW, 3]; return an
    EnhanceResult. All of a file's images are written, or none."""
    np.clip(output, 0.0, 1.0, out=output)  # in place: the output is the largest array here
    rendered = decoded.rendered
    if orient:
        output = apply_orientation(output, decoded.flip)
    elif rendered is not None:
        rendered = apply_orientation(rendered, decoded.flip, inverse=True)
    images = [_to_bits(output, bit_depth)]
    if compare:
        images.append(_to_bits(compare_image(rendered, output), bit_depth))
    software = software_tag(decoded.ratio, decoded.auto)
    orientation = 1 if orient else orientation_of_flip(decoded.flip)
    descriptions = [None, COMPARE_DESCRIPTION]

    targets = output_paths(decoded.path, output_dir, image_format=image_format, compare=compare)
    written = []
    try:
        for target, image, description in zip(targets, images, descriptions):
            entries = decoded.metadata.entries(software=software, orientation=orientation,
                                               description=description)
            write_output(target, image, entries, quality=quality, png_level=png_level)
            written.append(target)
    except BaseException:
        for target in written:  # all of a file's images, or none
            try:
                os.remove(target)
            except OSError:
                pass
        raise
    return EnhanceResult(path=decoded.path, sensor=decoded.sensor, ratio=decoded.ratio,
                         auto=decoded.auto, level=decoded.level,
                         exposure_time=decoded.exposure_time, iso=decoded.iso,
                         size=tuple(output.shape[:2]), outputs=written, notes=decoded.notes)


def run_network(predictor, decoded):
    """The network's output [bH, bW, 3] for a decoded file (its input is released)."""
    network_input, decoded.network_input = decoded.network_input, None
    return predictor(network_input[None])[0]


def enhance_file(path, predictor, camera, output_dir, *, ratio="auto", auto_target=AUTO_TARGET,
                 bit_depth=8, image_format="png", compare=False, orient=True, quality=95,
                 png_level=PNG_LEVEL):
    """Run one raw file through the network and write its images; return an EnhanceResult.

    Args:
      path: a raw file.
      predictor: from :func:`sid_tf2.inference.make_predictor` for `camera`'s network.
      camera: "sony" (Bayer files) or "fuji" (X-Trans files).
      output_dir: an existing directory.
      ratio: a positive number, or "auto" (see the module docstring).
      auto_target, bit_depth (8 or 16; 8 for "jpeg"), image_format ("png", "jpeg" or "tiff"),
        compare, orient, quality (JPEG), png_level: as the flags of the same names.

    Raises RawFileError (a ValueError) naming the file for unusable input; nothing is written
    then.
    """
    decoded = decode_file(path, camera, ratio=ratio, auto_target=auto_target, compare=compare)
    output = run_network(predictor, decoded)
    return write_results(decoded, output, output_dir, bit_depth=bit_depth, image_format=image_format,
                         compare=compare, orient=orient, quality=quality, png_level=png_level)


# --------------------------------------------------------------------------------------------
# The command line.


def define_flags(flag_values=None):
    """Define sid-enhance's flags (on absl's global FLAGS unless given others)."""
    values = flags.FLAGS if flag_values is None else flag_values
    define = dict(flag_values=values)
    flags.DEFINE_string("weights", None, "The network: a .weights.h5, a .keras, a TF1 checkpoint "
                        "(prefix or directory), or a training result_dir. Its camera (Sony: "
                        "Bayer sensors, Fuji: X-Trans) is read from it.", **define)
    flags.DEFINE_string("output_dir", DEFAULT_OUTPUT_DIR, "Folder for the results (created if "
                        "missing).", **define)
    flags.DEFINE_bool("overwrite", False, "Replace outputs that already exist (otherwise their "
                      "raw files are skipped).", **define)
    flags.DEFINE_string("ratio", "auto", "Amplification: a number (the original used 100, 250, "
                        "300) or 'auto' (per file, from its brightness; see the module help).",
                        **define)
    flags.DEFINE_float("auto_target", AUTO_TARGET, "Brightness that --ratio=auto aims for: the "
                       "amplified input's mean as a fraction of the raw range.", **define)
    flags.DEFINE_integer("bit_depth", 8, "8 or 16 bits per channel (PNG, TIFF; JPEG is 8-bit).",
                         **define)
    flags.DEFINE_enum("format", "png", list(FORMAT_EXTENSIONS), "Output image format.", **define)
    flags.DEFINE_integer("quality", 95, "JPEG quality, 1 to 100.", **define)
    flags.DEFINE_integer("png_level", PNG_LEVEL, "PNG compression (zlib level 0-9): 0-1 use a fast "
                         "encoder (a 12 MP frame in 0.2-0.3 s), 2-9 libpng (0.6-5 s, up to 10 % "
                         "smaller files).",
                         lower_bound=0, upper_bound=9, **define)
    flags.DEFINE_bool("compare", False, "Also write <stem>_compare.<ext>: the input brightened by "
                      "simple scaling beside the network output.", **define)
    flags.DEFINE_bool("orient", True, "Turn outputs upright by the file's orientation tag.",
                      **define)
    define_speed_flags(values, purpose="enhance")  # --precision, --jit_compile, --faithful
    define_backend_flags(values)  # --backend, --backend_precision
    flags.DEFINE_integer("tile_size", DEFAULT_TILE_SIZE, "Run the network on overlapping tiles "
                         "of at most this many packed pixels a side (a multiple of 16), fitted to "
                         "the image, to bound memory; 0: whole image.", **define)
    flags.DEFINE_integer("tile_overlap", DEFAULT_TILE_OVERLAP, "Packed pixels shared by "
                         "neighbouring tiles (a multiple of 16).", **define)
    cli.define_verbose_flag(values)
    return values


def _usage_problems(values):
    """Messages for flags that cannot work, found before anything is loaded."""
    problems = []
    if not values.weights:
        problems.append("--weights is required")
    if not values.output_dir:
        problems.append("--output_dir must name a folder")
    try:
        _parse_ratio(values.ratio)
    except ValueError as error:
        problems.append(str(error))
    if not (np.isfinite(values.auto_target) and 0 < values.auto_target <= 1):
        problems.append(f"--auto_target must be in (0, 1], got {values.auto_target}")
    if values.bit_depth not in (8, 16):
        problems.append(f"--bit_depth must be 8 or 16, got {values.bit_depth}")
    elif values.bit_depth == 16 and values.format == "jpeg":
        problems.append("JPEG holds 8 bits per channel: use --bit_depth=8, or --format=png or "
                        "tiff for 16 bits")
    if not 1 <= values.quality <= 100:
        problems.append(f"--quality must be in [1, 100], got {values.quality}")
    if values.tile_size < 0 or values.tile_size % ALIGNMENT:
        problems.append(f"--tile_size must be 0 or a positive multiple of {ALIGNMENT}, got "
                        f"{values.tile_size}")
    elif values.tile_size and not (0 <= 2 * values.tile_overlap <= values.tile_size
                                   and values.tile_overlap % ALIGNMENT == 0):
        problems.append(f"--tile_overlap must be a multiple of {ALIGNMENT} of at most half "
                        f"--tile_size ({values.tile_size}), got {values.tile_overlap}")
    return problems


def _error(message):
    print(f"sid-enhance: error: {message}", file=sys.stderr)


def main(argv, flag_values=None):
    """Enhance the files and folders in ``argv[1:]``; return the exit status (0, 1 or 2)."""
    values = flags.FLAGS if flag_values is None else flag_values
    inputs = list(argv[1:])
    problems = _usage_problems(values)
    if not inputs:
        problems.append("no input: name raw files or folders, e.g. "
                        "sid-enhance PHOTO.ARW --weights=...")
    if problems:
        for problem in problems:
            _error(problem)
        return 2
    ratio = _parse_ratio(values.ratio)
    cli.load_tensorflow(verbose=values.verbose)
    # pylint: disable=import-outside-toplevel
    from sid_tf2.hardware import apply_math_settings
    from sid_tf2.inference import make_predictor
    from sid_tf2.weights import WeightsError, load_model_weights

    try:
        check_speed_flags(values)
        check_backend_flags(values)
    except ValueError as error:
        _error(str(error))
        return 2
    try:
        model, camera = load_model_weights(values.weights)
    except WeightsError as error:
        _error(f"cannot use --weights: {error}")
        return 2
    speed = None
    if values.backend == "tensorflow":
        speed = speed_settings_from_flags(values, purpose="enhance", model=model, camera=camera)
        apply_math_settings(speed)
        if speed.warning:
            print(f"sid-enhance: warning: {speed.warning}", file=sys.stderr)
    predictor_kwargs, description = predictor_options(values, speed)
    created = not os.path.isdir(values.output_dir)
    try:
        make_directory(values.output_dir)
    except OSError as error:  # a WriteError, or a file of that name
        reason = error if isinstance(error, WriteError) else f"{values.output_dir}: {error.strerror or error}"
        _error(f"cannot create --output_dir: {reason}")
        return 2
    try:  # a missing runtime stops the run before any file is read
        require_runtime(predictor_kwargs.get("backend") or getattr(speed, "backend", "tensorflow"))
    except MissingExtraError as error:
        _error(str(error))
        return 2

    def prepare_network():
        return make_predictor(model, tile_size=values.tile_size or None,
                              tile_overlap=values.tile_overlap, **predictor_kwargs)

    try:
        return _enhance_all(inputs, values, ratio, prepare_network, camera, description)
    except WriteError as error:
        _error(str(error))
        return 1
    finally:
        if created and not os.listdir(values.output_dir):
            os.rmdir(values.output_dir)  # nothing was written: leave no empty folder behind


def _enhance_all(inputs, values, ratio, prepare_network, camera, description):
    """Enhance every input file; return the exit status. A `WriteError` stops the run.

    `prepare_network()` returns the predictor; the first file is decoded while it runs."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  (loaded by main already)

    files, failures = collect_inputs(inputs)
    for path, reason in failures:
        print(f"{path}: FAILED: {reason}", file=sys.stderr)
    if not files:
        _error("no raw files to process in " + ", ".join(inputs)
               + f" (folders are searched for {' '.join(RAW_EXTENSIONS)})")
        return 1
    print(f"sid-enhance: {len(files)} file(s), {camera} network "
          f"({CAMERA_SENSOR[camera]} sensors) from {values.weights}, "
          f"ratio {values.ratio}, output in {os.path.join(values.output_dir, '')}; "
          f"{description}", flush=True)

    claimed = {}  # output path -> the input that wrote it, so no file overwrites another's
    skipped = []  # inputs whose outputs existed before this run
    done = 0
    # The per-file lines are results (ratio, size) as much as progress: printed here, with the
    # ETA of the project's one progress display.
    meter = Progress("sid-enhance", len(files), unit="file", enabled=False)
    errors = (ValueError, OSError, MemoryError, tf.errors.OpError)  # RawFileError too
    last_line = [time.monotonic()]

    def report(index, path, result=None, error=None):
        now = time.monotonic()
        seconds, last_line[0] = now - last_line[0], now
        name = os.path.basename(path)
        if error is not None:
            reason = getattr(error, "reason", None) or (
                error.strerror if isinstance(error, OSError) and error.strerror else str(error))
            failures.append((path, reason))
            print(f"{index}/{len(files)} {name}: FAILED: {reason} "
                  f"({seconds:.1f} s, ETA {format_duration(meter.eta(index))})", flush=True)
            return
        height, width = result.size
        print(f"{index}/{len(files)} {name}: {result.describe_ratio()}, {width}x{height}, "
              f"{seconds:.1f} s, ETA {format_duration(meter.eta(index))}", flush=True)
        for note in result.notes:
            print(f"    note: {note}", flush=True)

    def decode(path):
        return decode_file(path, camera, ratio=ratio, auto_target=values.auto_target,
                           compare=values.compare)

    def write(decoded, output):
        return write_results(decoded, output, values.output_dir, bit_depth=values.bit_depth,
                             image_format=values.format, compare=values.compare,
                             orient=values.orient, quality=values.quality,
                             png_level=values.png_level)

    # A folder runs at the network's pace: while the network runs on one file, a thread decodes
    # the next and another writes the previous one's images (rawpy, NumPy, zlib and Pillow
    # release the GIL); the first file is decoded while the network is prepared. Lines still
    # come in the files' order.
    jobs = []  # (index, path) of the files to process, after the skip and clash checks
    for index, path in enumerate(files, 1):
        targets = output_paths(path, values.output_dir, image_format=values.format,
                               compare=values.compare)
        clash = next((claimed[os.path.normcase(t)] for t in targets
                      if os.path.normcase(t) in claimed), None)
        existing = [t for t in targets if os.path.exists(t)]
        if clash is None and existing and not values.overwrite:
            skipped.append(path)
            verb = "exists" if len(existing) == 1 else "exist"
            print(f"{index}/{len(files)} {os.path.basename(path)}: skipped: {', '.join(existing)} "
                  f"already {verb} (--overwrite replaces outputs)", flush=True)
            continue
        if clash is not None:
            report(index, path, error=RawFileError(path, f"its output would overwrite that of "
                                                   f"{clash} (same file name): enhance it "
                                                   "separately or rename it"))
            continue
        for target in targets:
            claimed[os.path.normcase(target)] = path
        jobs.append((index, path))
    with concurrent.futures.ThreadPoolExecutor(1) as reader, \
            concurrent.futures.ThreadPoolExecutor(1) as writer:
        reading = [reader.submit(decode, path) for _, path in jobs[:1]]
        try:
            predictor = prepare_network() if jobs else None
        except (MissingExtraError, ValueError) as error:
            _error(str(error))
            return 2
        start = last_line[0] = time.monotonic()  # the files' time, from a ready network
        pending = None  # (index, path, future) of the write in flight
        for position, (index, path) in enumerate(jobs):
            try:
                decoded = reading.pop(0).result()
            except WriteError:
                raise
            except errors as error:
                decoded, failed = None, error
            if position + 1 < len(jobs):
                reading.append(reader.submit(decode, jobs[position + 1][1]))
            output = None
            if decoded is not None:
                try:
                    output = run_network(predictor, decoded)
                except WriteError:
                    raise
                except errors as error:
                    failed = error
            if pending is not None:
                done += _finish(pending, report, errors)
                pending = None
            if output is None:
                report(index, path, error=failed)
                continue
            pending = (index, path, writer.submit(write, decoded, output))
            del decoded, output
        if pending is not None:
            done += _finish(pending, report, errors)

    elapsed = _format_total(time.monotonic() - start)
    if skipped:
        print(f"sid-enhance: {len(skipped)} file(s) skipped because their outputs exist "
              f"(--overwrite replaces them): {', '.join(map(os.path.basename, skipped))}")
    if failures:
        print(f"sid-enhance: {done} of {done + len(failures)} enhanced in {elapsed}; "
              f"{len(failures)} failed:", file=sys.stderr)
        for path, reason in failures:
            print(f"  {path}: {reason}", file=sys.stderr)
        return 1
    print(f"sid-enhance: {done} file(s) enhanced in {elapsed}")
    return 0


def _format_total(seconds):
    """'14.6 s' under a minute (a folder's speed is read from it), else as the ETA is shown."""
    return f"{seconds:.1f} s" if seconds < 60 else format_duration(seconds)


def _finish(pending, report, errors):
    """Wait for a file's images to be written and print its line; 1 if it succeeded, else 0.
    A `WriteError` (a full disk, an unwritable place) stops the whole run."""
    index, path, future = pending
    try:
        result = future.result()
    except WriteError:
        raise
    except errors as error:
        report(index, path, error=error)
        return 0
    report(index, path, result=result)
    return 1


def run():
    """Console entry point: ``sid-enhance = sid_tf2.enhance:run``."""
    define_flags()
    # absl's --help shows the docstring of __main__ (here the console-script stub) and the key
    # flags of the module named by argv[0]: make both this module's.
    main_module = sys.argv[0]
    for module in (__name__, define_speed_flags.__module__, define_backend_flags.__module__):
        for flag in flags.FLAGS.get_key_flags_for_module(module):
            flags.FLAGS.register_key_flag_for_module(main_module, flag)
    sys.modules["__main__"].__doc__ = __doc__
    cli.run(main)


if __name__ == "__main__":
    run()
