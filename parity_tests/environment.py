"""Where the parity tests find what lives outside the repository, and skipping without it.

Files outside the repository (the published index files and meta graph, the dataset's list
files: ../shared/sid-reference) come from the environment variable SID_REFERENCE_DIR; tests that
need them skip, saying why, when it is unset or wrong. Tests that rebuild the TF1 network need
tf_slim (the `parity` extra) and skip without it.

CI must not pass on skips: with SID_REQUIRE_REFERENCE=1 (set by .ci/run) each of those skips is a
failure instead, with the same reason.
"""

import os
import pathlib

import pytest

REFERENCE_ENV = "SID_REFERENCE_DIR"
REQUIRE_ENV = "SID_REQUIRE_REFERENCE"
PUBLISHED = {"sony": "Sony", "fuji": "Fuji"}  # camera -> directory under checkpoint/


def unavailable(reason):
    """Skip the calling test for `reason`, or fail it where the reference is required."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1: the reference checks must run)", pytrace=False)
    pytest.skip(reason)


def reference_dir():
    """The sid-reference directory from SID_REFERENCE_DIR; skips the calling test without it."""
    value = os.environ.get(REFERENCE_ENV)
    if not value:
        unavailable(f"{REFERENCE_ENV} is not set: it names the sid-reference directory "
                    "(e.g. ../shared/sid-reference) holding the published index and meta files "
                    "and the dataset's list files.")
    path = pathlib.Path(value)
    if not (path / "checkpoint").is_dir():
        unavailable(f"{REFERENCE_ENV}={value}: no checkpoint/ directory there.")
    return path


def reference_file(*parts):
    """A file under the reference dir, or skip (fail where required) if it is absent."""
    path = reference_dir().joinpath(*parts)
    if not path.exists():
        unavailable(f"{path} does not exist.")
    return path


def published_file(camera, suffix):
    """checkpoint/<Camera>/model.ckpt<suffix> under the reference dir, or skip if absent."""
    return reference_file("checkpoint", PUBLISHED[camera], f"model.ckpt{suffix}")


def published_prefix(camera):
    """The published checkpoint prefix of a camera (its .index must exist), or skip.

    Give TF the prefix, not the .index path: tf.train.list_variables("model.ckpt.index")
    returns an empty list instead of failing.
    """
    index = published_file(camera, ".index")
    return index.with_name("model.ckpt")


def require_tf_slim():
    """The tf1_reference module; skips when tf_slim (the `parity` extra) is not installed."""
    try:
        import tf_slim  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
        unavailable("tf_slim is not installed (pip install -e .[parity]); the TF1 reference needs it")
    from parity_tests import tf1_reference

    return tf1_reference
