"""Shared pytest fixtures of the parity tests: the reference files and the tf_slim reference.

The skipping rules are in environment.py: reference files come from SID_REFERENCE_DIR, the TF1
rebuild needs tf_slim; the fixture-based forward test needs neither.
"""

import pytest

from parity_tests.environment import published_file, reference_dir, require_tf_slim


@pytest.fixture(name="reference_dir")
def reference_dir_fixture():
    return reference_dir()


@pytest.fixture(name="sony_meta")
def sony_meta_fixture():
    """Path of the published Sony meta graph (the only meta graph in the reference files)."""
    return published_file("sony", ".meta")


@pytest.fixture(name="tf1_reference", scope="session")
def tf1_reference_fixture():
    return require_tf_slim()


@pytest.fixture(name="reference_networks", scope="session")
def reference_networks_fixture(tf1_reference):
    """A cache of ReferenceNetwork(camera, train_deconv) shared by the whole session.

    Building one costs about a second and 100 MB; tests that change its variables must load()
    their own values first, which every test here does.
    """
    cache = {}

    def get(camera, train_deconv=False):
        key = (camera, train_deconv)
        if key not in cache:
            cache[key] = tf1_reference.ReferenceNetwork(camera, train_deconv=train_deconv)
        return cache[key]

    yield get
    for network in cache.values():
        network.close()
