"""A lossless JPEG encoder (ITU T.81 process 14, SOF3): the compression most camera DNGs use.

Why: tests need compressed DNG files that go through LibRaw's own decoder (DNG Compression 7),
as a phone's or a converter's DNG does. This encoder is the smallest one that is valid: one
component, predictor 1 (the left neighbour; the first column takes the pixel above, the first
pixel half the range), the samples' precision (8 or 16 bits), and one Huffman table in which
all 17 difference categories have 5-bit codes. It compresses little, but every decoder must read it.
"""

from __future__ import annotations

import struct

import numpy as np

_CODE_BITS = 5
_CATEGORIES = 17  # differences need 0..16 bits


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def _differences(image: np.ndarray, precision: int) -> np.ndarray:
    """Predictor 1's differences, modulo 2^16 and taken into [-32768, 32767]."""
    values = image.astype(np.int64)
    predicted = np.empty_like(values)
    predicted[:, 1:] = values[:, :-1]
    predicted[1:, 0] = values[:-1, 0]
    predicted[0, 0] = 1 << (precision - 1)
    return (values - predicted + 32768) % 65536 - 32768


def _bits(differences: np.ndarray) -> bytes:
    """The entropy-coded data: each difference's 5-bit category code, then its extra bits."""
    diff = differences.ravel()
    magnitude = np.abs(diff)
    category = np.zeros(diff.shape, np.int64)
    nonzero = magnitude > 0
    category[nonzero] = np.floor(np.log2(magnitude[nonzero])).astype(np.int64) + 1
    # Negative differences are sent as diff - 1 in `category` bits; 32768 (category 16) as none.
    extra = np.where(diff < 0, diff - 1, diff) & ((1 << category) - 1)
    extra[category == 16] = 0
    lengths = np.where(category == 16, _CODE_BITS, _CODE_BITS + category)
    words = (category << np.where(category == 16, 0, category)) | extra
    width = _CODE_BITS + 15
    shifts = lengths[:, None] - 1 - np.arange(width)[None, :]
    bits = (words[:, None] >> np.maximum(shifts, 0)) & 1
    stream = bits[shifts >= 0].astype(np.uint8)  # row by row: each word's bits in order
    padding = (-stream.size) % 8
    stream = np.concatenate([stream, np.ones(padding, np.uint8)])  # pad with 1-bits (T.81)
    return np.packbits(stream).tobytes().replace(b"\xff", b"\xff\x00")


def encode(image) -> bytes:
    """A 2-D uint8 or uint16 image (any values) as one lossless JPEG stream of that precision."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype.kind != "u" or image.dtype.itemsize > 2:  # either byte order
        raise ValueError(f"need a 2-D uint8 or uint16 image, got {image.dtype} {image.shape}")
    height, width = image.shape
    precision = 8 * image.dtype.itemsize
    counts = [0] * 16
    counts[_CODE_BITS - 1] = _CATEGORIES
    huffman = bytes([0x00] + counts + list(range(_CATEGORIES)))
    frame = struct.pack(">BHHB", precision, height, width, 1) + bytes([1, 0x11, 0])
    scan = bytes([1, 1, 0x00, 1, 0, 0])  # 1 component (id 1, table 0), predictor 1, Se, Ah/Al
    return (b"\xff\xd8" + _segment(0xC4, huffman) + _segment(0xC3, frame) + _segment(0xDA, scan)
            + _bits(_differences(image, precision)) + b"\xff\xd9")
