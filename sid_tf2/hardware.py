"""The fastest precision and compilation for this machine, and the faithful path beside them.

`train_sony.py`, `test_sony.py` and `sid-enhance` default to `--precision=auto` and an unset
`--jit_compile`; `resolve_speed_settings` turns those into concrete settings from what the
hardware computes fast, as measured in `benchmarks/RESULTS.md`:

- A CPU without native 16-bit arithmetic (no AMX-BF16 or AVX512-BF16, e.g. the AVX2 machines
  the benchmarks ran on): float32 with XLA. XLA gains 1.2-1.3x over the original graph and
  gives the same whole-image output bits; bfloat16 and float16 are never faster there
  (without XLA their backward convolutions run on Eigen kernels 8x / 2.5x slower than
  float32; with XLA the CPU compiler computes them in float32 anyway).
- A CPU with AMX-BF16 or AVX512-BF16 whose bfloat16 TensorFlow's oneDNN runs, with oneDNN on
  in this process: mixed_bfloat16 without XLA, since XLA's CPU compiler would turn the
  bfloat16 convolutions back into float32 ones and bypass oneDNN's 16-bit kernels. Measured on
  an AMD EPYC Zen 4 (AVX512-BF16, oneDNN on by default): a full Sony frame in 2.9 s against the
  original graph's 5.4 s, 56 dB from float32 (issue 11 of this project); float32 + XLA took
  7.1-8.2 s there. With oneDNN switched off (TF_ENABLE_ONEDNN_OPTS=0) such a CPU is treated as
  one without native 16-bit arithmetic.
- GPUs of compute capability 7.0 or higher (tensor cores): mixed_float16 with XLA; older GPUs:
  float32 with XLA. (Not measured here: this project's machines have no GPU.)

Evaluation (`purpose="evaluate"`, test_sony.py) is different: the published-protocol metrics
must not depend on the machine, so it computes in float32 without XLA and with TensorFloat-32
off, the original graph's computation, unless a faster, approximate setting is asked for.

`FAITHFUL` (float32, no XLA, no TF32) reproduces the original graph; every script takes it with
one flag, `--faithful`.
"""

import dataclasses
import functools

from sid_tf2.constants import PRECISIONS
from sid_tf2.speed_settings import EVALUATE, FAITHFUL, SpeedSettings

AUTO = "auto"
NATIVE_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
TENSOR_CORE_CAPABILITY = (7, 0)


@dataclasses.dataclass(frozen=True)
class Hardware:
    """What decides the fastest settings: the GPUs' compute capabilities and the CPU's flags."""

    gpu_capabilities: tuple = ()  # one (major, minor) per GPU; (0, 0) when TensorFlow can't tell
    cpu_flags: frozenset = frozenset()
    onednn_bfloat16: bool = False  # TensorFlow's oneDNN runs bfloat16 on this CPU
    onednn: bool = True  # oneDNN custom operations are on in this process (TF_ENABLE_ONEDNN_OPTS)

    @property
    def native_bfloat16_cpu(self):
        return (self.onednn and self.onednn_bfloat16
                and any(flag in self.cpu_flags for flag in NATIVE_BF16_CPU_FLAGS))

    def describe(self):
        if self.gpu_capabilities:
            return "GPU compute capability " + ", ".join(f"{a}.{b}" for a, b in self.gpu_capabilities)
        if self.native_bfloat16_cpu:
            return "CPU with native bfloat16 (AMX/AVX512-BF16 via oneDNN)"
        onednn = "oneDNN on" if self.onednn else "oneDNN off"
        return f"CPU without native 16-bit arithmetic in use ({onednn})"


RULES = ("fastest", "evaluate")  # what resolve_speed_settings reasons for


def _cpuinfo_field(key, path):
    """The value of the first `key` line of /proc/cpuinfo (the first processor's), or ""."""
    try:
        with open(path) as stream:
            for line in stream:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return ""


def read_cpu_flags(path="/proc/cpuinfo"):
    """The CPU feature flags of the first processor listed (empty where there is no such file)."""
    return frozenset(_cpuinfo_field("flags", path).split())


def read_cpu_model(path="/proc/cpuinfo"):
    """The CPU's model name ("AMD EPYC", "Intel(R) Xeon(R) ...") or "" where unknown."""
    return _cpuinfo_field("model name", path)


@functools.lru_cache(maxsize=None)
def detect_hardware():
    """This machine's `Hardware` (cached: TensorFlow's device list does not change in a process)."""
    import tensorflow as tf  # TensorFlow: off --help (the flags read this module)

    capabilities = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (RuntimeError, ValueError):
            details = {}
        capabilities.append(tuple(details.get("compute_capability") or (0, 0)))
    try:
        from tensorflow.python.util import _pywrap_utils  # TensorFlow: off --help

        onednn_bf16 = bool(_pywrap_utils.IsDataTypeSupportedByOneDNNOnThisCPU(tf.bfloat16))
    except (ImportError, AttributeError):
        onednn_bf16 = False
    return Hardware(tuple(capabilities), read_cpu_flags(), onednn_bf16, onednn_enabled())


def onednn_enabled():
    """Whether TensorFlow's oneDNN custom operations are on in this process.

    TensorFlow decides at start-up from the CPU (on by default where it has AVX512-VNNI,
    AVX512-BF16 or AMX) and from TF_ENABLE_ONEDNN_OPTS; the state changes results in the last
    bits and the speed of every convolution, so it is part of what a measurement reports.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port  # TensorFlow: off --help
    except ImportError:
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def apply_math_settings(settings):
    """Make TensorFlow compute as `settings` ask where it is process-wide: TensorFloat-32.

    On Ampere and newer GPUs TensorFlow computes float32 convolutions in TF32 (10-bit
    mantissas) unless told not to; float32 settings that promise the original's computation
    (`FAITHFUL`, `EVALUATE`) turn it off. Without a GPU this changes nothing.
    """
    import tensorflow as tf  # TensorFlow: off --help (the flags read this module)

    tf.config.experimental.enable_tensor_float_32_execution(settings.tensor_float_32)


def gpu_names():
    """The names of this machine's GPUs, as TensorFlow reports them."""
    import tensorflow as tf  # TensorFlow: off --help (the flags read this module)

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            names.append(tf.config.experimental.get_device_details(device).get("device_name", device.name))
        except (RuntimeError, ValueError):
            names.append(device.name)
    return names


def runtime_report(settings):
    """What computed a result, for metrics files: the settings and the machine's state."""
    import tensorflow as tf  # TensorFlow: off --help (the flags read this module)

    gpus = gpu_names()
    return {
        "precision": settings.precision,
        "jit_compile": settings.jit_compile,
        "tensor_float_32": bool(tf.config.experimental.tensor_float_32_execution_enabled()) and bool(gpus),
        "onednn": onednn_enabled(),
        "device": ", ".join(gpus) if gpus else f"CPU: {read_cpu_model() or 'unknown'}",
    }


def fastest_precision(hardware):
    if hardware.gpu_capabilities:
        tensor_cores = all(c >= TENSOR_CORE_CAPABILITY for c in hardware.gpu_capabilities)
        return "mixed_float16" if tensor_cores else "float32"
    return "mixed_bfloat16" if hardware.native_bfloat16_cpu else "float32"


def fastest_jit_compile(precision, hardware):
    """XLA everywhere except bfloat16 on a native-bfloat16 CPU, where oneDNN's kernels win."""
    return bool(hardware.gpu_capabilities) or not (
        precision == "mixed_bfloat16" and hardware.native_bfloat16_cpu)


def check_faithful(precision, jit_compile):
    """Raise ValueError when --faithful comes with a precision or XLA that contradict it."""
    if precision not in (AUTO, "float32") or jit_compile:
        raise ValueError("--faithful means float32 without XLA: leave out --precision and "
                         "--jit_compile, or drop --faithful.")


def resolve_speed_settings(precision=AUTO, jit_compile=None, *, faithful=False, hardware=None,
                           purpose="fastest"):
    """Concrete (precision, jit_compile) from the scripts' flags.

    Args:
      precision: "auto" or one of PRECISIONS.
      jit_compile: None (auto), True or False.
      faithful: float32 without XLA; conflicts with any other explicit setting.
      hardware: a `Hardware` (default: this machine's).
      purpose: "fastest" (training, enhancing: the fastest settings for the machine) or
        "evaluate" (test_sony.py: float32 without XLA unless asked otherwise, so that the
        published-protocol metrics do not depend on the machine).
    Raises:
      ValueError: `faithful` together with a precision or jit_compile that contradict it.
    """
    if precision != AUTO and precision not in PRECISIONS:
        raise ValueError(f"precision must be {AUTO!r} or one of {PRECISIONS}, got {precision!r}.")
    if purpose not in RULES:
        raise ValueError(f"purpose must be one of {RULES}, got {purpose!r}.")
    if faithful:
        check_faithful(precision, jit_compile)
        return FAITHFUL
    if purpose == "evaluate" and precision in (AUTO, "float32") and not jit_compile:
        return EVALUATE
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
    return SpeedSettings.tensorflow(chosen, jit, reason, warning)
