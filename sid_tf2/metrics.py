"""PSNR and SSIM as the published SID numbers were computed: on the saved 8-bit images.

The functions take uint8 images only. A float image in [0, 1] scored with a data range of 255
gives PSNRs near 65 dB, a known mistake with this model; making the 8-bit conversion an explicit,
separate step (`to_uint8`, the rounding of the original's PNG writer) means the data range can
never disagree with the data.
"""

import numpy as np
import tensorflow as tf

DATA_RANGE = 255.0
SSIM_WINDOW = 11  # Gaussian window of sigma 1.5, truncated at 3.5 sigma: 11 x 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


QUANTISE_CHUNK = 1 << 20  # elements converted at a time: a few MB of temporaries


def quantise(image, dtype):
    """Clip a float image to [0, 1], scale it to `dtype`'s full range (uint8 or uint16) and round
    half up, in float32 as the original's PNG writer did.

    The original saved `scipy.misc.toimage(x * 255, high=255, low=0, cmin=0, cmax=255)`, whose
    `bytescale` computes `(x * 255 - 0) * 1.0 + 0`, clips to [0, 255], adds 0.5 and truncates,
    all in float32 (x is the float32 output). Rounding in float64 instead differs by one level
    for a few values in a million, so this follows float32 step by step. Done a chunk at a time:
    a 12-megapixel RGB output is 36 M values, and whole-array temporaries of it would add
    hundreds of MB to the peak memory of enhancing one photo.
    """
    image = np.asarray(image)
    maximum = np.float32(np.iinfo(dtype).max)
    values = image.reshape(-1)
    result = np.empty(values.shape, dtype)
    for start in range(0, values.size, QUANTISE_CHUNK):
        chunk = np.clip(values[start:start + QUANTISE_CHUNK].astype(np.float32), 0.0, 1.0)
        chunk *= maximum
        chunk += np.float32(0.5)
        result[start:start + QUANTISE_CHUNK] = chunk  # truncation, as astype(uint8) did
    return result.reshape(image.shape)


def to_uint8(image):
    """Quantise a float image in [0, 1] as the original's PNG writer did (clip, scale, round)."""
    return quantise(image, np.uint8)


def _check_pair(a, b, what):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise TypeError(
            f"{what} takes 8-bit images (uint8), got {a.dtype} and {b.dtype}: convert float "
            "images in [0, 1] with sid_tf2.metrics.to_uint8 first."
        )
    if a.shape != b.shape or a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"{what} needs two H x W x 3 images of one shape, got {a.shape} and {b.shape}.")
    return a, b


def psnr(a, b):
    """Peak signal-to-noise ratio in dB of two uint8 RGB images (data range 255)."""
    a, b = _check_pair(a, b, "psnr")
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(DATA_RANGE**2 / mse))


def ssim(a, b):
    """SSIM of two uint8 RGB images: 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03,
    population covariances, averaged over the pixels whose window lies inside the image and
    over the three channels (scikit-image's `structural_similarity` with
    `gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255`)."""
    a, b = _check_pair(a, b, "ssim")
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape}.")
    value = tf.image.ssim(
        tf.constant(a, tf.float64),
        tf.constant(b, tf.float64),
        max_val=DATA_RANGE,
        filter_size=SSIM_WINDOW,
        filter_sigma=SSIM_SIGMA,
        k1=SSIM_K1,
        k2=SSIM_K2,
    )
    return float(value.numpy())
