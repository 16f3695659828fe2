"""Show, re-measure or clear the settings tuned for this machine (`sid_tf2.tuning`).

    python -m sid_tf2.tune                       # what is cached for this machine
    python -m sid_tf2.tune --retune=all          # measure evaluate, enhance and train again
    python -m sid_tf2.tune --retune=enhance --weights=sony.weights.h5 --budget=30
    python -m sid_tf2.tune --clear               # forget this machine's choices (--clear_all: all)
"""

import sys

from absl import flags

from sid_tf2 import cli

FLAGS = flags.FLAGS
flags.DEFINE_list("retune", [], "Purposes to measure again: evaluate, enhance, train, or all.")
flags.DEFINE_bool("clear", False, "Forget this machine's tuned settings.")
flags.DEFINE_bool("clear_all", False, "Forget the tuned settings of every machine in the cache.")
flags.DEFINE_float("budget", 45.0, "Seconds of measuring per purpose (at most 60).", lower_bound=1.0)
flags.DEFINE_string("weights", None, "A .weights.h5/.keras file, TF1 checkpoint or run whose "
                    "outputs the accuracy floors compare (default: random weights).")
flags.DEFINE_enum("camera", "sony", ["sony", "fuji"], "The network to measure.")
cli.define_verbose_flag()
flags.DEFINE_string("child", None, "Internal: measure the request in this directory (the tuner's "
                    "child process with oneDNN switched).")

PURPOSES = ("evaluate", "enhance", "train")


def main(argv):
    del argv
    cli.load_tensorflow(verbose=FLAGS.verbose)
    from sid_tf2 import tuning  # TensorFlow is imported only past --help

    if FLAGS.child:
        tuning.run_child(FLAGS.child)
        return 0

    purposes = list(PURPOSES) if "all" in FLAGS.retune else FLAGS.retune
    unknown = sorted(set(purposes) - set(PURPOSES))
    if unknown:
        print(f"error: --retune takes {', '.join(PURPOSES)} or all, not {', '.join(unknown)}", file=sys.stderr)
        return 2
    path = tuning.cache_path()
    if FLAGS.clear or FLAGS.clear_all:
        try:
            removed = tuning.clear(all_machines=FLAGS.clear_all)
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"cleared {removed} machine entr{'y' if removed == 1 else 'ies'} from {path}")
        return 0
    model = None
    if FLAGS.weights and {"evaluate", "enhance"} & set(purposes):
        from sid_tf2.weights import WeightsError, load_model_weights

        try:
            model, _ = load_model_weights(FLAGS.weights, camera=FLAGS.camera)
        except (WeightsError, FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    for purpose in purposes:
        tuning.tuned_settings(purpose, model=model, camera=FLAGS.camera, retune=True,
                              budget=FLAGS.budget, switchable=purpose != "train")
    key = tuning.fingerprint_key(tuning.machine_fingerprint())
    entry = tuning.load_cache(path).get(key)
    print(f"cache: {path}")
    if not entry:
        print("nothing tuned yet for this machine: the first run of each purpose measures it "
              "(or --retune=all).")
        return 0
    print("this machine: " + ", ".join(f"{k} {v}" for k, v in entry["fingerprint"].items()))
    for purpose, tuned in sorted(entry["purposes"].items()):
        print(f"  {purpose}: {tuning.summary_line(purpose, tuned, switchable=purpose != 'train')}")
    return 0


if __name__ == "__main__":
    cli.run(main)
