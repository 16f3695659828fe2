"""Every command line: --help exits 0 without importing TensorFlow, and TensorFlow starts quietly.

Each check runs a fresh interpreter, since what matters is what a user's process imports and
prints.
"""

import ast
import os
import subprocess
import sys

import pytest

from sid_tf2 import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _console_scripts():
    """{name: (module, function)} of every console script setup.py installs."""
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    entry_points = next(node.value for node in ast.walk(tree)
                        if isinstance(node, ast.keyword) and node.arg == "entry_points")
    lines = ast.literal_eval(entry_points)["console_scripts"]
    return {name.strip(): tuple(target.strip().split(":")) for name, target in
            (line.split("=") for line in lines)}


CONSOLE_SCRIPTS = _console_scripts()

# How each command is started: a script, a module run with -m, or the console-script function.
COMMANDS = {
    **{name: f"from {module} import {function}; {function}()"
       for name, (module, function) in CONSOLE_SCRIPTS.items()},
    "train_sony.py": "runpy.run_path('train_sony.py', run_name='__main__')",
    "train_fuji.py": "runpy.run_path('train_fuji.py', run_name='__main__')",
    "test_sony.py": "runpy.run_path('test_sony.py', run_name='__main__')",
    "-m sid_tf2.enhance": "runpy.run_module('sid_tf2.enhance', run_name='__main__')",
    "-m sid_tf2.data": "runpy.run_module('sid_tf2.data', run_name='__main__', alter_sys=True)",
    "-m sid_tf2.simulate": "runpy.run_module('sid_tf2.simulate', run_name='__main__')",
    "-m weight_converter": "runpy.run_module('weight_converter', run_name='__main__', "
                           "alter_sys=True)",
    "-m weight_converter.download": "runpy.run_module('weight_converter.download', "
                                    "run_name='__main__')",
    "-m sid_tf2.experiments.transfer": "runpy.run_module('sid_tf2.experiments.transfer', "
                                      "run_name='__main__')",
    "-m sid_tf2.tune": "runpy.run_module('sid_tf2.tune', run_name='__main__')",
}

PROBE = """
import runpy, sys
sys.path.insert(0, {repo!r})
sys.argv = [{name!r}, {argument!r}]
try:
    {start}
    status = 'returned'
except SystemExit as exit:
    status = exit.code
print('PROBE', status, 'tensorflow' in sys.modules)
"""


def _probe(command, argument):
    code = PROBE.format(repo=REPO, name=command.split()[-1], argument=argument,
                        start=COMMANDS[command])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_exits_0_without_tensorflow(command):
    result = _probe(command, "--help")
    *help_lines, last = result.stdout.strip().splitlines()
    assert last == "PROBE 0 False", result.stdout[-2000:] + result.stderr[-2000:]
    assert "--" in "\n".join(help_lines)  # the flags are listed
    if command not in ("-m sid_tf2.data", "-m sid_tf2.simulate", "sid-data", "sid-simulate"):  # no TF
        assert "--[no]verbose" in result.stdout
    assert "Try --helpfull" in result.stdout
    assert result.stderr == ""


def test_every_command_has_a_console_script():
    assert sorted(CONSOLE_SCRIPTS) == ["sid-adapt", "sid-convert", "sid-data", "sid-enhance", "sid-simulate",
                                       "sid-test", "sid-train", "sid-tune"]
    assert CONSOLE_SCRIPTS["sid-enhance"] == ("sid_tf2.enhance", "run")


def test_helpfull_lists_every_flag():
    result = _probe("test_sony.py", "--helpfull")
    assert result.stdout.strip().splitlines()[-1] == "PROBE 0 False"
    assert "--[no]verbose" in result.stdout and "absl.logging" in result.stdout


QUIET_IMPORT = """
from sid_tf2 import cli
tf = cli.load_tensorflow(verbose={verbose})
print(float(tf.constant(1.0) + 1.0))
"""


def test_tensorflow_loads_without_start_up_lines():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    result = subprocess.run([sys.executable, "-c", QUIET_IMPORT.format(verbose=False)],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2.0\n"
    assert result.stderr == ""  # no absl, oneDNN, cpu_feature_guard or cuInit lines


def test_captured_start_up_lines_are_shown_when_the_import_fails(capfd):
    with pytest.raises(RuntimeError):
        with cli._stderr_captured():  # pylint: disable=protected-access
            os.write(2, b"native library said why\n")
            raise RuntimeError("import failed")
    assert "native library said why" in capfd.readouterr().err
    with cli._stderr_captured():  # pylint: disable=protected-access
        os.write(2, b"start-up chatter\n")
    assert capfd.readouterr().err == ""


def test_log_lines_are_plain():
    import logging

    formatter = cli._PlainFormatter()  # pylint: disable=protected-access

    def line(level, message):
        return formatter.format(logging.LogRecord("x", level, __file__, 1, message, (), None))

    assert line(logging.INFO, "Downloading a") == "Downloading a"
    assert line(logging.WARNING, "slow") == "warning: slow"
    assert line(logging.ERROR, "bad") == "error: bad"
