"""The deployment runtimes' own chatter, hidden like TensorFlow's start-up lines.

tf2onnx logs its conversion steps, ONNX Runtime's quantiser and NNCF warn through the root
logger, LiteRT's C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate" straight to
file descriptor 2, and NNCF draws progress bars on sys.stdout. None of it tells a user of
sid-enhance or the converter anything they can act on, so a conversion runs with Python logging
below ERROR switched off, fd 2 held in a temporary file and sys.stdout in memory, both shown
(on stderr) only if the conversion fails. `--verbose` (which sets
`VERBOSE_ENV`) shows everything.
"""

import contextlib
import io
import logging
import os
import sys
import tempfile

VERBOSE_ENV = "SID_TF2_VERBOSE"


@contextlib.contextmanager
def runtime_output_hidden():
    """Hold back the runtimes' log records (below ERROR), fd 2 and sys.stdout in the block; show
    the held lines if the block raises an Exception (they may say why), drop them otherwise."""
    if os.environ.get(VERBOSE_ENV):
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    sys.stderr.flush()
    saved = os.dup(2)
    printed = io.StringIO()
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            with contextlib.redirect_stdout(printed):
                yield
        except Exception:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            logging.disable(previous)
            if failed:
                held.seek(0)
                sys.stderr.write(held.read().decode("utf-8", "replace") + printed.getvalue())
