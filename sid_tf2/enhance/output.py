"""Writing one photo's images: the network output and, with `compare`, the side-by-side image,
in PNG, JPEG or TIFF (with the sRGB ICC profile) or as a linear DNG, turned upright and carrying
the raw file's metadata.

The DNG (``--format=dng``) is for raw editors, as Lightroom's Denoise and DxO PureRAW return
theirs: the output linearised (`sid_tf2.enhance.linear`), 16-bit whatever ``--bit_depth``
says, with the sRGB colour matrix (`sid_tf2.dng.write_linear_dng`'s default) and a neutral
AsShotNeutral, since the network's output is already white balanced.

A file's images are written all or none: each under a temporary name and renamed
(`sid_tf2.atomic`), and those already written are removed when a later one fails.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from sid_tf2 import __version__, tiff
from sid_tf2.dng import write_linear_dng
from sid_tf2.enhance.linear import linear_uint16
from sid_tf2.exif import exif_blob, orientation_of_flip
from sid_tf2.icc import ICC_PROFILE_TAG, srgb_profile

FORMAT_EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "tiff": ".tif", "dng": ".dng"}
NEUTRAL = (1.0, 1.0, 1.0)  # the DNG's AsShotNeutral: its pixels are white balanced already
PNG_LEVEL = 1  # sid_tf2.png's fast encoder; libpng's default 6 takes 15x as long for 8 % smaller files
COMPARE_DESCRIPTION = ("Left: the raw file rendered by LibRaw and scaled to the mean of the "
                       "network output; right: the network output.")


@dataclasses.dataclass(frozen=True)
class OutputOptions:
    """How a photo's images are written: sid-enhance's flags of the same names."""

    image_format: str = "png"  # a key of FORMAT_EXTENSIONS (--format)
    bit_depth: int = 8  # 8 or 16; JPEG is 8-bit, DNG 16-bit linear
    compare: bool = False  # also <stem>_compare.<ext>
    orient: bool = True  # upright by the camera's orientation tag; else recorded in the file
    quality: int = 95  # JPEG
    png_level: int = PNG_LEVEL


@dataclasses.dataclass
class EnhanceResult:
    """What :func:`sid_tf2.enhance.enhance_file` did for one file."""

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


def _to_bits(image, options):
    """The samples written of a float image in [0, 1]: quantised, or linear for DNG."""
    if options.image_format == "dng":
        return linear_uint16(image)
    from sid_tf2.metrics import quantise  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    return quantise(image, np.uint8 if options.bit_depth == 8 else np.uint16)


def software_tag(ratio, auto):
    """The Software tag of every output: the program, its version and the ratio used."""
    return f"sid-enhance (sid-tf2 {__version__}), ratio {ratio:.4g} ({'auto' if auto else 'given'})"


def write_output(path, image, metadata_entries, *, quality=95, png_level=PNG_LEVEL):
    """Write one output image with its metadata, in the format `path`'s extension names."""
    if path.endswith(FORMAT_EXTENSIONS["dng"]):
        # The raw file's Make and Model replace these when it has them.
        write_linear_dng(path, image, as_shot_neutral=NEUTRAL, make="sid-enhance",
                         model="linear DNG", metadata=metadata_entries)
    elif path.endswith(FORMAT_EXTENSIONS["tiff"]):
        ifd0, exif, gps = metadata_entries
        ifd0 = sorted(ifd0 + [(ICC_PROFILE_TAG, tiff.UNDEFINED, srgb_profile())])
        tiff.write_tiff(path, ifd0, image, exif=exif, gps=gps)
    else:
        from sid_tf2.images import write_image  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

        write_image(path, image, exif=exif_blob(metadata_entries), quality=quality,
                    png_level=png_level)


def output_paths(path, output_dir, options=OutputOptions()):
    """The files written for the raw file `path`: ``[<stem>_sid.<ext>, (compare)]``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    extension = FORMAT_EXTENSIONS[options.image_format]
    paths = [os.path.join(output_dir, f"{stem}_sid{extension}")]
    if options.compare:
        paths.append(os.path.join(output_dir, f"{stem}_compare{extension}"))
    return paths


def write_results(decoded, output, output_dir, options=OutputOptions(), missing=None):
    """Write the images of one decoded file (`sid_tf2.enhance.decode.DecodedFile`) from the
    network's output [bH, bW, 3]; return an EnhanceResult. All of a file's images are written,
    or none. `missing`: only these of its `output_paths` (the rest exist and are kept: a pair
    that a killed run left half written is completed, never replaced)."""
    np.clip(output, 0.0, 1.0, out=output)  # in place: the output is the largest array here
    rendered = decoded.rendered
    if options.orient:
        output = apply_orientation(output, decoded.flip)
    elif rendered is not None:
        rendered = apply_orientation(rendered, decoded.flip, inverse=True)
    images = [_to_bits(output, options)]
    if options.compare:
        images.append(_to_bits(compare_image(rendered, output), options))
    software = software_tag(decoded.ratio, decoded.auto)
    orientation = 1 if options.orient else orientation_of_flip(decoded.flip)
    descriptions = [None, COMPARE_DESCRIPTION]

    written = []
    try:
        for target, image, description in zip(output_paths(decoded.path, output_dir, options),
                                               images, descriptions):
            if missing is not None and target not in missing:
                continue
            entries = decoded.metadata.entries(software=software, orientation=orientation,
                                               description=description)
            write_output(target, image, entries, quality=options.quality,
                         png_level=options.png_level)
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
