"""The settings of a training run: the original recipe by default, every change explicit."""

import dataclasses
from typing import Optional

from sid_tf2.hardware import AUTO, PRECISIONS

DISTRIBUTIONS = ("none", "mirrored", "multi_worker")


@dataclasses.dataclass
class TrainConfig:
    """What `train_sony.py` turns its flags into (and what tests build directly).

    Defaults are the original's: batch 1, 512x512 patches, epochs 0..4000, learning rate 1e-4
    dropped to 1e-5 after epoch 2000, image dumps every 500 epochs, upsampling filters trained
    and columns flipped as in the later version of the code. The code released with the
    published model trained with `train_deconv=False, column_flips=False`.
    """

    data_dir: str = "./dataset/Sony/"
    result_dir: str = "./result_Sony/"
    camera: str = "sony"
    epochs: int = 4000  # the last epoch; epochs run from 0 as in the original
    patch_size: int = 512
    batch_size: int = 1
    save_freq: int = 500
    learning_rate: float = 1e-4
    lr_drop_epoch: int = 2000  # epochs after this one use learning_rate / 10
    precision: str = "float32"  # or "auto": the fastest for this machine (sid_tf2.hardware)
    jit_compile: Optional[bool] = False  # None: the fastest for the precision and machine
    # With precision "auto" and jit_compile None: measure the candidates on this machine's first
    # run (train_sony.py sets it); else the cached choice or the reasoned rule (sid_tf2.tuning).
    tune_speed: bool = False
    # None: trained, except from a TF1 checkpoint that has no Adam slots for them (the release),
    # whose Adam state would give them zero moments at a late step (updates of several times the
    # learning rate): then frozen, as the release trained them.
    train_deconv: Optional[bool] = None
    column_flips: bool = True  # False: the released code's column flip, which flipped nothing
    seed: int = 0
    val_freq: int = 100  # validate every val_freq epochs (0: never)
    val_max_images: int = 0  # 0: every validation image
    init_checkpoint: Optional[str] = None
    distribute: str = "none"
    list_file: Optional[str] = None
    cache_dir: Optional[str] = None
    gt_png_dir: Optional[str] = None  # the authors' 16-bit ground-truth PNGs instead of rendering
    exclude_misaligned: bool = False
    keep_checkpoints: int = 3
    # A checkpoint no sooner than both of these after the previous one (dump epochs, a new best,
    # the end and a stop signal always get one): bounded writes whatever an epoch takes.
    checkpoint_every_seconds: float = 300.0
    checkpoint_every_epochs: int = 1
    log_dir: Optional[str] = None  # TensorBoard; default result_dir/logs
    progress: bool = True
    # Fine-tuning (sid_tf2.training.finetune); reinit_last applies with init_checkpoint, on a fresh start.
    reinit_last: int = 0  # re-initialise the last N conv layers (g_conv10, g_conv9_2, ...)
    freeze: Optional[str] = None  # "encoder", "decoder" or a comma list of layer names
    train_fraction: Optional[float] = None  # keep this fraction of the pairs of each ratio
    pairs_per_ratio: Optional[int] = None  # or this many pairs of each ratio (sid_tf2.data.subset)
    val_dir: Optional[str] = None  # validate on this dataset's val split (default data_dir's)
    # Pairs simulated on the fly from photographs (sid_tf2.simulation.stream) instead of data_dir.
    simulate_on_the_fly: bool = False
    source_dir: Optional[str] = None  # photographs; None: scikit-image's bundled ones
    noise_model: str = "physics"
    simulation_profile: str = "sony_a7s2"
    on_the_fly_examples: int = 64  # elements per epoch
    on_the_fly_scene_size: int = 1024  # short side of the scene a window is cut from

    def learning_rate_at(self, epoch):
        """The original's schedule: the base rate, a tenth of it after `lr_drop_epoch`."""
        return self.learning_rate if epoch <= self.lr_drop_epoch else self.learning_rate / 10

    def validate(self):
        if self.precision not in (AUTO,) + PRECISIONS:
            raise ValueError(f"precision must be {AUTO!r} or one of {PRECISIONS}, got {self.precision!r}.")
        if self.distribute not in DISTRIBUTIONS:
            raise ValueError(f"distribute must be one of {DISTRIBUTIONS}, got {self.distribute!r}.")
        for name in ("patch_size", "batch_size", "save_freq", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.reinit_last and not self.init_checkpoint:
            raise ValueError("reinit_last re-initialises layers of a loaded model: give init_checkpoint too.")
        if self.train_fraction is not None and self.pairs_per_ratio is not None:
            raise ValueError("Give train_fraction or pairs_per_ratio, not both.")
        if self.simulate_on_the_fly and (self.train_fraction is not None or self.pairs_per_ratio is not None):
            raise ValueError("train_fraction and pairs_per_ratio select real pairs; they do not apply on the fly.")
        if self.simulate_on_the_fly and self.camera != "sony":
            raise ValueError("simulate_on_the_fly makes Bayer (Sony-like) data: use camera='sony'.")
        if self.checkpoint_every_seconds < 0 or self.checkpoint_every_epochs < 1:
            raise ValueError("checkpoint_every_seconds must be non-negative and checkpoint_every_epochs "
                             f"at least 1, got {self.checkpoint_every_seconds} and {self.checkpoint_every_epochs}.")
        if self.epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {self.epochs}.")
        return self
