"""Train the SID network: the original's train_Sony.py recipe on TensorFlow 2.

    python train_sony.py                                   # the original recipe on dataset/Sony/
    python train_sony.py --synthetic --epochs=30 --patch_size=128 --save_freq=10 --val_freq=5
    python train_sony.py --camera=fuji --data_dir=./dataset/Fuji/ --result_dir=./result_Fuji/
    python train_sony.py --simulate_on_the_fly --synthetic_source_dir=PHOTOS --result_dir=./result_pretrain/
    python train_sony.py --init_checkpoint=./result_pretrain/ --pairs_per_ratio=4 --reinit_last=1 \
        --freeze=encoder --learning_rate=2e-5 --epochs=200 --lr_drop_epoch=150 --result_dir=./result_finetune/

Running the same command again resumes from the newest checkpoint in --result_dir; Ctrl-C or
SIGTERM finishes the step, writes a checkpoint and exits (130 or 143) saying so. By default
the step runs with the fastest settings for this machine (float32 with XLA on a CPU without
native 16-bit arithmetic); --faithful computes exactly as the original graph did.
"""

import sys

from absl import flags, logging

from sid_tf2 import cli, speed_flags
from sid_tf2.atomic import WriteError
from sid_tf2.cli import config_flag_values, define_config_flags
from sid_tf2.folder_lock import FolderBusy
from sid_tf2.hardware import apply_math_settings
from sid_tf2.simulate import parse_size, write_synthetic_dataset
from sid_tf2.speed_flags import define_speed_flags, speed_settings_from_flags
from sid_tf2.training.config import GROUPS, TrainConfig
from sid_tf2.training.interrupt import TrainingInterrupted

FLAGS = flags.FLAGS
# Every setting of the run is a flag named, defaulted and explained by its TrainConfig field;
# the flags below it are this script's own.
define_config_flags(*GROUPS.values())
define_speed_flags()  # --precision, --jit_compile, --faithful
flags.adopt_module_key_flags(speed_flags)  # listed by --help
flags.DEFINE_bool("release_recipe", False, "Train as the code released with the published model "
                  "did: the four upsampling filters frozen and the column flip a no-op (it "
                  "flipped the batch axis until the authors' fix of 2018-10-08).")
flags.DEFINE_integer("cpu_devices", 0, "Split the CPU into this many logical devices, so that "
                     "--distribute=mirrored runs that many replicas on a machine without GPUs "
                     "(0: the devices TensorFlow finds).", lower_bound=0)
flags.DEFINE_bool("synthetic", False, "Generate a synthetic dataset (once, into --data_dir) with "
                  "the low-light simulator and train on it.")
flags.DEFINE_integer("synthetic_scenes", 8, "Scenes of the synthetic dataset.", lower_bound=3)
flags.DEFINE_string("synthetic_size", "1024,1024", "Mosaic size H,W of the synthetic scenes.")
flags.DEFINE_enum("synthetic_profile", "sony_a7s2", ["sony_a7s2", "other"], "Simulated camera profile.")
flags.DEFINE_string("noise_profile", None, "Noise profile JSON of the simulated camera (e.g. from "
                    "`python -m sid_tf2.simulate --calibrate`); replaces --synthetic_profile.")
cli.define_verbose_flag()


def _defaults():
    name = "Synthetic" if FLAGS.synthetic else "OnTheFly" if FLAGS.simulate_on_the_fly else FLAGS.camera.capitalize()
    data_dir = FLAGS.data_dir or f"./dataset/{name}/"
    result_dir = FLAGS.result_dir or f"./result_{name}/"
    return data_dir, result_dir


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    tf = cli.load_tensorflow(verbose=FLAGS.verbose)
    from sid_tf2.data import DatasetError  # rawpy: off --help
    from sid_tf2.raw import RawFileError  # rawpy: off --help
    from sid_tf2.training import TrainingError, train  # TensorFlow: after load_tensorflow, off --help

    if FLAGS.cpu_devices:  # before anything initialises TensorFlow's devices
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * FLAGS.cpu_devices)
    data_dir, result_dir = _defaults()
    try:  # a contradiction with --faithful is a usage error; auto is resolved by train()
        speed = speed_settings_from_flags() if FLAGS.faithful else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if speed is not None:  # --faithful: no TensorFloat-32 either, on GPUs that have it
        apply_math_settings(speed)
    if FLAGS.release_recipe and FLAGS.train_deconv:
        print("error: --release_recipe keeps the upsampling filters frozen: drop --train_deconv.",
              file=sys.stderr)
        return 2
    if FLAGS.synthetic and FLAGS.simulate_on_the_fly:
        print("error: --synthetic writes a dataset; --simulate_on_the_fly makes pairs without one: "
              "choose one.", file=sys.stderr)
        return 2
    if FLAGS.synthetic and FLAGS.camera != "sony":
        print("error: --synthetic makes Bayer (Sony-like) data; use --camera=sony.", file=sys.stderr)
        return 2
    config = TrainConfig.from_flat(**{
        **config_flag_values(*GROUPS.values()),
        "data_dir": data_dir, "result_dir": result_dir,
        "precision": speed.precision if speed else FLAGS.precision,
        "jit_compile": speed.jit_compile if speed else FLAGS.jit_compile,
        "tune_speed": True,
        "train_deconv": False if FLAGS.release_recipe else FLAGS.train_deconv,
        "column_flips": not FLAGS.release_recipe,
        "simulation_profile": FLAGS.noise_profile or FLAGS.synthetic_profile,
    })
    try:
        if FLAGS.synthetic:
            _write_synthetic(data_dir)
        train(config)
    except TrainingInterrupted as stopped:
        print(f"interrupted: {stopped}", file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:
        print("interrupted without a new checkpoint: run the same command to resume from the last "
              "one.", file=sys.stderr)
        return 130
    except (TrainingError, DatasetError, RawFileError, WriteError, FolderBusy, FileNotFoundError,
            ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _write_synthetic(data_dir):
    """The --synthetic dataset (kept when already complete: the simulator resumes its own work)."""
    summary = write_synthetic_dataset(
        data_dir, num_scenes=FLAGS.synthetic_scenes, size=parse_size(FLAGS.synthetic_size),
        seed=FLAGS.seed, source_dir=FLAGS.synthetic_source_dir, noise_model=FLAGS.noise_model,
        profile=FLAGS.noise_profile or FLAGS.synthetic_profile, max_ratio=FLAGS.max_ratio,
    )
    print(f"synthetic dataset: {summary.output_dir} ({summary.num_long} scenes)")


def run(camera=None, doc=None):
    """The `sid-train` console script, and train_sony.py / train_fuji.py: `camera` is the default
    of --camera, `doc` the text --help starts with (default: this module's docstring)."""
    if camera:
        FLAGS.set_default("camera", camera)
    cli.run(main, doc=doc)


if __name__ == "__main__":
    run()
