"""Markers the whole suite shares, set from what a test does rather than by hand.

- `subprocess`: the test, a fixture it uses or a helper function of its module that it calls
  starts a process (a script, a command line, a second writer); each such start pays
  TensorFlow's import of several seconds. A command run in the test's own process
  (`tests/helpers.run_command`) starts none, and is not marked.
- `slow`: `subprocess` tests, the modules listed in SLOW_MODULES (many training steps, large
  inputs, every export runtime), and tests marked `@pytest.mark.slow` by hand (XLA compilations, every
  runtime). `python -m pytest -m "not slow"` is the quick subset for editing; CI runs
  everything.
"""

import functools
import inspect

import pytest

STARTS_A_PROCESS = ("subprocess.", "sys.executable", "Popen(")
SLOW_MODULES = ("test_distribute", "test_export", "test_faults", "test_training_parity", "test_train_step_parity",
                "test_transfer")


def _sources(item):
    """The source of the test function and of every fixture it requests."""
    functions = [item.function]
    for definitions in item._fixtureinfo.name2fixturedefs.values():  # pylint: disable=protected-access
        functions += [definition.func for definition in definitions]
    for function in functions:
        try:
            yield inspect.getsource(function)
        except (OSError, TypeError):
            continue


@functools.cache  # once per test module, not per test
def _process_helpers(module):
    """Names of the module's own functions that start a process (a test calling one does too)."""
    names = set()
    for name, function in inspect.getmembers(module, inspect.isfunction):
        if function.__module__ == module.__name__ and not name.startswith("test_"):
            try:
                source = inspect.getsource(function)
            except (OSError, TypeError):
                continue
            if any(marker in source for marker in STARTS_A_PROCESS):
                names.add(name)
    return names


def pytest_collection_modifyitems(items):
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        helpers = _process_helpers(item.module)
        starts = any(marker in source or any(f"{name}(" in source for name in helpers)
                     for source in _sources(item) for marker in STARTS_A_PROCESS)
        if starts:
            item.add_marker(pytest.mark.subprocess)
        if starts or item.module.__name__.rpartition(".")[2] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
