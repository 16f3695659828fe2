"""Every command ends alike: usage problems in one `error:` line with status 2, Ctrl-C in one
line with 130, SIGTERM in one line with 143, never absl's help or a traceback (issue 24)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from absl import app, flags

from sid_tf2 import atomic, cli, weights


@pytest.fixture
def command():
    """Run `main` through `cli.run` in this process with a fresh set of flags: (status, stderr)."""
    flags.DEFINE_enum("example_format", "png", ["png", "jpeg"], "An enum.")
    flags.DEFINE_integer("example_level", 6, "A bounded integer.", lower_bound=0, upper_bound=9)
    previous = signal.getsignal(signal.SIGTERM)

    def run(main, *arguments):
        try:
            with pytest.raises(SystemExit) as ended:
                cli.run(main, ["sid-example", *arguments])
        finally:
            signal.signal(signal.SIGTERM, previous)
        return ended.value.code

    yield run
    for name in ("example_format", "example_level"):
        delattr(flags.FLAGS, name)


@pytest.mark.parametrize("arguments, message", [
    (["--example_format=bmp"], "flag --example_format=bmp: value should be one of <png|jpeg>"),
    (["--example_level=10"], "flag --example_level=10: 10 is not an integer in the range [0, 9]"),
    (["--example_levle=3"], "Unknown command line flag 'example_levle'"),
])
def test_bad_flags_are_one_error_line_and_status_2(command, capsys, arguments, message):
    assert command(lambda argv: 0, *arguments) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {message}"), err
    assert err.rstrip().endswith("(see sid-example --help)") and "FATAL" not in err


def test_a_usage_error_of_the_command_is_one_line_without_the_help(command, capsys):
    def main(argv):
        raise app.UsageError("--output_dir is required")

    assert command(main) == 2
    assert capsys.readouterr().err == "error: --output_dir is required (see sid-example --help)\n"


@pytest.mark.parametrize("stop, status, words", [
    (KeyboardInterrupt, 130, "interrupted (Ctrl-C)"),
    (lambda: os.kill(os.getpid(), signal.SIGTERM), 143, "stopped by SIGTERM"),
])
def test_a_stop_from_outside_is_one_line_and_its_status(command, capsys, stop, status, words):
    cleaned = []

    def main(argv):
        try:
            if isinstance(stop, type):
                raise stop()
            stop()
            time.sleep(5)  # the signal arrives before this ends
        finally:
            cleaned.append(True)  # the run's own clean-ups still run

    assert command(main) == status
    assert capsys.readouterr().err == f"sid-example: {words}; files already written are complete\n"
    assert cleaned == [True]


@pytest.mark.subprocess
@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_while_tensorflow_loads_is_one_line(tmp_path, sig, status):
    """The case users meet: Ctrl-C while a command starts. The quiet start's held-back
    TensorFlow lines are dropped, not shown, since the stop was asked for."""
    script = tmp_path / "starting.py"
    script.write_text("import sys, time\nfrom sid_tf2 import cli\n"
                      "def main(argv):\n    print('ready', flush=True)\n    cli.load_tensorflow()\n"
                      "    time.sleep(60)\n"
                      "cli.run(main)\n")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    time.sleep(0.5)  # inside TensorFlow's import
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_a_legal_long_output_name_gets_a_short_temporary_name(tmp_path):
    name = "a" * 240 + "_sid.png"  # 248 characters: legal; ".tmp-xxxxxxxx-" + it is not
    atomic.write_bytes(tmp_path / name, b"image")
    assert (tmp_path / name).read_bytes() == b"image"
    staged = atomic.staging_name(name)
    assert len(staged) <= 255 and staged.endswith("_sid.png") is False and staged.endswith(".png")
    assert atomic.is_staging_for(staged, name) and not atomic.is_staging_for(staged, "b" + name[1:])
    short = atomic.staging_name("photo_sid.png")
    assert short.endswith("-photo_sid.png") and atomic.is_staging_for(short, "photo_sid.png")
    assert atomic.staging_name("model" + "x" * 250 + ".weights.h5").endswith(".weights.h5")


def test_a_name_too_long_for_the_file_system_is_reported_by_its_own_name(tmp_path):
    path = tmp_path / ("b" * 300 + ".png")
    with pytest.raises(atomic.WriteError) as error:
        atomic.write_bytes(path, b"image")
    assert str(error.value) == f"{path}: file name too long for the file system"
    assert os.listdir(tmp_path) == []


def test_an_unreadable_weights_file_is_called_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "model.weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    real_open = open

    def refusing_open(file, *args, **kwargs):  # what a file of another user looks like (as root, chmod is no obstacle)
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing_open)
    with pytest.raises(weights.WeightsError) as error:
        weights.find_weights(path)
    assert str(error.value) == f"{path}: cannot read the file: permission denied"


def test_a_read_only_place_is_called_read_only_not_full(tmp_path, monkeypatch):
    class ReadOnly:  # statvfs of a read-only 5 MB tmpfs
        f_flag, f_bavail, f_frsize = os.ST_RDONLY, 1280, 4096

    monkeypatch.setattr(atomic.os, "statvfs", lambda path: ReadOnly)
    with pytest.raises(atomic.WriteError) as error:
        atomic.ensure_space(tmp_path / "big.tif", 50_000_000)
    assert str(error.value) == f"{tmp_path / 'big.tif'}: read-only file system"
