"""What the tuner measures and how it ranks the measurements.

`CANDIDATES` lists, per purpose and kind of machine, the original's computation (the reference)
and the few settings the project's recorded measurements expect to beat it there
(docs/speed_settings.md gives the numbers and the families dropped for never winning). `rank`
is the rule: a candidate replaces the reference only when it meets the purpose's accuracy floor
and is at least `MARGIN` faster with the spreads of the rounds apart. TensorFlow-free.
"""

import dataclasses
import statistics

from sid_tf2 import hardware
from sid_tf2.constants import CALIBRATED, PRECISION_TABLE, PURPOSES  # noqa: F401  (PURPOSES: the tuning package's)
from sid_tf2.speed_settings import SpeedSettings

FLOOR_DB = {"evaluate": 100.0, "enhance": 55.0}
IDENTICAL_DB = 300.0  # the quality recorded for a bit-identical output (JSON has no infinity)
# Relative loss difference from float32 over a few steps: the parity tests' bounds.
TRAIN_LOSS_RTOL = {name: precision.train_loss_rtol for name, precision in PRECISION_TABLE.items()}
MARGIN = 0.05  # a candidate must be this much faster than the reference, beyond its spread

# Per purpose and kind of machine: the reference, then the candidates in the order the recorded
# measurements expect them to win (docs/speed_settings.md). Inputs of `enhance` vary in size, so
# nothing that compiles per input shape (XLA, the Winograd layers) is a candidate there.
CANDIDATES = {
    "evaluate": {
        "eigen_cpu": ("float32", "float32+xla"),  # AVX2 Zen 3: XLA 1.26x
        "onednn_cpu": ("float32",),  # Ice Lake: XLA 0.64x, Winograd 1.08x (noise)
        "bfloat16_cpu": ("float32",),  # Zen 4: XLA 0.72x; Winograd pays 10-18 s per shape
        "gpu": ("float32", "float32+xla"),
        "tensor_core_gpu": ("float32", "float32+xla"),
    },
    "enhance": {
        "eigen_cpu": ("float32",),
        # int8 last: chosen only where it meets the floor on the network itself, never unmeasured
        "onednn_cpu": ("float32", "openvino:int8"),  # bfloat16 emulated: 0.28x; OpenVINO float32 0.89x
        "bfloat16_cpu": ("float32", "mixed_bfloat16", "mixed_bfloat16@3", "openvino:int8"),  # 2.10x at 58 dB
        "gpu": ("float32",),
        "tensor_core_gpu": ("float32", "mixed_float16", "mixed_float16@3"),
    },
    "train": {
        "eigen_cpu": ("float32", "float32+xla"),  # AVX2 Zen 3: 1.33x
        "onednn_cpu": ("float32",),
        "bfloat16_cpu": ("float32", "mixed_bfloat16"),  # Zen 4: 1.76x
        "gpu": ("float32", "float32+xla"),
        "tensor_core_gpu": ("float32", "mixed_float16+xla", "float32+xla"),
    },
}


@dataclasses.dataclass
class Measurement:
    """One candidate's row of the table (JSON-safe: no NaN, no infinity)."""

    name: str
    times: list = dataclasses.field(default_factory=list)  # seconds of the interleaved rounds
    quality: float = 0.0  # PSNR in dB against float32 (inference) or relative loss difference (train)
    meets_floor: bool = False
    error: str = ""  # why the candidate could not run here

    @property
    def median(self):
        return statistics.median(self.times)

    def describe(self, purpose):
        if self.error:
            return f"{self.name}: {self.error}"
        quality = (("same loss" if self.quality == 0 else f"loss within {self.quality:.0e}") if purpose == "train" else
                   "identical" if self.quality >= IDENTICAL_DB else f"{self.quality:.0f} dB")
        floor = "" if self.meets_floor else ", below the floor"
        return (f"{self.name} {self.median:.3f} s ({min(self.times):.3f}-{max(self.times):.3f}), "
                f"{quality}{floor}")


def machine_kind(machine):
    """The kind of a `hardware.Hardware`, as `CANDIDATES` names it."""
    if machine.gpu_capabilities:
        tensor_cores = all(c >= hardware.TENSOR_CORE_CAPABILITY for c in machine.gpu_capabilities)
        return "tensor_core_gpu" if tensor_cores else "gpu"
    if machine.native_bfloat16_cpu:
        return "bfloat16_cpu"
    return "onednn_cpu" if machine.onednn else "eigen_cpu"


def settings_named(purpose, name, reason=""):
    """The settings a candidate's name stands for: TF32 off for evaluation and for the
    original's computation ("float32"), on elsewhere (it only matters on Ampere+ GPUs)."""
    settings = SpeedSettings.from_name(name, reason)
    return dataclasses.replace(settings, tensor_float_32=purpose != "evaluate" and name != "float32")


def candidates(purpose, machine):
    """The settings worth timing for `purpose` on `machine`: the original's computation first."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}.")
    return [settings_named(purpose, name) for name in CANDIDATES[purpose][machine_kind(machine)]]


def reasoned(purpose, machine):
    """The choice without a measurement: the candidate the recorded measurements expect to win
    (the first after the reference), except for `evaluate`, which never changes the
    computation unmeasured, and int8, whose quality depends on the weights."""
    names = [name for name in CANDIDATES[purpose][machine_kind(machine)]
             if SpeedSettings.from_name(name).precision not in CALIBRATED]
    name = names[1] if purpose != "evaluate" and len(names) > 1 else names[0]
    return settings_named(purpose, name)


def rank(rows):
    """Names to use, best first: the candidates that meet the floor and beat the reference
    (the first row) by the margin with spreads apart, fastest first; then the reference."""
    reference = rows[0]
    winners = [row for row in rows[1:] if row.meets_floor and not row.error and row.times
               and row.median <= (1 - MARGIN) * reference.median
               and max(row.times) < min(reference.times)]
    return [row.name for row in sorted(winners, key=lambda row: row.median)] + [reference.name]



def table_lines(purpose, rows):
    """The table as lines: each candidate's median, spread and quality, the reference first."""
    return [f"  {row.describe(purpose)}" + ("  (reference)" if index == 0 else "")
            for index, row in enumerate(rows)]
