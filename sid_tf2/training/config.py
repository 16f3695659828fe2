"""The settings of a training run: the original recipe by default, every change explicit."""

import dataclasses
from typing import Optional

DISTRIBUTIONS = ("none", "mirrored", "multi_worker")


@dataclasses.dataclass
class TrainConfig:
    """What `train_sony.py` turns its flags into (and what tests build directly).

    Defaults are the original's: batch 1, 512x512 patches, epochs 0..4000, learning rate 1e-4
    dropped to 1e-5 after epoch 2000, image dumps every 500 epochs, upsampling filters trained
    as in the later version of the code.
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
    precision: str = "float32"
    jit_compile: bool = False
    train_deconv: bool = True
    seed: int = 0
    val_freq: int = 100  # validate every val_freq epochs (0: never)
    val_max_images: int = 0  # 0: every validation image
    init_checkpoint: Optional[str] = None
    distribute: str = "none"
    list_file: Optional[str] = None
    cache_dir: Optional[str] = None
    exclude_misaligned: bool = False
    keep_checkpoints: int = 3
    log_dir: Optional[str] = None  # TensorBoard; default result_dir/logs
    progress: bool = True

    def learning_rate_at(self, epoch):
        """The original's schedule: the base rate, a tenth of it after `lr_drop_epoch`."""
        return self.learning_rate if epoch <= self.lr_drop_epoch else self.learning_rate / 10

    def validate(self):
        if self.distribute not in DISTRIBUTIONS:
            raise ValueError(f"distribute must be one of {DISTRIBUTIONS}, got {self.distribute!r}.")
        for name in ("patch_size", "batch_size", "save_freq", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {self.epochs}.")
        return self
