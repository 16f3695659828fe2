"""Where the parity tests find what lives outside the repository, and skipping without it.

Files outside the repository (the published index files and meta graph, ../shared/sid-reference)
come from the environment variable SID_REFERENCE_DIR; tests that need them skip, saying why, when
it is unset or wrong. Tests that rebuild the TF1 network need tf_slim (the `parity` extra) and
skip without it.
"""

import os
import pathlib

import pytest

REFERENCE_ENV = "SID_REFERENCE_DIR"
PUBLISHED = {"sony": "Sony", "fuji": "Fuji"}  # camera -> directory under checkpoint/


def reference_dir():
    """The sid-reference directory from SID_REFERENCE_DIR; skips the calling test without it."""
    value = os.environ.get(REFERENCE_ENV)
    if not value:
        pytest.skip(f"{REFERENCE_ENV} is not set: it names the sid-reference directory "
                    "(e.g. ../shared/sid-reference) holding the published index and meta files.")
    path = pathlib.Path(value)
    if not (path / "checkpoint").is_dir():
        pytest.skip(f"{REFERENCE_ENV}={value}: no checkpoint/ directory there.")
    return path


def published_file(camera, suffix):
    """checkpoint/<Camera>/model.ckpt<suffix> under the reference dir, or skip if absent."""
    path = reference_dir() / "checkpoint" / PUBLISHED[camera] / f"model.ckpt{suffix}"
    if not path.exists():
        pytest.skip(f"{path} does not exist.")
    return path


def published_prefix(camera):
    """The published checkpoint prefix of a camera (its .index must exist), or skip.

    Give TF the prefix, not the .index path: tf.train.list_variables("model.ckpt.index")
    returns an empty list instead of failing.
    """
    index = published_file(camera, ".index")
    return index.with_name("model.ckpt")


def require_tf_slim():
    """The tf1_reference module; skips when tf_slim (the `parity` extra) is not installed."""
    pytest.importorskip(
        "tf_slim",
        reason="tf_slim is not installed (pip install -e .[parity]); the TF1 reference needs it",
    )
    from parity_tests import tf1_reference

    return tf1_reference
