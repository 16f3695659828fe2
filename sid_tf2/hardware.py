"""The fastest precision and compilation for this machine, and the faithful path beside them.

`train_sony.py`, `test_sony.py` and `sid-enhance` default to `--precision=auto` and an unset
`--jit_compile`; `resolve_speed_settings` turns those into concrete settings from what the
hardware computes fast, as measured in `benchmarks/RESULTS.md`:

- A CPU without native 16-bit arithmetic (no AMX-BF16 or AVX512-BF16, e.g. the AVX2 machines
  the benchmarks ran on): float32 with XLA. XLA gains 1.2-1.3x over the original graph and
  gives the same whole-image output bits; bfloat16 and float16 are never faster there
  (without XLA their backward convolutions run on Eigen kernels 8x / 2.5x slower than
  float32; with XLA the CPU compiler computes them in float32 anyway).
- A CPU with AMX-BF16 or AVX512-BF16 that TensorFlow's oneDNN will use for bfloat16:
  mixed_bfloat16 without XLA, since XLA's CPU compiler would turn the bfloat16 convolutions
  back into float32 ones and bypass oneDNN's 16-bit kernels. (Not measured here.)
- GPUs of compute capability 7.0 or higher (tensor cores): mixed_float16 with XLA; older GPUs:
  float32 with XLA. (Not measured here: this project's machines have no GPU.)

`FAITHFUL` (float32, no XLA) reproduces the original graph bit for bit; every script takes it
with one flag, `--faithful`.
"""

import dataclasses
import functools

from sid_tf2.constants import PRECISIONS

AUTO = "auto"
NATIVE_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
TENSOR_CORE_CAPABILITY = (7, 0)


@dataclasses.dataclass(frozen=True)
class Hardware:
    """What decides the fastest settings: the GPUs' compute capabilities and the CPU's flags."""

    gpu_capabilities: tuple = ()  # one (major, minor) per GPU; (0, 0) when TensorFlow can't tell
    cpu_flags: frozenset = frozenset()
    onednn_bfloat16: bool = False  # TensorFlow's oneDNN runs bfloat16 on this CPU

    @property
    def native_bfloat16_cpu(self):
        return self.onednn_bfloat16 and any(flag in self.cpu_flags for flag in NATIVE_BF16_CPU_FLAGS)

    def describe(self):
        if self.gpu_capabilities:
            return "GPU compute capability " + ", ".join(f"{a}.{b}" for a, b in self.gpu_capabilities)
        if self.native_bfloat16_cpu:
            return "CPU with native bfloat16 (AMX/AVX512-BF16 via oneDNN)"
        return "CPU without native 16-bit arithmetic"


@dataclasses.dataclass(frozen=True)
class SpeedSettings:
    precision: str
    jit_compile: bool
    reason: str  # one line for the log: what was chosen and why
    warning: str = ""  # set when explicit settings are known to be slow on this hardware


FAITHFUL = SpeedSettings("float32", False, "float32 without XLA (faithful to the original graph)")


def read_cpu_flags(path="/proc/cpuinfo"):
    """The CPU feature flags of the first processor listed (empty where there is no such file)."""
    try:
        with open(path) as stream:
            for line in stream:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


@functools.lru_cache(maxsize=None)
def detect_hardware():
    """This machine's `Hardware` (cached: TensorFlow's device list does not change in a process)."""
    import tensorflow as tf

    capabilities = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (RuntimeError, ValueError):
            details = {}
        capabilities.append(tuple(details.get("compute_capability") or (0, 0)))
    try:
        from tensorflow.python.util import _pywrap_utils

        onednn_bf16 = bool(_pywrap_utils.IsDataTypeSupportedByOneDNNOnThisCPU(tf.bfloat16))
    except (ImportError, AttributeError):
        onednn_bf16 = False
    return Hardware(tuple(capabilities), read_cpu_flags(), onednn_bf16)


def fastest_precision(hardware):
    if hardware.gpu_capabilities:
        tensor_cores = all(c >= TENSOR_CORE_CAPABILITY for c in hardware.gpu_capabilities)
        return "mixed_float16" if tensor_cores else "float32"
    return "mixed_bfloat16" if hardware.native_bfloat16_cpu else "float32"


def fastest_jit_compile(precision, hardware):
    """XLA everywhere except bfloat16 on a native-bfloat16 CPU, where oneDNN's kernels win."""
    return bool(hardware.gpu_capabilities) or not (
        precision == "mixed_bfloat16" and hardware.native_bfloat16_cpu)


def resolve_speed_settings(precision=AUTO, jit_compile=None, *, faithful=False, hardware=None):
    """Concrete (precision, jit_compile) from the scripts' flags.

    Args:
      precision: "auto" or one of PRECISIONS.
      jit_compile: None (auto), True or False.
      faithful: float32 without XLA; conflicts with any other explicit setting.
      hardware: a `Hardware` (default: this machine's).
    Raises:
      ValueError: `faithful` together with a precision or jit_compile that contradict it.
    """
    if precision != AUTO and precision not in PRECISIONS:
        raise ValueError(f"precision must be {AUTO!r} or one of {PRECISIONS}, got {precision!r}.")
    if faithful:
        if precision not in (AUTO, "float32") or jit_compile:
            raise ValueError("--faithful means float32 without XLA: leave out --precision and "
                             "--jit_compile, or drop --faithful.")
        return FAITHFUL
    hardware = hardware or detect_hardware()
    chosen = fastest_precision(hardware) if precision == AUTO else precision
    jit = fastest_jit_compile(chosen, hardware) if jit_compile is None else bool(jit_compile)
    how = "auto" if precision == AUTO and jit_compile is None else "as asked"
    reason = (f"{chosen} {'with' if jit else 'without'} XLA ({how}; {hardware.describe()}; "
              f"--faithful for float32 without XLA)")
    warning = ""
    if chosen != "float32" and not jit and not hardware.gpu_capabilities and not (
            chosen == "mixed_bfloat16" and hardware.native_bfloat16_cpu):
        warning = (f"{chosen} without XLA on a CPU without native 16-bit arithmetic runs on slow "
                   "kernels (measured against float32: a training step 2.5-8x slower, a full "
                   "frame 1.3-1.7x, benchmarks/RESULTS.md); leave --jit_compile unset or use "
                   "float32.")
    return SpeedSettings(chosen, jit, reason, warning)
