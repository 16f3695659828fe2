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
from sid_tf2.speed_flags import define_speed_flags, speed_settings_from_flags

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "data_dir", None,
    "SID-layout dataset (short/ and long/). Default ./dataset/Sony/ (./dataset/Fuji/ for "
    "--camera=fuji), or ./dataset/Synthetic/ with --synthetic.")
flags.DEFINE_string("result_dir", None, "Checkpoints, image dumps and TensorBoard logs. "
                    "Default ./result_Sony/ (./result_Fuji/, ./result_Synthetic/).")
flags.DEFINE_enum("camera", "sony", ["sony", "fuji"], "Sensor: sony (Bayer) or fuji (X-Trans).")
flags.DEFINE_integer("epochs", 4000, "Last epoch; epochs run from 0 as in the original.", lower_bound=0)
flags.DEFINE_integer("patch_size", 512, "Side of the packed input patch.", lower_bound=2)
flags.DEFINE_integer("batch_size", 1, "Global batch size (summed over replicas).", lower_bound=1)
flags.DEFINE_integer("save_freq", 500, "Write image dumps every this many epochs.", lower_bound=1)
flags.DEFINE_float("learning_rate", 1e-4, "Learning rate up to --lr_drop_epoch, a tenth after.")
flags.DEFINE_integer("lr_drop_epoch", 2000, "Last epoch at the full learning rate.")
define_speed_flags()  # --precision, --jit_compile, --faithful
flags.adopt_module_key_flags(speed_flags)  # listed by --help
flags.DEFINE_bool("train_deconv", None, "Train the four upsampling filters. Unset: trained, "
                  "except from a TF1 checkpoint without Adam slots for them (the published one), "
                  "where they stay frozen as the release trained them.")
flags.DEFINE_bool("release_recipe", False, "Train as the code released with the published model "
                  "did: the four upsampling filters frozen and the column flip a no-op (it "
                  "flipped the batch axis until the authors' fix of 2018-10-08).")
flags.DEFINE_integer("seed", 0, "Seed of the initial weights and of every crop and order.")
flags.DEFINE_integer("val_freq", 100, "Validate every this many epochs (0: never).", lower_bound=0)
flags.DEFINE_integer("val_max_images", 0, "Validate on at most this many images (0: all).", lower_bound=0)
flags.DEFINE_string("init_checkpoint", None, "Start from a TF1 checkpoint (weights and Adam "
                    "state), a .weights.h5 or .keras file, or a previous run's result_dir.")
flags.DEFINE_enum("distribute", "none", ["none", "mirrored", "multi_worker"],
                  "mirrored: every GPU of this machine; multi_worker: machines from TF_CONFIG.")
flags.DEFINE_integer("cpu_devices", 0, "Split the CPU into this many logical devices, so that "
                     "--distribute=mirrored runs that many replicas on a machine without GPUs "
                     "(0: the devices TensorFlow finds).", lower_bound=0)
flags.DEFINE_string("list_file", None, "Train on the pairs of a SID list file instead of the glob.")
flags.DEFINE_string("cache_dir", None, "Where decoded raw files are cached (default DATA_DIR/.cache).")
flags.DEFINE_string("gt_png_dir", None, "Ground truths from the authors' 16-bit PNG release "
                    "(<stem>.png per long exposure) instead of rendering the raw files.")
flags.DEFINE_bool("exclude_misaligned", False, "Leave out scenes 10034, 10045 and 10172.")
flags.DEFINE_integer("keep_checkpoints", 3, "Epoch checkpoints kept (the best is kept too).", lower_bound=1)
flags.DEFINE_float("checkpoint_every_seconds", 300, "Write a checkpoint at most this often (and "
                   "always at --save_freq epochs, a new best, the end, and on Ctrl-C/SIGTERM); "
                   "epochs after it replay identically on resume. 0: every epoch.", lower_bound=0)
flags.DEFINE_integer("checkpoint_every_epochs", 1, "And at most every this many epochs.", lower_bound=1)
flags.DEFINE_bool("synthetic", False, "Generate a synthetic dataset (once, into --data_dir) with "
                  "the low-light simulator and train on it.")
flags.DEFINE_integer("synthetic_scenes", 8, "Scenes of the synthetic dataset.", lower_bound=3)
flags.DEFINE_string("synthetic_size", "1024,1024", "Mosaic size H,W of the synthetic scenes.")
flags.DEFINE_string("synthetic_source_dir", None, "Photographs and/or Bayer raw files to simulate "
                    "from (--synthetic or --simulate_on_the_fly); default: the photographs bundled "
                    "with scikit-image.")
flags.DEFINE_enum("noise_model", "physics", ["physics", "poisson_gaussian"], "Simulated noise model.")
flags.DEFINE_enum("synthetic_profile", "sony_a7s2", ["sony_a7s2", "other"], "Simulated camera profile.")
flags.DEFINE_string("noise_profile", None, "Noise profile JSON of the simulated camera (e.g. from "
                    "`python -m sid_tf2.simulate --calibrate`); replaces --synthetic_profile.")
flags.DEFINE_bool("simulate_on_the_fly", False, "Simulate every training pair inside the input "
                  "pipeline from --synthetic_source_dir instead of reading --data_dir (which, if it "
                  "exists, still provides the validation images).")
flags.DEFINE_integer("on_the_fly_examples", 64, "Simulated pairs per epoch with --simulate_on_the_fly.",
                     lower_bound=1)
flags.DEFINE_integer("on_the_fly_scene_size", 1024, "Short side of the scene each simulated patch "
                     "is cut from (the photo's scale).", lower_bound=2)
flags.DEFINE_integer("reinit_last", 0, "Fine-tuning: re-initialise the last N convolution layers "
                     "(g_conv10, g_conv9_2, ...) after --init_checkpoint (fresh starts only).", lower_bound=0)
flags.DEFINE_string("freeze", None, "Fine-tuning: layers not trained: 'encoder' (g_conv1_* .. "
                    "g_conv5_*), 'decoder', or a comma list of layer names.")
flags.DEFINE_float("train_fraction", None, "Train on this fraction of the pairs of each ratio "
                   "(chosen from --seed).")
flags.DEFINE_integer("pairs_per_ratio", None, "Train on this many pairs of each ratio (chosen "
                     "from --seed).", lower_bound=1)
flags.DEFINE_string("val_dir", None, "Validate on this dataset's val split instead of --data_dir's.")
cli.define_verbose_flag()


def _defaults():
    name = "Synthetic" if FLAGS.synthetic else "OnTheFly" if FLAGS.simulate_on_the_fly else FLAGS.camera.capitalize()
    data_dir = FLAGS.data_dir or f"./dataset/{name}/"
    result_dir = FLAGS.result_dir or f"./result_{name}/"
    return data_dir, result_dir


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    cli.load_tensorflow(verbose=FLAGS.verbose)
    from sid_tf2.atomic import WriteError
    from sid_tf2.data import DatasetError
    from sid_tf2.raw import RawFileError
    from sid_tf2.training import TrainConfig, TrainingError, train
    from sid_tf2.training.interrupt import TrainingInterrupted
    from sid_tf2.training.lock import ResultDirBusy

    if FLAGS.cpu_devices:  # before anything initialises TensorFlow's devices
        import tensorflow as tf

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
        from sid_tf2.hardware import apply_math_settings

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
    config = TrainConfig(
        data_dir=data_dir, result_dir=result_dir, camera=FLAGS.camera, epochs=FLAGS.epochs,
        patch_size=FLAGS.patch_size, batch_size=FLAGS.batch_size, save_freq=FLAGS.save_freq,
        learning_rate=FLAGS.learning_rate, lr_drop_epoch=FLAGS.lr_drop_epoch,
        precision=speed.precision if speed else FLAGS.precision,
        jit_compile=speed.jit_compile if speed else FLAGS.jit_compile,
        tune_speed=True,
        train_deconv=False if FLAGS.release_recipe else FLAGS.train_deconv,
        column_flips=not FLAGS.release_recipe, seed=FLAGS.seed, val_freq=FLAGS.val_freq,
        val_max_images=FLAGS.val_max_images, init_checkpoint=FLAGS.init_checkpoint,
        distribute=FLAGS.distribute, list_file=FLAGS.list_file, cache_dir=FLAGS.cache_dir,
        gt_png_dir=FLAGS.gt_png_dir,
        exclude_misaligned=FLAGS.exclude_misaligned, keep_checkpoints=FLAGS.keep_checkpoints,
        reinit_last=FLAGS.reinit_last, freeze=FLAGS.freeze, train_fraction=FLAGS.train_fraction,
        pairs_per_ratio=FLAGS.pairs_per_ratio, val_dir=FLAGS.val_dir,
        simulate_on_the_fly=FLAGS.simulate_on_the_fly, source_dir=FLAGS.synthetic_source_dir,
        noise_model=FLAGS.noise_model, simulation_profile=FLAGS.noise_profile or FLAGS.synthetic_profile,
        on_the_fly_examples=FLAGS.on_the_fly_examples, on_the_fly_scene_size=FLAGS.on_the_fly_scene_size,
        checkpoint_every_seconds=FLAGS.checkpoint_every_seconds,
        checkpoint_every_epochs=FLAGS.checkpoint_every_epochs,
    )
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
    except (TrainingError, DatasetError, RawFileError, WriteError, ResultDirBusy, FileNotFoundError,
            ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _write_synthetic(data_dir):
    """The --synthetic dataset (kept when already complete: the simulator resumes its own work)."""
    from sid_tf2.simulate import parse_size, write_synthetic_dataset

    summary = write_synthetic_dataset(
        data_dir, num_scenes=FLAGS.synthetic_scenes, size=parse_size(FLAGS.synthetic_size),
        seed=FLAGS.seed, source_dir=FLAGS.synthetic_source_dir, noise_model=FLAGS.noise_model,
        profile=FLAGS.noise_profile or FLAGS.synthetic_profile,
    )
    print(f"synthetic dataset: {summary.output_dir} ({summary.num_long} scenes)")


if __name__ == "__main__":
    cli.run(main)
