"""ONNX: converting the Keras model with tf2onnx, quantising it to int8, and running it in
ONNX Runtime.

tf2onnx turns the traced inference function into standard ONNX operators (Conv, ConvTranspose,
LeakyRelu, MaxPool, DepthToSpace in DCR mode, as TensorFlow's), so any ONNX runtime can run it.
int8 is static QDQ quantisation by ONNX Runtime's tools: per-channel int8 weights, uint8
activations with ranges from calibration inputs (the layout x86 VNNI kernels are built for).
"""

import os
import tempfile

from sid_tf2.backends.common import forward_function, representative_batches, thread_count
from sid_tf2.backends.optional import require
from sid_tf2.constants import BACKEND_PRECISIONS

OPSET = 17
QUANTIZATIONS = tuple(p for p in BACKEND_PRECISIONS["onnxruntime"] if p != "float32")


def to_onnx(model, input_size=None, quantize=None, calibration=None):
    """The model as ONNX bytes (float32, or int8 QDQ with `quantize="int8"` and calibration
    patches [H, W, C]); `input_size` (H, W) fixes the input, else sizes are dynamic."""
    if quantize not in (None, *QUANTIZATIONS):
        raise ValueError(f"unknown ONNX quantisation {quantize!r}: expected one of "
                         f"{QUANTIZATIONS}")
    tf2onnx = require("tf2onnx", "Exporting to ONNX")
    function = forward_function(model, input_size)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature,
                                             opset=OPSET)
    content = proto.SerializeToString()
    return quantize_int8(content, calibration) if quantize == "int8" else content


def quantize_int8(content, calibration):
    """Static int8 (QDQ) quantisation of float32 ONNX bytes, calibrated on `calibration`."""
    if not calibration:
        raise ValueError("int8 quantisation needs calibration inputs")
    quantization = require("onnxruntime.quantization", "int8 quantisation of an ONNX model")
    batches = representative_batches(calibration)

    class Reader(quantization.CalibrationDataReader):
        """Feeds the calibration batches once each."""

        def __init__(self, name):
            self._feeds = iter([{name: batch} for batch in batches])

        def get_next(self):
            return next(self._feeds, None)

    with tempfile.TemporaryDirectory(prefix="sid_onnx_int8_") as directory:
        source = os.path.join(directory, "float32.onnx")
        target = os.path.join(directory, "int8.onnx")
        with open(source, "wb") as stream:
            stream.write(content)
        input_name = _input_name(content)
        quantization.quantize_static(
            source, target, Reader(input_name), quant_format=quantization.QuantFormat.QDQ,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8, per_channel=True)
        with open(target, "rb") as stream:
            return stream.read()


def _input_name(content):
    onnx = require("onnx", "Reading an ONNX model")
    return onnx.load_from_string(content).graph.input[0].name


class OnnxRuntimeRunner:
    """Runs an ONNX model (bytes or a path) in ONNX Runtime's CPU provider on packed batches."""

    def __init__(self, content):
        ort = require("onnxruntime", "The ONNX Runtime backend")
        options = ort.SessionOptions()
        options.intra_op_num_threads = thread_count()
        source = os.fspath(content) if isinstance(content, (str, os.PathLike)) else bytes(content)
        self._session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, packed):
        return self._session.run(None, {self._input: packed})[0]
