"""sid-tf2: Learning to See in the Dark (CVPR 2018) on TensorFlow 2 and Keras 3.

The names below are loaded on first use (PEP 562 module ``__getattr__``): ``import sid_tf2`` and
the command lines' flag modules stay free of TensorFlow, so ``--help`` answers at once, and the
network's modules are imported only by whoever builds or loads a network.
"""

from sid_tf2.lazy import lazy_attributes

_LAZY = {
    "CAMERAS": "sid_tf2.constants",
    "PRECISIONS": "sid_tf2.constants",
    "Camera": "sid_tf2.constants",
    "DepthToSpace": "sid_tf2.layers",
    "UpsampleAndConcat": "sid_tf2.layers",
    "build_unet": "sid_tf2.model",
    "get_camera": "sid_tf2.constants",
    "lrelu": "sid_tf2.layers",
    # sid_tf2.inference.make_predictor, taking also purpose= and tune= (the tuner's settings)
    "make_predictor": "sid_tf2.tuning:predictor_for_purpose",
}

__all__ = sorted(_LAZY)
__version__ = "0.1.0"
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
