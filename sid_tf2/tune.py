"""Show, measure again or clear the speed settings tuned for this machine (`sid_tf2.tuning`).

    sid-tune                                  # the tables cached for this machine
    sid-tune --retune=all                     # measure evaluate, enhance and train again
    sid-tune --retune=enhance --weights=sony.weights.h5
    sid-tune --clear                          # forget this machine's tables (--clear_all: all)

(`python -m sid_tf2.tune` is the same command.) Each purpose times at most a few candidates,
in about 15-30 s; the original's computation is kept unless a candidate is at least 5 % faster
beyond the spread of the rounds.
"""

import sys

from absl import flags

from sid_tf2 import cli
from sid_tf2.constants import CAMERA_NAMES, PURPOSES
from sid_tf2.hardware import detect_hardware

FLAGS = flags.FLAGS
flags.DEFINE_list("retune", [], "Purposes to measure again: evaluate, enhance, train, or all.")
flags.DEFINE_bool("clear", False, "Forget this machine's tuned settings.")
flags.DEFINE_bool("clear_all", False, "Forget the tuned settings of every machine in the cache.")
flags.DEFINE_string("weights", None, "A .weights.h5/.keras file, TF1 checkpoint or run that the "
                    "16-bit candidates are checked on (default: a reference network with "
                    "full-range output).")
flags.DEFINE_enum("camera", "sony", CAMERA_NAMES, "The network to measure.")
flags.DEFINE_integer("patch_size", 512, "Training patch side to measure train on.", lower_bound=16)
cli.define_verbose_flag()


def main(argv):
    del argv
    cli.load_tensorflow(verbose=FLAGS.verbose)
    from sid_tf2 import tuning  # TensorFlow is imported only past --help

    purposes = list(PURPOSES) if "all" in FLAGS.retune else FLAGS.retune
    unknown = sorted(set(purposes) - set(PURPOSES))
    if unknown:
        print(f"error: --retune takes {', '.join(PURPOSES)} or all, not {', '.join(unknown)}", file=sys.stderr)
        return 2
    path = tuning.cache_path()
    if FLAGS.clear or FLAGS.clear_all:
        try:
            removed = tuning.clear(all_machines=FLAGS.clear_all, path=path)
        except Exception as error:  # pylint: disable=broad-except  (OSError, WriteError, a lock timeout)
            print(f"error: cannot clear {path}: {error}", file=sys.stderr)
            return 1
        print(f"cleared {removed} machine entr{'y' if removed == 1 else 'ies'} from {path}")
        return 0
    model = None
    if FLAGS.weights and {"evaluate", "enhance"} & set(purposes):
        from sid_tf2.weights import WeightsError, load_model_weights  # TensorFlow: past --help only

        try:
            model, _ = load_model_weights(FLAGS.weights, camera=FLAGS.camera)
        except (WeightsError, FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    for purpose in purposes:
        settings = tuning.tuned_settings(purpose, model=model, camera=FLAGS.camera, retune=True,
                                         patch=FLAGS.patch_size, log=print)
        print(f"{purpose}: {settings.reason}")
    if not purposes:
        show(tuning, path)
    return 0


def show(tuning, path):
    """Print this machine's fingerprint and, per purpose, its table or why there is none."""
    machine = detect_hardware()
    fingerprint = tuning.machine_fingerprint(machine)
    print(f"cache: {path}")
    print("this machine: " + ", ".join(f"{key} {value}" for key, value in fingerprint.items()))
    entry = tuning.load_cache(path).get(tuning.fingerprint_key(fingerprint))
    purposes = entry.get("purposes") if isinstance(entry, dict) else None
    for purpose in PURPOSES:
        names = tuning.candidates(purpose, machine)
        if len(names) == 1:
            print(f"{purpose}: {names[0].name}, the only candidate on this kind of machine")
            continue
        tuned = purposes.get(purpose) if isinstance(purposes, dict) else None
        if tuned is None:
            print(f"{purpose}: not measured yet (the first run of its script measures it, or --retune={purpose})")
            continue
        shape = tuned.get("input") if isinstance(tuned, dict) else None
        try:
            rows = tuning.parse_entry(purpose, tuned, machine, shape)
        except tuning.CacheEntryError as error:
            print(f"{purpose}: a damaged entry ({error}); it is measured again at the next run")
            continue
        print(f"{purpose}: {tuning.rank(rows)[0]} (measured {tuned.get('tuned', '?')} on {shape})")
        for line in tuning.table_lines(purpose, rows):
            print(line)


def run():
    """The `sid-tune` console script."""
    cli.run(main)


if __name__ == "__main__":
    run()
