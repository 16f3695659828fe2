"""Settings for the whole test suite.

The scripts tune their speed settings by timing candidates the first time they run on a machine
(`sid_tf2.tuning`). Tests must not depend on timings, nor spend a minute measuring in every
script they start: SID_TF2_TUNING=off makes every process of the suite use the reasoned rule of
`sid_tf2.hardware` instead (tests/test_tuning.py measures on purpose, in its own cache), and the
cache goes to a temporary directory, never the user's.

The session fixtures below are what several test files build (a tiny dataset, random networks
and their weight files): made once per session. A test that changes one copies it first. The
module fixtures `sony`, `packed` and `reference` are the backends' and exports' network, input
and Keras output (tests/test_export.py, tests/test_int8.py).
"""

import os
import tempfile

import pytest

os.environ.setdefault("SID_TF2_TUNING", "off")
os.environ.setdefault("SID_TF2_CACHE_DIR", tempfile.mkdtemp(prefix="sid_tf2_test_cache_"))


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory):
    """A tiny SID-layout Sony dataset: 4 synthetic scenes of 128x128 mosaics (2 train, 1
    validation, 1 test; packed inputs of 64x64), seed 3. Runs may add their cache to it."""
    # TensorFlow only for the tests that use the fixture
    from sid_tf2.simulate import write_synthetic_dataset  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path_factory.mktemp("synthetic_dataset"))
    write_synthetic_dataset(directory, num_scenes=4, size=(128, 128), seed=3, progress=False)
    return directory


@pytest.fixture(scope="session")
def random_networks():
    """{camera: a randomly initialised network} for "sony" and "fuji" (Keras seed 0). Tests
    read them; none trains or changes them."""
    import keras  # pylint: disable=import-outside-toplevel  (TensorFlow only for the tests that use it)

    import sid_tf2  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(0)
    return {camera: sid_tf2.build_unet(camera) for camera in ("sony", "fuji")}


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory, random_networks):
    """{camera: path of a .weights.h5} holding `random_networks`' weights."""
    folder = tmp_path_factory.mktemp("random_weights")
    paths = {}
    for camera, model in random_networks.items():
        paths[camera] = str(folder / f"{camera}.weights.h5")
        model.save_weights(paths[camera])
    return paths


@pytest.fixture(scope="module")
def sony():
    """`helpers.spanning_network("sony", 0)`."""
    from helpers import spanning_network  # pylint: disable=import-outside-toplevel  (TensorFlow only when used)

    return spanning_network("sony", 0)


@pytest.fixture(scope="module")
def packed():
    """A held-out simulated input of `helpers.EXPORT_INPUT`'s size."""
    from helpers import EXPORT_INPUT  # pylint: disable=import-outside-toplevel  (TensorFlow only when used)

    from sid_tf2.backends.calibration import check_input  # pylint: disable=import-outside-toplevel

    return check_input("sony", EXPORT_INPUT[1:3])


@pytest.fixture(scope="module")
def reference(sony, packed):
    """The Keras float32 output of `sony` on `packed`, checked to be a varied image."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    output = sony(packed, training=False).numpy()
    assert 0.05 < np.std(np.clip(output, 0, 1)), "the test weights must give a varied image"
    return output
