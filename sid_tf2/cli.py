"""What every command line of the project shares: help that answers at once, and a quiet start.

Two things made the commands unpleasant to use, and both are fixed here rather than in each
script:

* absl answers ``--help`` by exiting with status 1, after the script has imported everything
  it imports at the top (TensorFlow took about 4 s).  :func:`run` prints the same help and exits
  0; the scripts define their flags in modules that do not import TensorFlow, and load it in
  ``main``.
* Importing TensorFlow prints about nine lines on stderr, twice per process (the C++ library is
  loaded twice), before absl's C++ logging is even initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does
  not reach them; the CUDA platform's start-up then logs ``failed call to cuInit`` as an error on
  every machine without a GPU.  :func:`load_tensorflow` sends file descriptor 2 to a temporary
  file while TensorFlow is imported and its devices are listed (where the CUDA probe happens),
  and shows what was captured only if the import fails.  ``TF_CPP_MIN_LOG_LEVEL`` is set to 2
  (unless the user set it) so that later INFO and WARNING lines of the C++ runtime stay away
  too; its errors still show.  ``--verbose`` keeps all of it.
* absl prefixes every Python log line with a date, a thread id and a source line
  (``I1129 16:45:46.360483 1402... download.py:595] Downloading ...``); :func:`run` prints the
  project's log lines as plain text instead, warnings and errors named as such.
"""

import contextlib
import logging
import os
import sys
import tempfile

from absl import app, flags
from absl import logging as absl_logging

__all__ = ["HELP_ARGUMENTS", "define_verbose_flag", "load_tensorflow", "run"]

HELP_ARGUMENTS = {"-h": True, "-?": True, "--help": True, "--helpshort": True, "--helpfull": False}
"""Help arguments absl understands, mapped to whether they ask for the short help."""

QUIET_LOG_LEVEL = "2"  # TensorFlow's C++ logs: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR


def define_verbose_flag(flag_values=None):
    """``--verbose``: show TensorFlow's, absl's and CUDA's start-up lines.

    The flag is declared as the calling module's own, so that the short ``--help`` lists it.
    """
    define = {} if flag_values is None else {"flag_values": flag_values}
    caller = sys._getframe(1).f_globals.get("__name__")  # pylint: disable=protected-access
    if caller == "__main__":  # absl names the main module by the script, as its help does
        caller = sys.argv[0]
    flags.DEFINE_bool("verbose", False, "Show TensorFlow's start-up and runtime log lines "
                      "(hidden by default).", module_name=caller, **define)


def run(main, argv=None):
    """``absl.app.run(main)``, except that a help argument prints the help and exits 0.

    The help is absl's own (the ``__main__`` module's docstring and its key flags, or every
    flag for ``--helpfull``); nothing else of the program runs for it.
    """
    argv = list(sys.argv if argv is None else argv)
    for argument in argv[1:]:
        if argument == "--":
            break
        if argument in HELP_ARGUMENTS:
            short = HELP_ARGUMENTS[argument]
            app.usage(shorthelp=short, writeto_stdout=True)
            if short:
                print("\nTry --helpfull to get a list of all flags.")
            sys.exit(0)
    absl_logging.get_absl_handler().setFormatter(_PlainFormatter())
    app.run(main, argv)


class _PlainFormatter(logging.Formatter):
    """A log record as a line of the program's own: the message, after "warning: " or "error: "
    for those levels."""

    def format(self, record):
        message = super().format(record)
        if record.levelno <= logging.INFO:
            return message
        return f"{'warning' if record.levelno == logging.WARNING else 'error'}: {message}"


def load_tensorflow(verbose=False):
    """Import TensorFlow (once) without its start-up lines unless `verbose`; return the module.

    Call it before anything else imports TensorFlow: once imported, its lines are already out.
    """
    if verbose or "tensorflow" in sys.modules:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LOG_LEVEL)
    with _stderr_captured() as captured:
        try:
            import tensorflow as tf  # pylint: disable=import-outside-toplevel

            tf.config.list_physical_devices()  # the CUDA probe logs here, not at the import
        except BaseException:
            captured.replay = True
            raise
    return tf


class _Captured:
    replay = False


@contextlib.contextmanager
def _stderr_captured():
    """Point file descriptor 2 (C and C++ writers included) at a temporary file for a while.

    What was written is copied to the real stderr afterwards when ``replay`` was set.
    """
    captured = _Captured()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if captured.replay:
                sink.seek(0)
                sys.stderr.write(sink.read().decode("utf-8", "replace"))
                sys.stderr.flush()
