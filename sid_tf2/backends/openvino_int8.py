"""int8 for OpenVINO, quantised with NNCF, with the layers that int8 would spoil kept in float.

Why NNCF rather than ONNX Runtime's static quantiser (which `onnx_backend` still uses for ONNX
Runtime itself): it is OpenVINO's own tool, so its int8 graph is the one OpenVINO's CPU plugin
runs fastest; it adds per-channel weights, asymmetric activations for the leaky ReLU's negative
side (the MIXED preset), and bias correction; and it can keep named layers in float
(`ignored_scope`) or find them itself (`quantize_with_accuracy_control`).

Which layers stay float, measured (`benchmarks/bench_int8_layers.py`; 40-epoch
quick-start Sony weights, 4 held-out simulated 512x512 packed inputs, PSNR against OpenVINO
float32): each layer quantised alone costs from 122-135 dB (levels 4-5) down to 54 dB
(g_conv9_1), 48 dB (g_conv9_2) and 43 dB (g_conv10); all together give 43-44 dB. g_conv10, the
1x1 convolution that makes the 12 output channels, is nearly all of that error: its output is
the image itself, without an activation that would hide rounding. It costs 0.4 % of the
network's multiplications, so it stays float by default (`FLOAT_LAYERS`), which gives 47-49
dB; `float_layers=` or the accuracy control (`target_db=`) keeps more.
"""

import dataclasses

import numpy as np

from sid_tf2.backends.common import agreement_psnr, forward_function
from sid_tf2.backends.optional import require

FLOAT_LAYERS = ("g_conv10",)  # see the module docstring for the measurement
PSNR_CAP = 100.0  # the accuracy control's metric: PSNR against float32, capped (float32 itself: cap)
_CONVOLUTIONS = ("Convolution", "ConvolutionBackpropData")


@dataclasses.dataclass(frozen=True)
class Int8Model:
    """An NNCF-quantised OpenVINO model and what it kept in float, and why."""

    model: object  # openvino.Model
    float_layers: tuple  # slim layer names computed in float
    why: str  # how the float layers were chosen


def convolution_names(model):
    """The Keras model's convolution layers (slim names: g_conv1_1 ... up6 ... g_conv10) in the order
    they compute, which is the order of OpenVINO's convolutions in the converted graph."""
    return [layer.name for layer in model.layers if type(layer).__name__ in ("Conv2D", "UpsampleAndConcat")]


def _openvino_convolutions(ov_model):
    return [op for op in ov_model.get_ordered_ops() if op.get_type_name() in _CONVOLUTIONS]


def _slim_to_openvino(model, ov_model):
    names = convolution_names(model)
    convolutions = _openvino_convolutions(ov_model)
    if len(names) != len(convolutions):
        raise RuntimeError(f"the converted graph has {len(convolutions)} convolutions, the model {len(names)}")
    return {name: op.get_friendly_name() for name, op in zip(names, convolutions)}


def _is_quantized(convolution):
    """Whether a convolution's weights are int8: stored as an integer constant that is converted
    and scaled (NNCF's compressed form), or passed through a FakeQuantize."""
    node = convolution.input_value(1).get_node()
    while node.get_type_name() in ("Multiply", "Subtract", "Convert", "Reshape", "Transpose"):
        node = node.input_value(0).get_node()
    return node.get_type_name() == "FakeQuantize" or (
        node.get_type_name() == "Constant" and node.get_element_type().is_integral())


def float_layers_of(model, quantized):
    """The slim names of the convolutions `quantized` (an NNCF result of `model`) left in float."""
    return tuple(name for name, op in zip(convolution_names(model), _openvino_convolutions(quantized))
                 if not _is_quantized(op))


def quantize_openvino(model, calibration, *, float_layers=FLOAT_LAYERS, validation=None, target_db=None):
    """`model` (a float32 Keras U-Net) as an int8 OpenVINO model, calibrated on `calibration`
    (packed float32 inputs [H, W, C]).

    Without `target_db`: NNCF's post-training quantisation with `float_layers` kept float.
    With `target_db` and `validation` (held-out packed inputs, not used for calibration): NNCF's
    accuracy control, which reverts the most harmful layers to float, beyond `float_layers`, until
    the PSNR against float32 on `validation` reaches `target_db`. It leaves NNCF's and
    OpenVINO's worker threads behind, after which a signal to the process has been seen to
    crash it: a program that must end cleanly on Ctrl-C runs it in a process of its own.
    """
    ov = require("openvino", "The OpenVINO backend")
    nncf = require("nncf", "int8 quantisation for OpenVINO")
    from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters  # pylint: disable=import-outside-toplevel  (the optional extra)
    if not calibration:
        raise ValueError("int8 quantisation needs calibration inputs")
    ov_model = ov.convert_model(forward_function(model))
    names = _slim_to_openvino(model, ov_model)
    unknown = sorted(set(float_layers) - set(names))
    if unknown:
        raise ValueError(f"no convolution named {', '.join(unknown)} (the layers are {', '.join(names)})")
    options = dict(preset=nncf.QuantizationPreset.MIXED, subset_size=len(calibration),
                   ignored_scope=nncf.IgnoredScope(names=[names[name] for name in float_layers]))
    dataset = nncf.Dataset([np.asarray(patch, np.float32)[None] for patch in calibration])
    if target_db is None:
        quantized = nncf.quantize(ov_model, dataset, fast_bias_correction=False, **options)
        why = f"kept float: {', '.join(float_layers)} (measured the most sensitive)" if float_layers else ""
    else:
        if not validation:
            raise ValueError("the accuracy control needs validation inputs")
        quantized = nncf.quantize_with_accuracy_control(
            ov_model, dataset, nncf.Dataset(_validation_items(ov, ov_model, validation)),
            validation_fn=_validation_metric, max_drop=PSNR_CAP - target_db, drop_type=nncf.DropType.ABSOLUTE,
            advanced_accuracy_restorer_parameters=AdvancedAccuracyRestorerParameters(num_ranking_workers=1),
            **options)
        why = f"kept float by the accuracy control for {target_db:g} dB on {len(validation)} held-out inputs"
    kept = float_layers_of(model, quantized)
    return Int8Model(quantized, kept, why if kept else "every convolution in int8")


def _validation_items(ov, ov_model, validation):
    """(input, float32 output) pairs: the accuracy control's metric compares with the latter."""
    core = ov.Core()
    items = []
    for patch in validation:
        batch = np.asarray(patch, np.float32)[None]
        shaped = ov_model.clone()
        shaped.reshape(list(batch.shape))
        compiled = core.compile_model(shaped, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        items.append((batch, compiled(batch)[0]))
    return items


def _validation_metric(compiled, items):
    """Mean PSNR against float32 over `items` (never empty: `quantize_openvino` checks), capped at
    PSNR_CAP (float32 itself scores the cap)."""
    scores = [min(agreement_psnr(compiled({0: batch})[compiled.output(0)], reference), PSNR_CAP)
              for batch, reference in items]
    return float(np.mean(scores))
