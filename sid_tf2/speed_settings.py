"""How the network computes: one value, `SpeedSettings`, and the model variant it holds.

`Variant` says how a `build_unet` model computes (its precision, the levels kept in float32,
the levels whose convolutions run as Winograd); it is the model's own description, read back
from a model by `sid_tf2.model.model_variant`. `SpeedSettings` adds how that model is run: XLA,
TensorFloat-32, or another runtime instead of TensorFlow, in that runtime's precision. Each
fact is held once: a TensorFlow setting's precision is its variant's, a runtime's is its own.

Both are free of TensorFlow and Keras, so the flags and the tuner's cache read them without
loading either.
"""

import dataclasses
import re

from sid_tf2.constants import BACKEND_PRECISIONS, BACKENDS, PRECISIONS

LEVELS = (1, 2, 3, 4, 5)  # resolution levels: 1 is the packed input's, 5 the 16x smaller one
TENSORFLOW = "tensorflow"
_NAME = re.compile("(" + "|".join(map(re.escape, PRECISIONS)) + r")(?:@([1-5]))?(\+xla)?(?:\+winograd([1-5])-([1-5]))?")


def check_backend(backend, precision):
    """Raise ValueError unless `backend` exists and computes in `precision`."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {BACKENDS}")
    if precision not in BACKEND_PRECISIONS[backend]:
        raise ValueError(f"the {backend} backend computes in {BACKEND_PRECISIONS[backend]}, "
                         f"not {precision!r}")


@dataclasses.dataclass(frozen=True)
class Variant:
    """How a `build_unet` model computes; every variant holds the same weights.

    precision: the policy of the levels from `low_precision_from` down ("float32" everywhere
    when it is float32); the levels above it compute in float32, as do g_conv10 and
    depth_to_space always. winograd_levels: levels whose 3x3 convolutions use Winograd
    F(4x4, 3x3) (float32, inference only; `sid_tf2.winograd`).
    """

    precision: str = "float32"
    low_precision_from: int = 1
    winograd_levels: tuple = ()

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"Unknown precision {self.precision!r}: expected one of {PRECISIONS}.")
        if self.low_precision_from not in LEVELS:
            raise ValueError(f"low_precision_from must be one of {LEVELS}, got {self.low_precision_from}.")
        if not set(self.winograd_levels) <= set(LEVELS):
            raise ValueError(f"winograd_levels must be among {LEVELS}, got {self.winograd_levels}.")
        if self.winograd_levels and self.precision != "float32":
            raise ValueError("Winograd convolutions compute in float32: use precision float32.")
        object.__setattr__(self, "winograd_levels", tuple(sorted(set(self.winograd_levels))))

    def dtype(self, level):
        return self.precision if level >= self.low_precision_from else "float32"


@dataclasses.dataclass(frozen=True)
class SpeedSettings:
    """How the network computes: the TensorFlow model's variant and XLA, or another runtime.

    variant: the Keras model's computation (TensorFlow); another runtime converts the float32
      model, so its variant is always the default one.
    runtime_precision: set exactly when `backend` is another runtime (`sid_tf2.backends`): what
      it computes in, in its own vocabulary (`constants.BACKEND_PRECISIONS`), e.g. "int8".
    """

    variant: Variant = Variant()
    jit_compile: bool = False
    # Words about the computation, not part of it: equal settings compute alike.
    reason: str = dataclasses.field(default="", compare=False)  # one line for the log: what and why
    warning: str = dataclasses.field(default="", compare=False)  # explicit settings known slow here
    tensor_float_32: bool = True  # False: float32 convolutions stay float32 on Ampere+ GPUs
    backend: str = TENSORFLOW
    runtime_precision: str = ""

    def __post_init__(self):
        if self.backend == TENSORFLOW:
            if self.runtime_precision:
                raise ValueError("TensorFlow's precision is its variant's: runtime_precision is another runtime's.")
            return
        check_backend(self.backend, self.runtime_precision)
        if self.jit_compile or self.variant != Variant():
            raise ValueError(f"jit_compile and model variants are TensorFlow's; the {self.backend} backend "
                             "converts the float32 model and compiles by itself")

    @classmethod
    def tensorflow(cls, precision="float32", jit_compile=False, reason="", warning="", **fields):
        """TensorFlow settings from a precision name; `fields`: the rest of `Variant`'s and
        this class's fields (low_precision_from, winograd_levels, tensor_float_32)."""
        variant_fields = {name: fields.pop(name) for name in ("low_precision_from", "winograd_levels")
                          if name in fields}
        return cls(Variant(precision, **variant_fields), bool(jit_compile), reason, warning, **fields)

    @classmethod
    def runtime(cls, backend, precision="float32", reason=""):
        """Settings that run the float32 model converted for another runtime."""
        return cls(reason=reason, tensor_float_32=False, backend=backend, runtime_precision=precision)

    @property
    def precision(self):
        """What the backend computes in: the variant's policy, or the runtime's precision."""
        return self.variant.precision if self.backend == TENSORFLOW else self.runtime_precision

    @property
    def name(self):
        """A short label: float32+xla+winograd3-5, mixed_bfloat16@3, openvino:bfloat16, ..."""
        if self.backend != TENSORFLOW:
            return f"{self.backend}:{self.runtime_precision}"
        variant = self.variant
        text = variant.precision + (f"@{variant.low_precision_from}" if variant.low_precision_from > 1 else "")
        if self.jit_compile:
            text += "+xla"
        if variant.winograd_levels:
            text += f"+winograd{variant.winograd_levels[0]}-{variant.winograd_levels[-1]}"
        return text

    @classmethod
    def from_name(cls, name, reason="as asked"):
        """The settings of a `name` label (float32+xla+winograd3-5, mixed_bfloat16@3,
        openvino:int8, ...); TF32 on for reduced precisions only."""
        backend, separator, precision = name.partition(":")
        if separator:
            return cls.runtime(backend, precision, reason)
        match = _NAME.fullmatch(name)
        if not match:
            raise ValueError(f"{name!r} is not <precision>[@level][+xla][+winogradA-B], precision "
                             f"one of {', '.join(PRECISIONS)}, nor <backend>:<precision>.")
        precision, low, xla, first, last = match.groups()
        levels = tuple(range(int(first), int(last) + 1)) if first else ()
        return cls.tensorflow(precision, bool(xla), reason, low_precision_from=int(low or 1),
                              winograd_levels=levels, tensor_float_32=precision != "float32")


FAITHFUL = SpeedSettings(reason="float32 without XLA (faithful to the original graph)", tensor_float_32=False)
EVALUATE = SpeedSettings(
    reason="float32 without XLA, TF32 off: the original graph's computation, so the "
    "metrics do not depend on the machine (--precision=mixed_bfloat16 or mixed_float16 for a "
    "faster, approximate evaluation)",
    tensor_float_32=False)
