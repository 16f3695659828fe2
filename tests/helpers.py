"""Helpers several test files share, written once (keras-hub's `run_layer_test` is the model).

`run_layer_test` checks a custom Keras layer the same way for every layer of the project: its
config round trip, its output in each dtype policy against float32, and a `.keras` reload of a
model holding it without `custom_objects` (the layers are registered serializable).

`run_command` runs a command line in the test's own process: a new Python pays TensorFlow's
import (4-6 s) before the command does anything, so a test of what a command prints, writes or
returns starts no process; only tests about the process itself (its quiet start, signals, a
real exit, two processes at once) do.
"""

import contextlib
import copy
import importlib
import os
import runpy
import subprocess
import sys
import tempfile
import types

import keras
import numpy as np
from absl import flags
from absl import logging as absl_logging
from absl.testing import flagsaver

EXPORT_INPUT = (1, 48, 80, 4)  # the packed input the backends and exports are held to Keras on


def spanning_network(camera, seed):
    """A seeded random network whose last layer is scaled so that its output spans about [0, 1]
    instead of staying near 0: agreeing with it means something."""
    keras.utils.set_random_seed(seed)
    import sid_tf2  # pylint: disable=import-outside-toplevel  (the model, after TensorFlow's start in keras)

    model = sid_tf2.build_unet(camera)
    kernel, bias = model.get_layer("g_conv10").get_weights()
    model.get_layer("g_conv10").set_weights([kernel * 40.0, bias + 0.4])
    return model


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


def run_command(command, *args, cwd=None):
    """Run `command` with the arguments `args` as ``python -m command`` (a module name) or
    ``python command`` (a script's path) would, in this process, in the folder `cwd`.

    Returns a `subprocess.CompletedProcess`: its exit status and what it wrote on file
    descriptors 1 and 2 (prints, log lines, C++ lines). The command's flags are its own, as in a
    new process (`command_flags`); the log handler and the working folder are put back afterwards.
    """
    handler = absl_logging.get_absl_handler().python_handler
    formatter, argv, folder = handler.formatter, sys.argv, os.getcwd()
    with command_flags(started=command), _output_of(1, "stdout") as stdout, _output_of(2, "stderr") as stderr:
        flags.FLAGS["verbosity"].value = 0  # absl.app sets INFO on a process's first parse only
        stream = handler.setStream(sys.stderr)
        try:
            sys.argv = [command, *map(str, args)]
            os.chdir(cwd or folder)
            status = _status(command)
        finally:
            os.chdir(folder)
            sys.argv = argv
            handler.setFormatter(formatter)
            handler.setStream(stream)
    return subprocess.CompletedProcess([command, *args], status, stdout.text, stderr.text)


@contextlib.contextmanager
def command_flags(*modules, started=None):
    """absl's global FLAGS as a new process running a command has them: only absl's own flags,
    and those that the command's `modules` define, imported afresh now (or those of the module
    `started` in the block, as __main__). Everything is put back afterwards.

    Why: FLAGS hold every command's flags in one process, and two commands define flags of the
    same name (``--checkpoint``).
    """
    values = flags.FLAGS
    saved_values = flagsaver.save_flag_values(values)
    saved_registry = {key: _copy_registry(value) for key, value in vars(values).items()}
    owners = [name for name in values.flags_by_module_dict() if not name.startswith("absl.")]
    fresh = {*modules, started} - {None}
    saved_modules = {name: sys.modules.pop(name) for name in {*owners, *fresh} if name in sys.modules}
    parents = {name: _detach_from_parent(name) for name in saved_modules}
    imported = set(sys.modules)
    for name in list(values):
        if not values.find_module_defining_flag(name, "").startswith("absl."):
            delattr(values, name)
    try:
        for name in modules:
            importlib.import_module(name)
        yield values
    finally:
        for name in {*values.flags_by_module_dict(), *fresh} - imported:  # imported afresh again later
            if sys.modules.pop(name, None):
                _detach_from_parent(name)
        sys.modules.update(saved_modules)
        for name, attribute in parents.items():
            _attach_to_parent(name, attribute)
        vars(values).clear()
        vars(values).update(saved_registry)
        flagsaver.restore_flag_values(saved_values, values)


def _status(command):
    """Run `command` as __main__; its exit status as a process would have it. An exception
    that would end a process with a traceback fails the test instead, with the same traceback."""
    try:
        if command.endswith(".py"):
            runpy.run_path(command, run_name="__main__")
        else:
            runpy.run_module(command, run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)  # sys.exit("message"), as Python prints it
        return 1


@contextlib.contextmanager
def _output_of(descriptor, name):
    """What file descriptor `descriptor` and ``sys.<name>`` receive in the block, in `.text`
    of the object yielded (after the block); both are put back."""
    saved_stream = getattr(sys, name)
    saved_stream.flush()
    saved = os.dup(descriptor)
    result = types.SimpleNamespace(text="")
    with tempfile.TemporaryFile() as file:
        os.dup2(file.fileno(), descriptor)
        stream = open(descriptor, "w", encoding="utf-8", errors="backslashreplace", buffering=1,
                      closefd=False)
        setattr(sys, name, stream)
        try:
            yield result
        finally:
            stream.close()  # the descriptor stays open (closefd=False)
            setattr(sys, name, saved_stream)
            os.dup2(saved, descriptor)
            os.close(saved)
            file.seek(0)
            result.text = file.read().decode("utf-8", "backslashreplace")


def _copy_registry(value):
    """A copy of one of FlagValues' registries (a dict of lists, a dict or a set of flags),
    deep enough that removing a flag does not change it, with the same flag objects."""
    if isinstance(value, dict):
        return {key: list(entry) if isinstance(entry, list) else entry for key, entry in value.items()}
    return copy.copy(value) if isinstance(value, (set, list)) else value


def _detach_from_parent(name):
    """Remove the submodule `name` from its package's attributes (``from package import name``
    would find it there and not import it afresh); return what was there."""
    parent, _, child = name.rpartition(".")
    package = sys.modules.get(parent)
    return vars(package).pop(child, None) if package else None


def _attach_to_parent(name, attribute):
    """Put back what `_detach_from_parent` removed (or nothing, if it was `None`)."""
    parent, _, child = name.rpartition(".")
    package = sys.modules.get(parent)
    if package is not None:
        if attribute is None:
            vars(package).pop(child, None)
        else:
            setattr(package, child, attribute)
