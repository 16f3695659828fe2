"""`--precision`, `--jit_compile` and `--faithful`: the same three flags in every script.

Training and sid-enhance default to the fastest settings that keep their stated accuracy on the
machine at hand (`sid_tf2.hardware`). test_sony.py defaults to float32 without XLA, so that its
published-protocol metrics do not depend on the machine, and takes `--precision=auto` for the
fastest, approximate settings. `--faithful` is the one flag that always gives the original's
float32 computation without XLA.
"""

from absl import flags

from sid_tf2.hardware import AUTO, PRECISIONS, resolve_speed_settings


def define_speed_flags(flag_values=None, *, purpose="fastest"):
    """Define the three flags on `flag_values` (absl's global FLAGS by default).

    `purpose="evaluate"` (test_sony.py) makes float32 without XLA the default.
    """
    define = {} if flag_values is None else {"flag_values": flag_values}
    if purpose == "evaluate":
        flags.DEFINE_enum(
            "precision", "float32", [AUTO, *PRECISIONS],
            "Compute precision. float32 (default, without XLA unless --jit_compile): the original "
            "graph's computation, the same metrics on every machine; auto: the fastest settings "
            "for this machine, approximate (e.g. mixed_bfloat16 on CPUs with AVX512-BF16/AMX).",
            **define)
    else:
        flags.DEFINE_enum(
            "precision", AUTO, [AUTO, *PRECISIONS],
            "Compute precision. auto: the fastest for this machine (float32 on CPUs without "
            "native 16-bit arithmetic, mixed_bfloat16 where oneDNN runs AVX512-BF16/AMX, "
            "mixed_float16 on GPUs with tensor cores); see --faithful.", **define)
    flags.DEFINE_bool(
        "jit_compile", None, "Compile with XLA. Unset: on, except for bfloat16 on a CPU whose "
        "oneDNN computes it natively" + (" and for float32 evaluation." if purpose == "evaluate" else "."),
        **define)
    flags.DEFINE_bool(
        "faithful", False, "float32 without XLA (and without TF32 on GPUs): the original graph's "
        "computation.", **define)


def speed_settings_from_flags(values=None, *, purpose="fastest"):
    """The concrete `SpeedSettings` the flags ask for on this machine.

    Raises:
      ValueError: --faithful together with a contradicting --precision or --jit_compile.
    """
    values = flags.FLAGS if values is None else values
    return resolve_speed_settings(values.precision, values.jit_compile, faithful=values.faithful,
                                  purpose=purpose)
