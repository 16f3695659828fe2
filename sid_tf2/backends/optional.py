"""Importing a deployment runtime that may not be installed.

The runtimes (LiteRT, ONNX Runtime, OpenVINO) and the ONNX converter are optional: they live in
the `export` extra of setup.py, so that training and TensorFlow inference do not pull in a few
hundred MB of other frameworks. Each is imported where it is first needed, and a missing one
raises `MissingExtraError` with one line that says what to install, instead of a traceback that
ends in some third-party import.
"""

import importlib

EXTRA = "export"
INSTALL_HINT = f'pip install "sid-tf2[{EXTRA}]"'

# Import name -> the PyPI distribution that provides it.
DISTRIBUTIONS = {
    "ai_edge_litert": "ai-edge-litert",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "openvino": "openvino",
    "tf2onnx": "tf2onnx",
}


class MissingExtraError(ImportError):
    """An optional runtime is not installed; the message is one line naming the extra."""


def require(module, purpose):
    """Import `module` (a dotted name) for `purpose`, or raise `MissingExtraError`."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = DISTRIBUTIONS.get(top, top)
        raise MissingExtraError(
            f"{purpose} needs the optional package {package}, which is not installed "
            f"({error.name or top} cannot be imported): {INSTALL_HINT}"
        ) from None
