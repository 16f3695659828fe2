"""One training step of the port against TF1: Keras Adam resumed through the converter.

A mid-training TF1 checkpoint (random weights and moments, Adam step 5) is loaded into a Keras
model and a `keras.optimizers.Adam` by `load_tf1_checkpoint`; one step on the L1 loss is taken
in each framework, and the Keras state written back by `save_tf1_checkpoint` is compared with
the TF1 reference's variables. "release" freezes the upsampling filters as the published model
was trained; "full" trains them.

Known, inherent float32 differences between Keras's Adam and TF1's ApplyAdam, with the bounds
used below:
- Keras computes `1 - beta_2` from the Python float (exactly 0.001); TF1 from float32(0.999)
  (0.00099998713). The second moment's increment differs by 1.29e-5 relative unless the Keras
  Adam is given the float32 betas, `beta_2=float(np.float32(0.999))`; then the moments match
  bit for bit.
- Keras takes `beta ** (t + 1)` with `pow`, TF1 its stored, multiplied `beta2_power`; one ulp
  between them becomes ~1e-5 of the step size early in training through `sqrt(1 - beta2^t)`.
The learning rate is large (1e-2) so that the step dwarfs the float32 rounding of the weights
and the comparison of the steps themselves is meaningful.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from parity_tests.random_weights import random_checkpoint_values
from parity_tests.tf1_checkpoint_io import read_tf1_checkpoint, write_tf1_checkpoint
from parity_tests.tolerance import relative_difference
from sid_tf2 import build_unet
from sid_tf2.tf1_checkpoint import load_tf1_checkpoint, save_tf1_checkpoint

SEED = 303
ADAM_STEPS = 5
LEARNING_RATE = 1e-2
UPSAMPLING_LAYERS = ("up6", "up7", "up8", "up9")
BETAS = {
    "float32": (float(np.float32(0.9)), float(np.float32(0.999))),  # what TF1 computes with
    "python": (0.9, 0.999),  # Keras's defaults
}
TOLERANCES = {  # (weight steps, first moments, second moments, beta powers)
    "float32": (5e-5, 1e-6, 1e-6, 1e-6),
    "python": (5e-5, 1e-6, 2e-5, 1e-6),
}


def _keras_step(values, directory, layout, betas, inputs, ground_truth):
    """Load `values` into a Keras model and Adam, take one step; return (loss, checkpoint)."""
    write_tf1_checkpoint(directory / "before" / "model.ckpt", values)
    model = build_unet("sony")
    if layout == "release":
        for name in UPSAMPLING_LAYERS:
            model.get_layer(name).trainable = False
    beta_1, beta_2 = BETAS[betas]
    optimizer = keras.optimizers.Adam(
        learning_rate=LEARNING_RATE, beta_1=beta_1, beta_2=beta_2, epsilon=1e-8
    )
    summary = load_tf1_checkpoint(model, directory / "before", optimizer)
    assert (summary.layout, summary.adam_step) == (layout, ADAM_STEPS)

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(model(inputs, training=True) - ground_truth))
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    saved = save_tf1_checkpoint(model, directory / "after" / "model.ckpt", optimizer)
    return float(loss), read_tf1_checkpoint(saved)


@pytest.mark.parametrize(
    "layout, betas", [("release", "float32"), ("full", "float32"), ("release", "python")]
)
def test_one_adam_step_matches_tf1(reference_networks, tmp_path, layout, betas):
    values = random_checkpoint_values("sony", SEED, layout, adam_steps=ADAM_STEPS)
    rng = np.random.default_rng(SEED)
    inputs = rng.uniform(size=(1, 37, 53, 4)).astype(np.float32)
    ground_truth = rng.uniform(size=(1, 74, 106, 3)).astype(np.float32)

    loss_keras, after_keras = _keras_step(values, tmp_path, layout, betas, inputs, ground_truth)
    reference = reference_networks("sony", train_deconv=layout == "full")
    reference.load(values)
    loss_tf1 = reference.train_step(inputs, ground_truth, LEARNING_RATE)
    after_tf1 = reference.values()

    assert loss_keras == pytest.approx(loss_tf1, rel=1e-6)
    assert after_keras.keys() == after_tf1.keys()
    step_tol, first_tol, second_tol, power_tol = TOLERANCES[betas]
    for name, expected in after_tf1.items():
        actual = after_keras[name]
        if name.endswith("/Adam"):
            assert relative_difference(actual, expected) <= first_tol, name
        elif name.endswith("/Adam_1"):
            assert relative_difference(actual, expected) <= second_tol, name
        elif name.endswith("_power"):
            assert relative_difference(actual, expected) <= power_tol, name
        elif layout == "release" and not name.startswith("g_"):
            assert np.array_equal(actual, values[name]), f"{name} is frozen in the release"
            assert np.array_equal(expected, values[name]), f"{name} is frozen in the release"
        else:
            step = relative_difference(actual - values[name], expected - values[name])
            assert step <= step_tol, name
