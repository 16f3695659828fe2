"""sid-tf2: Learning to See in the Dark (CVPR 2018) on TensorFlow 2 and Keras 3."""

from sid_tf2.layers import DepthToSpace, UpsampleAndConcat, lrelu
from sid_tf2.model import CAMERAS, PRECISIONS, Camera, build_unet, get_camera
from sid_tf2.inference import make_predictor

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
__version__ = "0.1.0"
