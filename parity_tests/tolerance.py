"""How the parity tests measure a difference, in one place so every test reports it alike."""

import numpy as np

# DESIGN: the float32 port reproduces the TF1 graph to 1e-5.
FORWARD_RTOL = 1e-5


def relative_difference(actual, expected):
    """max|actual - expected| / max|expected|: relative to the output's scale, not per element.

    Per-element relative errors blow up where the expected value crosses zero, which says
    nothing about the network; the scale of the whole tensor is what a port must match.
    """
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"shapes differ: {actual.shape} vs {expected.shape}")
    scale = np.abs(expected).max()
    difference = np.abs(actual - expected).max()
    return float(difference / scale) if scale > 0 else float(difference)
