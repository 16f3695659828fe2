"""Enhancing files: one through the network (`enhance_file`), and sid-enhance's run over many
(`FolderRun`), which keeps the network busy and reports every file in order.

A folder runs at the network's pace: while the network runs on one file, a thread decodes the
next and another writes the previous one's images (rawpy, NumPy, zlib and Pillow release the
GIL); the first file is decoded while the network is prepared. A file that fails is reported and
the others go on; a `WriteError` (a full disk, an unwritable place) stops the whole run, since
every later file would fail the same way.
"""

import concurrent.futures
import contextlib
import os
import sys
import time

from sid_tf2.atomic import STAGING_PREFIX, WriteError, is_staging_for
from sid_tf2.backends import MissingExtraError
from sid_tf2.enhance.decode import decode_file
from sid_tf2.enhance.output import OutputOptions, output_paths, write_results
from sid_tf2.photo_inputs import AUTO_TARGET
from sid_tf2.progress import Progress, format_duration
from sid_tf2.raw import RawFileError


def print_error(message):
    """sid-enhance's one-line error on stderr."""
    print(f"sid-enhance: error: {message}", file=sys.stderr)


def run_network(predictor, decoded):
    """The network's output [bH, bW, 3] for a decoded file (its input is released)."""
    network_input, decoded.network_input = decoded.network_input, None
    return predictor(network_input[None])[0]


def enhance_file(path, predictor, camera, output_dir, *, ratio="auto", auto_target=AUTO_TARGET,
                 options=OutputOptions()):
    """Run one raw file through the network and write its images; return an EnhanceResult.

    Args:
      path: a raw file.
      predictor: from :func:`sid_tf2.inference.make_predictor` for `camera`'s network.
      camera: "sony" (Bayer files) or "fuji" (X-Trans files).
      output_dir: an existing directory.
      ratio: a positive number, or "auto" (`sid_tf2.photo_inputs.auto_ratio`).
      auto_target: the brightness "auto" aims for.
      options: the `OutputOptions` (format, bit depth, compare, orientation, quality ...).

    Raises RawFileError (a ValueError) naming the file for unusable input; nothing is written
    then.
    """
    decoded = decode_file(path, camera, ratio=ratio, auto_target=auto_target,
                          compare=options.compare)
    output = run_network(predictor, decoded)
    return write_results(decoded, output, output_dir, options)


def _format_total(seconds):
    """'14.6 s' under a minute (a folder's speed is read from it), else as the ETA is shown."""
    return f"{seconds:.1f} s" if seconds < 60 else format_duration(seconds)


def _reason(error):
    return getattr(error, "reason", None) or (
        error.strerror if isinstance(error, OSError) and error.strerror else str(error))


class FolderRun:
    """sid-enhance over a list of raw files: `plan` skips files whose outputs exist or clash,
    `process` runs the rest, `summary` prints the totals and gives the exit status.

    The per-file lines are results (ratio, size) as much as progress: printed here, in the
    files' order, with the ETA of the project's one progress display.
    """

    def __init__(self, files, failures, *, camera, output_dir, ratio="auto",
                 auto_target=AUTO_TARGET, options=OutputOptions(), overwrite=False):
        # Imported here, where TensorFlow is loaded already: sid_tf2.enhance stays free of it
        # until main has parsed the flags.
        import tensorflow as tf  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

        self.files = files
        self.failures = failures  # (path, reason), in the order they happened
        self.skipped = []  # inputs whose outputs existed before this run
        self.done = 0
        self.camera, self.output_dir, self.options = camera, output_dir, options
        self.ratio, self.auto_target, self.overwrite = ratio, auto_target, overwrite
        self.meter = Progress("sid-enhance", len(files), unit="file", enabled=False)
        self.errors = (ValueError, OSError, MemoryError, tf.errors.OpError)  # RawFileError too
        self.start = self._last_line = time.monotonic()

    def report(self, index, path, result=None, error=None):
        """Print a file's line: its result, or why it failed (kept for the summary)."""
        now = time.monotonic()
        seconds, self._last_line = now - self._last_line, now
        name = os.path.basename(path)
        eta = format_duration(self.meter.eta(index))
        if error is not None:
            reason = _reason(error)
            self.failures.append((path, reason))
            print(f"{index}/{len(self.files)} {name}: FAILED: {reason} "
                  f"({seconds:.1f} s, ETA {eta})", flush=True)
            return
        height, width = result.size
        print(f"{index}/{len(self.files)} {name}: {result.describe_ratio()}, {width}x{height}, "
              f"{seconds:.1f} s, ETA {eta}", flush=True)
        for note in result.notes:
            print(f"    note: {note}", flush=True)

    def plan(self):
        """(index, path, missing) of the files to process: not those whose outputs exist
        (unless overwriting), nor one whose outputs another file of this run writes. `missing`
        lists the outputs to write when some exist (a half pair), else None (all of them).

        Staging files a killed run left for these outputs are removed first, with a note: the
        output folder's lock makes them no other run's."""
        self._remove_stale_staging()
        claimed = {}  # output path -> the input that writes it, so no file overwrites another's
        jobs = []
        for index, path in enumerate(self.files, 1):
            targets = output_paths(path, self.output_dir, self.options)
            keys = [os.path.normcase(target) for target in targets]
            clash = next((claimed[key] for key in keys if key in claimed), None)
            existing = [target for target in targets if os.path.exists(target)]
            if clash is not None:
                self.report(index, path, error=RawFileError(
                    path, f"its output would overwrite that of {clash} (same file name): enhance "
                    "it separately or rename it"))
                continue
            claimed.update(dict.fromkeys(keys, path))
            if existing and not self.overwrite:
                if len(existing) == len(targets):
                    self.skipped.append(path)
                    verb = "exists" if len(existing) == 1 else "exist"
                    print(f"{index}/{len(self.files)} {os.path.basename(path)}: skipped: "
                          f"{', '.join(existing)} already {verb} (--overwrite replaces outputs)", flush=True)
                    continue
                missing = [target for target in targets if target not in existing]
                print(f"{index}/{len(self.files)} {os.path.basename(path)}: completing a half-written "
                      f"pair: writing {', '.join(missing)}, keeping {', '.join(existing)}", flush=True)
                jobs.append((index, path, missing))
                continue
            jobs.append((index, path, None))
        return jobs

    def _remove_stale_staging(self):
        try:
            names = [name for name in os.listdir(self.output_dir) if name.startswith(STAGING_PREFIX)]
        except OSError:
            return
        ours = {os.path.basename(target) for path in self.files
                for target in output_paths(path, self.output_dir, self.options)}
        for name in names:
            if any(is_staging_for(name, target) for target in ours):
                stale = os.path.join(self.output_dir, name)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(stale)
                    print(f"note: removed {stale}, left by an interrupted run", file=sys.stderr)

    def _decode(self, path):
        return decode_file(path, self.camera, ratio=self.ratio, auto_target=self.auto_target,
                           compare=self.options.compare)

    def _attempt(self, function, *args):
        """(function(*args), None), or (None, the error) for an error that fails one file."""
        try:
            return function(*args), None
        except WriteError:
            raise
        except self.errors as error:
            return None, error

    def _finish(self, pending):
        """Wait for a file's images to be written and print its line."""
        index, path, future = pending
        result, error = self._attempt(future.result)
        self.report(index, path, result=result, error=error)
        self.done += error is None

    def process(self, jobs, prepare_network):
        """Run `jobs` (from `plan`) through the network that `prepare_network()` returns;
        return 2 when it cannot be prepared, else None."""
        with concurrent.futures.ThreadPoolExecutor(1) as reader, \
                concurrent.futures.ThreadPoolExecutor(1) as writer:
            reading = [reader.submit(self._decode, path) for _, path, _ in jobs[:1]]
            try:
                predictor = prepare_network() if jobs else None
            except (MissingExtraError, ValueError) as error:
                print_error(str(error))
                return 2
            self.start = self._last_line = time.monotonic()  # the files' time, from a ready network
            pending = None  # (index, path, future) of the write in flight
            for position, (index, path, missing) in enumerate(jobs):
                decoded, failed = self._attempt(reading.pop(0).result)
                if position + 1 < len(jobs):
                    reading.append(reader.submit(self._decode, jobs[position + 1][1]))
                output = None
                if decoded is not None:
                    output, failed = self._attempt(run_network, predictor, decoded)
                if pending is not None:
                    self._finish(pending)
                    pending = None
                if output is None:
                    self.report(index, path, error=failed)
                    continue
                pending = (index, path, writer.submit(write_results, decoded, output,
                                                      self.output_dir, self.options, missing))
                del decoded, output
            if pending is not None:
                self._finish(pending)
        return None

    def summary(self):
        """Print the totals; return the exit status (1 when any file failed)."""
        elapsed = _format_total(time.monotonic() - self.start)
        if self.skipped:
            print(f"sid-enhance: {len(self.skipped)} file(s) skipped because their outputs exist "
                  f"(--overwrite replaces them): {', '.join(map(os.path.basename, self.skipped))}")
        if self.failures:
            print(f"sid-enhance: {self.done} of {self.done + len(self.failures)} enhanced in "
                  f"{elapsed}; {len(self.failures)} failed:", file=sys.stderr)
            for path, reason in self.failures:
                print(f"  {path}: {reason}", file=sys.stderr)
            return 1
        print(f"sid-enhance: {self.done} file(s) enhanced in {elapsed}")
        return 0
