"""The network's output back to linear light, for sid-enhance's ``--format=dng``.

What the output is.  SID's network learnt to reproduce its ground truth, LibRaw's rendering of
the long exposure (``sid_tf2.raw.rendering``): camera white balance, the camera -> sRGB matrix
(sRGB primaries, D65 white), then LibRaw's default tone curve, which is not sRGB's but
BT.709's form, ``gamm = (0.45, 4.5)`` (rawpy's ``gamma=None``): a power 0.45 above a straight toe
of slope 4.5, joined with equal value and slope.  No automatic brightening.

"Linearised" here undoes exactly that curve, and nothing else: the result is linear light in
sRGB primaries, white balanced, scaled so that 1 is the rendering's white.  A linear DNG of it
with the sRGB colour matrix and a neutral AsShotNeutral, rendered again by LibRaw with the
original's settings, gives back the PNG's pixels (tests/test_outputs.py holds the bound); a raw
editor takes it from there with its own tone curve.
"""

import functools

import numpy as np

LIBRAW_GAMMA = (0.45, 4.5)  # LibRaw's default gamm[0] (power) and gamm[1] (toe slope)


@functools.cache
def curve_parameters(power=LIBRAW_GAMMA[0], slope=LIBRAW_GAMMA[1]):
    """``(x0, offset)`` of the curve ``y = slope * x`` below the linear value x0 and
    ``y = (1 + offset) * x ** power - offset`` above it, with value and slope continuous at x0.

    Continuity of slope gives ``1 + offset = slope * x0 ** (1 - power) / power``, and of value
    ``offset = slope * x0 * (1 / power - 1)``; x0 is found by bisection (for BT.709, 0.018).
    """
    def excess(x0):  # zero where both conditions hold; positive below that x0, negative above
        return 1 + slope * x0 * (1 / power - 1) - slope * x0 ** (1 - power) / power

    low, high = 1e-9, 0.5
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if excess(middle) > 0 else (low, middle)
    x0 = (low + high) / 2
    return x0, slope * x0 * (1 / power - 1)


def linearise(encoded, power=LIBRAW_GAMMA[0], slope=LIBRAW_GAMMA[1]):
    """Linear light of a float image in [0, 1] encoded with LibRaw's tone curve (float32)."""
    x0, offset = curve_parameters(power, slope)
    encoded = np.clip(np.asarray(encoded, np.float32), 0.0, 1.0)
    toe = encoded / np.float32(slope)
    body = ((encoded + np.float32(offset)) / np.float32(1 + offset)) ** np.float32(1 / power)
    return np.where(encoded < np.float32(slope * x0), toe, body).astype(np.float32)


def linear_uint16(encoded):
    """The 16-bit linear samples of a DNG (white level 65535), from an encoded float image."""
    return np.rint(linearise(encoded) * np.float32(65535)).astype(np.uint16)
