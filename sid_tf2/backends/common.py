"""What every backend shares: the exported input signature, agreement with float32, thread count."""

import os

import numpy as np
import tensorflow as tf

from sid_tf2 import metrics


def input_signature(model, input_size=None):
    """The exported input: `[1, H, W, C]` for a fixed `input_size` (H, W), else `[N, H, W, C]`
    with every size left dynamic."""
    channels = model.input_shape[-1]
    shape = [1, *input_size, channels] if input_size else [None, None, None, channels]
    return tf.TensorSpec(shape, tf.float32, name="raw")


def forward_function(model, input_size=None):
    """The model's inference call as a `tf.function` with the export's input signature."""
    return tf.function(lambda raw: model(raw, training=False),
                       input_signature=[input_signature(model, input_size)])


def thread_count():
    """Threads a runtime may use: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def agreement_psnr(output, reference):
    """PSNR in dB of `output` against `reference`, both clipped to [0, 1] as images are saved;
    infinite when they are equal."""
    difference = np.clip(np.asarray(output, np.float64), 0, 1) - np.clip(
        np.asarray(reference, np.float64), 0, 1)
    mse = float(np.mean(difference**2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def agreement_measures(output, reference):
    """How far `output` is from `reference` (images in [0, 1], clipped as saved), in the terms
    that show int8's damage: PSNR and SSIM of the whole, the 99th percentile of the per-pixel
    error in 8-bit levels (the worst 1 %), and the PSNR of the darkest tenth of the reference
    (by mean of the channels), where banding shows and averages hide it."""
    output = np.clip(np.asarray(output, np.float64), 0, 1).reshape(-1, *np.shape(output)[-3:])
    reference = np.clip(np.asarray(reference, np.float64), 0, 1).reshape(output.shape)
    error = np.abs(output - reference).max(axis=-1) * 255.0
    brightness = reference.mean(axis=-1)
    dark = brightness <= np.percentile(brightness, 10)
    ssim = np.mean([metrics.ssim(metrics.to_uint8(a), metrics.to_uint8(b)) for a, b in zip(output, reference)])
    return {"psnr": agreement_psnr(output, reference), "ssim": float(ssim),
            "worst_1pct_levels": float(np.percentile(error, 99)),
            "dark_tenth_psnr": agreement_psnr(output[dark], reference[dark])}


def representative_batches(patches):
    """Calibration patches [H, W, C] as single-example float32 batches [1, H, W, C]."""
    return [np.asarray(patch, np.float32)[None] for patch in patches]
