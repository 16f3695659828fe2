"""sid-tf2: Learning to See in the Dark (CVPR 2018) on TensorFlow 2 and Keras 3."""

from sid_tf2.layers import DepthToSpace, UpsampleAndConcat, lrelu
from sid_tf2.model import CAMERAS, PRECISIONS, Camera, build_unet, get_camera

__all__ = [
    "CAMERAS",
    "PRECISIONS",
    "Camera",
    "DepthToSpace",
    "UpsampleAndConcat",
    "build_unet",
    "get_camera",
    "lrelu",
    "make_predictor",
]


def __getattr__(name):
    """`sid_tf2.make_predictor`, imported on first use: inference pulls in the training step
    and the backends, which importing the network alone should not."""
    if name == "make_predictor":
        from sid_tf2.inference import make_predictor

        return make_predictor
    raise AttributeError(f"module 'sid_tf2' has no attribute {name!r}")
__version__ = "0.1.0"
