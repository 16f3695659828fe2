"""Imports go one way (DESIGN.md): no import cycle among the project's modules, `sid_tf2` never
imports `weight_converter` or a command line's flags module, and imports inside functions are
only there to keep TensorFlow or an optional runtime off a light path, each saying so in a
comment on its line.

The imports are read with `ast` from the source, top-level and in-function alike, so that a cycle
hidden inside a function still counts.
"""

import ast
import io
import os
import re
import tokenize

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("sid_tf2", "weight_converter")


def project_modules():
    """{dotted module name: source path} of every module of the project's packages."""
    modules = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(REPO, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                    modules[dotted.removesuffix(".__init__")] = path
    return modules


def imported_names(module, path):
    """Every dotted name `module` imports (absolute, relative imports resolved), with the line
    and whether the import sits inside a function."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node, inside in import_statements(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            yield name, node.lineno, inside


def import_statements(tree):
    """Every import statement of a parsed module, with whether it sits inside a function."""
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(child) for function in functions for child in ast.walk(function) if child is not function}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, id(node) in inside


def import_graph():
    """{module: {project module it imports}}."""
    modules = project_modules()
    graph = {module: set() for module in modules}
    for module, path in modules.items():
        for name, _, _ in imported_names(module, path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].add(name)
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_projects_modules():
    assert cycles(import_graph()) == []


def test_the_library_imports_neither_the_converter_nor_a_command_lines_flags():
    graph = import_graph()
    wrong = sorted((module, other) for module, imported in graph.items() if module.startswith("sid_tf2")
                   for other in imported if other.startswith("weight_converter"))
    assert wrong == []


def command_lines():
    """Modules of the command-line layer: `__main__` modules, and those that define absl flags
    (at import, or in a function that a command line calls to define its own)."""
    found = {module for module in project_modules() if module.endswith(".__main__")}
    for module, path in project_modules().items():
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        if any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr.startswith("DEFINE") for node in ast.walk(tree)):
            found.add(module)
    return found


def test_no_library_module_imports_a_command_line():
    graph, lines = import_graph(), command_lines()
    assert {"sid_tf2.tune"} <= lines  # the check sees the command lines
    packages = {module for module, path in project_modules().items() if path.endswith("__init__.py")}
    wrong = sorted((module, other) for module, imported in graph.items() if module not in lines
                   for other in imported & lines
                   if not (module in packages and other.startswith(module + ".")))  # a facade's own command
    assert wrong == []


_DIRECTIVE = re.compile(r"(pylint:\s*disable=[\w,-]+|noqa(:\s*[\w,]+)?|type:\s*ignore)")


def unexplained_imports(source):
    """The imports inside functions of `source` whose lines carry no reason: a `#` comment on
    one of the statement's lines with more to say than a pylint, noqa or type directive.
    Returns [(line number, the statement as `ast.unparse` writes it)]."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    found = []
    for node, inside in import_statements(ast.parse(source)):
        if not inside:
            continue
        span = range(node.lineno, node.end_lineno + 1)
        reasons = [_DIRECTIVE.sub("", comments[line].lstrip("#")).strip(" ()") for line in span if line in comments]
        if not any(reasons):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_checker_finds_an_unexplained_import():
    source = (
        "import os\n"  # at the top: needs no reason
        "def f():\n"
        "    import tensorflow as tf\n"
        "    import json  # pylint: disable=import-outside-toplevel\n"
        "    import re  # noqa: F401\n"
        "    import numpy  # pylint: disable=import-outside-toplevel  ()\n"
        "    import keras  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)\n"
        "    from PIL import Image  # PIL: only when writing images\n"
        "    from sid_tf2 import (  # rawpy: off --help\n"
        "        raw)\n"
        "    from tensorflow.core import (\n"
        "        protobuf)  # TensorFlow: off --help\n"
        "    x = '# not a comment'; import sys\n"
    )
    assert unexplained_imports(source) == [
        (3, "import tensorflow as tf"), (4, "import json"), (5, "import re"), (6, "import numpy"),
        (13, "import sys"),
    ]


def test_every_import_inside_a_function_says_why():
    unexplained = set()
    for module, path in project_modules().items():
        source = open(path, encoding="utf-8").read()
        unexplained |= {(module, statement) for _, statement in unexplained_imports(source)}
    assert sorted(unexplained) == []
