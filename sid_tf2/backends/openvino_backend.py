"""OpenVINO: compiling the model for the CPU with a pinned inference precision, and running it.

OpenVINO's CPU plugin chooses its own compute precision unless told: on a CPU with AVX512-BF16
or AMX it silently runs a float32 model in bfloat16 (about 59 dB against float32 on this
network, not the float32 the caller asked for). So every compiled model here sets the
INFERENCE_PRECISION_HINT explicitly and checks that the plugin reports it back.

Precisions (`PRECISIONS`):
  float32   the float32 graph, computed in f32
  bfloat16  the float32 graph, computed in bf16 (only on CPUs with native bf16 arithmetic)
  int8      the model quantised by NNCF (`sid_tf2.backends.openvino_int8`): its int8
            convolutions run as int8, the layers it keeps float in f32
"""

import os
import tempfile

import numpy as np

from sid_tf2.backends.common import forward_function, thread_count
from sid_tf2.backends.openvino_int8 import quantize_openvino
from sid_tf2.backends.optional import require
from sid_tf2.constants import BACKEND_PRECISIONS

PRECISIONS = BACKEND_PRECISIONS["openvino"]
_HINTS = {"float32": "f32", "bfloat16": "bf16", "int8": "f32"}


def openvino_runner(model, precision="float32", calibration=None):
    """An `OpenVINORunner` of `model` (dynamic input sizes) for `precision`; int8 is quantised
    on `calibration` (packed [H, W, C] inputs), and its runner's `note` says what stayed float."""
    ov = require("openvino", "The OpenVINO backend")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown OpenVINO precision {precision!r}: expected one of "
                         f"{PRECISIONS}")
    if precision != "int8":
        return OpenVINORunner(ov.convert_model(forward_function(model)), precision)
    int8 = quantize_openvino(model, calibration)
    return OpenVINORunner(int8.model, precision, note=f"NNCF int8, {int8.why}")


def openvino_ir(model, input_size=None, quantize=None, calibration=None):
    """The model as OpenVINO IR, {".xml": bytes, ".bin": bytes}: float32 weights (not the
    float16 OpenVINO stores by default), or int8 quantised by NNCF with `quantize="int8"` on
    `calibration`; `input_size` (H, W) fixes the input, else sizes are dynamic."""
    ov = require("openvino", "Exporting to OpenVINO IR")
    if quantize not in (None, "int8"):
        raise ValueError(f"unknown OpenVINO IR quantisation {quantize!r}: expected int8")
    if quantize == "int8":
        ov_model = quantize_openvino(model, calibration).model
        if input_size:
            ov_model.reshape([1, *input_size, model.input_shape[-1]])
    else:
        ov_model = ov.convert_model(forward_function(model, input_size))
    with tempfile.TemporaryDirectory(prefix="sid_openvino_") as directory:
        path = os.path.join(directory, "model.xml")
        ov.save_model(ov_model, path, compress_to_fp16=False)
        files = {}
        for suffix in (".xml", ".bin"):
            with open(os.path.splitext(path)[0] + suffix, "rb") as stream:
                files[suffix] = stream.read()
    return files


class OpenVINORunner:
    """Runs an OpenVINO model (an `openvino.Model`, or a path to an .onnx or .xml file) on the
    CPU on packed batches, computing in `precision`'s element type (pinned and checked);
    `note` says how the model was made, for the run's first line.

    The model is compiled for each input shape it meets (a few: a whole frame, or the tiles'
    sizes), since a statically shaped network gets OpenVINO's planned memory and fastest
    kernels, where the dynamic one re-plans on every call.
    """

    MAX_SHAPES = 4  # compiled shapes kept: tiles come in at most four sizes

    def __init__(self, source, precision="float32", note="", weights=None):
        self._ov = require("openvino", "The OpenVINO backend")
        if precision not in PRECISIONS:
            raise ValueError(f"unknown OpenVINO precision {precision!r}: expected one of "
                             f"{PRECISIONS}")
        self._core = self._ov.Core()
        if isinstance(source, (str, os.PathLike)):  # an IR's weights beside it, or at `weights`
            source = self._core.read_model(os.fspath(source), *([os.fspath(weights)] if weights else []))
        self._model = source
        self._hint = _HINTS[precision]
        self._requests = {}
        self.note = note

    def _request(self, shape):
        request = self._requests.get(shape)
        if request is None:
            if len(self._requests) >= self.MAX_SHAPES:
                self._requests.pop(next(iter(self._requests)))
            model = self._model.clone()
            model.reshape(list(shape))
            compiled = self._core.compile_model(model, "CPU", {
                "INFERENCE_PRECISION_HINT": self._hint,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_NUM_THREADS": thread_count(),
            })
            used = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
            if used != self._hint:
                raise RuntimeError(f"OpenVINO computes in {used} although {self._hint} was "
                                   "asked for (this CPU may not support it)")
            request = self._requests[shape] = compiled.create_infer_request()
        return request

    def __call__(self, packed):
        # OpenVINO writes into an array the caller then owns: no copy of a 145 MB frame, and no
        # result that the next call would overwrite.
        request = self._request(packed.shape)
        output = np.empty(tuple(request.model_outputs[0].get_shape()), np.float32)
        request.set_output_tensor(0, self._ov.Tensor(output, shared_memory=True))
        request.infer({0: packed})
        return output
