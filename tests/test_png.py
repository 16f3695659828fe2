"""The fast PNG encoder (sid_tf2.png): lossless, valid for libpng and Pillow, Exif and ICC
profile kept."""

import io
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sid_tf2 import png
from sid_tf2.icc import srgb_profile
from sid_tf2.images import encode_image


def _image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    smooth = np.linspace(0, top, shape[1] * shape[2]).reshape(1, shape[1], shape[2])
    noise = rng.integers(0, top, size=shape, endpoint=True)
    image = np.where(rng.random(shape) < 0.5, smooth, noise)  # runs, gradients and noise
    return image.astype(dtype)


def _chunks(data):
    assert data.startswith(png.PNG_SIGNATURE)
    position, chunks = len(png.PNG_SIGNATURE), []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        position += 12 + length
    return chunks


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(37, 53, 3), (1, 1, 3), (1, 40, 3), (40, 1, 3), (20, 30, 1), (9, 8, 4)])
@pytest.mark.parametrize("level", [0, 1])
def test_libpng_decodes_exactly_what_was_encoded(shape, dtype, level):
    image = _image(shape, dtype)
    data = png.encode_png(image, level=level)
    decoded = tf.io.decode_png(data, channels=shape[2], dtype=tf.as_dtype(dtype)).numpy()
    np.testing.assert_array_equal(decoded, image)
    assert [kind for kind, _ in _chunks(data)] == [b"IHDR", b"IDAT", b"IEND"]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_strips_on_threads_join_into_one_valid_zlib_stream(dtype):
    image = _image((101, 64, 3), dtype, seed=1)
    single = png.encode_png(image, threads=1)
    split = png.encode_png(image, threads=4, strip_bytes=1024)
    assert split != single  # really split: four deflate runs, not one
    for data in (single, split):
        decoded = tf.io.decode_png(data, dtype=tf.as_dtype(dtype)).numpy()
        np.testing.assert_array_equal(decoded, image)
        idat = dict(_chunks(data))[b"IDAT"]
        filtered = zlib.decompress(idat)  # zlib itself checks the joined stream's Adler-32
        assert filtered == png.sub_filtered(image).tobytes()


def test_sub_filter_is_the_png_specification_s():
    image = _image((5, 7, 3), np.uint16, seed=2)
    rows = png.sub_filtered(image)
    raw = image.astype(">u2").view(np.uint8).reshape(5, -1).astype(np.int64)
    expected = raw.copy()
    expected[:, 6:] = (raw[:, 6:] - raw[:, :-6]) % 256  # Sub: minus the byte one pixel (6 bytes) left
    assert (rows[:, 0] == png.SUB_FILTER).all()
    np.testing.assert_array_equal(rows[:, 1:], expected)


@pytest.mark.parametrize("level", [1, 6])  # sid_tf2.png's encoder, libpng's
def test_profile_and_exif_chunks_follow_ihdr_and_pillow_reads_them(level):
    exif = Image.Exif()
    exif[0x010F] = "sid-tf2 test camera"  # Make
    blob = exif.tobytes()
    image = _image((16, 24, 3), np.uint8)
    data = encode_image(image, "x.png", exif=blob, png_level=level)
    chunks = _chunks(data)
    assert [kind for kind, _ in chunks][:3] == [b"IHDR", b"iCCP", b"eXIf"]
    name, rest = chunks[1][1].split(b"\0", 1)
    assert name == b"sRGB" and rest[0] == 0 and zlib.decompress(rest[1:]) == srgb_profile()
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.getexif()[0x010F] == "sid-tf2 test camera"
        assert opened.info["icc_profile"] == srgb_profile()
        np.testing.assert_array_equal(np.asarray(opened), image)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.uint8),
                                 np.zeros((4, 4, 5), np.uint8), np.zeros((0, 4, 3), np.uint8)])
def test_bad_images_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        png.encode_png(bad)
