"""One value says how the network computes (`SpeedSettings`, holding the model's `Variant`),
and make_predictor takes it in one argument: a precision, a label, or the value itself."""

import numpy as np
import pytest

import sid_tf2
from sid_tf2.inference import make_predictor, settings_asked
from sid_tf2.model import build_unet, model_variant
from sid_tf2.speed_settings import SpeedSettings, Variant

PACKED = np.random.default_rng(3).random((1, 32, 48, 4), dtype=np.float32)


@pytest.mark.parametrize("name", [
    "float32", "mixed_bfloat16", "mixed_float16@3", "float32+xla", "float32+xla+winograd3-5",
    "openvino:int8", "litert:float16", "onnxruntime:float32",
])
def test_labels_parse_back_to_themselves(name):
    assert SpeedSettings.from_name(name).name == name


def test_the_variant_is_held_once_and_read_through():
    settings = SpeedSettings.from_name("mixed_bfloat16@3+xla")
    assert settings.variant == Variant("mixed_bfloat16", 3)
    assert settings.precision == "mixed_bfloat16" and settings.jit_compile
    runtime = SpeedSettings.runtime("openvino", "int8")
    assert runtime.precision == "int8" and runtime.variant == Variant()


@pytest.mark.parametrize("make, message", [
    (lambda: SpeedSettings.runtime("openvino", "mixed_float16"), "openvino backend computes in"),
    (lambda: SpeedSettings.runtime("tpu"), "unknown backend"),
    (lambda: SpeedSettings(jit_compile=True, backend="litert", runtime_precision="float32"), "jit_compile"),
    (lambda: SpeedSettings(Variant("mixed_bfloat16"), backend="openvino", runtime_precision="float32"),
     "model variants"),
    (lambda: SpeedSettings(runtime_precision="int8"), "runtime_precision"),
    (lambda: SpeedSettings.from_name("float64"), "is not <precision>"),
])
def test_contradictory_settings_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_make_predictor_takes_a_precision_a_label_or_settings_alike():
    plain = settings_asked("mixed_bfloat16")
    assert plain == settings_asked("mixed_bfloat16", "tensorflow") == SpeedSettings.from_name("mixed_bfloat16")
    assert settings_asked("int8", "openvino") == settings_asked("openvino:int8") == SpeedSettings.runtime("openvino",
                                                                                                           "int8")
    assert settings_asked("float32", jit_compile=True).name == "float32+xla"
    tuned = SpeedSettings.from_name("mixed_bfloat16@2", reason="tuned")
    assert settings_asked(tuned) is tuned
    with pytest.raises(ValueError, match="carries its backend"):
        settings_asked("float32+xla", "openvino")
    with pytest.raises(ValueError, match="contradicts"):
        settings_asked(tuned, "litert")
    with pytest.raises(ValueError, match="tensorflow backend computes in"):
        settings_asked("int8")


def test_a_label_builds_the_variant_it_names():
    model = build_unet("sony")
    predictor = make_predictor(model, "mixed_bfloat16@3")
    assert model_variant(predictor.model) == Variant("mixed_bfloat16", 3)
    assert predictor.settings.name == "mixed_bfloat16@3"


def test_the_options_precision_replaced_still_work_with_a_deprecation_line():
    model = build_unet("sony")
    with pytest.warns(DeprecationWarning, match="low_precision_from"):
        predictor = make_predictor(model, "mixed_bfloat16", low_precision_from=4)
    assert model_variant(predictor.model) == Variant("mixed_bfloat16", 4)
    with pytest.warns(DeprecationWarning, match="settings"):
        predictor = make_predictor(model, settings=SpeedSettings.from_name("float32"))
    np.testing.assert_array_equal(predictor(PACKED), make_predictor(model)(PACKED))
    with pytest.raises(TypeError, match="bogus"):
        make_predictor(model, bogus=1)


def test_a_purpose_with_another_runtime_is_refused():
    with pytest.raises(ValueError, match="purpose is TensorFlow's"):
        sid_tf2.make_predictor(build_unet("sony"), backend="openvino", purpose="enhance")
