"""Transfer learning from simulated pairs: does synthetic pretraining help with few real pairs?

    python -m sid_tf2.experiments.transfer --target_dir=dataset/Sony --source_dir=MY_PHOTOS \\
        --output_dir=result_transfer --pairs_per_ratio=4 --patch_size=512 \\
        --pretrain_epochs=500 --finetune_epochs=200 --scratch_epochs=200

Three arms, each trained with the library's `train(TrainConfig)` under `--output_dir/<arm>/`,
all validated on the target's val split during training and scored on its test split:

  scratch    trained from random weights on N target pairs (`--pairs_per_ratio` per ratio,
             chosen from the seed);
  pretrain   trained on simulated pairs only: a synthetic dataset written from the `--source_dir`
             photographs or clean Bayer raw files (or pairs simulated on the fly with
             `--simulate_on_the_fly`), with the noise of `--synthetic_profile` or of a camera's
             own `--noise_profile` JSON;
  finetune   the pretrained weights, then trained on the same N target pairs (lower learning rate,
             optional `--reinit_last` / `--freeze`).

The report (`--report`, Markdown) has a table of test PSNR / SSIM (the evaluation's 8-bit
convention), steps and wall times, and an SVG chart of validation PSNR over training steps.

The target can be the real SID data (`dataset/Sony`, its ids give train/val/test). Without it,
`--make_synthetic_target` first writes a stand-in target domain: other photographs (a disjoint
half of scikit-image's, or `--target_photo_dir`), the "other" camera profile, Poisson-Gaussian
noise and another seed. Running the command again resumes every arm where it stopped.
"""

import json
import os
import shutil
import sys
import time

from absl import flags

from sid_tf2 import cli, data
from sid_tf2.atomic import WriteError, write_text
from sid_tf2.experiments.report import line_chart_svg, markdown_table, write_report
from sid_tf2.folder_lock import FolderBusy
from sid_tf2.simulate import parse_size, write_synthetic_dataset
from sid_tf2.simulation import default_photo_paths, list_photo_paths
from sid_tf2.simulation.raw_sources import list_raw_paths
from sid_tf2.training.config import TrainConfig
from sid_tf2.training.interrupt import TrainingInterrupted

FLAGS = flags.FLAGS
ARMS = ("scratch", "pretrain", "finetune")
ARM_TITLES = {
    "scratch": "(a) from scratch on N target pairs",
    "pretrain": "(b) synthetic pretraining only",
    "finetune": "(c) synthetic pretraining + fine-tuning on N target pairs",
}


def define_flags():
    flags.DEFINE_string("target_dir", None, "Target dataset in the SID layout (e.g. dataset/Sony).", required=True)
    flags.DEFINE_string("source_dir", None, "Photographs and/or clean Bayer raw files for the synthetic "
                        "pretraining data; default: half of scikit-image's bundled photographs (the other "
                        "half makes a synthetic target).")
    flags.DEFINE_bool("make_synthetic_target", False, "If --target_dir has no dataset, simulate one there.")
    flags.DEFINE_string("target_photo_dir", None, "Photographs of the synthetic target (default: the other "
                        "half of scikit-image's).")
    flags.DEFINE_string("output_dir", "./result_transfer/", "Where the arms' runs and data go.")
    flags.DEFINE_string("report", None, "The Markdown report (default OUTPUT_DIR/transfer_report.md); the "
                        "plot is written beside it.")
    flags.DEFINE_integer("seed", 0, "Seed of everything (weights, pair choice, crops, simulation).", lower_bound=0)
    flags.DEFINE_integer("patch_size", 512, "Packed patch side for every arm.", lower_bound=2)
    flags.DEFINE_integer("pairs_per_ratio", 4, "N: target pairs per exposure ratio for scratch and finetune.",
                         lower_bound=1)
    flags.DEFINE_integer("pretrain_epochs", 500, "Last epoch of synthetic pretraining.", lower_bound=0)
    flags.DEFINE_integer("finetune_epochs", 200, "Last epoch of fine-tuning.", lower_bound=0)
    flags.DEFINE_integer("scratch_epochs", 200, "Last epoch of training from scratch.", lower_bound=0)
    flags.DEFINE_float("learning_rate", 1e-4, "Learning rate of scratch and pretraining.")
    flags.DEFINE_float("finetune_learning_rate", 5e-5, "Learning rate of fine-tuning.")
    flags.DEFINE_integer("reinit_last", 0, "Fine-tuning: re-initialise the last N conv layers.", lower_bound=0)
    flags.DEFINE_string("freeze", None, "Fine-tuning: 'encoder' or a comma list of layers to freeze.")
    flags.DEFINE_integer("val_freq", 10, "Validate (target val split) every this many epochs.", lower_bound=1)
    flags.DEFINE_integer("val_max_images", 0, "Validate on at most this many images (0: all).", lower_bound=0)
    flags.DEFINE_integer("synthetic_scenes", 16, "Scenes of the synthetic pretraining dataset.", lower_bound=3)
    flags.DEFINE_string("synthetic_size", "1024,1024", "Mosaic size H,W of the synthetic scenes.")
    flags.DEFINE_enum("noise_model", "physics", ["physics", "poisson_gaussian"], "Pretraining noise model.")
    flags.DEFINE_enum("synthetic_profile", "sony_a7s2", ["sony_a7s2", "other"], "Pretraining camera profile.")
    flags.DEFINE_string("noise_profile", None, "Pretraining noise profile JSON (replaces --synthetic_profile).")
    flags.DEFINE_bool("simulate_on_the_fly", False, "Pretrain on pairs simulated inside the pipeline.")
    flags.DEFINE_integer("on_the_fly_examples", 64, "Simulated pairs per pretraining epoch (on the fly).",
                         lower_bound=1)
    flags.DEFINE_integer("target_scenes", 10, "Scenes of a synthetic target.", lower_bound=3)
    flags.DEFINE_string("target_size", "1024,1024", "Mosaic size H,W of a synthetic target's scenes.")
    flags.DEFINE_bool("exclude_misaligned", False, "Leave out SID scenes 10034, 10045 and 10172.")
    flags.DEFINE_bool("progress", False, "Show training progress lines.")
    cli.define_verbose_flag()


def split_default_photos(output_dir):
    """Two disjoint folders of scikit-image's photographs (even / odd positions), for the source
    and the stand-in target domain. Returns (source_dir, target_dir)."""
    folders = []
    for name, parity in (("source", 0), ("target", 1)):
        folder = os.path.join(output_dir, "photos", name)
        os.makedirs(folder, exist_ok=True)
        for path in default_photo_paths()[parity::2]:
            destination = os.path.join(folder, os.path.basename(path))
            if not os.path.exists(destination):
                shutil.copyfile(path, destination)
        folders.append(folder)
    return tuple(folders)


def describe_sources(source_dir, photo_size=None):
    """What a pretraining source folder holds, for the report: photographs, raw files or both
    (`photo_size`: the scene size photographs are cut to, when they are)."""
    photos, raws = len(list_photo_paths(source_dir)), len(list_raw_paths(source_dir))
    photo_text = "photographs (unprocessed" + (f", scenes of {photo_size})" if photo_size else ")")
    kinds = [f"{count} {name}" for count, name in (
        (photos, photo_text), (raws, "raw files (Bayer ones used as clean long exposures, raw-domain simulation)"))
        if count]
    return f"`{source_dir}`: " + (" and ".join(kinds) or "no sources")


def _has_dataset(directory):
    return os.path.isdir(os.path.join(directory, "long")) and os.path.isdir(os.path.join(directory, "short"))


def _validation_curve(result, offset):
    steps = result.steps_per_epoch
    return [(offset + (epoch + 1) * steps, psnr) for epoch, psnr, _ in result.validation]


def _load_history(arm_dir):
    path = os.path.join(arm_dir, "transfer_arm.json")
    if os.path.exists(path):
        with open(path) as handle:
            return json.load(handle)
    return None


def run_arm(name, config, target_dir, log):
    """Train (or resume) one arm and score it on the target's test split; returns its record."""
    from sid_tf2.evaluation import evaluate, select_pairs  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.inference import make_predictor  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.model import build_unet  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.training import train  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    result_dir = config.output.result_dir
    history = _load_history(result_dir) or {"validation": [], "train_seconds": 0.0, "epochs_run": 0}
    log(f"[{name}] training: {result_dir}")
    result = train(config, log=lambda message: log(f"[{name}] {message}"))
    history["validation"] += [list(item) for item in result.validation]
    history["train_seconds"] += result.seconds
    history["epochs_run"] += result.epochs_run
    history["steps_per_epoch"] = result.steps_per_epoch or history.get("steps_per_epoch", 0)
    history["epochs"] = config.schedule.epochs + 1
    started = time.monotonic()
    model = build_unet(config.data.camera)
    model.load_weights(os.path.join(result_dir, "model.weights.h5"))
    predict = make_predictor(model)  # float32 whole images, as every arm is scored alike
    pairs = select_pairs(target_dir, "original", exclude_misaligned=config.data.exclude_misaligned)
    summary = evaluate(predict, pairs, data.RawCache.for_dataset(target_dir),
                       os.path.join(result_dir, "test"), camera=config.data.camera, progress=False,
                       info={"arm": name}, log=lambda message: log(f"[{name}] test: {message}"))
    history.update(test=summary, eval_seconds=time.monotonic() - started)
    write_text(os.path.join(result_dir, "transfer_arm.json"), json.dumps(history, indent=2))
    return history


def _fmt(value, digits):
    return "n/a" if value is None else f"{value:.{digits}f}"


def build_report(records, settings, command, target_info, source_info):
    """(sections, svg) of the report from the arms' records."""
    steps = {name: records[name]["steps_per_epoch"] * records[name]["epochs"] for name in records}
    rows = []
    for name in ARMS:
        record = records[name]
        test = record["test"]
        data_text = {"scratch": f"{target_info['pairs']} target pairs",
                     "pretrain": source_info,
                     "finetune": f"pretrain, then {target_info['pairs']} target pairs"}[name]
        wall = record["train_seconds"]
        wall_text = f"{wall:.0f}"
        if name == "finetune":
            wall_text += f" (+{records['pretrain']['train_seconds']:.0f} pretraining)"
        per_ratio = ", ".join(f"x{ratio}: {_fmt(values['psnr'], 2)}" for ratio, values in test["per_ratio"].items())
        rows.append([ARM_TITLES[name], data_text, steps[name], wall_text, _fmt(test["psnr"], 2),
                     _fmt(test["ssim"], 4), per_ratio])
    table = markdown_table(["arm", "training data", "steps", "train wall time (s)", "test PSNR (dB)",
                            "test SSIM", "PSNR per ratio"], rows)
    pretrain_steps = steps["pretrain"]
    svg = line_chart_svg(
        [(ARM_TITLES[name].split(" ", 1)[0] + " " + name,
          [(x, y) for x, y in _curve(records[name], pretrain_steps if name == "finetune" else 0)])
         for name in ARMS],
        title="Validation PSNR on the target's val split", x_label="training steps (fine-tuning continues "
        "pretraining's count)", y_label="PSNR (dB)")
    settings_rows = [[key, f"`{value}`"] for key, value in settings.items()]
    sections = [
        ("", "Generated by `sid_tf2.experiments.transfer`."),
        ("Command", f"```\n{command}\n```"),
        ("Data", f"- target: {target_info['description']}\n- test images: {records['scratch']['test']['images']} "
                 f"(burst-00 inputs of the test split)\n- pretraining: {source_info}"),
        ("Results", table + "\n\nPSNR/SSIM on the saved 8-bit images (data range 255) of the final weights of "
         "each arm; wall times on this machine, training only (validation and image dumps included, test "
         "scoring excluded)."),
        ("Validation PSNR during training", "![validation PSNR]({PLOT})"),
        ("Settings", markdown_table(["setting", "value"], settings_rows)),
    ]
    return sections, svg


def _curve(record, offset):
    steps = record["steps_per_epoch"]
    return [(offset + (epoch + 1) * steps, psnr) for epoch, psnr, _ in record["validation"]]


def main(argv):
    """Run the experiment; expected failures (a dataset, a raw file, the disk) end in one line."""
    del argv
    cli.load_tensorflow(verbose=FLAGS.verbose)
    from sid_tf2.data import DatasetError  # pylint: disable=import-outside-toplevel  (rawpy: off --help)
    from sid_tf2.training import TrainingError  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    try:
        return _run()
    except TrainingInterrupted as stopped:
        print(f"interrupted: {stopped}", file=sys.stderr)
        return stopped.exit_code
    except (TrainingError, DatasetError, WriteError, FolderBusy, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run():
    def log(message):
        print(message, flush=True)

    output_dir = os.path.abspath(FLAGS.output_dir)
    os.makedirs(output_dir, exist_ok=True)
    target_dir = os.path.abspath(FLAGS.target_dir)
    source_photos, target_photos = FLAGS.source_dir, FLAGS.target_photo_dir
    if source_photos is None or (target_photos is None and not _has_dataset(target_dir)):
        default_source, default_target = split_default_photos(output_dir)
        source_photos = source_photos or default_source
        target_photos = target_photos or default_target
    if not _has_dataset(target_dir):
        if not FLAGS.make_synthetic_target:
            print(f"error: {target_dir} has no short/ and long/ folders. Point --target_dir at the SID "
                  "data (e.g. dataset/Sony) or pass --make_synthetic_target.", file=sys.stderr)
            return 1
        log(f"making the synthetic target domain in {target_dir} from {target_photos}")
        write_synthetic_dataset(target_dir, source_dir=target_photos, num_scenes=FLAGS.target_scenes,
                                size=parse_size(FLAGS.target_size), seed=FLAGS.seed + 1000,
                                noise_model="poisson_gaussian", profile="other", progress=False)
    simulation_file = os.path.join(target_dir, "simulation.json")
    if os.path.exists(simulation_file):
        with open(simulation_file) as handle:
            simulated = json.load(handle)["config"]
        target_description = (f"synthetic stand-in `{target_dir}`: camera profile `{simulated['profile']['name']}`, "
                              f"noise `{simulated['noise_model']}`, seed {simulated['seed']}, "
                              f"{simulated['num_scenes']} scenes of {simulated['size'][0]}x{simulated['size'][1]} "
                              f"from {simulated['source_dir']}")
    else:
        target_description = f"`{target_dir}` (SID layout, split by scene id)"
    train_scenes = data.discover_scenes(target_dir, split="train", exclude_misaligned=FLAGS.exclude_misaligned)
    chosen = data.subset_scenes(train_scenes, pairs_per_ratio=FLAGS.pairs_per_ratio, seed=FLAGS.seed)
    counts = data.count_by_ratio(chosen)
    target_info = {"pairs": sum(counts.values()), "description": target_description + (
        f"; {len(train_scenes)} train scenes, of which N = {sum(counts.values())} pairs are used "
        f"({', '.join(f'x{r:g}: {n}' for r, n in counts.items())}) from {len(chosen)} scenes")}

    common = dict(camera="sony", patch_size=FLAGS.patch_size, seed=FLAGS.seed, val_freq=FLAGS.val_freq,
                  val_max_images=FLAGS.val_max_images, val_dir=target_dir, save_freq=10**9,
                  exclude_misaligned=FLAGS.exclude_misaligned, keep_checkpoints=1, progress=FLAGS.progress)
    profile = FLAGS.noise_profile or FLAGS.synthetic_profile
    noise_text = (f"noise profile `{profile}`" + (" (the Sony A7S2's)" if profile == "sony_a7s2" else "")
                  + f", noise model `{FLAGS.noise_model}`")
    sources_text = describe_sources(source_photos)
    if FLAGS.simulate_on_the_fly:
        pretrain_data = dict(data_dir=target_dir, simulate_on_the_fly=True, source_dir=source_photos,
                             noise_model=FLAGS.noise_model, simulation_profile=profile,
                             on_the_fly_examples=FLAGS.on_the_fly_examples,
                             on_the_fly_scene_size=min(parse_size(FLAGS.synthetic_size)))
        source_info = (f"{FLAGS.on_the_fly_examples} pairs per epoch simulated on the fly from {sources_text} "
                       f"({noise_text})")
    else:
        source_data = os.path.join(output_dir, "source_data")
        summary = write_synthetic_dataset(source_data, source_dir=source_photos, num_scenes=FLAGS.synthetic_scenes,
                                          size=parse_size(FLAGS.synthetic_size), seed=FLAGS.seed,
                                          noise_model=FLAGS.noise_model, profile=profile, progress=False)
        pretrain_data = dict(data_dir=source_data)
        skipped = f"; {len(summary.skipped_sources)} unusable, skipped" if summary.skipped_sources else ""
        source_info = (f"synthetic dataset `{source_data}`: {len(summary.splits['train'])} train scenes from "
                       f"{describe_sources(source_photos, FLAGS.synthetic_size.replace(',', 'x'))}{skipped} "
                       f"({noise_text})")
    configs = {
        "scratch": TrainConfig.from_flat(
            data_dir=target_dir, result_dir=os.path.join(output_dir, "scratch"), epochs=FLAGS.scratch_epochs,
            learning_rate=FLAGS.learning_rate, lr_drop_epoch=FLAGS.scratch_epochs,
            pairs_per_ratio=FLAGS.pairs_per_ratio, **common),
        "pretrain": TrainConfig.from_flat(
            result_dir=os.path.join(output_dir, "pretrain"), epochs=FLAGS.pretrain_epochs,
            learning_rate=FLAGS.learning_rate, lr_drop_epoch=FLAGS.pretrain_epochs, **pretrain_data, **common),
        "finetune": TrainConfig.from_flat(
            data_dir=target_dir, result_dir=os.path.join(output_dir, "finetune"), epochs=FLAGS.finetune_epochs,
            learning_rate=FLAGS.finetune_learning_rate, lr_drop_epoch=FLAGS.finetune_epochs,
            pairs_per_ratio=FLAGS.pairs_per_ratio, init_checkpoint=os.path.join(output_dir, "pretrain"),
            reinit_last=FLAGS.reinit_last, freeze=FLAGS.freeze, **common),
    }
    records = {}
    for name in ("scratch", "pretrain", "finetune"):
        records[name] = run_arm(name, configs[name], target_dir, log)
    settings = {key: getattr(FLAGS, key) for key in (
        "seed", "patch_size", "pairs_per_ratio", "scratch_epochs", "pretrain_epochs", "finetune_epochs",
        "learning_rate", "finetune_learning_rate", "reinit_last", "freeze", "val_freq", "synthetic_scenes",
        "synthetic_size", "noise_model", "synthetic_profile", "noise_profile", "simulate_on_the_fly")}
    command = "python -m sid_tf2.experiments.transfer " + " ".join(sys.argv[1:])
    sections, svg = build_report(records, settings, command, target_info, source_info)
    report = FLAGS.report or os.path.join(output_dir, "transfer_report.md")
    path, plot = write_report(report, title="Transfer learning from simulated low-light pairs",
                              sections=sections, plot_svg=svg)
    write_text(os.path.join(output_dir, "transfer_results.json"),
               json.dumps({"records": records, "settings": settings, "command": command}, indent=2))
    log(f"report: {path} (plot {plot})")
    for name in ARMS:
        test = records[name]["test"]
        log(f"  {name:9s} test PSNR {test['psnr']:.2f} dB, SSIM {test['ssim']:.4f}, "
            f"train {records[name]['train_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    define_flags()
    cli.run(main)
