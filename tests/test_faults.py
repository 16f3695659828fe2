"""Faults of the machine, for real: a full disk, a read-only place, two runs on one directory, a
kill mid-write, Ctrl-C and SIGTERM, a loss that blows up, a cache cut short, files LibRaw cannot
read. Each must end in one line and lose nothing already saved.

Full and read-only places are real file systems: a small tmpfs, a read-only bind mount (as
root, permissions alone would not stop a write). Where mounting is not permitted, the in-process
cases fall back to injecting a full disk at `sid_tf2.atomic.free_bytes`, the one check every
write goes through; the command-line cases, which cannot be injected into, are skipped then.
"""

import errno
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest
from helpers import run_command

import sid_tf2
from sid_tf2 import atomic, data, enhance, serialize, simulate
from sid_tf2.atomic import WriteError
from sid_tf2.dng import write_dng
from sid_tf2.folder_lock import LOCK_FILE, FolderBusy, FolderLock
from sid_tf2.images import write_image
from sid_tf2.raw import RawFileError, read_raw
from sid_tf2.simulate import write_synthetic_dataset
from sid_tf2.tf1_checkpoint import save_tf1_checkpoint
from sid_tf2.training import TrainConfig, TrainingError, latest_checkpoint, train
from sid_tf2.training.interrupt import TrainingInterrupted
from weight_converter.convert import convert

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_LINE_SPACE = r"error: {path}: not enough free space \(about [\d.]+ MB needed, [\d.]+ MB free\)"
# float32 without XLA, a checkpoint after every epoch unless said otherwise: small and exact.
RUN = dict(epochs=2, patch_size=32, val_freq=0, save_freq=1000, seed=7, precision="float32",
           jit_compile=False, progress=False, checkpoint_every_seconds=0)
RUN_FLAGS = ["--epochs=2", "--patch_size=32", "--val_freq=0", "--save_freq=1000", "--seed=7",
             "--precision=float32", "--nojit_compile"]


def _quiet(message):
    del message


# ---------------------------------------------------------------------------------------------
# Places to write to.


def _mount(*args):
    return subprocess.run(["mount", *map(str, args)], capture_output=True).returncode == 0


@pytest.fixture
def places(tmp_path, monkeypatch):
    """`places(name, size=..., inodes=..., read_only=..., full=...)` -> a fresh directory on its
    own small file system; everything is unmounted afterwards.

    `full` fills it first. Without permission to mount, a full place is injected (its free
    space reported as 0) and a read-only one skips the test.
    """
    mounted = []
    real_free_bytes = atomic.free_bytes

    def make(name, size="20m", inodes=None, read_only=False, full=False, needs_mount=False):
        point = tmp_path / name
        point.mkdir()
        if read_only:
            source = tmp_path / f"{name}-source"
            source.mkdir()
            if _mount("--bind", source, point):
                mounted.append(point)
                if _mount("-o", "remount,bind,ro", point):
                    return point
            pytest.skip("a read-only bind mount is not permitted here")
        options = f"size={size}" + (f",nr_inodes={inodes}" if inodes else "")
        if _mount("-t", "tmpfs", "-o", options, "tmpfs", point):
            mounted.append(point)
            if full:
                _fill(point)
            return point
        if needs_mount or not full:
            pytest.skip("mounting a tmpfs is not permitted here")
        inside = str(point)
        monkeypatch.setattr(atomic, "free_bytes", lambda path: 0 if os.path.abspath(path).startswith(inside)
                            else real_free_bytes(path))
        return point

    yield make
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(point):
    with open(point / "filler", "wb", buffering=0) as stream:
        try:
            while True:
                stream.write(b"\0" * 65536)
        except OSError as error:
            assert error.errno == errno.ENOSPC


def _one_line(stderr):
    """The last line of stderr, after checking that nothing like a traceback came before it."""
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.strip()][-1]


# ---------------------------------------------------------------------------------------------
# Training.


@pytest.fixture(scope="module")
def dataset(synthetic_dataset):
    """4 synthetic scenes of 128x128 (2 train, 1 val, 1 test), their training files decoded."""
    directory = synthetic_dataset
    data.prepare_cache(data.discover_pairs(directory, split="train"), data.RawCache.for_dataset(directory),
                       progress=False)
    return directory


@pytest.fixture(scope="module")
def reference_run(dataset, tmp_path_factory):
    """The result directory of the uninterrupted run."""
    result_dir = str(tmp_path_factory.mktemp("reference"))
    train(TrainConfig.from_flat(data_dir=dataset, result_dir=result_dir, **RUN), log=_quiet)
    return result_dir


@pytest.fixture(scope="module")
def reference(reference_run):
    """The weights that every interrupted run must end with."""
    return _weights(os.path.join(reference_run, "model.weights.h5"))


def _weights(path):
    arrays = {}
    with h5py.File(path, "r") as handle:
        handle.visititems(lambda name, item: arrays.__setitem__(name, item[()])
                          if isinstance(item, h5py.Dataset) else None)
    return arrays


def _assert_same_weights(path, expected):
    actual = _weights(path)
    assert actual.keys() == expected.keys() and len(actual) == 42
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def _train_command(dataset, result_dir, *extra):
    return [sys.executable, os.path.join(REPO, "train_sony.py"), f"--data_dir={dataset}",
            f"--result_dir={result_dir}", *RUN_FLAGS, *extra]


def _events(log_dir):
    return glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))


def test_training_on_a_20_mb_disk_ends_in_one_line_without_a_crash(dataset, places):
    disk = places("disk20", size="20m", needs_mount=True)
    result = subprocess.run(_train_command(dataset, disk / "run"), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 1, result.stderr  # not 139: no HDF5 handle left to crash at exit
    checkpoint = re.escape(str(disk / "run" / "checkpoints" / "epoch-000000"))
    assert re.fullmatch(ONE_LINE_SPACE.format(path=checkpoint), _one_line(result.stderr))
    assert not (disk / "run" / "checkpoints").exists() or not os.listdir(disk / "run" / "checkpoints")


def test_a_disk_that_fills_keeps_the_last_checkpoint_and_resumes_exactly(dataset, reference, places):
    disk = places("disk150", size="150m", needs_mount=True)  # one checkpoint (93 MB) fits, two do not
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(disk / "run"), **RUN)
    with pytest.raises(WriteError, match="epoch-000001: not enough free space") as error:
        train(config, log=_quiet)
    assert error.value.needed > error.value.free
    kept = latest_checkpoint(config.output.result_dir)
    assert kept.endswith("epoch-000000")
    assert os.listdir(disk / "run" / "checkpoints") == ["epoch-000000"]  # no staging left
    assert _mount("-o", "remount,size=400m", disk)  # space freed
    messages = []
    train(config, log=messages.append)
    assert any(message.startswith(f"resuming from {kept}") for message in messages)
    _assert_same_weights(disk / "run" / "model.weights.h5", reference)


def test_ctrl_c_checkpoints_the_step_exits_130_and_a_later_kill_still_resumes_exactly(dataset, reference, tmp_path):
    result_dir = tmp_path / "run"
    process = subprocess.Popen(_train_command(dataset, result_dir), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    # The handlers are in place before the TensorBoard file is created; the first step follows.
    while not _events(result_dir / "logs"):
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=600)[1]
    assert process.returncode == 130, stderr
    checkpoint = result_dir / "checkpoints" / "epoch-000000-step-000001"
    assert _one_line(stderr) == (f"interrupted: stopped by SIGINT at epoch 0, step 1; checkpoint "
                                 f"{checkpoint}; run the same command again to resume.")
    assert latest_checkpoint(str(result_dir)) == str(checkpoint)

    # Then a run killed while writing a checkpoint: its lock and its staging directory remain.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    (result_dir / LOCK_FILE).write_text(json.dumps({"pid": int(gone.stdout), "host": socket.gethostname()}))
    staged = result_dir / "checkpoints" / ".tmp-1a2b3c4d-epoch-000001"
    staged.mkdir()
    (staged / "model.weights.h5").write_bytes(b"\0" * 2_400_000)  # a partial weights file
    (result_dir / ".tmp-5e6f7a8b-model.weights.h5").write_bytes(b"\0" * 1000)

    messages = []
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(result_dir),
                                   **dict(RUN, checkpoint_every_seconds=3600))
    train(config, log=messages.append)
    assert f"note: took over the lock of a run that is gone (PID {int(gone.stdout)} on {socket.gethostname()})" \
        in messages
    assert f"note: removed what an interrupted write left in {result_dir / 'checkpoints'}: {staged.name}" in messages
    assert f"note: removed what an interrupted write left in {result_dir}: .tmp-5e6f7a8b-model.weights.h5" \
        in messages
    assert f"resuming from {checkpoint}: next epoch 0, step 1" in messages
    _assert_same_weights(result_dir / "model.weights.h5", reference)
    # Epoch 0 (image dumps) and the end: the only checkpoints that an hour's cadence allows.
    assert sorted(os.listdir(result_dir / "checkpoints")) == [
        "epoch-000000", "epoch-000000-step-000001", "epoch-000002"]
    assert not (result_dir / LOCK_FILE).exists()  # released


def _signal_when(log_dir, signum):
    """Send `signum` to this process once the run's TensorBoard file exists (its handlers are in
    place then, and the first step is still to come)."""
    def watch():
        while not _events(log_dir):
            time.sleep(0.02)
        os.kill(os.getpid(), signum)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_sigterm_finishes_the_step_checkpoints_and_stops_with_143(dataset, tmp_path):
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(tmp_path),
                                   **dict(RUN, checkpoint_every_seconds=3600))
    handler = signal.getsignal(signal.SIGTERM)
    watcher = _signal_when(tmp_path / "logs", signal.SIGTERM)
    with pytest.raises(TrainingInterrupted, match="stopped by SIGTERM at epoch 0, step 1") as stopped:
        train(config, log=_quiet)
    watcher.join()
    assert stopped.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) == handler  # the run's handlers are gone
    assert os.listdir(tmp_path / "checkpoints") == ["epoch-000000-step-000001"]


def test_a_second_run_on_the_same_directory_is_refused(dataset, tmp_path):
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(tmp_path), **dict(RUN, epochs=0))
    with FolderLock(str(tmp_path), _quiet):
        with pytest.raises(FolderBusy, match=rf"in use by another training run \(PID {os.getpid()} "
                                                rf"on {re.escape(socket.gethostname())}"):
            train(config, log=_quiet)
    assert latest_checkpoint(str(tmp_path)) is None


def test_a_lock_file_removed_by_an_ending_run_between_open_and_flock_is_taken_anew(tmp_path, monkeypatch):
    real_flock, calls = fcntl.flock, []

    def flock(handle, operation):
        if not calls:  # the run that held it ends now: it removes the file this run has open
            os.remove(tmp_path / LOCK_FILE)
        calls.append(operation)
        return real_flock(handle, operation)

    (tmp_path / LOCK_FILE).write_text("")
    monkeypatch.setattr(fcntl, "flock", flock)
    with FolderLock(str(tmp_path), _quiet):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert len(calls) == 2  # the removed file's lock was let go and a new file locked
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_loss_that_blows_up_stops_with_its_epoch_and_step_and_keeps_the_last_checkpoint(
        dataset, reference_run, reference, tmp_path):
    last = os.path.basename(latest_checkpoint(reference_run))
    shutil.copytree(os.path.join(reference_run, "checkpoints", last), tmp_path / "checkpoints" / last)
    for name in ("run_settings.json", "model.weights.h5"):
        shutil.copy(os.path.join(reference_run, name), tmp_path / name)
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(tmp_path),
                                   **dict(RUN, epochs=5, learning_rate=1e30))
    with pytest.raises(TrainingError, match=r"epoch [3-5], step [01]: the loss is (nan|inf)") as error:
        train(config, log=_quiet)
    assert last in str(error.value)  # the last good checkpoint, named
    assert latest_checkpoint(str(tmp_path)).endswith(last)
    _assert_same_weights(tmp_path / "model.weights.h5", reference)


def test_a_loss_that_blows_up_in_bfloat16_writes_no_weights(dataset, tmp_path):
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(tmp_path),
                                   **dict(RUN, precision="mixed_bfloat16", learning_rate=1e30))
    with pytest.raises(TrainingError, match=r"epoch 0, step 1: the loss is (nan|inf).*none yet"):
        train(config, log=_quiet)
    assert latest_checkpoint(str(tmp_path)) is None and not (tmp_path / "model.weights.h5").exists()


def test_tensorboard_on_a_full_disk_is_one_error_naming_its_directory(dataset, tmp_path, places):
    logs = places("logs", size="1m", full=True)
    config = TrainConfig.from_flat(data_dir=dataset, result_dir=str(tmp_path), log_dir=str(logs / "tb"),
                                   **dict(RUN, epochs=0))
    with pytest.raises(WriteError, match=re.escape(str(logs / "tb")) + ": not enough free space"):
        train(config, log=_quiet)
    assert latest_checkpoint(str(tmp_path)) is None  # found before the first step


# ---------------------------------------------------------------------------------------------
# The other writers.


def test_a_write_cut_short_by_the_device_is_a_write_error_with_nothing_left(places):
    disk = places("inodes", size="64m", inodes=2, needs_mount=True)  # the root and one file
    atomic.write_bytes(disk / "first", b"fits")
    open_files = len(h5py.h5f.get_obj_ids())
    with pytest.raises(WriteError) as error:  # space is free, but no inode is: the kernel says so
        serialize.save_weights(sid_tf2.build_unet("sony"), disk / "model.weights.h5")
    assert re.fullmatch(re.escape(str(disk / "model.weights.h5")) + r": no space left on the device "
                        r"\(about 3\d MB needed, \d+ MB free\)", str(error.value))
    assert os.listdir(disk) == ["first"]
    assert len(h5py.h5f.get_obj_ids()) == open_files  # no HDF5 handle left behind


def test_every_writer_on_a_full_disk_raises_one_write_error(places, tmp_path):
    disk = places("full", size="1m", full=True)
    raw_file = tmp_path / "00001_00_0.1s.dng"
    write_dng(raw_file, np.full((64, 64), 600, np.uint16), cfa_pattern="RGGB")
    writers = {
        disk / "dump.jpg": lambda path: write_image(path, np.zeros((64, 64, 3), np.uint8)),
        disk / "cache": lambda path: data.RawCache(path).store_input(raw_file, np.zeros((64, 64), np.uint16)),
        disk / "synthetic": lambda path: write_synthetic_dataset(path, num_scenes=3, size=(64, 64),
                                                                 progress=False),
        disk / "metrics.json": lambda path: atomic.write_text(path, "{}"),
    }
    for path, write in writers.items():
        with pytest.raises(WriteError, match=r"not enough free space \(about [\d.]+ MB needed, 0 MB free\)"):
            write(path)
    assert not [name for _, _, names in os.walk(disk) for name in names if name != "filler"]


@pytest.fixture(scope="module")
def tf1_checkpoint(tmp_path_factory):
    return save_tf1_checkpoint(sid_tf2.build_unet("sony"), tmp_path_factory.mktemp("tf1") / "model.ckpt")


@pytest.mark.parametrize("name", ["sony.weights.h5", "sony.keras", "sony_savedmodel"])
def test_the_converter_refuses_a_read_only_place_in_one_line(tf1_checkpoint, places, name):
    read_only = places("ro", read_only=True)
    with pytest.raises(WriteError, match="read-only file system"):
        convert(tf1_checkpoint, str(read_only / name))
    assert os.listdir(read_only) == []


def test_the_converter_command_on_a_read_only_place(tf1_checkpoint, places):
    read_only = places("ro", read_only=True)
    result = run_command("weight_converter", f"--checkpoint={tf1_checkpoint}",
                         f"--output={read_only / 'sony.weights.h5'}", cwd=REPO)
    assert result.returncode == 1
    assert _one_line(result.stderr) == f"error: {read_only / 'sony.weights.h5'}: read-only file system"


# ---------------------------------------------------------------------------------------------
# sid-enhance, the simulator, the raw cache, LibRaw.


@pytest.fixture
def weights(random_weights):
    return random_weights["sony"]


def _enhance(*args):
    values = enhance.define_flags(enhance.flags.FlagValues())
    return enhance.main(values(["sid-enhance", *map(str, args)]), values)


def test_sid_enhance_on_a_full_or_read_only_place(tmp_path, weights, places, capsys):
    photo = tmp_path / "dark.dng"
    write_dng(photo, (512 + np.random.default_rng(0).poisson(40, (64, 96))).astype(np.uint16), cfa_pattern="RGGB")
    full = places("full", size="1m", full=True)
    assert _enhance(photo, f"--weights={weights}", f"--output_dir={full / 'out'}") == 1
    line = _one_line(capsys.readouterr().err)
    assert re.fullmatch(r"sid-enhance: " + ONE_LINE_SPACE.format(path=re.escape(str(full / "out" / "dark_sid.png"))),
                        line), line
    assert not (full / "out").exists()  # created by the run, left empty: removed
    read_only = places("ro", read_only=True)
    assert _enhance(photo, f"--weights={weights}", f"--output_dir={read_only / 'out'}") == 1  # the place, not usage
    assert _one_line(capsys.readouterr().err) == (
        f"sid-enhance: error: cannot create --output_dir: {read_only / 'out'}: read-only file system")


def _dark_photos(folder, count):
    folder.mkdir()
    noise = np.random.default_rng(0)
    for index in range(count):
        write_dng(folder / f"dark{index}.dng", (512 + noise.poisson(40, (64, 96))).astype(np.uint16),
                  cfa_pattern="RGGB")
    return folder


def test_a_second_sid_enhance_on_a_busy_output_folder_stops_in_one_line(tmp_path, weights, capsys):
    photos, out = _dark_photos(tmp_path / "photos", 1), tmp_path / "out"
    out.mkdir()
    (out / "dark0_sid.png").write_bytes(b"another run's image")
    with FolderLock(str(out), _quiet, holder="sid-enhance run", flag="--output_dir"):
        assert _enhance(photos, f"--weights={weights}", f"--output_dir={out}", "--overwrite") == 1
    assert re.fullmatch(rf"sid-enhance: error: {re.escape(str(out))} is in use by another sid-enhance run "
                        rf"\(PID {os.getpid()} .*\); wait for it to end, stop it, or use another --output_dir\.",
                        _one_line(capsys.readouterr().err))
    assert (out / "dark0_sid.png").read_bytes() == b"another run's image"  # even with --overwrite


def test_sigterm_in_a_folder_run_leaves_whole_pairs_and_a_rerun_finishes(tmp_path, weights, monkeypatch, capfd):
    """SIGTERM while the first file's pair is written: that pair is finished (or rolled back),
    nothing temporary is left, the run says so in one line with 143; a rerun does the rest."""
    from sid_tf2 import cli
    from sid_tf2.enhance import output

    photos, out = _dark_photos(tmp_path / "photos", 3), tmp_path / "out"
    arguments = [photos, f"--weights={weights}", f"--output_dir={out}", "--compare"]
    real_write, previous = output.write_output, signal.getsignal(signal.SIGTERM)

    def write_then_terminate(target, *args, **kwargs):
        if not os.listdir(out) or os.listdir(out) == [LOCK_FILE]:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives in the main thread while this one writes
        return real_write(target, *args, **kwargs)

    monkeypatch.setattr(output, "write_output", write_then_terminate)
    values = enhance.define_flags(enhance.flags.FlagValues())
    values(["sid-enhance", *map(str, arguments[1:])])
    try:
        with pytest.raises(SystemExit) as ended:
            cli.run(lambda argv: enhance.main(["sid-enhance", str(photos)], values), ["sid-enhance"])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ended.value.code == 143
    assert _one_line(capfd.readouterr().err) == "sid-enhance: stopped by SIGTERM; files already written are complete"
    left = sorted(os.listdir(out))
    assert left in ([], ["dark0_compare.png", "dark0_sid.png"]), left  # a whole pair or none; no .tmp-, no .lock
    monkeypatch.setattr(output, "write_output", real_write)
    assert _enhance(*arguments) == 0
    assert sorted(os.listdir(out)) == [f"dark{i}_{kind}.png" for i in range(3) for kind in ("compare", "sid")]


def test_a_rerun_removes_stale_staging_by_name_and_completes_a_half_pair(tmp_path, weights, capfd):
    """What SIGKILL leaves (a staged compare image, the pair's `_sid` alone) is put right by
    the next run: the staging file is removed with a note, the `_sid` kept as it is."""
    photos, out = _dark_photos(tmp_path / "photos", 1), tmp_path / "out"
    arguments = [photos, f"--weights={weights}", f"--output_dir={out}", "--compare"]
    assert _enhance(*arguments) == 0
    os.remove(out / "dark0_compare.png")
    stale = out / ".tmp-1a2b3c4d-dark0_compare.png"
    stale.write_bytes(b"\0" * 4096)
    kept = out / "dark0_sid.png"
    os.utime(kept, ns=(0, 10**9))  # any rewrite would change it
    before = kept.read_bytes()
    capfd.readouterr()
    assert _enhance(*arguments) == 0
    captured = capfd.readouterr()
    assert f"note: removed {stale}, left by an interrupted run" in captured.err
    assert f"completing a half-written pair: writing {out / 'dark0_compare.png'}, keeping {kept}" in captured.out
    assert sorted(os.listdir(out)) == ["dark0_compare.png", "dark0_sid.png"]
    assert kept.read_bytes() == before and os.stat(kept).st_mtime_ns == 10**9


@pytest.mark.parametrize("name", ["sony.onnx", "sony.tflite", "sony.xml"])
def test_an_export_to_a_read_only_or_full_place_is_one_line(random_weights, places, monkeypatch, name):
    """The runtime export (slow, and not what is tested) is replaced by its bytes (for OpenVINO
    IR, the .xml's and the .bin's)."""
    from weight_converter import export

    files = {"": b"\0" * 2**21, **({".bin": b"\0" * 2**21} if name.endswith(".xml") else {})}
    monkeypatch.setattr(export, "_convert", lambda *args: files)
    for place, reason in ((places("ro", read_only=True), "read-only file system"),
                          (places("full", size="1m", full=True), "not enough free space")):
        result = run_command("weight_converter", f"--checkpoint={random_weights['sony']}",
                             f"--output={place / name}", cwd=REPO)
        assert result.returncode == 1, result.stderr
        assert _one_line(result.stderr).startswith(f"error: {place / name}: {reason}"), result.stderr
        assert [entry for entry in os.listdir(place) if entry != "filler"] == []


def test_sid_enhance_leaves_no_output_folder_when_every_file_fails(tmp_path, weights, capfd):
    text = tmp_path / "notes.ARW"
    text.write_text("exposure 0.1 s\n" * 20)
    truncated = tmp_path / "cut.dng"
    write_dng(truncated, np.full((64, 96), 600, np.uint16), cfa_pattern="RGGB")
    truncated.write_bytes(truncated.read_bytes()[:7000])
    assert _enhance(text, truncated, f"--weights={weights}", f"--output_dir={tmp_path / 'out'}") == 1
    captured = capfd.readouterr()
    assert "notes.ARW: FAILED: not a raw file that LibRaw can read" in captured.out
    assert "cut.dng: FAILED: could not read its raw image data: the file is truncated" in captured.out
    assert "Unexpected end of file" in captured.out  # LibRaw's words, inside the tool's line
    assert not re.search(r"^\S*cut\.dng: Unexpected end of file$", captured.err, re.M)  # not LibRaw's own line
    assert not (tmp_path / "out").exists()


def test_libraw_stderr_is_folded_into_the_error(tmp_path, capfd):
    path = tmp_path / "cut.dng"
    write_dng(path, np.full((64, 96), 600, np.uint16), cfa_pattern="RGGB")
    path.write_bytes(path.read_bytes()[:7000])
    with pytest.raises(RawFileError, match=r"truncated or unreadable \(LibRaw: Unexpected end of file\)"):
        read_raw(path)
    assert capfd.readouterr().err == ""  # LibRaw printed "<file>: Unexpected end of file" here


def test_the_simulator_command_turns_expected_errors_into_one_line(tmp_path, places, capsys):
    from absl import flags

    def run(*args):
        values = simulate.define_flags(flags.FlagValues())
        values(["simulate", *args, "--num_scenes=3", "--size=32,32"])
        return simulate.main(["simulate"], values)

    (tmp_path / "photos").mkdir()
    assert run(f"--output_dir={tmp_path / 'out'}", f"--source_dir={tmp_path / 'photos'}") == 1
    assert _one_line(capsys.readouterr().err).startswith("error: No readable photographs")
    full = places("full", size="1m", full=True)
    assert run(f"--output_dir={full / 'out'}") == 1
    assert re.fullmatch(ONE_LINE_SPACE.format(path=re.escape(str(full / "out")) + r"/\S+"),
                        _one_line(capsys.readouterr().err))


def test_a_cache_entry_cut_short_or_older_than_its_file_is_named_and_rebuilt(tmp_path, capsys):
    raw_file = tmp_path / "00001_00_0.1s.dng"
    write_dng(raw_file, (512 + np.arange(64 * 64) % 1000).reshape(64, 64).astype(np.uint16), cfa_pattern="RGGB")
    entry = data.RawCache(tmp_path / "cache").input(raw_file)
    expected = np.array(entry.load())
    with open(entry.array_path, "r+b") as stream:
        stream.truncate(os.path.getsize(entry.array_path) // 2)
    rebuilt = data.RawCache(tmp_path / "cache").input(raw_file)
    assert f"note: the cache entry {entry.array_path} of {raw_file} is cut short or corrupt" in capsys.readouterr().err
    np.testing.assert_array_equal(rebuilt.load(), expected)
    stat = os.stat(raw_file)
    os.utime(raw_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    cache = data.RawCache(tmp_path / "cache")
    assert cache.input(raw_file).array_path != entry.array_path and cache.decoded == [str(raw_file)]
    assert f"note: {raw_file} changed since it was cached" in capsys.readouterr().err
