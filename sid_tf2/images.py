"""Writing result images (PNG 8/16-bit, JPEG) atomically, without extra dependencies."""

import os

import numpy as np
import tensorflow as tf

from sid_tf2.atomic import write_bytes


def encode_image(image, path):
    """Encode a uint8 (PNG/JPEG) or uint16 (PNG) H x W x 3 array for `path`'s extension."""
    extension = os.path.splitext(path)[1].lower()
    image = np.asarray(image)
    if extension == ".png":
        if image.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"{path}: PNG takes uint8 or uint16 images, got {image.dtype}.")
        return tf.io.encode_png(image).numpy()
    if extension in (".jpg", ".jpeg"):
        if image.dtype != np.uint8:
            raise TypeError(f"{path}: JPEG takes uint8 images, got {image.dtype}.")
        return tf.io.encode_jpeg(image, quality=95).numpy()
    raise ValueError(f"{path}: unsupported image type {extension!r} (use .png or .jpg).")


def write_image(path, image):
    """Write an image, under a temporary name first, so a reader never sees half a file."""
    write_bytes(path, encode_image(image, path))
