"""Reproducible random values for every tensor of a TF1 SID checkpoint.

Parity tests must not depend on the published weights (84 MB each, downloaded by users), so they
run on random checkpoints instead. The original's own initialisers are not the best test: all
biases are zero (so a dropped or misplaced bias would not show) and Glorot-uniform weights with
0.02-stddev upsampling filters shrink the output of the 23 layers to a standard deviation of about
0.05. Here every bias is nonzero and the weights are He-scaled, so that for inputs in [0, 1] the
output's standard deviation is about 0.4 (Sony) to 0.8 (Fuji), and moving one element of an
upsampling filter by 1e-3 changes the output by several times the 1e-5 tolerance.

Only numpy is needed: the fixture test rebuilds the weights from the seed stored beside the golden
outputs, on machines without tf_slim.
"""

import numpy as np

from sid_tf2.tf1_checkpoint import tf1_beta_power
from sid_tf2.tf1_names import BETA_POWERS, adam_slot_names, checkpoint_shapes, weight_table

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
LRELU_SLOPE = 0.2
BIAS_STDDEV = 0.05


def _weight_stddev(entry):
    """A He-style standard deviation that keeps the activation scale through each layer.

    3x3 convolutions feed a leaky ReLU: He's gain for slope a is 2 / (1 + a^2). The 2x2 stride-2
    transposed convolutions give each output pixel exactly one filter tap per input channel, so
    their fan-in is the input channels alone; they and the last 1x1 convolution have no
    activation, so they keep the second moment with a gain of 1.
    """
    if entry.is_upsample:
        _, _, _, in_channels = entry.shape  # [2, 2, out, in]
        return np.sqrt(1.0 / in_channels)
    if entry.attribute == "bias":
        return BIAS_STDDEV
    kh, kw, in_channels, _ = entry.shape
    fan_in = kh * kw * in_channels
    if entry.layer == "g_conv10":
        return np.sqrt(1.0 / fan_in)
    return np.sqrt(2.0 / ((1.0 + LRELU_SLOPE**2) * fan_in))


def random_model_values(camera, seed):
    """The 42 model variables ({tf1_name: float32 array}), drawn in the original creation order."""
    rng = np.random.default_rng(seed)
    values = {}
    for entry in weight_table(camera):
        values[entry.tf1_name] = rng.standard_normal(entry.shape) * _weight_stddev(entry)
    return {name: value.astype(np.float32) for name, value in values.items()}


def _random_adam_slots(entry, weight, rng):
    """Plausible Adam moments for one variable after some steps.

    The first moment is small and signed (a fraction of the weight scale); the second moment is
    positive and of the order of the first moment squared, as it is for a gradient whose sign
    varies little, with a floor so that sqrt(v) never vanishes next to epsilon.
    """
    scale = 1e-3 * float(np.std(weight)) + 1e-6
    first = rng.standard_normal(entry.shape) * scale
    second = first**2 * rng.uniform(1.0, 4.0, entry.shape) + (0.1 * scale) ** 2
    return first.astype(np.float32), second.astype(np.float32)


def random_checkpoint_values(camera, seed, layout="release", adam_steps=0):
    """Every tensor of a TF1 checkpoint of `layout` ("release": 120, "full": 128), by TF1 name.

    Args:
      camera: "sony" or "fuji".
      seed: seeds `np.random.default_rng`; the same seed gives the same arrays.
      layout: "release" (Adam slots for the g_* variables only, as published) or "full" (slots
        for the upsampling filters too).
      adam_steps: 0 gives a fresh optimizer (zero moments, beta powers 0.9 and 0.999, which is
        what TF1 creates); t > 0 gives nonzero moments and the beta powers TF1's AdamOptimizer
        holds after t steps (its float32 running products, `tf1_beta_power`).

    The model weights depend on (camera, seed) only, and the moments of a variable do not depend
    on the layout, so "release" and "full" checkpoints of a seed agree on every shared tensor.
    """
    if adam_steps < 0:
        raise ValueError(f"adam_steps must be >= 0, got {adam_steps}.")
    shapes = checkpoint_shapes(camera, layout)
    values = random_model_values(camera, seed)
    # A second stream for the slots, so that the weights do not depend on adam_steps.
    slot_rng = np.random.default_rng([seed, 1])
    for entry in weight_table(camera):
        if adam_steps:
            moments = _random_adam_slots(entry, values[entry.tf1_name], slot_rng)
        else:
            moments = (np.zeros(entry.shape, np.float32),) * 2
        for name, moment in zip(adam_slot_names(entry), moments):
            if name in shapes:
                values[name] = moment.copy()
    for name, beta in zip(BETA_POWERS, (ADAM_BETA1, ADAM_BETA2)):
        values[name] = np.array(tf1_beta_power(beta, adam_steps), np.float32)

    assert {name: v.shape for name, v in values.items()} == shapes, "name table mismatch"
    return values
