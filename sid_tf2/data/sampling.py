"""The original's training sampling as pure functions of (seed, epoch, element index).

Every random choice of an epoch comes from NumPy Generators seeded with the numbers that
identify it, never from shared state:

* the order in which the epoch visits the scenes: `epoch_order(n, seed, epoch)`;
* for the element at position `index` of that order, `draw_sample(...)`: which short exposure,
  the crop's corner (y, x), and the row flip, column flip and transpose (probability 0.5 each).

So an epoch is the same however many threads build it and whichever epoch a run resumed at.
`load_train_example` turns a draw into arrays, reading only the crop from the memory-mapped
cache; `load_eval_example` gives the full image for validation and testing.

Crops follow the original's `randint(0, W - p)`: the corner is uniform over y in [0, H - p) and
x in [0, W - p), for Bayer and X-Trans alike (a patch exactly as large as the image, which the
original could not train on, takes the corner 0). The ground-truth crop starts at the block
size times the corner (2 for Bayer, 3 for X-Trans). An X-Trans crop is packed from the 6x6
blocks that cover it and then cut, so it equals the same crop of the whole packed image at any
corner, odd or even.

Augmentations, as ORIGINAL.md states them: flip rows, flip columns, transpose H and W. The code
released with the published model flipped axis 0 of its [1, H, W, C] patches for the column
flip, the batch axis, so that flip did nothing; its authors changed it to axis 2 on 2018-10-08.
`column_flips=False` reproduces the release (the bit is still drawn, so every other choice stays
the same).
"""

import dataclasses

import numpy as np

from sid_tf2 import raw as rawlib
from sid_tf2.data.discovery import DatasetError

CAMERA_CHANNELS = {"sony": 4, "fuji": 9}
CAMERA_BLOCK = {"sony": 2, "fuji": 3}
XTRANS_BLOCK = 6
# Distinct leading words keep the order's and the elements' seed sequences apart.
_ORDER_STREAM = 1
_SAMPLE_STREAM = 2


@dataclasses.dataclass(frozen=True)
class Draw:
    """The random choices of one training element."""

    input_index: int  # which of the scene's inputs
    y: int  # crop corner in the packed input
    x: int
    flip_rows: bool
    flip_cols: bool
    transpose: bool


def check_camera(camera):
    camera = str(camera).lower()
    if camera not in CAMERA_CHANNELS:
        raise ValueError(f"Unknown camera {camera!r}: expected 'sony' (Bayer) or 'fuji' (X-Trans).")
    return camera


def _check_seed(name, value):
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}.")
    return value


def epoch_order(num_scenes, seed, epoch):
    """The order in which epoch `epoch` visits scenes 0..num_scenes-1 (a permutation)."""
    rng = np.random.default_rng([_ORDER_STREAM, _check_seed("seed", seed), _check_seed("epoch", epoch)])
    return rng.permutation(int(num_scenes))


def packed_shape(mosaic_shape, camera):
    """(H, W) of the packed input of a mosaic of `mosaic_shape` (Bayer /2; X-Trans to x6, /3)."""
    height, width = int(mosaic_shape[0]), int(mosaic_shape[1])
    if check_camera(camera) == "sony":
        return height // 2, width // 2
    return height // XTRANS_BLOCK * 2, width // XTRANS_BLOCK * 2


def size_mismatch(mosaic_shape, gt_shape, camera):
    """None when a ground truth of `gt_shape` goes with an input mosaic of `mosaic_shape`: the
    packed input times the block size (2 Bayer, 3 X-Trans) equals the ground truth's size (for
    X-Trans, the ground truth cropped to multiples of 6 like the mosaic). Else what is wrong."""
    height, width = packed_shape(mosaic_shape, camera)
    block = CAMERA_BLOCK[camera]
    gt_height, gt_width = int(gt_shape[0]), int(gt_shape[1])
    if camera == "fuji":
        gt_height, gt_width = gt_height // XTRANS_BLOCK * XTRANS_BLOCK, gt_width // XTRANS_BLOCK * XTRANS_BLOCK
    if (gt_height, gt_width) == (block * height, block * width):
        return None
    return (f"packed input {height}x{width} times {block} does not match the ground truth's "
            f"{int(gt_shape[0])}x{int(gt_shape[1])}")


def draw_sample(seed, epoch, index, packed_shapes, patch_size, camera="sony", column_flips=True):
    """The random choices of element `index` of epoch `epoch`.

    One Generator seeded with (seed, epoch, index) draws, in this order: the input (uniform over
    the scene's inputs), y in [0, H - p), x in [0, W - p), then the row flip, column flip and
    transpose (one bit each).

    Args:
      packed_shapes: the packed (H, W) of each input of the element's scene, in scene order.
      patch_size: the crop's side in the packed input.
      column_flips: False reproduces the released code, whose column flip did nothing.
    """
    camera = check_camera(camera)
    rng = np.random.default_rng(
        [_SAMPLE_STREAM, _check_seed("seed", seed), _check_seed("epoch", epoch), _check_seed("index", index)]
    )
    input_index = int(rng.integers(len(packed_shapes)))
    height, width = packed_shapes[input_index]
    p = int(patch_size)
    if height < p or width < p:
        raise DatasetError(f"packed input {height}x{width} is smaller than the patch {p}x{p}.")
    y = int(rng.integers(0, max(height - p, 1)))
    x = int(rng.integers(0, max(width - p, 1)))
    flip_rows, flip_cols, transpose = (bool(bit) for bit in rng.integers(0, 2, size=3))
    return Draw(input_index, y, x, flip_rows, flip_cols and column_flips, transpose)


def augment(image, draw, dtype=None):
    """Apply a draw's row flip, column flip and transpose (in that order) to an H x W x C image.

    Returns a C-contiguous array (of `dtype` when given), made in one copy from the views.
    """
    if draw.flip_rows:
        image = image[::-1]
    if draw.flip_cols:
        image = image[:, ::-1]
    if draw.transpose:
        image = image.transpose(1, 0, 2)
    return np.ascontiguousarray(image, dtype=dtype)


def pack_mosaic(mosaic, entry):
    """Pack a (cropped) uint16 mosaic with the original's formula and the entry's levels."""
    mosaic = np.asarray(mosaic)
    if entry.camera == "sony":
        return rawlib.pack_bayer(mosaic, list(entry.black_level), entry.white_level, pattern=entry.cfa)
    return rawlib.pack_xtrans(mosaic)  # always the original's Fuji levels


def packed_input_crop(entry, y, x, patch_size):
    """Packed input [y:y+p, x:x+p] read from the cached mosaic, without the ratio."""
    p = int(patch_size)
    mosaic = entry.load()
    if entry.camera == "sony":
        dy = dx = 0
        crop = np.array(mosaic[2 * y:2 * (y + p), 2 * x:2 * (x + p)])
    else:
        # Packed rows 2k and 2k + 1 come from the 6x6 block at mosaic row 6k: pack the whole
        # blocks that cover the patch, starting at the block of the corner, then cut.
        dy, dx = y % 2, x % 2
        rows = XTRANS_BLOCK * ((p + dy + 1) // 2)
        cols = XTRANS_BLOCK * ((p + dx + 1) // 2)
        crop = np.array(mosaic[3 * (y - dy):3 * (y - dy) + rows, 3 * (x - dx):3 * (x - dx) + cols])
    del mosaic  # unmap: only the crop's pages were read
    packed = pack_mosaic(crop, entry)[dy:dy + p, dx:dx + p]
    if packed.shape[:2] != (p, p):
        raise DatasetError(f"{entry.source}: a {p}x{p} crop at ({y}, {x}) lies outside the packed input.")
    return packed


def amplify(packed, ratio):
    """Input = packed * ratio, clipped at 1.0 (float32), as the original."""
    return np.minimum(packed.astype(np.float32, copy=False) * np.float32(ratio), np.float32(1.0))


def gt_to_float(gt_uint16):
    """The original's ground truth, `np.float32(rendering / 65535.0)`, computed in float32.

    Dividing in float32 gives the same bits as the original's float64 division and cast for
    every uint16 value (checked exhaustively in the tests), with a quarter of the temporary
    memory (a 2048x2048 Sony crop: 50 MB instead of 200 MB).
    """
    image = np.array(gt_uint16, dtype=np.float32)
    image /= np.float32(65535.0)
    return image


NO_AUGMENTATION = Draw(0, 0, 0, False, False, False)


def gt_crop(entry, y, x, patch_size, camera, draw=NO_AUGMENTATION):
    """The ground-truth crop matching the packed crop at (y, x) (block size times everything),
    augmented like `draw`, as float32: read straight from the memory map in one copy."""
    block = CAMERA_BLOCK[camera]
    p = int(patch_size)
    gt = entry.load()
    view = gt[block * y:block * (y + p), block * x:block * (x + p)]
    if view.shape[:2] != (block * p, block * p):
        raise DatasetError(f"{entry.source}: the ground truth {entry.shape} is too small for a crop at ({y}, {x}).")
    image = augment(view, draw, dtype=np.float32)
    del gt, view  # unmap: only the crop's pages were read
    image /= np.float32(65535.0)
    return image


def load_train_example(input_entry, gt_entry, ratio, draw, patch_size, camera):
    """(input, gt) float32 arrays of one training element: crop, amplify, clip, augment."""
    packed = packed_input_crop(input_entry, draw.y, draw.x, patch_size)
    return augment(amplify(packed, ratio), draw), gt_crop(gt_entry, draw.y, draw.x, patch_size, camera, draw)


def load_eval_example(input_entry, gt_entry, ratio, camera):
    """Full-image (input, gt): the packed input * ratio clipped, and the float32 ground truth
    cropped to block size x the packed size (Bayer: even sizes; X-Trans: multiples of 6)."""
    mosaic = input_entry.load()
    height, width = packed_shape(mosaic.shape, camera)
    block = CAMERA_BLOCK[camera]
    region = np.array(mosaic[:block * height, :block * width])
    del mosaic
    packed = amplify(pack_mosaic(region, input_entry), ratio)
    gt = gt_entry.load()
    gt_region = gt_to_float(gt[:block * height, :block * width])
    del gt
    return packed, gt_region
