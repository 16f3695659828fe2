"""Full-resolution inference: whole images, or overlapping tiles in a fixed memory budget.

A packed Sony frame is 1424 x 2128 x 4; the network's first activations at that size are about
390 MB each, and whole-image inference peaks at several GB. Tiling runs the network on
overlapping tiles of at most `tile_size` packed pixels a side, fitted to the image so that as
little as possible is computed twice, and blends them with linear ramps across the overlaps. Tile
origins are multiples of 16, the network's total down-sampling, so every tile sees the same
pooling grid as the whole image and differs from it only through the missing context at its
edges, which the overlap hides.

The network itself runs in TensorFlow or in a deployment runtime (OpenVINO, LiteRT, ONNX
Runtime; `sid_tf2.backends`); tiling is the same for all of them.
"""

import dataclasses
import warnings

import numpy as np
import tensorflow as tf

from sid_tf2.backends import make_runner
from sid_tf2.constants import ALIGNMENT, DEFAULT_TILE_OVERLAP, camera_for_channels
from sid_tf2.frozen_graph import FrozenGraphRunner
from sid_tf2.hardware import gpu_names
from sid_tf2.model import build_unet
from sid_tf2.speed_settings import TENSORFLOW, SpeedSettings, Variant, check_backend
from sid_tf2.winograd import prepare_winograd


def _snapshot(model, variant):
    """A copy of `model` computing as `variant`, holding the weights `model` has now: every
    predictor computes with the weights it was made with, whatever happens to `model` later
    (the same as the deployment runtimes, which convert the weights at creation). Winograd
    kernels transformed."""
    camera = camera_for_channels(model.input_shape[-1]).name
    copy = build_unet(camera, variant.precision, low_precision_from=variant.low_precision_from,
                      winograd_levels=variant.winograd_levels)
    copy.set_weights(model.get_weights())
    prepare_winograd(copy)
    return copy


def tile_spans(size, tile, overlap):
    """(start, end) of the tiles covering [0, size) along one axis.

    As few tiles as cover `size` with at most `tile` samples each and neighbours sharing at
    least `overlap`, all of one length: the shortest multiple of 16 that covers `size` with
    that many tiles. A 1424-sample axis with tile 512 / overlap 128 takes 4 tiles of 464, not
    4 of 512, so less is computed twice, and every tile has the same shape, so XLA compiles
    once. Starts are multiples of 16, spread evenly; the last tile runs to the border (up to
    15 samples longer when `size` is not a multiple of 16) so that it sees the image's own
    bottom/right edge exactly as the whole image does.
    """
    covered = size // ALIGNMENT * ALIGNMENT  # the last tile's 0-15 extra samples cover the rest
    if covered <= tile:
        return [(0, size)]
    count = -(-(covered - overlap) // (tile - overlap))
    length = -(-(covered + (count - 1) * overlap) // count)
    length = -(-length // ALIGNMENT) * ALIGNMENT  # <= tile, since tile is a multiple of 16
    last = covered - length
    step, extra = divmod(last // ALIGNMENT, count - 1)  # gaps of step or step + 1 units of 16
    starts = [0]
    for gap in range(count - 1):
        starts.append(starts[-1] + (step + (gap < extra)) * ALIGNMENT)
    return [(start, start + length) for start in starts[:-1]] + [(last, size)]


def _fade_in(overlap):
    """Weights of the tile that starts inside an overlap of `overlap` samples.

    A tile's outputs are least like the whole image's within a few dozen samples of its edges,
    where its zero padding replaces real context. Across an overlap each tile therefore gives
    nothing to its outer 3/8, hands over linearly in the middle 1/4 and keeps weight 1 on its
    inner 3/8; the neighbour's weights are the mirror image, so the pair adds up to 1 and no
    edge sample of either tile is used.
    """
    ramp = max(overlap // 4, 1)
    margin = (overlap - ramp) // 2
    return np.concatenate([
        np.zeros(margin, np.float32),
        np.linspace(0.0, 1.0, ramp + 2, dtype=np.float32)[1:-1],
        np.ones(overlap - margin - ramp, np.float32),
    ])


def _blend_weights(length, overlap_before, overlap_after):
    """Per-sample weights of a tile along one axis, given how much it shares with each
    neighbour (0 at the image border: no neighbour, no fade)."""
    weights = np.ones(length, np.float32)
    if overlap_before:
        weights[:overlap_before] = _fade_in(overlap_before)
    if overlap_after:
        weights[-overlap_after:] = np.minimum(weights[-overlap_after:], _fade_in(overlap_after)[::-1])
    return weights


def _axis_weights(spans, block):
    """((start, end), (out_start, out_end, weights)) per tile along one axis: its packed span,
    and its span and blend weights in output samples (`block` per packed sample)."""
    result = []
    for index, (start, end) in enumerate(spans):
        before = spans[index - 1][1] - start if index else 0
        after = end - spans[index + 1][0] if index + 1 < len(spans) else 0
        weights = _blend_weights(block * (end - start), block * before, block * after)
        result.append(((start, end), (block * start, block * end, weights)))
    return result


def _weight_sum(axis_weights, length):
    """The sum of the tiles' weights at each output sample along one axis."""
    total = np.zeros(length, np.float32)
    for _, (start, end, weights) in axis_weights:
        total[start:end] += weights
    return total


def _check_tiles(tile_size, tile_overlap):
    """Raise ValueError for a tile size or overlap the tiling cannot use."""
    if tile_size is not None:
        if tile_size % ALIGNMENT or tile_size <= 0:
            raise ValueError(f"tile_size must be a positive multiple of {ALIGNMENT}, got {tile_size}.")
        if not 0 <= 2 * tile_overlap <= tile_size or tile_overlap % ALIGNMENT:
            raise ValueError(
                f"tile_overlap must be a multiple of {ALIGNMENT} of at most half tile_size "
                f"({tile_size}), got {tile_overlap}."
            )


class Predictor:
    """Callable: packed float32 [N, H, W, C] -> float32 output [N, bH, bW, 3].

    `run` computes the network on one packed batch (any backend); the predictor adds tiling.
    `settings`: the TensorFlow backend's `SpeedSettings`, and `model` the Keras model it runs
    (None for the other runtimes).
    """

    def __init__(self, run, *, block, tile_size=None, tile_overlap=DEFAULT_TILE_OVERLAP,
                 settings=None, model=None):
        self._run = run
        self.block = block
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.settings = settings
        self.model = model
        _check_tiles(tile_size, tile_overlap)

    @property
    def note(self):
        """How a converted model was made (e.g. which layers int8 kept float), or ""."""
        return getattr(self._run, "note", "")

    def __call__(self, packed):
        packed = np.asarray(packed, np.float32)
        if packed.ndim != 4:
            raise ValueError(f"expected a packed batch [N, H, W, C], got shape {packed.shape}.")
        if self.tile_size is None or max(packed.shape[1:3]) < self.tile_size + ALIGNMENT:
            return np.asarray(self._run(packed), np.float32)
        return self._tiled(packed)

    def _tiled(self, packed):
        n, height, width, _ = packed.shape
        b = self.block
        rows = _axis_weights(tile_spans(height, self.tile_size, self.tile_overlap), b)
        cols = _axis_weights(tile_spans(width, self.tile_size, self.tile_overlap), b)
        output = np.zeros((n, b * height, b * width, 3), np.float32)
        for (y0, y1), (oy0, oy1, wy) in rows:
            for (x0, x1), (ox0, ox1, wx) in cols:
                weight = (wy[:, None] * wx[None, :])[None, :, :, None]
                result = np.asarray(self._run(np.ascontiguousarray(packed[:, y0:y1, x0:x1])),
                                    np.float32)
                output[:, oy0:oy1, ox0:ox1] += result * weight
        # The tiles form a grid, so the weights' sum is separable: normalise by its row and
        # column factors in place (they are 1 up to rounding) instead of a full-size total.
        output /= _weight_sum(rows, b * height)[None, :, None, None]
        output /= _weight_sum(cols, b * width)[None, None, :, None]
        return output


def _tensorflow_run(model, settings, whole_images):
    """(callable from a NumPy batch to a NumPy output, the model it runs): a snapshot of the
    model as `settings` ask. Whole float32 images on a CPU without XLA run its graph frozen in a
    session (`sid_tf2.frozen_graph`: measured faster there, beyond noise); the rest a
    tf.function (one trace for every input size)."""
    model = _snapshot(model, settings.variant)
    if (whole_images and settings.variant == Variant() and not settings.jit_compile
            and not gpu_names()):
        return FrozenGraphRunner(model), model
    signature = [tf.TensorSpec([None, None, None, model.input_shape[-1]], tf.float32)]
    function = tf.function(lambda x: model(x, training=False), input_signature=signature,
                           jit_compile=settings.jit_compile)
    return (lambda packed: function(packed).numpy()), model


DEPRECATED_OPTIONS = ("settings", "low_precision_from", "winograd_levels")


def settings_asked(precision=None, backend=TENSORFLOW, jit_compile=None):
    """The `SpeedSettings` that `make_predictor`'s precision, backend and jit_compile ask for."""
    if isinstance(precision, SpeedSettings):
        settings = precision
        if backend not in (TENSORFLOW, settings.backend):
            raise ValueError(f"backend={backend!r} contradicts the settings' {settings.name!r}")
    else:
        name = precision or "float32"
        if not set(name) & set("@+:"):  # a plain precision of the backend
            check_backend(backend, name)
            name = name if backend == TENSORFLOW else f"{backend}:{name}"
        elif backend != TENSORFLOW:
            raise ValueError(f"a settings label carries its backend: pass {name!r} without backend={backend!r}")
        settings = SpeedSettings.from_name(name)
    if jit_compile:
        if settings.backend != TENSORFLOW:
            raise ValueError(f"jit_compile is TensorFlow's; the {settings.backend} backend compiles by itself")
        settings = dataclasses.replace(settings, jit_compile=True)
    return settings


def _deprecated_options(precision, options):
    """`precision` with the options make_predictor took before `precision` took labels:
    settings=, low_precision_from= and winograd_levels= (one release of grace)."""
    unknown = set(options) - set(DEPRECATED_OPTIONS)
    if unknown:
        raise TypeError(f"make_predictor() got unexpected keyword arguments {sorted(unknown)}")
    warnings.warn(f"make_predictor({', '.join(sorted(options))}=...) is deprecated and goes in the next "
                  "release: pass precision= a SpeedSettings or a label such as 'mixed_bfloat16@3' or "
                  "'float32+winograd4-5'", DeprecationWarning, stacklevel=3)
    if options.get("settings") is not None:
        return options["settings"]
    variant = {name: options[name] for name in ("low_precision_from", "winograd_levels") if name in options}
    return SpeedSettings.tensorflow(precision or "float32", reason="as asked", **variant) if variant else precision


def make_predictor(model, precision=None, *, backend=TENSORFLOW, jit_compile=None, tile_size=None,
                   tile_overlap=DEFAULT_TILE_OVERLAP, calibration=None, **deprecated):
    """A callable from a packed float32 `[N, H, W, C]` array to the float32 output image.

    Args:
      model: a `build_unet` model (any variant; its weights are used).
      precision: how the network computes, in one of three forms: a precision of `backend`
        (`constants.BACKEND_PRECISIONS`; default "float32": TensorFlow also "mixed_bfloat16"
        and "mixed_float16", the other runtimes their own, e.g. "int8"); a settings label
        ("mixed_bfloat16@3", "float32+xla+winograd4-5", "openvino:int8"; `SpeedSettings.name`);
        or a `sid_tf2.speed_settings.SpeedSettings`, as the tuner chooses them.
      backend: "tensorflow", or a deployment runtime for a plain precision ("openvino",
        "litert", "onnxruntime": the model is converted for it in memory; see
        `sid_tf2.backends`, which needs the `export` extra).
      jit_compile: compile with XLA (one compilation per input size); TensorFlow only.
      tile_size: None for whole-image inference, else the largest tile side in packed pixels
        (a multiple of 16): a memory budget. Tiles are fitted to the image (`tile_spans`).
      tile_overlap: packed pixels at least shared by neighbouring tiles and blended linearly
        (a multiple of 16, at most half of tile_size).
      calibration: packed [H, W, C] patches for int8 precisions (default: simulated ones).

    The predictor computes with the model's weights as they are when it is made, whatever the
    backend or settings: changing the model's weights later does not change its output.
    Settings chosen for a purpose (`purpose="enhance"`) are the tuner's: `sid_tf2.make_predictor`
    (`sid_tf2.tuning.predictor_for_purpose`) resolves them, then calls this.
    """
    if deprecated:
        precision = _deprecated_options(precision, deprecated)
    block = camera_for_channels(model.input_shape[-1]).block_size
    _check_tiles(tile_size, tile_overlap)  # before a conversion that may take seconds
    settings = settings_asked(precision, backend, jit_compile)
    if settings.backend != TENSORFLOW:
        run = make_runner(_snapshot(model, Variant()), settings.backend, settings.precision, calibration)
        return Predictor(run, block=block, tile_size=tile_size, tile_overlap=tile_overlap)
    run, variant_model = _tensorflow_run(model, settings, whole_images=tile_size is None)
    return Predictor(run, block=block, tile_size=tile_size, tile_overlap=tile_overlap,
                     settings=settings, model=variant_model)
