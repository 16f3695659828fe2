"""Exports for other runtimes: a .tflite file (LiteRT, e.g. on a phone), an .onnx file (ONNX
Runtime, OpenVINO and most others) or OpenVINO IR (.xml and its .bin; int8 quantised by NNCF,
for deployment without TensorFlow), each checked in its own runtime before it is kept.

The export is written under temporary names beside the output, run in its runtime on a check
input the calibration did not see, and compared with the Keras float32 model. Only an export
that agrees (`FLOORS`) is renamed into place (an IR's .bin before its .xml, so that an .xml is
never there without its weights); otherwise nothing is left at the output. The
floors are there to catch a broken conversion, not to grade quantisation: float32 must agree to
100 dB (conversion only reorders float arithmetic: 130-160 dB here), float16 weights to 60 dB,
int8 to 30 dB (a working int8 export of a trained SID network gives about 40-55 dB; a broken
one, e.g. activation ranges from the wrong data, 10-20 dB).
"""

import contextlib
import dataclasses
import os

import numpy as np

from sid_tf2.atomic import atomic_path
from sid_tf2.backends.calibration import calibration_patches, check_input
from sid_tf2.backends.common import agreement_psnr
from sid_tf2.backends.litert_backend import LiteRTRunner, to_tflite
from sid_tf2.backends.onnx_backend import OnnxRuntimeRunner, to_onnx
from sid_tf2.backends.openvino_backend import OpenVINORunner, openvino_ir
from sid_tf2.backends.quiet import runtime_output_hidden
from sid_tf2.constants import BACKEND_PRECISIONS

FORMATS = {".tflite": "litert", ".onnx": "onnx", ".xml": "openvino"}
# Each export's quantisations: what its runtime computes in, less float32 (the registry's);
# OpenVINO's bfloat16 is a way to compute a float32 IR, not a file of its own.
QUANTIZATIONS = {export: tuple(p for p in BACKEND_PRECISIONS[runtime] if p not in ("float32", "bfloat16"))
                 for export, runtime in (("litert", "litert"), ("onnx", "onnxruntime"), ("openvino", "openvino"))}
FLOORS = {None: 100.0, "float16": 60.0, "dynamic_int8": 30.0, "int8": 30.0}
DEFAULT_CHECK_SIZE = (212, 300)  # not multiples of 16: dynamic exports must crop as TF does


class ExportError(ValueError):
    """The export cannot be made, or disagrees with the Keras model; nothing was written."""


@dataclasses.dataclass(frozen=True)
class ExportReport:
    """What was written and how well it agrees with the Keras float32 model."""

    path: str
    runtime: str
    quantize: str | None
    input_shape: tuple
    psnr: float
    floor: float
    size_bytes: int

    def describe(self):
        precision = self.quantize or "float32"
        return (f"{self.runtime} {precision} export, input {list(self.input_shape)}: "
                f"{self.psnr:.1f} dB against the Keras float32 model (floor {self.floor:.0f} dB) "
                f"on a check input, {self.size_bytes / 2**20:.1f} MiB")


def export_format(output):
    """"litert" or "onnx" for an output name ending in .tflite or .onnx, else None."""
    return FORMATS.get(os.path.splitext(output)[1].lower())


def _convert(model, runtime, input_size, quantize, calibration):
    """The export's files, {suffix: bytes}: "" is the output itself, ".bin" an IR's weights."""
    with runtime_output_hidden():
        if runtime == "litert":
            return {"": to_tflite(model, input_size, quantize, calibration)}
        if runtime == "openvino":
            files = openvino_ir(model, input_size, quantize, calibration)
            return {"": files[".xml"], ".bin": files[".bin"]}
        return {"": to_onnx(model, input_size, quantize, calibration)}


def _runner(runtime, paths, quantize):
    with runtime_output_hidden():
        if runtime == "openvino":
            return OpenVINORunner(paths[""], quantize or "float32", weights=paths[".bin"])
        return LiteRTRunner(paths[""]) if runtime == "litert" else OnnxRuntimeRunner(paths[""])


def _path(output, suffix):
    return os.path.splitext(output)[0] + suffix if suffix else output


def export(model, camera, output, *, input_size=None, quantize=None, calibration_dir=None,
           overwrite=False):
    """Write `model` to `output` (.tflite, .onnx, or .xml with its .bin) if its runtime agrees
    with Keras.

    Args:
      model: a float32 `build_unet` model; camera: its camera ("sony" or "fuji").
      input_size: (H, W) packed input size to fix, or None for dynamic sizes.
      quantize: None (float32) or one of QUANTIZATIONS[runtime].
      calibration_dir: raw files for int8 calibration and the check input; None: the
        low-light simulator (Sony only).

    Returns an ExportReport; raises ExportError (nothing written) when the export is refused.
    """
    runtime = export_format(output)
    if runtime is None:
        raise ExportError(f"{output}: not an export name (expected {' or '.join(FORMATS)})")
    if quantize is not None and quantize not in QUANTIZATIONS[runtime]:
        raise ExportError(f"{output}: {runtime} exports quantise to "
                          f"{', '.join(QUANTIZATIONS[runtime])}, not {quantize}")
    for path in (output, *([_path(output, ".bin")] if runtime == "openvino" else [])):
        if os.path.exists(path) and not overwrite:
            raise ExportError(f"{path}: already exists (pass --overwrite to replace it).")
    try:
        calibration = (calibration_patches(camera, calibration_dir)
                       if quantize == "int8" else None)
        check = check_input(camera, input_size or DEFAULT_CHECK_SIZE, calibration_dir)
    except ValueError as error:
        raise ExportError(f"{output}: {error}") from None
    files = _convert(model, runtime, input_size, quantize, calibration)
    reference = model(check, training=False).numpy()
    with contextlib.ExitStack() as stack:  # renamed last in, first: the output itself last
        temporaries = {}
        for suffix in sorted(files, key=len):
            content = files[suffix]  # a full disk: said before writing
            temporaries[suffix] = temporary = stack.enter_context(atomic_path(_path(output, suffix), len(content)))
            with open(temporary, "xb") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
        result = _runner(runtime, temporaries, quantize)(check)
        psnr = agreement_psnr(result, reference)
        floor = FLOORS[quantize]
        if not np.isfinite(result).all() or psnr < floor:
            raise ExportError(
                f"{output}: not written: in its runtime the export reaches {psnr:.1f} dB against "
                f"the Keras float32 model on a check input, below the {floor:.0f} dB floor for "
                f"{quantize or 'float32'}")
    return ExportReport(output, runtime, quantize, check.shape, psnr, floor, sum(map(len, files.values())))
