"""Download the published SID checkpoints from Google Drive and check that they load.

    python -m weight_converter.download --camera=sony --output_dir=checkpoint/Sony

The authors published, per camera, the checkpoint's data shard (`model.ckpt.data-00000-of-00001`,
about 84 MB) and its meta graph (`model.ckpt.meta`) on Google Drive. The two small files that go
with them were kept in the original repository instead of on Drive: the checkpoint index
(`checkpoint/<Camera>/model.ckpt.index`) and the state file (`checkpoint/<Camera>/checkpoint`).

* The state file is one fixed line pair; it is written here when absent.
* The index cannot be rebuilt: it records where every tensor lies inside the data shard and the
  shard's checksums, and the meta graph knows only names and shapes. This project does not ship
  a copy of it, so it is taken from `index_source` (a file, or a directory holding
  `model.ckpt.index` or `checkpoint/<Camera>/model.ckpt.index`), else from an index already in
  the output directory, else from `$SID_REFERENCE_DIR/checkpoint/<Camera>/model.ckpt.index`.
  Without one, nothing is downloaded and the error says where to get it.

Everything is fetched into a hidden staging directory inside the output directory, and a file
reaches its final name only once the whole checkpoint has been read back successfully with
TensorFlow (every tensor, with the shard's checksums). A failure at any point removes the staged
files and leaves files already in the output directory untouched.

The files themselves are fetched by `google_drive.download_file`, which follows Drive's
confirmation pages.

The library takes plain arguments; only the `__main__` block reads flags. TensorFlow is imported
only when a checkpoint is checked, so that the command starts quickly.
"""

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import sys
import tempfile

from absl import flags

from sid_tf2 import cli
from sid_tf2.atomic import WriteError, reporting
from weight_converter.google_drive import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    DownloadError,
    download_file,
)

PREFIX_NAME = "model.ckpt"
DATA_NAME = "model.ckpt.data-00000-of-00001"
META_NAME = "model.ckpt.meta"
INDEX_NAME = "model.ckpt.index"
STATE_NAME = "checkpoint"
STATE_CONTENT = 'model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n'
REFERENCE_DIR_ENV = "SID_REFERENCE_DIR"
ORIGINAL_REPOSITORY = "https://github.com/cchen156/Learning-to-See-in-the-Dark"

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PublishedCheckpoint:
    """Where one camera's published checkpoint lives and what it must contain."""

    directory: str  # the original's directory name under checkpoint/
    data_id: str  # Google Drive file id of model.ckpt.data-00000-of-00001
    meta_id: str  # Google Drive file id of model.ckpt.meta
    in_channels: int  # packed raw channels: 4 (Bayer) or 9 (X-Trans)
    out_channels: int  # g_conv10 filters: 3 * block_size ** 2

    def expected_shapes(self):
        """A few tensors that identify a SID checkpoint of this camera."""
        return {
            "g_conv1_1/weights": [3, 3, self.in_channels, 32],
            "g_conv10/weights": [1, 1, 32, self.out_channels],
        }


PUBLISHED = {
    "sony": PublishedCheckpoint(
        "Sony", "1wmx7AM6XWHjHIvpErmIouQgbQoMxAymG", "1OmrGMng1QuwUa8lf-_wBVvbRJwBr0ETr", 4, 12
    ),
    "fuji": PublishedCheckpoint(
        "Fuji", "1PX5wA89d-JLmwQHqpBnyTYJxDVzC1gpt", "1VzyzQ9JglcxxqUe8yn3-cAeB1pJ4jxf4", 9, 27
    ),
}


class IndexNotFoundError(DownloadError):
    """No model.ckpt.index is available for the camera."""


class CheckpointVerificationError(DownloadError):
    """The checkpoint files do not form a readable SID checkpoint for the camera."""


def get_published(camera):
    """The PublishedCheckpoint of `camera` ("sony" or "fuji", any case)."""
    try:
        return PUBLISHED[camera.lower()]
    except KeyError:
        expected = sorted(PUBLISHED)
        raise ValueError(f"unknown camera {camera!r}: expected one of {expected}") from None


# ------------------------------------------------------------------------------------------------
# The index file


def find_index(camera, output_dir, index_source=None):
    """Returns the path of the model.ckpt.index to use for `camera`.

    `index_source` (a file, or a directory holding `model.ckpt.index` or
    `checkpoint/<Camera>/model.ckpt.index`) wins when given; else an index already in
    `output_dir`; else `$SID_REFERENCE_DIR/checkpoint/<Camera>/model.ckpt.index`.
    Raises IndexNotFoundError, saying where to get the file, when there is none.
    """
    published = get_published(camera)
    relative = os.path.join("checkpoint", published.directory, INDEX_NAME)
    if index_source is not None:
        source = os.fspath(index_source)
        candidates = [source]
        if os.path.isdir(source):
            candidates = [os.path.join(source, INDEX_NAME), os.path.join(source, relative)]
        tried = candidates
    else:
        candidates = [os.path.join(os.fspath(output_dir), INDEX_NAME)]
        reference_dir = os.environ.get(REFERENCE_DIR_ENV)
        if reference_dir:
            candidates.append(os.path.join(reference_dir, relative))
        tried = candidates + ([] if reference_dir else [f"${REFERENCE_DIR_ENV}/{relative} (unset)"])
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise IndexNotFoundError(
        f"no checkpoint index for camera {published.directory}: looked for "
        + ", ".join(tried)
        + f". The index is not on Google Drive: it is the file {relative} of the original "
        f"repository ({ORIGINAL_REPOSITORY}). Put it in the output directory, or pass its path "
        f"with --index_source, or set {REFERENCE_DIR_ENV} to a directory that holds {relative}. "
        "Nothing was downloaded."
    )


# ------------------------------------------------------------------------------------------------
# Checking a checkpoint


def verify_checkpoint(prefix, camera, read_tensors=True):
    """Checks that `prefix` is a readable SID checkpoint for `camera`; returns {name: shape}.

    Opens the index, checks the identifying tensors' names, shapes and dtypes, and, when
    `read_tensors`, reads every tensor from the data shard (TensorFlow checks each tensor's
    checksum). Raises CheckpointVerificationError naming the file and the problem.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    published = get_published(camera)
    prefix = os.fspath(prefix)
    index_path = prefix + ".index"
    data_path = prefix + ".data-00000-of-00001"
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except Exception as error:  # TF raises several types for a bad index
        raise CheckpointVerificationError(
            f"{index_path}: not a readable TensorFlow checkpoint index: {_first_line(error)}"
        ) from error
    for name, expected in published.expected_shapes().items():
        if name not in shapes:
            raise CheckpointVerificationError(
                f"{index_path}: has no tensor {name!r}, so it is not a SID checkpoint "
                f"({len(shapes)} tensors, e.g. {sorted(shapes)[:3]})"
            )
        if list(shapes[name]) != expected or dtypes[name] != tf.float32:
            raise CheckpointVerificationError(
                f"{index_path}: tensor {name!r} is {dtypes[name].name} {list(shapes[name])}, "
                f"but a {published.directory} SID checkpoint has float32 {expected} "
                f"(is it the other camera's checkpoint?)"
            )
    if read_tensors:
        for name in sorted(shapes):
            try:
                value = reader.get_tensor(name)
            except Exception as error:  # OpError on a checksum mismatch, IndexError when short
                # TF prefixes "TensorBundle at <prefix> shard 0 (<n> bytes): "; the path is ours.
                detail = re.sub(r"^TensorBundle at .* shard \d+ \(", "(", _first_line(error))
                raise CheckpointVerificationError(
                    f"{data_path}: tensor {name!r} cannot be read: {detail}; the "
                    f"data file does not match the index {index_path}"
                ) from error
            if list(getattr(value, "shape", ())) != list(shapes[name]):
                raise CheckpointVerificationError(
                    f"{data_path}: tensor {name!r} reads back with shape {list(value.shape)}, "
                    f"the index says {list(shapes[name])}"
                )
    return {name: list(shape) for name, shape in shapes.items()}


def verify_meta_graph(path, camera):
    """Checks that `path` is a MetaGraphDef of the SID graph for `camera`."""
    from tensorflow.core.protobuf import meta_graph_pb2  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    published = get_published(camera)
    path = os.fspath(path)
    meta = meta_graph_pb2.MetaGraphDef()
    try:
        with open(path, "rb") as f:
            meta.ParseFromString(f.read())
    except Exception as error:  # protobuf's DecodeError, OSError
        raise CheckpointVerificationError(
            f"{path}: not a TensorFlow meta graph: {_first_line(error)}"
        ) from error
    nodes = {node.name: node for node in meta.graph_def.node}
    for name, expected in published.expected_shapes().items():
        node = nodes.get(name)
        if node is None:
            raise CheckpointVerificationError(
                f"{path}: the graph has no node {name!r}, so it is not the SID graph"
            )
        if "shape" in node.attr:
            shape = [dim.size for dim in node.attr["shape"].shape.dim]
            if shape != expected:
                raise CheckpointVerificationError(
                    f"{path}: variable {name!r} has shape {shape}, but the {published.directory} "
                    f"SID graph has {expected} (is it the other camera's meta graph?)"
                )


def _first_line(error):
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


# ------------------------------------------------------------------------------------------------
# A whole published checkpoint


def download_published_checkpoint(
    camera,
    output_dir,
    *,
    base_url=DEFAULT_BASE_URL,
    force=False,
    progress=True,
    index_source=None,
    timeout=DEFAULT_TIMEOUT,
):
    """Downloads and checks `camera`'s published checkpoint; returns its prefix in `output_dir`.

    After success `output_dir` holds model.ckpt.{index,data-00000-of-00001,meta} and the
    `checkpoint` state file. Data and meta files already there are kept (and checked) unless
    `force`. See the module docstring for where the index comes from. On any error nothing in
    `output_dir` has changed, and DownloadError (or a subclass) says what went wrong.
    """
    published = get_published(camera)
    output_dir = os.fspath(output_dir)
    index_path = find_index(camera, output_dir, index_source)
    final = {name: os.path.join(output_dir, name) for name in (INDEX_NAME, DATA_NAME, META_NAME)}
    with reporting(output_dir):
        os.makedirs(output_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".download-", dir=output_dir)
    try:
        staged_prefix = os.path.join(staging, PREFIX_NAME)
        shutil.copyfile(index_path, os.path.join(staging, INDEX_NAME))
        # Error messages name the files the user knows, not the staging directory.
        origins = {os.path.join(staging, INDEX_NAME): index_path,
                   staged_prefix: os.path.join(output_dir, PREFIX_NAME) + " (staged)"}
        # The index alone tells whether this is the right camera: check it before downloading.
        with _user_paths(origins):
            verify_checkpoint(staged_prefix, camera, read_tensors=False)

        downloaded = []
        for name, file_id in ((DATA_NAME, published.data_id), (META_NAME, published.meta_id)):
            staged = os.path.join(staging, name)
            if os.path.exists(final[name]) and not force:
                _log.info("Keeping existing %s (pass force / --force to download again)",
                          final[name])
                _link_or_copy(final[name], staged)
                origins[staged] = f"{final[name]} (existing file; --force downloads it again)"
                continue
            _log.info("Downloading %s (Google Drive id %s)", final[name], file_id)
            download_file(file_id, staged, base_url=base_url, force=True, progress=progress,
                          timeout=timeout)
            downloaded.append(name)
            origins[staged] = f"{name} downloaded from Google Drive id {file_id} (not kept)"

        with _user_paths(origins):
            shapes = verify_checkpoint(staged_prefix, camera)
            verify_meta_graph(os.path.join(staging, META_NAME), camera)

        # Everything checked: move into place. Each rename is atomic on one filesystem.
        for name in downloaded:
            os.replace(os.path.join(staging, name), final[name])
        index_in_place = os.path.exists(final[INDEX_NAME]) and os.path.samefile(
            index_path, final[INDEX_NAME])
        if not index_in_place:
            os.replace(os.path.join(staging, INDEX_NAME), final[INDEX_NAME])
        state_path = os.path.join(output_dir, STATE_NAME)
        if not os.path.exists(state_path):
            staged_state = os.path.join(staging, STATE_NAME)
            with open(staged_state, "w", encoding="utf-8") as f:
                f.write(STATE_CONTENT)
            os.replace(staged_state, state_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    prefix = os.path.join(output_dir, PREFIX_NAME)
    _log.info("%s: a readable %s checkpoint with %d tensors", prefix, published.directory,
              len(shapes))
    return prefix


@contextlib.contextmanager
def _user_paths(origins):
    """Rewrites staged paths in a CheckpointVerificationError into what they stand for."""
    try:
        yield
    except CheckpointVerificationError as error:
        message = str(error)
        for staged in sorted(origins, key=len, reverse=True):
            message = message.replace(staged, origins[staged])
        raise CheckpointVerificationError(message) from error


def _link_or_copy(source, destination):
    """Makes `destination` show `source`'s bytes without copying 84 MB when possible."""
    try:
        os.link(source, destination)
    except OSError:
        try:
            os.symlink(os.path.abspath(source), destination)
        except OSError:
            shutil.copyfile(source, destination)


# ------------------------------------------------------------------------------------------------
# Command line


def _define_flags():
    flags.DEFINE_enum("camera", None, sorted(PUBLISHED), "Which published checkpoint to fetch.")
    flags.DEFINE_string("output_dir", None,
                        "Directory for the checkpoint files (default: checkpoint/Sony or "
                        "checkpoint/Fuji, as in the original repository).")
    flags.DEFINE_string("index_source", None,
                        "model.ckpt.index to use, or a directory holding model.ckpt.index or "
                        "checkpoint/<Camera>/model.ckpt.index (default: the one already in "
                        f"--output_dir, else ${REFERENCE_DIR_ENV}/checkpoint/<Camera>/).")
    flags.DEFINE_string("base_url", DEFAULT_BASE_URL,
                        "Google Drive download URL; the file id is appended as &id=<ID>.")
    flags.DEFINE_bool("force", False, "Download data and meta files again even if present.")
    flags.DEFINE_bool("progress", True, "Show download progress on stderr.")
    flags.DEFINE_float("timeout", DEFAULT_TIMEOUT, "Network timeout in seconds.")
    flags.mark_flag_as_required("camera")
    cli.define_verbose_flag()
    return flags.FLAGS


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments: {' '.join(argv[1:])}", file=sys.stderr)
        return 2
    flag_values = flags.FLAGS
    cli.load_tensorflow(verbose=flag_values.verbose)  # the checkpoint check reads it
    output_dir = flag_values.output_dir or os.path.join(
        "checkpoint", get_published(flag_values.camera).directory)
    try:
        prefix = download_published_checkpoint(
            flag_values.camera,
            output_dir,
            base_url=flag_values.base_url,
            force=flag_values.force,
            progress=flag_values.progress,
            index_source=flag_values.index_source,
            timeout=flag_values.timeout,
        )
    except (DownloadError, WriteError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: partial files were removed", file=sys.stderr)
        return 130
    print(f"Checkpoint ready: {prefix}")
    return 0


if __name__ == "__main__":
    _define_flags()
    cli.run(main)
