"""A hostile but ordinary user's sweep over every command: bad flags, bad files, bad places,
signals and concurrent runs, each classified as clean, noisy or broken.

    python benchmarks/fault_sweep.py [--only=SUBSTRING] [--keep]

Each case runs a real command line in a scratch folder (a small synthetic dataset, freshly
built weights, DNG inputs) and checks how it ends:

- broken: the wrong exit status (0 success, 1 a file or run failed, 2 usage, 130 Ctrl-C,
  143 SIGTERM), a hang (no end within the case's timeout), a half-written or `.tmp-` file left
  behind, or an existing output replaced without --overwrite;
- noisy: the right status, but a traceback, or more lines on stderr than the case allows
  (one `error:` line for a failure, plus progress lines where the command prints them);
- clean: everything else.

Read-only and full places are real mounts (a read-only bind mount, a 1 MB tmpfs): run as root;
without permission to mount those cases are reported as skipped. The summary line counts each
class; the script exits 1 when anything is broken.
"""

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import common  # noqa: F401  (puts the repository root on sys.path)

ENHANCE = ["sid-enhance"]
CONVERT = ["sid-convert"]
TRAIN = ["sid-train"]
TEST = ["sid-test"]
SIMULATE = ["sid-simulate"]
TUNE = ["sid-tune"]


@dataclasses.dataclass
class Case:
    """One command line and how it must end."""

    name: str
    argv: list
    status: tuple  # acceptable exit statuses
    max_lines: int = 1  # stderr lines allowed (an error is one)
    signal_after: tuple = ()  # (seconds, or callable(scratch) -> bool, signal): stop the run from outside
    timeout: float = 300
    needs_mount: bool = False
    check: object = None  # callable(scratch) -> "" or what is wrong (broken)
    before: object = None  # callable(scratch) run before the command
    concurrent: bool = False  # start the command twice at once


@dataclasses.dataclass
class Outcome:
    case: str
    verdict: str  # clean, noisy, broken, skipped
    detail: str


# --------------------------------------------------------------------------------------------
# The scratch folder: inputs every case can use.

def prepare(scratch):
    """A dataset, weights for both cameras, DNG inputs, odd files and (as root) mounts."""
    run = _runner(scratch)
    run(SIMULATE + [f"--output_dir={scratch}/data", "--num_scenes=6", "--size=512,768"])
    run([sys.executable, "-c", (
        "import keras, sys; from sid_tf2.model import build_unet\n"
        "for camera in ('sony', 'fuji'):\n"
        "    keras.utils.set_random_seed(0)\n"
        f"    build_unet(camera).save_weights('{scratch}/' + camera + '.weights.h5')\n")])
    os.makedirs(f"{scratch}/photos")
    shorts = sorted(os.listdir(f"{scratch}/data/short"))
    for name in shorts[::3][:6]:  # one short exposure of each scene
        shutil.copy(f"{scratch}/data/short/{name}", f"{scratch}/photos/{name}")
    shutil.copy(f"{scratch}/data/short/{shorts[0]}", f"{scratch}/photo.dng")
    with open(f"{scratch}/truncated.dng", "wb") as stream:
        stream.write(open(f"{scratch}/photo.dng", "rb").read()[:5000])
    with open(f"{scratch}/notes.dng", "w") as stream:
        stream.write("not a raw file\n")
    with open(f"{scratch}/corrupt.weights.h5", "wb") as stream:
        stream.write(b"\x89HDF\r\n\x1a\n" + bytes(64))
    os.mkfifo(f"{scratch}/pipe.dng")
    os.makedirs(f"{scratch}/with_pipe")
    shutil.copy(f"{scratch}/photo.dng", f"{scratch}/with_pipe/a.dng")
    os.mkfifo(f"{scratch}/with_pipe/pipe.dng")
    shutil.copy(f"{scratch}/photo.dng", f"{scratch}/{'l' * 240}.dng")
    mounts = []
    shutil.copytree(f"{scratch}/data", f"{scratch}/readonly/data")  # a dataset on a read-only disk
    os.makedirs(f"{scratch}/full")
    if _mount("--bind", f"{scratch}/readonly", f"{scratch}/readonly") and _mount(
            "-o", "remount,ro,bind", f"{scratch}/readonly"):
        mounts.append(f"{scratch}/readonly")
    if _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", f"{scratch}/full"):
        mounts.append(f"{scratch}/full")
        with open(f"{scratch}/full/filler", "wb") as stream:
            with contextlib.suppress(OSError):
                stream.write(bytes(1 << 20))
    return mounts


def _runner(scratch):
    def run(argv):
        result = subprocess.run(argv, cwd=scratch, capture_output=True, text=True)
        if result.returncode:
            raise SystemExit(f"preparing the sweep failed: {' '.join(argv)}\n{result.stderr}")
    return run


def _mount(*args):
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


# --------------------------------------------------------------------------------------------
# Checks of what a run left behind.

def no_staging_left(folder):
    def check(scratch):
        left = [name for name in _walk(os.path.join(scratch, folder)) if ".tmp-" in name]
        return f"left staging files {left}" if left else ""
    return check


def first_output_in(folder):
    """True once the run has started writing its first output in `folder` (staged or done)."""
    def started(scratch):
        with contextlib.suppress(FileNotFoundError):
            return any(name != ".lock" for name in os.listdir(os.path.join(scratch, folder)))
        return False
    return started


def _walk(root):
    for directory, _, names in os.walk(root):
        for name in names:
            yield os.path.relpath(os.path.join(directory, name), root)


def outputs_exist(folder, *names):
    def check(scratch):
        missing = [name for name in names if not os.path.exists(os.path.join(scratch, folder, name))]
        return f"missing outputs {missing}" if missing else no_staging_left(folder)(scratch)
    return check


def unchanged(path):
    """Before: remember the file's bytes; check: they are the same."""
    memory = {}

    def before(scratch):
        full = os.path.join(scratch, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as stream:
            stream.write(b"the user's own file")
        memory["content"] = b"the user's own file"

    def check(scratch):
        with open(os.path.join(scratch, path), "rb") as stream:
            return "" if stream.read() == memory["content"] else f"{path} was replaced"

    return before, check


def cases(scratch):
    weights = f"--weights={scratch}/sony.weights.h5"
    photo = f"{scratch}/photo.dng"
    own_before, own_check = unchanged("own/photo_sid.png")
    profile_before, profile_check = unchanged("profile.json")
    return [
        # sid-enhance: files
        Case("enhance a good file", ENHANCE + [photo, weights, "--output_dir=out1"], (0,), max_lines=3,
             check=outputs_exist("out1", "photo_sid.png")),
        Case("enhance a missing file", ENHANCE + [f"{scratch}/nothing.dng", weights], (1, 2)),
        Case("enhance a text file named .dng", ENHANCE + [f"{scratch}/notes.dng", weights, "--output_dir=o"],
             (1,), max_lines=2),
        Case("enhance a truncated DNG", ENHANCE + [f"{scratch}/truncated.dng", weights, "--output_dir=o"],
             (1,), max_lines=2),
        Case("enhance a FIFO named .dng", ENHANCE + [f"{scratch}/pipe.dng", weights, "--output_dir=o"],
             (1, 2), max_lines=2, timeout=60),
        Case("enhance a folder holding a FIFO", ENHANCE + [f"{scratch}/with_pipe", weights, "--output_dir=o2"],
             (0, 1), max_lines=4, timeout=120, check=outputs_exist("o2", "a_sid.png")),
        Case("enhance a 240-character name", ENHANCE + [f"{scratch}/{'l' * 240}.dng", weights, "--output_dir=o3"],
             (0,), max_lines=3, check=outputs_exist("o3", f"{'l' * 240}_sid.png")),
        Case("enhance into a read-only folder", ENHANCE + [photo, weights, f"--output_dir={scratch}/readonly/x"],
             (1,), max_lines=2, needs_mount=True),
        Case("enhance into a full disk", ENHANCE + [photo, weights, f"--output_dir={scratch}/full",
                                                   "--format=tiff", "--bit_depth=16"],
             (1,), max_lines=3, needs_mount=True, check=no_staging_left("full")),
        Case("enhance keeps an existing output", ENHANCE + [photo, weights, "--output_dir=own"], (0, 1),
             max_lines=3, before=own_before, check=own_check),
        Case("enhance with missing weights", ENHANCE + [photo, f"--weights={scratch}/none.weights.h5"], (2,)),
        Case("enhance with corrupt weights", ENHANCE + [photo, f"--weights={scratch}/corrupt.weights.h5"], (2,)),
        Case("enhance a Bayer file with Fuji weights", ENHANCE + [photo, f"--weights={scratch}/fuji.weights.h5",
                                                                 "--output_dir=o4"], (1, 2), max_lines=2),
        Case("enhance with small tiles only", ENHANCE + [photo, weights, "--output_dir=o5", "--tile_size=128"],
             (0,), max_lines=3),
        # sid-enhance: flags
        *[Case(f"enhance {flag}", ENHANCE + [photo, weights, flag], (2,))
          for flag in ("--format=bmp", "--backend=bogus", "--png_level=10", "--bit_depth=12", "--formt=png",
                       "--ratio=-3", "--tile_size=100")],
        # sid-enhance: stops and concurrency
        Case("enhance stopped by SIGTERM", ENHANCE + [f"{scratch}/photos", weights, "--output_dir=o6", "--compare",
                                                     "--format=tiff", "--bit_depth=16"],
             (143,), max_lines=4, signal_after=(first_output_in("o6"), signal.SIGTERM), check=no_staging_left("o6")),
        Case("enhance rerun after SIGTERM completes the pairs",
             ENHANCE + [f"{scratch}/photos", weights, "--output_dir=o6", "--compare", "--format=tiff",
                        "--bit_depth=16"], (0,), max_lines=6, check=_pairs_complete("o6")),
        Case("enhance stopped by Ctrl-C", ENHANCE + [f"{scratch}/photos", weights, "--output_dir=o7"], (130,),
             max_lines=3, signal_after=(first_output_in("o7"), signal.SIGINT), check=no_staging_left("o7")),
        Case("two enhance runs on one folder", ENHANCE + [f"{scratch}/photos", weights, "--output_dir=o8"],
             (0, 1), max_lines=4, concurrent=True),
        # the converter
        Case("convert a missing checkpoint", CONVERT + [f"--checkpoint={scratch}/none", "--output=x.weights.h5"], (1,)),
        Case("export .onnx to a read-only folder", CONVERT + [f"--checkpoint={scratch}/sony.weights.h5",
                                                             f"--output={scratch}/readonly/m.onnx"],
             (1,), needs_mount=True),
        Case("export .tflite to a read-only folder", CONVERT + [f"--checkpoint={scratch}/sony.weights.h5",
                                                               f"--output={scratch}/readonly/m.tflite"],
             (1,), needs_mount=True),
        Case("convert with a bad flag", CONVERT + ["--quantise=int8"], (2,)),
        # training and evaluation
        Case("train on a read-only dataset", TRAIN + [f"--data_dir={scratch}/readonly/data", "--result_dir=r1",
                                                     "--epochs=0"], (1,), max_lines=2, needs_mount=True),
        Case("train with a bad flag", TRAIN + ["--epocs=3"], (2,)),
        Case("train stopped by Ctrl-C at start-up", TRAIN + [f"--data_dir={scratch}/data", "--result_dir=r2"],
             (130,), signal_after=(1.5, signal.SIGINT)),
        Case("test without a dataset", TEST + [f"--data_dir={scratch}/nothing", "--result_dir=t1",
                                              f"--checkpoint={scratch}/sony.weights.h5"], (1,)),
        Case("test with a bad flag", TEST + ["--protocl=all"], (2,)),
        # the simulator and calibration
        Case("simulate without --output_dir", SIMULATE, (2,)),
        Case("simulate with a stray argument", SIMULATE + ["extra", "--output_dir=s"], (2,)),
        Case("calibrate without frames", SIMULATE + ["--calibrate", f"--dark_frames={scratch}/none",
                                                    f"--flat_pairs={scratch}/none"], (1, 2)),
        Case("calibration keeps an existing profile", SIMULATE + [
            "--calibrate", f"--dark_frames={scratch}/photos", f"--flat_pairs={scratch}/photos",
            f"--profile_output={scratch}/profile.json"], (1, 2), max_lines=2, before=profile_before,
             check=profile_check),
        Case("tune a camera that does not exist", TUNE + ["--camera=canon"], (2,)),
    ]


def _pairs_complete(folder):
    def check(scratch):
        names = set(os.listdir(os.path.join(scratch, folder)))
        stems = {name.rsplit("_sid.", 1)[0] for name in names if "_sid." in name}
        halves = [stem for stem in stems if not any(n.startswith(stem + "_compare.") for n in names)]
        return f"half pairs left: {sorted(halves)}" if halves else no_staging_left(folder)(scratch)
    return check


# --------------------------------------------------------------------------------------------
# Running and judging.

def run_case(case, scratch, mounts):
    if case.needs_mount and len(mounts) < 2:
        return Outcome(case.name, "skipped", "needs mounts (run as root)")
    if case.before:
        case.before(scratch)
    started = [subprocess.Popen(case.argv, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
               for _ in range(2 if case.concurrent else 1)]
    if case.signal_after:
        when, sig = case.signal_after
        threading.Thread(target=_signal, args=(started, when, sig, scratch), daemon=True).start()
    results = []
    for process in started:
        try:
            out, err = process.communicate(timeout=case.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return Outcome(case.name, "broken", f"no end within {case.timeout:.0f} s")
        results.append((process.returncode, out, err))
    return judge(case, scratch, results)


def _signal(started, when, sig, scratch):
    """Send `sig` after `when` seconds, or once `when(scratch)` holds (a run part-way through,
    however fast the machine)."""
    deadline = time.monotonic() + (when if not callable(when) else 600)
    while time.monotonic() < deadline and not (callable(when) and when(scratch)):
        if all(process.poll() is not None for process in started):
            return
        time.sleep(0.02)
    for process in started:
        if process.poll() is None:
            process.send_signal(sig)


def judge(case, scratch, results):
    problems, noise = [], []
    for status, out, err in results:
        lines = [line for line in err.splitlines() if line.strip()]
        if status not in case.status:
            problems.append(f"exit {status}, expected {'/'.join(map(str, case.status))}: {_last(lines)}")
        if "Traceback" in err:
            noise.append(f"traceback ({len(lines)} lines): {_last(lines)}")
        elif len(lines) > case.max_lines:
            noise.append(f"{len(lines)} stderr lines: {_last(lines)}")
    if case.concurrent and all(status == 0 for status, _, _ in results) and not any(
            "busy" in err or "another" in err or "already" in err for _, _, err in results):
        problems.append("both runs wrote the same folder without a word")
    if case.check:
        wrong = case.check(scratch)
        if wrong:
            problems.append(wrong)
    if problems:
        return Outcome(case.name, "broken", "; ".join(problems))
    if noise:
        return Outcome(case.name, "noisy", "; ".join(noise))
    status, _, err = results[0]
    return Outcome(case.name, "clean", f"exit {status}: {_last([line for line in err.splitlines() if line.strip()])}")


def _last(lines):
    return (lines[-1] if lines else "(nothing on stderr)")[:160]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="sid_fault_sweep_")
    mounts = []
    try:
        mounts = prepare(scratch)
        outcomes = []
        for case in cases(scratch):
            if args.only in case.name:
                outcome = run_case(case, scratch, mounts)
                outcomes.append(outcome)
                print(f"{outcome.verdict:8s} {outcome.case}: {outcome.detail}", flush=True)
        counts = {verdict: sum(o.verdict == verdict for o in outcomes)
                  for verdict in ("clean", "noisy", "broken", "skipped")}
        print(f"\n{len(outcomes)} cases: " + ", ".join(f"{count} {verdict}" for verdict, count in counts.items()))
        return 1 if counts["broken"] else 0
    finally:
        for point in reversed(mounts):
            subprocess.run(["umount", point], capture_output=True)
        if args.keep:
            print(f"scratch folder kept: {scratch}")
        else:
            for directory, names, files in os.walk(scratch):
                for name in names + files:
                    with contextlib.suppress(OSError):
                        os.chmod(os.path.join(directory, name), stat.S_IRWXU)
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
