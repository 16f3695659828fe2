"""`--precision`, `--jit_compile` and `--faithful`: the same three flags in every script.

By default the scripts run with the fastest settings that keep their stated accuracy on the
machine at hand (`sid_tf2.hardware`); `--faithful` is the one flag that always gives the
original's float32 computation without XLA.
"""

from absl import flags

from sid_tf2.hardware import AUTO, PRECISIONS, resolve_speed_settings


def define_speed_flags(flag_values=None):
    """Define the three flags on `flag_values` (absl's global FLAGS by default)."""
    define = {} if flag_values is None else {"flag_values": flag_values}
    flags.DEFINE_enum(
        "precision", AUTO, [AUTO, *PRECISIONS],
        "Compute precision. auto: the fastest for this machine (float32 on CPUs without native "
        "16-bit arithmetic, mixed_float16 on GPUs with tensor cores); see --faithful.", **define)
    flags.DEFINE_bool(
        "jit_compile", None, "Compile with XLA. Unset: on, except for bfloat16 on a CPU whose "
        "oneDNN computes it natively.", **define)
    flags.DEFINE_bool(
        "faithful", False, "float32 without XLA: the original graph's computation, bit for bit.",
        **define)


def speed_settings_from_flags(values=None):
    """The concrete `SpeedSettings` the flags ask for on this machine.

    Raises:
      ValueError: --faithful together with a contradicting --precision or --jit_compile.
    """
    values = flags.FLAGS if values is None else values
    return resolve_speed_settings(values.precision, values.jit_compile, faithful=values.faithful)
