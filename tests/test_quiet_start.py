"""The quiet start shows TensorFlow's start-up lines whenever the start fails, however it ends.

Each case runs a child Python that writes to file descriptor 2 from below Python (os.write, as
C++ code does) inside the capture and then ends the way a failing import can: an exception,
sys.exit, os._exit (C's exit without clean-up), abort (a C++ abort or fatal signal).  The
children do not import TensorFlow; `load_tensorflow` itself is run against a stand-in
``tensorflow`` package.
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAID = "native library said why"

CAPTURED = """
import os, sys
from sid_tf2 import cli
print("started", flush=True)
with cli._stderr_captured():
    os.write(2, b"{said}\\n")
    print("python said so too", file=sys.stderr)
    {ending}
print("finished")
"""


def _child(code, extra_path=None):
    path = [REPO] if extra_path is None else [str(extra_path), REPO]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=60)


@pytest.mark.parametrize("ending, status", [
    ("raise RuntimeError('import failed')", 1),
    ("sys.exit(4)", 4),
    ("os._exit(3)", 3),
    ("os.abort()", -signal.SIGABRT),
    ("os.kill(os.getpid(), signal.SIGSEGV)", -signal.SIGSEGV),
])
def test_what_was_held_back_is_shown_when_the_process_ends_inside(ending, status):
    result = _child(CAPTURED.format(said=SAID, ending=f"import signal; {ending}"))
    assert result.returncode == status, result.stderr
    assert result.stdout == "started\n"
    assert SAID in result.stderr and "python said so too" in result.stderr
    if status == 1:  # the lines come before the traceback that explains them
        assert result.stderr.index(SAID) < result.stderr.index("Traceback")


def test_nothing_is_shown_when_the_block_ends_normally():
    result = _child(CAPTURED.format(said=SAID, ending="pass"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "started\nfinished\n"
    assert result.stderr == ""


def test_stderr_works_again_after_the_block_and_no_watcher_is_left():
    code = CAPTURED.format(said=SAID, ending="pass") + textwrap.dedent("""
        os.write(2, b"after the block\\n")
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            print("no child left")
    """)
    result = _child(code)
    assert result.stderr == "after the block\n"
    assert result.stdout.endswith("no child left\n")


def test_a_grandchild_holding_stderr_does_not_hold_up_the_block():
    ending = ("import subprocess, time; start = time.monotonic(); grandchild = subprocess.Popen("
              "[sys.executable, '-c', 'import time; time.sleep(60)'], stdout=subprocess.DEVNULL)")
    code = CAPTURED.format(said=SAID, ending=ending).replace(
        'print("finished")', 'print(grandchild.pid, time.monotonic() - start < 10)')
    result = _child(code)
    pid, quick = result.stdout.split()[-2:]
    os.kill(int(pid), signal.SIGKILL)
    assert quick == "True" and result.stderr == ""


FAKE_TENSORFLOW = """
import os
os.write(2, b"{said}\\n")
{ending}
class config:
    @staticmethod
    def list_physical_devices():
        os.write(2, b"failed call to cuInit\\n")
        return []
"""


@pytest.mark.parametrize("ending, status", [("", 0), ("os.abort()", -signal.SIGABRT),
                                            ("os._exit(3)", 3), ("raise ImportError('no')", 1)])
def test_load_tensorflow_shows_the_lines_of_a_failed_start_only(tmp_path, ending, status):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW.format(said=SAID,
                                                                               ending=ending))
    result = _child("from sid_tf2 import cli\ncli.load_tensorflow()\nprint('loaded')", tmp_path)
    assert result.returncode == status, result.stderr
    if status == 0:
        assert (result.stdout, result.stderr) == ("loaded\n", "")
    else:
        assert SAID in result.stderr and result.stdout == ""
