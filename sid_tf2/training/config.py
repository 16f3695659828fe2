"""The settings of a training run: the original recipe by default, every change explicit.

A `TrainConfig` is a tree of small frozen dataclasses, one per concern, the way
tensorflow/models splits an experiment into task, trainer and runtime:

    data         which pairs: the dataset, the camera, subsets, validation images
    simulation   pairs simulated on the fly from photographs instead of a dataset
    schedule     epochs, patches, batches, the learning rate, the seed, when to validate
    output       where and how often the run writes: checkpoints, image dumps, logs
    finetune     where the weights start and which layers train
    runtime      how the step computes: precision, XLA, distribution, progress display

Every field is declared once, with `setting()`: its default, and in its metadata the help of
the command-line flag derived from it (`sid_tf2.cli.define_config_flags`) and whether a resumed
run must share it (`resume`; `RESUME_KEYS` is read from those marks). Field names are unique
over the whole tree, so a run's settings can also be given flat: `TrainConfig.from_flat(
data_dir=..., epochs=...)` and `config.replace(seed=1)`, which route each name to its group.

Defaults are the original's: batch 1, 512x512 patches, epochs 0..4000, learning rate 1e-4
dropped to 1e-5 after epoch 2000, image dumps every 500 epochs, upsampling filters trained and
columns flipped as in the later version of the code. The code released with the published model
trained with `train_deconv=False, column_flips=False`.
"""

import dataclasses
from typing import Optional

from sid_tf2.constants import CAMERA_NAMES, PRECISIONS
from sid_tf2.hardware import AUTO

DISTRIBUTIONS = ("none", "mirrored", "multi_worker")


def setting(default, help_text=None, *, resume=False, flag=True, flag_default=dataclasses.MISSING,
            **flag_options):
    """A config field: `default`, the help of its flag, and whether resuming requires it unchanged.

    `flag` is the flag's name when it differs from the field's, or False for a field without a
    flag (set by the script from other flags, or by library callers only). `flag_default` is
    the flag's default when it differs (None: the script derives it, e.g. data_dir from the
    camera); `flag_options` (`lower_bound`, `choices`) go to the flag.
    """
    if flag_default is not dataclasses.MISSING:
        flag_options["default"] = flag_default
    metadata = {"help": help_text, "resume": resume, "flag": flag, "flag_options": flag_options}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which pairs the run trains and validates on."""

    data_dir: str = setting(
        "./dataset/Sony/", "SID-layout dataset (short/ and long/). Default ./dataset/Sony/ "
        "(./dataset/Fuji/ for --camera=fuji), or ./dataset/Synthetic/ with --synthetic.", flag_default=None)
    camera: str = setting("sony", "Sensor: sony (Bayer) or fuji (X-Trans).", resume=True, choices=CAMERA_NAMES)
    list_file: Optional[str] = setting(None, "Train on the pairs of a SID list file instead of the glob.")
    cache_dir: Optional[str] = setting(None, "Where decoded raw files are cached (default DATA_DIR/.cache).")
    gt_png_dir: Optional[str] = setting(
        None, "Ground truths from the authors' 16-bit PNG release (<stem>.png per long exposure) "
        "instead of rendering the raw files.")
    exclude_misaligned: bool = setting(False, "Leave out scenes 10034, 10045 and 10172.")
    train_fraction: Optional[float] = setting(
        None, "Train on this fraction of the pairs of each ratio (chosen from --seed).", resume=True)
    pairs_per_ratio: Optional[int] = setting(
        None, "Train on this many pairs of each ratio (chosen from --seed).", resume=True, lower_bound=1)
    # False: the released code's column flip, which flipped nothing (--release_recipe).
    column_flips: bool = setting(True, resume=True, flag=False)
    val_dir: Optional[str] = setting(None, "Validate on this dataset's val split instead of --data_dir's.")
    val_max_images: int = setting(0, "Validate on at most this many images (0: all).", lower_bound=0)


@dataclasses.dataclass(frozen=True)
class SimulationConfig:
    """Pairs simulated on the fly from photographs (sid_tf2.simulation.stream) instead of data_dir."""

    simulate_on_the_fly: bool = setting(
        False, "Simulate every training pair inside the input pipeline from --synthetic_source_dir "
        "instead of reading --data_dir (which, if it exists, still provides the validation images).",
        resume=True)
    source_dir: Optional[str] = setting(
        None, "Photographs and/or Bayer raw files to simulate from (--synthetic or "
        "--simulate_on_the_fly); default: the photographs bundled with scikit-image.",
        resume=True, flag="synthetic_source_dir")
    noise_model: str = setting("physics", "Simulated noise model.", resume=True,
                               choices=("physics", "poisson_gaussian"))
    # A profile name or a noise profile JSON (train_sony.py's --synthetic_profile / --noise_profile).
    simulation_profile: str = setting("sony_a7s2", resume=True, flag=False)
    on_the_fly_examples: int = setting(
        64, "Simulated pairs per epoch with --simulate_on_the_fly.", resume=True, lower_bound=1)
    on_the_fly_scene_size: int = setting(
        1024, "Short side of the scene each simulated patch is cut from (the photo's scale).",
        resume=True, lower_bound=2)
    simulation_isos: Optional[str] = setting(
        None, "ISOs (a comma list) raw sources' pairs are simulated at, one drawn per pair; "
        "default: each raw file's own ISO (sid-adapt sets it from --iso).", resume=True, flag=False)
    max_ratio: float = setting(
        300.0, "Largest exposure ratio of simulated pairs, the others scaled alike: SID's 300, or "
        "less for a camera of fewer bits (sid-adapt sets it from the raws' white level).",
        resume=True, lower_bound=1.0, upper_bound=300.0)


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """The optimisation: epochs of patches in batches, the learning rate, the seed, validation."""

    epochs: int = setting(4000, "Last epoch; epochs run from 0 as in the original.", lower_bound=0)
    patch_size: int = setting(512, "Side of the packed input patch.", resume=True, lower_bound=2)
    batch_size: int = setting(1, "Global batch size (summed over replicas).", resume=True, lower_bound=1)
    learning_rate: float = setting(1e-4, "Learning rate up to --lr_drop_epoch, a tenth after.")
    lr_drop_epoch: int = setting(2000, "Last epoch at the full learning rate.")
    seed: int = setting(0, "Seed of the initial weights and of every crop and order.", resume=True)
    val_freq: int = setting(100, "Validate every this many epochs (0: never).", lower_bound=0)

    def learning_rate_at(self, epoch):
        """The original's schedule: the base rate, a tenth of it after `lr_drop_epoch`."""
        return self.learning_rate if epoch <= self.lr_drop_epoch else self.learning_rate / 10


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    """Where the run writes, and how often.

    A checkpoint is written no sooner than both `checkpoint_every_seconds` and
    `checkpoint_every_epochs` after the previous one (dump epochs, a new best, the end and a
    stop signal always get one): bounded writes whatever an epoch takes.
    """

    result_dir: str = setting(
        "./result_Sony/", "Checkpoints, image dumps and TensorBoard logs. "
        "Default ./result_Sony/ (./result_Fuji/, ./result_Synthetic/).", flag_default=None)
    save_freq: int = setting(500, "Write image dumps every this many epochs.", lower_bound=1)
    keep_checkpoints: int = setting(3, "Epoch checkpoints kept (the best is kept too).", lower_bound=1)
    checkpoint_every_seconds: float = setting(
        300.0, "Write a checkpoint at most this often (and always at --save_freq epochs, a new "
        "best, the end, and on Ctrl-C/SIGTERM); epochs after it replay identically on resume. "
        "0: every epoch.", lower_bound=0)
    checkpoint_every_epochs: int = setting(1, "And at most every this many epochs.", lower_bound=1)
    log_dir: Optional[str] = setting(None, flag=False)  # TensorBoard; default result_dir/logs


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """Where the weights start and which of them train (sid_tf2.training.finetune).

    `init_checkpoint` and `reinit_last` act on a fresh start only, so resuming does not check them.
    """

    init_checkpoint: Optional[str] = setting(
        None, "Start from a TF1 checkpoint (weights and Adam state), a .weights.h5 or .keras "
        "file, or a previous run's result_dir.")
    reinit_last: int = setting(
        0, "Fine-tuning: re-initialise the last N convolution layers (g_conv10, g_conv9_2, ...) "
        "after --init_checkpoint (fresh starts only).", lower_bound=0)
    freeze: Optional[str] = setting(
        None, "Fine-tuning: layers not trained: 'encoder' (g_conv1_* .. g_conv5_*), 'decoder', "
        "or a comma list of layer names.", resume=True)
    # None: trained, except from a TF1 checkpoint that has no Adam slots for them (the release),
    # whose Adam state would give them zero moments at a late step (updates of several times the
    # learning rate): then frozen, as the release trained them.
    train_deconv: Optional[bool] = setting(
        None, "Train the four upsampling filters. Unset: trained, except from a TF1 checkpoint "
        "without Adam slots for them (the published one), where they stay frozen as the release "
        "trained them.", resume=True)


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """How the step computes; apart from the precision, a run may resume with others.

    The flags --precision and --jit_compile are the scripts' shared speed flags
    (sid_tf2.speed_flags), whose defaults ask for tuning; the library's are the original's.
    """

    precision: str = setting("float32", resume=True, flag=False)  # or "auto": sid_tf2.hardware
    jit_compile: Optional[bool] = setting(False, flag=False)  # None: the fastest for the machine
    # With precision "auto" and jit_compile None: measure the candidates on this machine's first
    # run (train_sony.py sets it); else the cached choice or the reasoned rule (sid_tf2.tuning).
    tune_speed: bool = setting(False, flag=False)
    distribute: str = setting(
        "none", "mirrored: every GPU of this machine; multi_worker: machines from TF_CONFIG.",
        choices=DISTRIBUTIONS)
    progress: bool = setting(True, flag=False)


GROUPS = {
    "data": DataConfig,
    "simulation": SimulationConfig,
    "schedule": ScheduleConfig,
    "output": OutputConfig,
    "finetune": FinetuneConfig,
    "runtime": RuntimeConfig,
}


def _group_of_each_field():
    owners = {}
    for group, cls in GROUPS.items():
        for field in dataclasses.fields(cls):
            if field.name in owners:
                raise TypeError(f"{field.name} is in both {owners[field.name]} and {group}: names must be unique.")
            owners[field.name] = group
    return owners


GROUP_OF = _group_of_each_field()
"""The group of each field name, for the flat views (`from_flat`, `replace`, `flat`)."""

RESUME_KEYS = tuple(field.name for cls in GROUPS.values() for field in dataclasses.fields(cls)
                    if field.metadata["resume"])
"""Settings that must not change between a run and its resumption, or it would not be exact."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `train_sony.py` turns its flags into (and what tests build directly)."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    simulation: SimulationConfig = dataclasses.field(default_factory=SimulationConfig)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    finetune: FinetuneConfig = dataclasses.field(default_factory=FinetuneConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)

    @classmethod
    def from_flat(cls, **settings):
        """A config from field names alone (`data_dir=..., epochs=...`); the rest defaults."""
        return cls().replace(**settings)

    def replace(self, **settings):
        """A copy with the named fields changed, whichever group each belongs to."""
        unknown = sorted(set(settings) - set(GROUP_OF))
        if unknown:
            raise TypeError(f"TrainConfig has no setting {', '.join(unknown)}.")
        changes = {}
        for name, value in settings.items():
            changes.setdefault(GROUP_OF[name], {})[name] = value
        return dataclasses.replace(self, **{
            group: dataclasses.replace(getattr(self, group), **values) for group, values in changes.items()})

    def flat(self):
        """Every setting by its field name."""
        return {name: getattr(getattr(self, group), name) for name, group in GROUP_OF.items()}

    def resume_settings(self):
        """The settings a resumed run must share with the run it continues."""
        flat = self.flat()
        return {name: flat[name] for name in RESUME_KEYS}

    def validate(self):
        data, simulation, schedule, output, runtime = (
            self.data, self.simulation, self.schedule, self.output, self.runtime)
        if runtime.precision not in (AUTO,) + PRECISIONS:
            raise ValueError(f"precision must be {AUTO!r} or one of {PRECISIONS}, got {runtime.precision!r}.")
        if runtime.distribute not in DISTRIBUTIONS:
            raise ValueError(f"distribute must be one of {DISTRIBUTIONS}, got {runtime.distribute!r}.")
        for name, value in (("patch_size", schedule.patch_size), ("batch_size", schedule.batch_size),
                            ("save_freq", output.save_freq), ("keep_checkpoints", output.keep_checkpoints)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}.")
        if self.finetune.reinit_last and not self.finetune.init_checkpoint:
            raise ValueError("reinit_last re-initialises layers of a loaded model: give init_checkpoint too.")
        subset = data.train_fraction is not None or data.pairs_per_ratio is not None
        if data.train_fraction is not None and data.pairs_per_ratio is not None:
            raise ValueError("Give train_fraction or pairs_per_ratio, not both.")
        if simulation.simulate_on_the_fly and subset:
            raise ValueError("train_fraction and pairs_per_ratio select real pairs; they do not apply on the fly.")
        if simulation.simulate_on_the_fly and data.camera != "sony":
            raise ValueError("simulate_on_the_fly makes Bayer (Sony-like) data: use camera='sony'.")
        if output.checkpoint_every_seconds < 0 or output.checkpoint_every_epochs < 1:
            raise ValueError("checkpoint_every_seconds must be non-negative and checkpoint_every_epochs "
                             f"at least 1, got {output.checkpoint_every_seconds} and {output.checkpoint_every_epochs}.")
        if schedule.epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {schedule.epochs}.")
        return self
