"""`--backend` and `--backend_precision`: the same two flags in sid-enhance and test_sony.py.

`--precision`, `--jit_compile` and `--faithful` (sid_tf2.speed_flags) keep choosing how
TensorFlow computes; the other backends compute in `--backend_precision` instead, since their
precisions (int8, LiteRT's float16 weights ...) are not TensorFlow policies.
"""

from absl import flags

from sid_tf2.backends import BACKEND_PRECISIONS, BACKENDS, check_backend
from sid_tf2.speed_settings import SpeedSettings


def define_backend_flags(flag_values=None):
    """Define the two flags on `flag_values` (absl's global FLAGS by default)."""
    define = {} if flag_values is None else {"flag_values": flag_values}
    choices = "; ".join(f"{name}: {', '.join(BACKEND_PRECISIONS[name])}"
                        for name in BACKENDS[1:])
    flags.DEFINE_enum(
        "backend", "tensorflow", list(BACKENDS),
        "Runtime that computes the network. Other than tensorflow, the model is converted in "
        'memory and needs the export extra (pip install "sid-tf2[export]").', **define)
    flags.DEFINE_string(
        "backend_precision", "float32",
        f"What a backend other than tensorflow computes in ({choices}); int8 is calibrated on "
        "simulated low-light patches (Sony networks only).", **define)


def check_backend_flags(values):
    """Raise ValueError for a precision the chosen backend does not compute in."""
    if values.backend != "tensorflow":
        check_backend(values.backend, values.backend_precision)


def backend_settings(values, speed=None):
    """(the `SpeedSettings` to predict with, a one-line description) for the flags in `values`:
    TensorFlow computes as its `speed` settings say, the other backends in --backend_precision.

    Raises ValueError for a precision the chosen backend does not compute in.
    """
    if values.backend == "tensorflow":
        return speed, speed.reason
    check_backend_flags(values)
    return (SpeedSettings.runtime(values.backend, values.backend_precision),
            f"{values.backend} backend computing in {values.backend_precision}")
