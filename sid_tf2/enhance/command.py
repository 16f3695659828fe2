"""sid-enhance: brighten your own dark raw photos with a SID network.

    sid-enhance PHOTO.ARW [MORE.DNG FOLDER ...] --weights=PATH [--output_dir=enhanced] [--ratio=auto]
    python -m sid_tf2.enhance ...   (the same)

Folders contribute the raw files directly inside them (.arw .dng .nef .cr2 .cr3 .raf .orf .rw2
.pef .srw .raw), sorted by name. Bayer files need Sony weights, X-Trans files Fuji weights; the
camera is read from --weights. Each file gives <stem>_sid.<ext> in --output_dir (and, with
--compare, <stem>_compare.<ext>: the input brightened by simple scaling beside the network
output), upright, with the raw file's metadata; existing outputs are skipped unless --overwrite.

--ratio=auto (the default) amplifies each file to the brightness of a normal exposure:
ratio = clip(--auto_target / level, 1, 300), where level is the mean of the packed raw values
with the brightest 1 % clipped to their 99th percentile.

Exit status: 0 when every file succeeded or was skipped, 1 when any failed, 2 for a usage
problem found before any file was touched. The manual: docs/enhancing.md.
"""

import contextlib
import functools
import os
import sys

import numpy as np
from absl import flags

from sid_tf2 import cli
from sid_tf2.atomic import WriteError, make_directory
from sid_tf2.backends import MissingExtraError, require_runtime
from sid_tf2.backends.flags import backend_settings, check_backend_flags, define_backend_flags
from sid_tf2.constants import ALIGNMENT, CALIBRATED, DEFAULT_TILE_OVERLAP
from sid_tf2.enhance.decode import CAMERA_SENSOR
from sid_tf2.enhance.folder import FolderRun, print_error
from sid_tf2.enhance.output import FORMAT_EXTENSIONS, PNG_LEVEL, OutputOptions
from sid_tf2.folder_lock import FolderBusy, FolderLock
from sid_tf2.hardware import apply_math_settings
from sid_tf2.photo_inputs import AUTO_TARGET, RAW_EXTENSIONS, collect_inputs
from sid_tf2.speed_flags import check_speed_flags, define_speed_flags, speed_settings_from_flags

DEFAULT_TILE_SIZE = 640
"""Largest tile side in packed pixels: a full Sony frame runs as 3x4 tiles of 560x640, peaking
at 1.3 GB with XLA (whole: 2.8 GB) and computing 1.42x its pixels (benchmarks/RESULTS.md)."""
DEFAULT_OUTPUT_DIR = "enhanced"


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
    flags.DEFINE_integer("bit_depth", 8, "8 or 16 bits per channel (PNG, TIFF; JPEG is 8-bit, "
                         "DNG 16-bit linear).",
                         **define)
    flags.DEFINE_enum("format", "png", list(FORMAT_EXTENSIONS), "Output image format: png, jpeg "
                      "and tiff carry the sRGB ICC profile; dng is a linear DNG (sRGB primaries, "
                      "linear light) for raw editors such as Lightroom, darktable, RawTherapee.",
                      **define)
    flags.DEFINE_integer("quality", 95, "JPEG quality, 1 to 100.", **define)
    flags.DEFINE_integer("png_level", PNG_LEVEL, "PNG compression (zlib level 0-9): 0-1 use a fast "
                         "encoder (a 12 MP frame in 0.2-0.3 s), 2-9 libpng (0.6-5 s, up to 10 % "
                         "smaller files).",
                         lower_bound=0, upper_bound=9, **define)
    flags.DEFINE_bool("compare", False, "Also write <stem>_compare.<ext>: the input brightened by "
                      "simple scaling beside the network output.", **define)
    flags.DEFINE_bool("orient", True, "Turn outputs upright by the file's orientation tag.",
                      **define)
    flags.DEFINE_bool("fast", False, "Speed over quality: OpenVINO int8, quantised with NNCF "
                      "(--backend=openvino --backend_precision=int8). The first line gives the quality "
                      "it keeps, measured on these weights; the automatic choice never goes below 55 dB.",
                      **define)
    define_speed_flags(values, purpose="enhance")  # --precision, --jit_compile, --faithful
    define_backend_flags(values)  # --backend, --backend_precision
    for shared in (define_speed_flags, define_backend_flags):  # listed by --help as this command's
        flags.adopt_module_key_flags(sys.modules[shared.__module__], flag_values=values)
    flags.DEFINE_integer("tile_size", DEFAULT_TILE_SIZE, "Run the network on overlapping tiles "
                         "of at most this many packed pixels a side (a multiple of 16), fitted to "
                         "the image, to bound memory; 0: whole image.", **define)
    flags.DEFINE_integer("tile_overlap", DEFAULT_TILE_OVERLAP, "Packed pixels shared by "
                         "neighbouring tiles (a multiple of 16).", **define)
    cli.define_verbose_flag(values)
    return values


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


def _output_options(values):
    return OutputOptions(image_format=values.format, bit_depth=values.bit_depth,
                         compare=values.compare, orient=values.orient, quality=values.quality,
                         png_level=values.png_level)


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
    if values.fast and (values.backend, values.backend_precision) not in (("tensorflow", "float32"),
                                                                          ("openvino", "int8")):
        problems.append("--fast is --backend=openvino --backend_precision=int8: give one or the other")
    if values.tile_size < 0 or values.tile_size % ALIGNMENT:
        problems.append(f"--tile_size must be 0 or a positive multiple of {ALIGNMENT}, got "
                        f"{values.tile_size}")
    elif values.tile_size and not (0 <= 2 * tile_overlap(values) <= values.tile_size
                                   and values.tile_overlap % ALIGNMENT == 0):
        problems.append(f"--tile_overlap must be a multiple of {ALIGNMENT} of at most half "
                        f"--tile_size ({values.tile_size}), got {values.tile_overlap}")
    return problems


def tile_overlap(values):
    """--tile_overlap, or where the user left it unset, the default cut to what --tile_size
    allows (at most half of it), so that a small --tile_size alone works."""
    if values["tile_overlap"].present or not values.tile_size:
        return values.tile_overlap
    return min(values.tile_overlap, values.tile_size // 2 // ALIGNMENT * ALIGNMENT)


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
            print_error(problem)
        return 2
    ratio = _parse_ratio(values.ratio)
    if values.fast:
        values.backend, values.backend_precision = "openvino", "int8"
    cli.load_tensorflow(verbose=values.verbose)
    # Imported here, after the flags are checked and TensorFlow is loaded quietly: both import it.
    from sid_tf2.backends.calibration import raw_file_patches  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.enhance.int8_quality import int8_quality  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.inference import make_predictor  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.weights import WeightsError, load_model_weights  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    try:
        check_speed_flags(values)
        check_backend_flags(values)
    except ValueError as error:
        print_error(str(error))
        return 2
    try:
        model, camera = load_model_weights(values.weights)
    except WeightsError as error:
        print_error(f"cannot use --weights: {error}")
        return 2
    speed = None
    if values.backend == "tensorflow":
        speed = speed_settings_from_flags(values, purpose="enhance", model=model, camera=camera)
        apply_math_settings(speed)
        if speed.warning:
            print(f"sid-enhance: warning: {speed.warning}", file=sys.stderr)
    settings, description = backend_settings(values, speed)
    try:  # a missing runtime stops the run before any file is read
        require_runtime(settings.backend)
    except MissingExtraError as error:
        print_error(str(error))
        return 2
    created = not os.path.isdir(values.output_dir)
    try:
        make_directory(values.output_dir)
    except WriteError as error:  # read-only, full, not permitted: the place, not the flag
        print_error(f"cannot create --output_dir: {error}")
        return 1
    except OSError as error:  # a file of that name
        print_error(f"cannot create --output_dir: {values.output_dir}: {error.strerror or error}")
        return 2

    def prepare_network(files):
        # int8 is calibrated on simulated Bayer frames; a Fuji network on the X-Trans files given.
        calibration = (raw_file_patches(files, camera) if settings.precision in CALIBRATED and camera != "sony"
                       else None)
        return make_predictor(model, tile_size=values.tile_size or None, tile_overlap=tile_overlap(values),
                              precision=settings, calibration=calibration)

    try:
        with FolderLock(values.output_dir, log=lambda line: print(line, file=sys.stderr),
                        holder="sid-enhance run", flag="--output_dir"):
            return _enhance_all(inputs, values, ratio, prepare_network, camera, description,
                                measure=functools.partial(int8_quality, model=model, camera=camera)
                                if settings.precision in CALIBRATED else None)
    except (WriteError, FolderBusy) as error:
        print_error(str(error))
        return 1
    finally:
        if created:
            with contextlib.suppress(OSError):  # nothing was written: leave no empty folder behind
                os.rmdir(values.output_dir)


def _enhance_all(inputs, values, ratio, prepare_network, camera, description, measure=None):
    """Enhance every input file; return the exit status. A `WriteError` stops the run.

    `prepare_network(files)` returns the predictor; the first file is decoded while it runs,
    except with `measure` (int8): the network is prepared first and `measure(predictor)`, the
    quality it keeps, joins the first line."""
    files, failures, skipped = collect_inputs(inputs)
    if not files and failures and len(failures) == len(inputs):  # nothing usable named: one line each
        for path, reason in failures:
            print_error(f"{path}: {reason}")
        return 1
    for path, reason in failures:
        print(f"{path}: FAILED: {reason}", file=sys.stderr)
    for path, reason in skipped:
        print(f"note: {path}: {reason}", file=sys.stderr)
    if not files:
        print_error("no raw files to process in " + ", ".join(inputs)
                    + f" (folders are searched for {' '.join(RAW_EXTENSIONS)})")
        return 1
    prepare = functools.partial(prepare_network, files)
    if measure is not None:
        predictor = prepare_network(files)
        description = f"{description}: {measure(predictor)}"
        prepare = lambda: predictor  # noqa: E731  (the network is ready)
    print(f"sid-enhance: {len(files)} file(s), {camera} network "
          f"({CAMERA_SENSOR[camera]} sensors) from {values.weights}, "
          f"ratio {values.ratio}, output in {os.path.join(values.output_dir, '')}; "
          f"{description}", flush=True)
    folder = FolderRun(files, failures, camera=camera, output_dir=values.output_dir, ratio=ratio,
                       auto_target=values.auto_target, options=_output_options(values),
                       overwrite=values.overwrite)
    status = folder.process(folder.plan(), prepare)
    return folder.summary() if status is None else status


def run():
    """Console entry point: ``sid-enhance = sid_tf2.enhance:run``."""
    define_flags()
    cli.run(main)  # its help: this module's docstring and key flags, whatever stub started it
