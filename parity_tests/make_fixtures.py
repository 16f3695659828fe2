"""Regenerate the golden forward fixtures: TF1 reference outputs on random weights and inputs.

    cd <repo> && python -m parity_tests.make_fixtures  # needs tf_slim

The fixtures let the forward-parity test run where tf_slim is not installed: they hold, per camera,
a few small inputs, the seed of the random weights (`random_weights.random_checkpoint_values`)
and the outputs of the TF1 reference network (`tf1_reference.ReferenceNetwork`) for them.

Size budget (DESIGN: well under 1 MB in total): outputs are float32, because the parity
tolerance is 1e-5 and float16 would spend it, so the shapes are smaller than the live tests'
(Fuji's output is 9x its input area times 3 channels). One odd shape (37x53) keeps the cropped
transposed convolutions of odd sizes covered, one batch of 2 the batch axis. Inputs are stored as
8-bit codes k and used as k / 255 in float32, which is exact, uniform in [0, 1], and a quarter of
the size. A fingerprint of the weights detects a change of numpy's random stream, which would
otherwise look like a parity failure.
"""

import os

import numpy as np

from parity_tests.random_weights import random_checkpoint_values, random_model_values
from sid_tf2.model import get_camera
from sid_tf2.tf1_names import weight_table

FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
CAMERAS = ("sony", "fuji")
SHAPES = ((1, 32, 32), (1, 37, 53), (2, 16, 24))  # (batch, height, width) of the packed input
WEIGHT_SEEDS = {"sony": 20180, "fuji": 20181}
INPUT_SEEDS = {"sony": 1, "fuji": 2}


def fixture_path(camera, directory=FIXTURE_DIR):
    return os.path.join(directory, f"forward_{get_camera(camera).name}.npz")


def inputs_from_codes(codes):
    """8-bit codes -> float32 inputs in [0, 1], exactly as the fixtures were computed."""
    return np.asarray(codes, np.uint8).astype(np.float32) / np.float32(255)


def random_input_codes(camera, seed, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    channels = get_camera(camera).in_channels
    return [rng.integers(0, 256, size=shape + (channels,), dtype=np.uint8) for shape in shapes]


def weights_fingerprint(camera, seed):
    """Sum of |w| per model variable (float64, creation order): cheap to store and compare."""
    values = random_model_values(camera, seed)
    sums = [np.abs(values[entry.tf1_name]).sum(dtype=np.float64) for entry in weight_table(camera)]
    return np.array(sums)


def check_fingerprint(camera, fixture):
    """Fail clearly if the seed no longer gives the weights the fixture was computed with."""
    np.testing.assert_allclose(
        weights_fingerprint(camera, fixture["weight_seed"]),
        fixture["fingerprint"],
        rtol=1e-9,
        err_msg="numpy's random stream changed: rerun python -m parity_tests.make_fixtures",
    )


def load_fixture(camera, directory=FIXTURE_DIR):
    """{"weight_seed", "fingerprint", "inputs": [float32], "outputs": [float32]} of a camera."""
    with np.load(fixture_path(camera, directory)) as data:
        count = int(data["count"])
        return {
            "weight_seed": int(data["weight_seed"]),
            "fingerprint": data["fingerprint"],
            "inputs": [inputs_from_codes(data[f"input_{i}"]) for i in range(count)],
            "outputs": [data[f"output_{i}"] for i in range(count)],
        }


def make_fixture(camera, directory=FIXTURE_DIR):
    """Run the TF1 reference and write one camera's fixture; return its path."""
    from parity_tests.tf1_reference import ReferenceNetwork  # needs tf_slim

    weight_seed = WEIGHT_SEEDS[camera]
    codes = random_input_codes(camera, INPUT_SEEDS[camera])
    with ReferenceNetwork(camera) as reference:
        reference.load(random_checkpoint_values(camera, weight_seed))
        outputs = [reference.forward(inputs_from_codes(c)).astype(np.float32) for c in codes]
    arrays = {"count": np.array(len(codes)), "weight_seed": np.array(weight_seed)}
    arrays["fingerprint"] = weights_fingerprint(camera, weight_seed)
    for index, (code, output) in enumerate(zip(codes, outputs)):
        arrays[f"input_{index}"] = code
        arrays[f"output_{index}"] = output
    os.makedirs(directory, exist_ok=True)
    path = fixture_path(camera, directory)
    temporary = path[: -len(".npz")] + ".tmp.npz"
    np.savez_compressed(temporary, **arrays)
    os.replace(temporary, path)
    return path


def main(argv):
    from absl import flags

    del argv
    for camera in flags.FLAGS.cameras:
        path = make_fixture(camera, flags.FLAGS.output_dir)
        print(f"{path}: {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    # Flags are defined only when run as a script: the tests import this module for
    # load_fixture() and must not register flags as a side effect.
    from absl import app, flags

    flags.DEFINE_string("output_dir", FIXTURE_DIR, "Where to write forward_<camera>.npz.")
    flags.DEFINE_multi_enum("cameras", list(CAMERAS), CAMERAS, "Cameras to regenerate.")
    app.run(main)
