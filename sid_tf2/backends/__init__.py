"""Inference runtimes behind `sid_tf2.inference.make_predictor`: TensorFlow itself, OpenVINO,
LiteRT and ONNX Runtime, each in the precisions it can compute.

`make_runner(model, backend, precision)` turns a Keras model into a callable from a packed
float32 batch [N, H, W, C] to the float32 output image, converted in memory for that runtime;
`sid_tf2.inference` adds tiling on top, the same for every backend. The runtimes other than
TensorFlow are optional (setup.py extra `export`) and imported only here, when asked for.

Precisions by backend (`BACKEND_PRECISIONS`):
  tensorflow   float32, mixed_bfloat16, mixed_float16 (the training policies)
  openvino     float32, bfloat16 (pinned by OpenVINO's precision hint), int8 (NNCF, calibrated)
  litert       float32, float16 (float16 weights), dynamic_int8, int8 (calibrated)
  onnxruntime  float32, int8 (calibrated QDQ)
"""

from sid_tf2.backends.optional import EXTRA, MissingExtraError, require
from sid_tf2.backends.quiet import runtime_output_hidden
from sid_tf2.constants import BACKEND_PRECISIONS, BACKENDS, CALIBRATED  # the registry of runtimes
from sid_tf2.speed_settings import check_backend

# What each runtime imports to convert and run a model (sid_tf2.backends.*_backend).
RUNTIME_MODULES = {
    "openvino": ("openvino",),
    "litert": ("ai_edge_litert.interpreter",),
    "onnxruntime": ("tf2onnx", "onnx", "onnxruntime"),
}

__all__ = ["BACKENDS", "BACKEND_PRECISIONS", "EXTRA", "MissingExtraError", "check_backend",
           "make_runner", "require_runtime"]


def require_runtime(backend):
    """Import what `backend` needs, or raise `MissingExtraError` (one line naming the extra):
    lets a command stop on a missing runtime before it reads any input."""
    for module in RUNTIME_MODULES.get(backend, ()):
        require(module, f"The {backend} backend")


def make_runner(model, backend, precision="float32", calibration=None):
    """A callable packed float32 [N, H, W, C] -> float32 output, for a non-TensorFlow backend.

    Args:
      model: a float32 `build_unet` model (its weights are converted).
      backend: "openvino", "litert" or "onnxruntime".
      precision: one of BACKEND_PRECISIONS[backend].
      calibration: packed [H, W, C] patches for int8; None: patches from the low-light
        simulator (Sony only; see `sid_tf2.backends.calibration`).
    """
    check_backend(backend, precision)
    if backend == "tensorflow":
        raise ValueError("the tensorflow backend runs in sid_tf2.inference.make_predictor")
    # pylint: disable=import-outside-toplevel
    # Imported here: this module is on sid-enhance's light path (--help, usage errors), and these
    # import TensorFlow (calibration, weights) or the optional runtimes (the *_backend modules).
    if precision in CALIBRATED and calibration is None:
        from sid_tf2.backends.calibration import calibration_patches  # TensorFlow: off --help
        from sid_tf2.weights import model_camera_name  # TensorFlow: off --help

        calibration = calibration_patches(model_camera_name(model))
    with runtime_output_hidden():
        return _converted_runner(model, backend, precision, calibration)


def _converted_runner(model, backend, precision, calibration):
    # pylint: disable=import-outside-toplevel
    # The optional runtimes are imported only for the backend asked for.
    if backend == "openvino":
        from sid_tf2.backends.openvino_backend import openvino_runner  # the optional runtime

        return openvino_runner(model, precision, calibration)
    if backend == "litert":
        from sid_tf2.backends.litert_backend import LiteRTRunner, to_tflite  # the optional runtime

        quantize = None if precision == "float32" else precision
        return LiteRTRunner(to_tflite(model, quantize=quantize, calibration=calibration))
    from sid_tf2.backends.onnx_backend import OnnxRuntimeRunner, to_onnx  # the optional runtime

    quantize = None if precision == "float32" else precision
    return OnnxRuntimeRunner(to_onnx(model, quantize=quantize, calibration=calibration))
