"""Package attributes loaded on first use (PEP 562 module ``__getattr__``).

A package facade that imports its modules eagerly makes ``import sid_tf2.x.light_module`` load
everything the facade names (TensorFlow among them), since Python runs the package's
``__init__`` first: command lines that read a light module to define their flags would then be
slow to answer ``--help``.
"""

import importlib
import sys


def lazy_attributes(package, table):
    """``__getattr__`` and ``__dir__`` for `package` (a module name), whose names in `table`
    ({name: "module"} or {name: "module:its name there"}) are imported from their module when
    first looked up."""

    def __getattr__(name):  # pylint: disable=invalid-name
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = target.partition(":")
        value = getattr(importlib.import_module(module), attribute or name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__():  # pylint: disable=invalid-name
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
