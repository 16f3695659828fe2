"""Every tuner candidate against the original graph on this machine, and what the tuner chose.

    python benchmarks/bench_tuned.py [--weights=W.h5] [--meta=.../model.ckpt.meta] [--small]
        [--repeats=3] [--retune] [--train_size=512] [--folder=3] [--skip=train,folder]

1. The tuner's choice for evaluate, enhance and train on this machine (`sid_tf2.tuning`; from
   its cache, or measured now as a script's first run would, or again with --retune), with
   the table it measured.
2. Inference on a full Sony frame (`--small`: 352x528 packed): the original graph and every
   candidate of evaluate (whole frames, as test_sony.py runs) and of enhance (whole, and in
   sid-enhance's default tiles of 640), interleaved in one process (bench_inference.py), with
   PSNR against float32 and the speed-up over the original graph.
3. One training step (bench_train_step.py): the original graph's Adam op and every train
   candidate, interleaved.
4. A folder of `--folder` full-size raw frames through sid-enhance with the tuned enhance
   settings, against the network alone on the same frames (bench_folder.py).

Each part runs in its own process, as a user's command would; the machine (CPU model and
flags, oneDNN state, GPUs) is printed first. Use trained weights for meaningful PSNRs.
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the repository root on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))


def _run(script, *args):
    command = [sys.executable, os.path.join(HERE, script), *args]
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="Trained .weights.h5 (else a seeded random init).")
    parser.add_argument("--meta", default=None, help="The published model.ckpt.meta (else $SID_REFERENCE_DIR).")
    parser.add_argument("--small", action="store_true", help="A 352x528 packed frame instead of a full one.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--retune", action="store_true", help="Measure the tuner's choices again.")
    parser.add_argument("--train_size", type=int, default=512, help="Packed patch side of the train step.")
    parser.add_argument("--folder", type=int, default=3, help="Full-size frames in the folder run.")
    parser.add_argument("--skip", default="", help="Parts to leave out: inference, train, folder.")
    args = parser.parse_args()
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}

    from sid_tf2 import tuning
    from sid_tf2.hardware import detect_hardware
    from sid_tf2.speed_settings import SpeedSettings

    info = common.machine_info()
    common.print_header("Tuned settings against the original graph", info)
    model = None
    if args.weights:
        from sid_tf2.weights import load_model_weights

        model, _ = load_model_weights(args.weights)
    chosen = {}
    for purpose in tuning.PURPOSES:
        settings = tuning.tuned_settings(purpose, model=model if purpose != "train" else None,
                                         tune=True, retune=args.retune, log=print)
        chosen[purpose] = settings.name
        print(f"- {purpose}: **{settings.name}** ({settings.reason})", flush=True)

    machine = detect_hardware()
    common_args = [f"--repeats={args.repeats}"] + ([f"--weights={args.weights}"] if args.weights else []) + (
        [f"--meta={args.meta}"] if args.meta else [])
    if "inference" not in skip:
        names = [c.name for c in tuning.candidates("evaluate", machine)]
        for candidate in tuning.candidates("enhance", machine):
            for name in (candidate.name, f"{candidate.name}+tiled{tuning.ENHANCE_TILE}"):
                if name not in names:
                    names.append(name)
        SpeedSettings.from_name(names[0])  # the names parse back
        _run("bench_inference.py", "--configs=" + ",".join(["original", *names]), "--memory_configs=none",
             "--no_peak", *(["--small"] if args.small else []), *common_args)
    if "train" not in skip:
        names = [c.name for c in tuning.candidates("train", machine)]
        _run("bench_train_step.py", "--configs=" + ",".join(["original", *names]),
             f"--size={args.train_size}", *common_args)
    if "folder" not in skip:
        _run("bench_folder.py", f"--frames={args.folder}", *(
            [f"--weights={args.weights}"] if args.weights else []))
    print("\nTuner's choices on this machine: " + ", ".join(f"{p} {n}" for p, n in chosen.items()))


if __name__ == "__main__":
    main()
