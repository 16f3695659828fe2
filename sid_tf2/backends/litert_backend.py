"""LiteRT (TensorFlow Lite): converting the Keras model to a .tflite flatbuffer, and running one.

The converter is TensorFlow's own (`tf.lite.TFLiteConverter`), fed a SavedModel that Keras
exports: converting a concrete function of the Keras 3 model directly leaves its variables out
of the flatbuffer (a 35 KB file that computes NaN). The runtime is the `ai-edge-litert` package (the successor of
`tf.lite.Interpreter`, which TensorFlow deprecates), with its default XNNPACK CPU delegate.

Quantisations (`QUANTIZATIONS`):
  float16       weights stored as float16 (half the file); XNNPACK computes in float32
  dynamic_int8  int8 weights, activations quantised on the fly per tensor
  int8          int8 weights and activations, ranges calibrated on representative inputs;
                float32 input and output, so callers see no difference
"""

import os
import tempfile

import tensorflow as tf

from sid_tf2.backends.common import input_signature, representative_batches, thread_count
from sid_tf2.backends.optional import require
from sid_tf2.backends.quiet import runtime_output_hidden
from sid_tf2.constants import BACKEND_PRECISIONS

QUANTIZATIONS = tuple(p for p in BACKEND_PRECISIONS["litert"] if p != "float32")


def to_tflite(model, input_size=None, quantize=None, calibration=None):
    """The model as .tflite bytes.

    Args:
      model: a `build_unet` float32 model.
      input_size: (H, W) packed input size to fix, or None for dynamic sizes.
      quantize: None (float32) or one of QUANTIZATIONS.
      calibration: packed [H, W, C] patches; required for "int8".
    """
    if quantize not in (None, *QUANTIZATIONS):
        raise ValueError(f"unknown LiteRT quantisation {quantize!r}: expected one of "
                         f"{QUANTIZATIONS}")
    if quantize == "int8" and not calibration:
        raise ValueError("int8 quantisation needs calibration inputs")
    with tempfile.TemporaryDirectory(prefix="sid_litert_") as directory:
        saved = os.path.join(directory, "saved_model")
        model.export(saved, format="tf_saved_model", verbose=False,
                     input_signature=[input_signature(model, input_size)])
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "int8":
            batches = representative_batches(calibration)
            converter.representative_dataset = lambda: ([batch] for batch in batches)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return converter.convert()


class LiteRTRunner:
    """Runs a .tflite model (bytes or a path) on packed float32 batches.

    A model exported with dynamic sizes is resized to each new input shape (tiles of one size
    reuse the allocation); a fixed-size export accepts only its own size.
    """

    def __init__(self, content):
        interpreter_module = require("ai_edge_litert.interpreter", "The LiteRT backend")
        source = ({"model_path": os.fspath(content)} if isinstance(content, (str, os.PathLike))
                  else {"model_content": bytes(content)})
        self._interpreter = interpreter_module.Interpreter(num_threads=thread_count(), **source)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._shape = None

    def __call__(self, packed):
        if packed.shape != self._shape:
            signature = self._input["shape_signature"]
            fixed = [size for size, wanted in zip(packed.shape, signature) if wanted != -1]
            if len(packed.shape) != len(signature) or fixed != [s for s in signature if s != -1]:
                raise ValueError(f"this LiteRT model takes inputs of shape {list(signature)} "
                                 f"(-1: any), got {list(packed.shape)}")
            self._interpreter.resize_tensor_input(self._input["index"], packed.shape)
            with runtime_output_hidden():  # the XNNPACK delegate announces itself on stderr here
                self._interpreter.allocate_tensors()
            self._shape = packed.shape
        self._interpreter.set_tensor(self._input["index"], packed)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"])
