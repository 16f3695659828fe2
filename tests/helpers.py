"""Helpers several test files share, written once (keras-hub's `run_layer_test` is the model).

`run_layer_test` checks a custom Keras layer the same way for every layer of the project: its
config round trip, its output in each dtype policy against float32, and a `.keras` reload of a
model holding it without `custom_objects` (the layers are registered serializable).
"""

import keras
import numpy as np

POLICY_TOLERANCE = {"float32": 0.0, "mixed_bfloat16": 2e-2, "mixed_float16": 2e-3}  # of the output's range


def _model(make_layer, inputs, policy):
    keras.config.set_dtype_policy(policy)
    try:
        layer = make_layer()
        tensors = [keras.Input(shape=array.shape[1:]) for array in inputs]
        outputs = layer(tensors if len(tensors) > 1 else tensors[0])
        return keras.Model(tensors if len(tensors) > 1 else tensors[0], outputs), layer
    finally:
        keras.config.set_dtype_policy("float32")


def run_layer_test(make_layer, inputs, tmp_path, *, prepare=None, policies=tuple(POLICY_TOLERANCE)):
    """Check the layer `make_layer()` on `inputs` (a list of float32 batches).

    Returns the float32 output. `prepare(layer)` runs after the weights are set (e.g. the
    Winograd layers' kernel transform).
    """
    reference_model, reference_layer = _model(make_layer, inputs, "float32")
    config = reference_layer.get_config()
    rebuilt = type(reference_layer).from_config(config)
    assert rebuilt.get_config() == config, "the config does not round-trip"
    weights = reference_model.get_weights()
    if prepare:
        prepare(reference_layer)
    expected = np.asarray(reference_model(inputs if len(inputs) > 1 else inputs[0]), np.float32)
    scale = float(np.abs(expected).max()) or 1.0
    for policy in policies:
        model, layer = _model(make_layer, inputs, policy)
        model.set_weights(weights)
        if prepare:
            prepare(layer)
        got = np.asarray(model(inputs if len(inputs) > 1 else inputs[0]), np.float32)
        assert got.shape == expected.shape
        error = float(np.abs(got - expected).max()) / scale
        assert error <= POLICY_TOLERANCE[policy], f"{policy}: {error:.2e} of the output's range"
    path = tmp_path / "layer.keras"
    reference_model.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded.layers[-1]) is type(reference_layer)
    for got, saved in zip(reloaded.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, saved)
    return expected
