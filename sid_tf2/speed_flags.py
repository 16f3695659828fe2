"""`--precision`, `--jit_compile` and `--faithful`: the same three flags in every script.

Left at their defaults (`--precision=auto`, `--jit_compile` unset), each script runs with the
settings measured fastest on this machine for its purpose that meet the purpose's accuracy floor
(`sid_tf2.tuning`: train for train_sony.py, enhance for sid-enhance, evaluate for test_sony.py,
where only float32 settings within 100 dB of the original's output qualify, so the metrics do
not depend on the machine); the original's computation stays unless a candidate is at least 5 %
faster beyond the spread of the rounds. `--faithful` always gives the original's float32 computation
without XLA; an explicit `--precision` or `--[no]jit_compile` is taken as asked.
"""

from absl import flags

from sid_tf2.constants import PRECISIONS
from sid_tf2.hardware import AUTO, check_faithful, resolve_speed_settings

_PRECISION_HELP = {
    "evaluate": "Compute precision. auto: the float32 settings measured fastest on this machine "
                "whose output is within 100 dB of the original graph's (the same metrics on "
                "every machine); mixed_bfloat16 / mixed_float16: faster, approximate evaluation.",
    "enhance": "Compute precision. auto: the settings measured fastest on this machine within "
               "55 dB of float32 (e.g. mixed_bfloat16 on CPUs with AVX512-BF16/AMX).",
    "train": "Compute precision. auto: the settings measured fastest on this machine whose loss "
             "stays within the parity tolerance of float32.",
}


def define_speed_flags(flag_values=None, *, purpose="train"):
    """Define the three flags on `flag_values` (absl's global FLAGS by default)."""
    define = {} if flag_values is None else {"flag_values": flag_values}
    flags.DEFINE_enum("precision", AUTO, [AUTO, *PRECISIONS], _PRECISION_HELP[purpose], **define)
    flags.DEFINE_bool(
        "jit_compile", None, "Compile with XLA. Unset: as measured fastest (with --precision=auto) "
        "or on except for bfloat16 on a CPU whose oneDNN computes it natively.", **define)
    flags.DEFINE_bool(
        "faithful", False, "float32 without XLA (and without TF32 on GPUs): the original graph's "
        "computation.", **define)


def check_speed_flags(values=None):
    """Raise ValueError for contradicting flags, before anything slow is loaded."""
    values = flags.FLAGS if values is None else values
    if values.faithful:
        check_faithful(values.precision, values.jit_compile)


def wants_tuning(values=None):
    values = flags.FLAGS if values is None else values
    return not values.faithful and values.precision == AUTO and values.jit_compile is None


def speed_settings_from_flags(values=None, *, purpose="train", model=None, camera="sony", log=print):
    """The concrete `SpeedSettings` the flags ask for on this machine.

    At their defaults the settings are tuned for `purpose` ("evaluate", "enhance" or "train"):
    measured on this machine's first run of the purpose (a progress line and the table go to
    `log`) and cached, then checked on `model` when given (`sid_tf2.tuning`).

    Raises:
      ValueError: --faithful together with a contradicting --precision or --jit_compile.
    """
    values = flags.FLAGS if values is None else values
    check_speed_flags(values)
    if wants_tuning(values):
        from sid_tf2 import tuning  # pylint: disable=import-outside-toplevel  (it imports TensorFlow: keeps --help light)

        return tuning.tuned_settings(purpose, model=model, camera=camera, tune=True, log=log)
    return resolve_speed_settings(values.precision, values.jit_compile, faithful=values.faithful,
                                  purpose="evaluate" if purpose == "evaluate" else "fastest")
