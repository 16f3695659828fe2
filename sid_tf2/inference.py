"""Full-resolution inference: whole images, or overlapping tiles in a fixed memory budget.

A packed Sony frame is 1424 x 2128 x 4; the network's first activations at that size are about
390 MB each, and whole-image inference peaks at several GB. Tiling runs the network on
overlapping `tile_size` squares and blends them with linear ramps across the overlaps. Tile
origins are multiples of 16, the network's total down-sampling, so every tile sees the same
pooling grid as the whole image and differs from it only through the missing context at its
edges, which the overlap hides.
"""

import numpy as np
import tensorflow as tf

from sid_tf2.model import build_unet, get_camera
from sid_tf2.training.step import model_precision

ALIGNMENT = 16  # 2^4 max-pools
DEFAULT_TILE_OVERLAP = 128


def _model_camera(model):
    channels = model.input_shape[-1]
    return next(name for name in ("sony", "fuji") if get_camera(name).in_channels == channels)


def _with_precision(model, precision):
    """The model itself, or a copy computing in `precision` with the same weights."""
    if model_precision(model) == precision:
        return model
    copy = build_unet(_model_camera(model), precision)
    copy.set_weights(model.get_weights())
    return copy


def _tile_spans(size, tile, overlap):
    """(start, end) of tiles covering [0, size): aligned starts, neighbours sharing at least
    `overlap` samples, and the last tile running to the border (up to 15 samples longer than
    `tile`), so that it sees the image's own bottom/right edge exactly as the whole image does."""
    if size <= tile:
        return [(0, size)]
    last = (size - tile) // ALIGNMENT * ALIGNMENT
    starts = list(range(0, last, tile - overlap))
    return [(start, start + tile) for start in starts] + [(last, size)]


def _blend_weights(length, fade_start, fade_end, overlap):
    """Per-sample weights of a tile along one axis.

    A tile's outputs are least like the whole image's within a few dozen samples of its edges,
    where its zero padding replaces real context. Across an overlap each tile therefore keeps
    weight 1 on its inner 3/8, hands over linearly in the middle 1/4, and gives nothing to its
    outer 3/8: the pair's weights add up to 1 and no edge sample of either tile is used. At the
    image border there is no neighbour and no fade.
    """
    ramp = max(overlap // 4, 1)
    margin = (overlap - ramp) // 2
    profile = np.concatenate([
        np.zeros(margin, np.float32),
        np.linspace(0.0, 1.0, ramp + 2, dtype=np.float32)[1:-1],
        np.ones(overlap - margin - ramp, np.float32),
    ])
    weights = np.ones(length, np.float32)
    if overlap and fade_start:
        weights[:overlap] = profile
    if overlap and fade_end:
        weights[-overlap:] = np.minimum(weights[-overlap:], profile[::-1])
    return weights


class Predictor:
    """Callable: packed float32 [N, H, W, C] -> float32 output [N, bH, bW, 3]."""

    def __init__(self, model, *, precision="float32", jit_compile=False, tile_size=None,
                 tile_overlap=DEFAULT_TILE_OVERLAP):
        self.model = _with_precision(model, precision)
        self.block = get_camera(_model_camera(self.model)).block_size
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        if tile_size is not None:
            if tile_size % ALIGNMENT or tile_size <= 0:
                raise ValueError(f"tile_size must be a positive multiple of {ALIGNMENT}, got {tile_size}.")
            if not 0 <= tile_overlap < tile_size or tile_overlap % ALIGNMENT:
                raise ValueError(
                    f"tile_overlap must be a multiple of {ALIGNMENT} below tile_size, got {tile_overlap}."
                )
        signature = [tf.TensorSpec([None, None, None, self.model.input_shape[-1]], tf.float32)]
        self._run = tf.function(
            lambda x: self.model(x, training=False), input_signature=signature,
            jit_compile=jit_compile,
        )

    def __call__(self, packed):
        packed = np.asarray(packed, np.float32)
        if packed.ndim != 4:
            raise ValueError(f"expected a packed batch [N, H, W, C], got shape {packed.shape}.")
        if self.tile_size is None or max(packed.shape[1:3]) <= self.tile_size + ALIGNMENT:
            return self._run(packed).numpy()
        return self._tiled(packed)

    def _tiled(self, packed):
        n, height, width, _ = packed.shape
        b, overlap = self.block, self.tile_overlap
        output = np.zeros((n, b * height, b * width, 3), np.float32)
        total = np.zeros((1, b * height, b * width, 1), np.float32)
        for y0, y1 in _tile_spans(height, self.tile_size, overlap):
            wy = _blend_weights(b * (y1 - y0), y0 > 0, y1 < height, b * overlap)
            for x0, x1 in _tile_spans(width, self.tile_size, overlap):
                wx = _blend_weights(b * (x1 - x0), x0 > 0, x1 < width, b * overlap)
                weight = (wy[:, None] * wx[None, :])[None, :, :, None]
                result = self._run(packed[:, y0:y1, x0:x1]).numpy()
                output[:, b * y0:b * y1, b * x0:b * x1] += result * weight
                total[:, b * y0:b * y1, b * x0:b * x1] += weight
        return output / total


def make_predictor(model, *, precision="float32", jit_compile=False, tile_size=None,
                   tile_overlap=DEFAULT_TILE_OVERLAP):
    """A callable from a packed float32 `[N, H, W, C]` array to the float32 output image.

    Args:
      model: a `build_unet` model (any precision; its weights are used).
      precision: "float32" (faithful), "mixed_bfloat16" or "mixed_float16".
      jit_compile: compile with XLA (one compilation per input size).
      tile_size: None for whole-image inference, else the side of square tiles in packed
        pixels (a multiple of 16) for a fixed memory budget.
      tile_overlap: packed pixels shared by neighbouring tiles and blended linearly.
    """
    return Predictor(model, precision=precision, jit_compile=jit_compile, tile_size=tile_size,
                     tile_overlap=tile_overlap)
