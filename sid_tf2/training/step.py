"""The optimizer and the compiled training step: one L1 Adam update, in any precision.

The step is a `tf.function` with a fixed input signature, so changing the learning rate or
the patch size never retraces it. Under `mixed_float16` the optimizer is Keras 3's
`LossScaleOptimizer`, which skips (and re-scales after) any step whose gradients overflow.
"""

import keras
import numpy as np
import tensorflow as tf

from sid_tf2.constants import PRECISIONS
from sid_tf2.model import model_variant

UPSAMPLE_LAYERS = ("up6", "up7", "up8", "up9")


def make_optimizer(learning_rate=1e-4, precision="float32"):
    """Adam with the TF1 defaults (beta1 0.9, beta2 0.999, epsilon 1e-8; Keras's is 1e-7).


    For `mixed_float16` it is wrapped in a dynamic `LossScaleOptimizer`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}: expected one of {PRECISIONS}.")
    # TF1 turns 0.9 and 0.999 into float32 before computing 1 - beta; passing the float32
    # values makes Keras's moment updates bit-identical to TF1's ApplyAdam.
    adam = keras.optimizers.Adam(
        learning_rate,
        beta_1=float(np.float32(0.9)),
        beta_2=float(np.float32(0.999)),
        epsilon=1e-8,
    )
    if precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(adam)
    return adam


def model_precision(model):
    """The precision a `build_unet` model was built with (of its deepest level: levels above
    `low_precision_from` compute in float32)."""
    return model_variant(model).precision


def trained_variables(model, train_deconv=True, frozen_layers=()):
    """The variables the step updates.

    The published model was trained with the four upsampling filters frozen at their random
    initial values (its graph's Adam updates only the g_* variables): `train_deconv=False`
    reproduces that; True is the later code's behaviour. `frozen_layers` names further layers
    to keep fixed (fine-tuning, see `sid_tf2.training.finetune`): their variables get neither
    gradients nor optimizer slots.
    """
    frozen = set(frozen_layers or ()) | (set() if train_deconv else set(UPSAMPLE_LAYERS))
    unknown = frozen - {layer.name for layer in model.layers}
    if unknown:
        raise ValueError(f"No such layer(s) to freeze: {', '.join(sorted(unknown))}.")
    return [v for v in model.trainable_variables if v.path.split("/")[0] not in frozen]


def l1_loss(output, ground_truth, global_batch_size):
    """The original's mean absolute error, summed per example and divided by the global batch.

    On one device this equals `reduce_mean(abs(output - gt))`; across replicas the per-replica
    losses then add up to the mean over the global batch, which is what
    `tf.distribute` needs for the gradients to match single-device training.
    """
    per_example = tf.reduce_mean(tf.abs(output - ground_truth), axis=[1, 2, 3])
    return tf.reduce_sum(per_example) / tf.cast(global_batch_size, per_example.dtype)


def make_train_step(
    model,
    optimizer,
    *,
    precision="float32",
    train_deconv=True,
    jit_compile=False,
    strategy=None,
    global_batch_size=None,
    frozen_layers=(),
):
    """Return `step(input_batch, gt_batch, learning_rate) -> loss`, one compiled Adam step.

    Args:
      model: a `build_unet` model built with the same `precision`.
      optimizer: from `make_optimizer(precision=precision)` (a LossScaleOptimizer for
        mixed_float16). Built here on the trained variables if not built yet.
      precision: "float32", "mixed_float16" or "mixed_bfloat16".
      train_deconv: whether the four upsampling filters are trained.
      frozen_layers: names of further layers whose variables are not trained (fine-tuning);
        build the optimizer on `trained_variables(model, train_deconv, frozen_layers)`.
      jit_compile: compile the step with XLA.
      strategy: a `tf.distribute` strategy whose scope built the model and optimizer; the
        step then takes distributed batches and returns the global mean loss.
      global_batch_size: the nominal batch size summed over replicas (distributed training
        only). The loss is always divided by the number of examples the step actually
        received, summed over replicas, as on one device: a last, partial batch of an epoch
        (e.g. 161 Sony scenes in batches of 2) is then a mean over its own examples, not
        scaled down by `actual / global_batch_size`.
    """
    scaled = _check_compatible(model, optimizer, precision)
    variables = trained_variables(model, train_deconv, frozen_layers)
    if not optimizer.built:
        if strategy is None:
            optimizer.build(variables)
        else:
            with strategy.scope():
                optimizer.build(variables)
    update = _Update(model, optimizer, variables, scaled)
    if strategy is None:
        return _single_device_step(update, model.input_shape[-1], jit_compile)
    return _distributed_step(update, strategy, jit_compile)


def _check_compatible(model, optimizer, precision):
    """Raise ValueError unless model, optimizer and precision agree; whether the loss is scaled."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}: expected one of {PRECISIONS}.")
    if model_precision(model) != precision:
        raise ValueError(
            f"The model computes in {model_precision(model)} but the step was asked for "
            f"{precision}: build both with the same precision."
        )
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    if (precision == "mixed_float16") != scaled:
        raise ValueError(
            "mixed_float16 needs a LossScaleOptimizer (and only it does): use "
            f"make_optimizer(precision={precision!r})."
        )
    return scaled


class _Update:
    """The two halves of an Adam step on `variables`, which a distributed step runs apart."""

    def __init__(self, model, optimizer, variables, scaled):
        self.model, self.optimizer, self.variables, self.scaled = model, optimizer, variables, scaled

    def gradients(self, inputs, ground_truth, batch):
        """(loss, gradients) of the L1 loss over `batch` examples in all."""
        with tf.GradientTape() as tape:
            output = self.model(inputs, training=True)
            loss = l1_loss(output, ground_truth, batch)
            scaled_loss = self.optimizer.scale_loss(loss) if self.scaled else loss
        return loss, tape.gradient(scaled_loss, self.variables)

    def apply(self, gradients, learning_rate):
        self.optimizer.learning_rate.assign(learning_rate)
        self.optimizer.apply(gradients, self.variables)


def _single_device_step(update, channels, jit_compile):
    signature = [
        tf.TensorSpec([None, None, None, channels], tf.float32),
        tf.TensorSpec([None, None, None, 3], tf.float32),
        tf.TensorSpec([], tf.float32),
    ]

    def step(inputs, ground_truth, learning_rate):
        loss, gradients = update.gradients(inputs, ground_truth, tf.shape(inputs)[0])
        update.apply(gradients, learning_rate)
        return loss

    return tf.function(step, input_signature=signature, jit_compile=jit_compile)


def _distributed_step(update, strategy, jit_compile):
    # Under a strategy the optimizer all-reduces the gradients, and XLA cannot compile
    # collectives on CPU devices ("Collectives are not yet implemented for CPU devices when
    # compiling with XLA"): XLA compiles each replica's forward and backward pass only.
    gradient_fn = tf.function(update.gradients, jit_compile=jit_compile)

    def no_examples():
        return tf.zeros([], tf.float32), [tf.zeros(v.shape, v.dtype) for v in update.variables]

    def replica_step(inputs, ground_truth, learning_rate, batch):
        # A replica that received no examples (the last, partial batch of an epoch) adds zero
        # gradients to the all-reduce without running the network: TensorFlow's oneDNN
        # convolutions mis-shape an empty batch (a [0, H, W, 4] input comes out of g_conv1_1
        # with 4 channels, and g_conv1_2 fails: "input depth must be evenly divisible by filter
        # depth: 4 vs 32"), which stopped every distributed run on CPUs where oneDNN is on.
        loss, gradients = tf.cond(
            tf.shape(inputs)[0] > 0,
            lambda: gradient_fn(inputs, ground_truth, batch),
            no_examples,
        )
        update.apply(gradients, learning_rate)
        return loss

    @tf.function
    def distributed_step(inputs, ground_truth, learning_rate):
        # The examples of this step over all replicas: global_batch_size, except for a last,
        # partial batch (where some replicas may even get none).
        sizes = strategy.run(lambda x: tf.cast(tf.shape(x)[0], tf.float32), args=(inputs,))
        batch = strategy.reduce(tf.distribute.ReduceOp.SUM, sizes, axis=None)
        losses = strategy.run(replica_step, args=(inputs, ground_truth, learning_rate, batch))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return distributed_step
