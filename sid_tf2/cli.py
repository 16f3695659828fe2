"""What every command line of the project shares: help that answers at once, and a quiet start.

What made the commands unpleasant to use, or their definitions repetitive, is fixed here
rather than in each script:

* absl answers ``--help`` by exiting with status 1, after the script has imported everything
  it imports at the top (TensorFlow took about 4 s).  :func:`run` prints the same help and exits
  0; the scripts define their flags in modules that do not import TensorFlow, and load it in
  ``main``.
* Importing TensorFlow prints about nine lines on stderr, twice per process (the C++ library is
  loaded twice), before absl's C++ logging is even initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does
  not reach them; the CUDA platform's start-up then logs ``failed call to cuInit`` as an error on
  every machine without a GPU.  :func:`load_tensorflow` holds back what file descriptor 2
  receives while TensorFlow is imported and its devices are listed (where the CUDA probe
  happens), and shows it only if that fails: by an exception, or by the process ending there
  (a C++ abort, an ``exit()``), when those lines are the only account of why.
  ``TF_CPP_MIN_LOG_LEVEL`` is set to 2 (unless the user set it) so that later INFO and WARNING
  lines of the C++ runtime stay away too; its errors still show.  ``--verbose`` keeps all of it.
* A command's flags and main live in a library module (``sid_tf2.train``...), started by a
  console script's stub or a thin script: :func:`run` shows that module's docstring and key
  flags in the help, as if it had been started itself.
* A run's settings are a config's fields: :func:`define_config_flags` derives a flag from each
  (name, default, help, bounds), so that a default is written once.
* absl prefixes every Python log line with a date, a thread id and a source line
  (``I1129 16:45:46.360483 1402... download.py:595] Downloading ...``); :func:`run` prints the
  project's log lines as plain text instead, warnings and errors named as such.
"""

import contextlib
import dataclasses
import functools
import logging
import os
import select
import signal
import sys
import typing

from absl import app, flags
from absl import logging as absl_logging

from sid_tf2.backends.quiet import VERBOSE_ENV

__all__ = ["HELP_ARGUMENTS", "config_flag_values", "define_config_flags", "define_verbose_flag",
           "load_tensorflow", "run"]

HELP_ARGUMENTS = {"-h": True, "-?": True, "--help": True, "--helpshort": True, "--helpfull": False}
"""Help arguments absl understands, mapped to whether they ask for the short help."""

QUIET_LOG_LEVEL = "2"  # TensorFlow's C++ logs: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR


def define_verbose_flag(flag_values=None):
    """``--verbose``: show TensorFlow's, absl's and CUDA's start-up lines.

    The flag is declared as the calling module's own, so that the short ``--help`` lists it.
    """
    define = {} if flag_values is None else {"flag_values": flag_values}
    flags.DEFINE_bool("verbose", False, "Show TensorFlow's start-up and runtime log lines "
                      "(hidden by default).", module_name=_calling_module(), **define)


_DEFINE_BY_TYPE = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                   str: flags.DEFINE_string}


def define_config_flags(*groups, flag_values=None):
    """A flag for each field of the config dataclasses `groups` that has one.

    Name, default, help, bounds and choices come from the field and its metadata (written by
    `sid_tf2.training.config.setting`), so a default is written once, in the config. The flags
    are declared as the calling module's own, so that the short ``--help`` lists them.
    """
    define = {} if flag_values is None else {"flag_values": flag_values}
    caller = _calling_module()
    for field, name in _flagged_fields(groups):
        options = dict(field.metadata["flag_options"])
        default = options.pop("default", field.default)
        choices = options.pop("choices", None)
        help_text = field.metadata["help"]
        if choices:
            flags.DEFINE_enum(name, default, list(choices), help_text, module_name=caller, **define, **options)
        else:
            kind = next(t for t in typing.get_args(field.type) or (field.type,) if t is not type(None))
            _DEFINE_BY_TYPE[kind](name, default, help_text, module_name=caller, **define, **options)


def config_flag_values(*groups, flag_values=None):
    """{field name: its flag's value} for the fields of `groups` that have flags."""
    values = flags.FLAGS if flag_values is None else flag_values
    return {field.name: values[name].value for field, name in _flagged_fields(groups)}


def _flagged_fields(groups):
    """(field, flag name) of each field of `groups` with a flag."""
    for group in groups:
        for field in dataclasses.fields(group):
            flag = field.metadata.get("flag", False)
            if flag:
                yield field, field.name if flag is True else flag


def _calling_module():
    """The name absl gives the module that called the caller (the script's path for __main__,
    as its help does)."""
    caller = sys._getframe(2).f_globals.get("__name__")  # pylint: disable=protected-access
    return sys.argv[0] if caller == "__main__" else caller


def run(main, argv=None, *, doc=None):
    """``absl.app.run(main)``, except that a help argument prints the help and exits 0.

    The help is absl's own (the ``__main__`` module's docstring and its key flags, or every
    flag for ``--helpfull``); nothing else of the program runs for it. A `main` defined in
    another module than the one started (a console script's stub, a thin script) is the
    command of its own module: that module's key flags and docstring (or `doc`) are shown.
    """
    _adopt_command(main, doc)
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
    program = _program_name(argv[0])
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app.run(_reporting_usage(main, program), argv, flags_parser=functools.partial(_parse_flags, program))
    except KeyboardInterrupt:
        _stopped(program, "interrupted (Ctrl-C)", EXIT_INTERRUPTED)
    except Terminated:
        _stopped(program, "stopped by SIGTERM", EXIT_TERMINATED)


EXIT_USAGE = 2  # a usage problem; 1 is a file or run that failed
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised where the program is, as Ctrl-C raises KeyboardInterrupt: the same
    clean-ups run (staged files removed, locks released), then the run ends with status 143.
    Commands with a graceful stop of their own (training's checkpoint) replace the handler."""


def _terminate(signum, frame):
    raise Terminated()


def _program_name(path):
    """What the user typed to start the program: "sid-enhance", "python -m sid_tf2.simulate"."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    if spec is not None and path.endswith(".py"):  # started with python -m
        return f"python -m {spec.name.removesuffix('.__main__')}"
    return os.path.basename(path)


def _stopped(program, how, status):
    """End a run stopped from outside in one line: whatever was written is whole (every file
    goes through `sid_tf2.atomic`), a file in progress was dropped."""
    sys.stderr.flush()
    print(f"{program}: {how}; files already written are complete", file=sys.stderr)
    sys.exit(status)


def usage_error(program, message):
    """A usage problem: one `error:` line with a pointer to the help, and exit status 2."""
    text = " ".join(str(message).split())
    print(f"error: {text} (see {program} --help)", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def _parse_flags(program, argv):
    """absl's flag parsing, with its errors as one line and status 2 (absl prints two lines
    starting "FATAL" and exits 1)."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        usage_error(program, error)


def _reporting_usage(main, program):
    """`main`, with an `app.UsageError` as one line and status 2 instead of absl's whole help."""

    @functools.wraps(main)
    def reporting(argv):
        try:
            return main(argv)
        except app.UsageError as error:
            usage_error(program, error)

    return reporting


def _adopt_command(main, doc):
    """Make `main`'s module the started program for absl's help, which shows the key flags of
    the module named by ``sys.argv[0]`` and the docstring of ``__main__``."""
    module = main.__module__
    if module == "__main__":  # started as itself: the help is already its own
        return
    started = sys.argv[0]
    for flag in flags.FLAGS.get_key_flags_for_module(module):
        flags.FLAGS.register_key_flag_for_module(started, flag)
    sys.modules["__main__"].__doc__ = doc or sys.modules[module].__doc__


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
    if verbose:
        os.environ[VERBOSE_ENV] = "1"  # the deployment runtimes' chatter too (sid_tf2.backends.quiet)
    if verbose or "tensorflow" in sys.modules:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LOG_LEVEL)
    with _stderr_captured():
        import tensorflow as tf  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

        tf.config.list_physical_devices()  # the CUDA probe logs here, not at the import
    return tf


_DISCARD, _SHOW = b"d", b"s"  # the verdict the watcher waits for


@contextlib.contextmanager
def _stderr_captured():
    """Hold back what file descriptor 2 receives in the block (C and C++ writers included);
    show it on the real stderr if the block raises or the process ends inside it.

    Why a watcher process: a TensorFlow that aborts in C++ or calls ``exit()`` while it loads
    ends the process with no Python code left to run, and what it printed is then the only
    account of why.  So fd 2 points at a pipe, read by a child forked here (before TensorFlow
    starts threads; about 2 ms) that keeps the real stderr: when the block ends, the
    parent tells it to discard or show what it holds; when the parent dies instead, the end of
    the verdict pipe tells it, and it shows everything.  The parent reaps it, so it never
    outlives the block (nor the parent, if that dies); a grandchild that inherited fd 2 cannot
    hold it up, as only the parent holds the verdict pipe.
    """
    sys.stderr.flush()
    capture_read, capture_write = os.pipe()
    verdict_read, verdict_write = os.pipe()  # not inheritable: only this process may answer
    watcher = os.fork()
    if watcher == 0:
        try:
            os.close(capture_write)
            os.close(verdict_write)
            _watch(capture_read, verdict_read)
        finally:
            os._exit(0)  # pylint: disable=protected-access  # never the parent's code or exit handlers
    os.close(capture_read)
    os.close(verdict_read)
    saved = os.dup(2)
    os.dup2(capture_write, 2)
    os.close(capture_write)
    verdict = _SHOW
    try:
        yield
        verdict = _DISCARD
    except (KeyboardInterrupt, Terminated):
        verdict = _DISCARD  # stopped on request: the start-up lines explain nothing
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        try:
            os.write(verdict_write, verdict)
        except OSError:  # the watcher was killed: nothing left to tell
            pass
        os.close(verdict_write)
        try:
            os.waitpid(watcher, 0)
        except ChildProcessError:  # SIGCHLD ignored: the system reaped it
            pass


def _watch(capture, verdict):
    """The watcher's life: collect what arrives on `capture` until `verdict` says what to do
    with it (or ends: the parent is gone), then write it to fd 2 unless told to discard it.

    It ignores SIGINT, which a terminal sends to the whole process group: the parent decides
    what a Ctrl-C means, and its lines should still be shown if it dies of one.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    held = []
    poller = select.poll()
    poller.register(capture, select.POLLIN)
    poller.register(verdict, select.POLLIN)
    answer = b""
    while not answer:
        ready = dict(poller.poll())
        if capture in ready:
            data = os.read(capture, 1 << 16)
            held.append(data)
            if not data:  # every writer gone; the verdict pipe decides
                poller.unregister(capture)
        if verdict in ready:
            answer = os.read(verdict, 1) or _SHOW  # nothing but the end: the parent died
    os.set_blocking(capture, False)
    try:
        while data := os.read(capture, 1 << 16):  # written before the verdict, not yet read
            held.append(data)
    except BlockingIOError:
        pass
    if answer == _SHOW:
        text = memoryview(b"".join(held))
        while text:
            text = text[os.write(2, text):]
