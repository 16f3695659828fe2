"""Names and numbers the command lines need for their flags, in a module without TensorFlow.

Defining a flag needs its choices and default; keeping them here lets every script print
``--help`` (and reject a bad flag) without loading TensorFlow and Keras first.
"""

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
"""Compute precisions of the network: Keras dtype policies."""

ALIGNMENT = 16
"""The network's total down-sampling (2^4 max-pools): tile origins and sizes are multiples."""

DEFAULT_TILE_OVERLAP = 128
"""Packed pixels shared by neighbouring tiles in tiled inference."""
