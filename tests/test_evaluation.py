"""Evaluation: metrics that match scikit-image, tiled inference, and test_sony.py end to end."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_command
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import sid_tf2
from sid_tf2 import data
from sid_tf2.inference import make_predictor
from sid_tf2.metrics import QUANTISE_CHUNK, psnr, quantise, ssim, to_uint8
from sid_tf2.simulate import write_synthetic_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_SONY = os.path.join(REPO, "test_sony.py")


def _pair(seed, shape=(61, 83, 3), noise=25):
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(rng.normal(size=shape), axis=0), axis=1)
    a = to_uint8((smooth - smooth.min()) / np.ptp(smooth))
    b = np.clip(a.astype(int) + rng.integers(-noise, noise + 1, size=shape), 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize("seed, noise", [(0, 3), (1, 25), (2, 90)])
def test_metrics_match_scikit_image(seed, noise):
    a, b = _pair(seed, noise=noise)
    assert abs(psnr(a, b) - peak_signal_noise_ratio(a, b, data_range=255)) < 1e-3
    expected = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     channel_axis=-1, data_range=255)
    assert abs(ssim(a, b) - expected) < 1e-3


def test_float_images_cannot_be_scored_with_the_wrong_range():
    a, b = _pair(3)
    with pytest.raises(TypeError, match="to_uint8"):
        psnr(a / 255.0, b / 255.0)  # the 65 dB mistake
    with pytest.raises(TypeError, match="to_uint8"):
        ssim(a.astype(np.float32), b.astype(np.float32))


def _scipy_bytescale(data, cmin=None, cmax=None, high=255, low=0):
    """scipy.misc.bytescale (SciPy <= 1.1), transcribed from its documented algorithm for this
    test: scale [cmin, cmax] to [low, high] in the data's own dtype, clip, add 0.5, truncate."""
    if data.dtype == np.uint8:
        return data
    cmin = data.min() if cmin is None else cmin
    cmax = data.max() if cmax is None else cmax
    cscale = cmax - cmin
    if cscale == 0:
        cscale = 1
    scale = float(high - low) / cscale
    bytedata = (data - cmin) * scale + low
    return (bytedata.clip(low, high) + 0.5).astype(np.uint8)


def _original_png_bytes(output):
    """What the original wrote: `scipy.misc.toimage(output * 255, high=255, low=0, cmin=0,
    cmax=255)` of its float32 output clipped to [0, 1]."""
    clipped = np.minimum(np.maximum(output, 0), 1)
    return _scipy_bytescale(clipped * 255, cmin=0, cmax=255, high=255, low=0)


def test_to_uint8_equals_the_original_bytescale_in_float32():
    values = np.random.default_rng(5).uniform(0.0, 1.0, 2_000_000).astype(np.float32)
    expected = _original_png_bytes(values)
    assert expected.dtype == np.uint8
    np.testing.assert_array_equal(to_uint8(values), expected)
    # Rounding the same values in float64 differs by one level here and there: the float32
    # arithmetic is what makes the bytes equal.
    in_float64 = np.floor(values.astype(np.float64) * 255 + 0.5).astype(np.uint8)
    assert np.count_nonzero(in_float64 != expected) > 0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_quantise_in_chunks_equals_the_whole_array_formula(dtype):
    image = np.random.default_rng(4).uniform(-0.2, 1.2, (700, 1100, 3)).astype(np.float32)
    assert image.size > 2 * QUANTISE_CHUNK
    maximum = np.float32(np.iinfo(dtype).max)
    expected = (np.clip(image, 0, 1) * maximum + np.float32(0.5)).astype(dtype)
    np.testing.assert_array_equal(quantise(image, dtype), expected)
    np.testing.assert_array_equal(quantise(image[:, ::-1], dtype), expected[:, ::-1])  # a view


@pytest.mark.parametrize("tile_size, tile_overlap", [(256, 128), (128, 64)])
def test_tiled_inference_matches_whole_images(tile_size, tile_overlap):
    keras.utils.set_random_seed(1)
    model = sid_tf2.build_unet("sony")
    packed = np.random.default_rng(0).random((1, 333, 421, 4), dtype=np.float32) * 0.3
    whole = make_predictor(model)(packed)
    tiled = make_predictor(model, tile_size=tile_size, tile_overlap=tile_overlap)(packed)
    assert tiled.shape == whole.shape == (1, 666, 842, 3)
    assert np.abs(tiled - whole).max() < 1e-3 * np.abs(whole).max() < 1 / 255


def test_tile_settings_are_checked():
    model = sid_tf2.build_unet("sony")
    with pytest.raises(ValueError, match="multiple of 16"):
        make_predictor(model, tile_size=100)
    with pytest.raises(ValueError, match="at most half tile_size"):
        make_predictor(model, tile_size=128, tile_overlap=128)


def test_mixed_precision_predictor_keeps_the_given_weights():
    model = sid_tf2.build_unet("sony")
    packed = np.random.default_rng(0).random((1, 32, 48, 4), dtype=np.float32)
    reference = make_predictor(model)(packed)
    bf16 = make_predictor(model, precision="mixed_bfloat16")(packed)
    assert bf16.dtype == np.float32
    assert np.abs(bf16 - reference).max() < 0.05 * np.abs(reference).max()


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, random_weights):
    """test_sony.py run (in this process) on a 5-scene synthetic dataset (2 test scenes) with random weights."""
    root = tmp_path_factory.mktemp("evaluation")
    data_dir = str(root / "data")
    write_synthetic_dataset(data_dir, num_scenes=5, size=(96, 128), seed=4, progress=False)
    weights = random_weights["sony"]
    result_dir = root / "result"
    result = run_command(TEST_SONY, f"--data_dir={data_dir}", f"--checkpoint={weights}",
                         f"--result_dir={result_dir}")
    assert result.returncode == 0, result.stderr
    return data_dir, weights, result_dir, result


def _rows(result_dir):
    with open(result_dir / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


def test_the_original_files_are_written(evaluated):
    _, _, result_dir, _ = evaluated
    data_dir = evaluated[0]
    rows = _rows(result_dir)
    test_scenes = data.discover_scenes(data_dir, split="test")
    assert len(rows) == 3 * len(test_scenes) > 0  # three burst-00 exposures per test scene
    assert len(os.listdir(result_dir / "final")) == 3 * len(rows)
    for row in rows:
        stem = f"{int(row['scene_id']):5d}_00_{int(float(row['ratio']))}"
        for kind in ("out", "gt", "scale"):
            image = tf.io.decode_png(open(result_dir / "final" / f"{stem}_{kind}.png", "rb").read())
            assert image.dtype == tf.uint8 and tuple(image.shape) == (96, 128, 3)


def test_metrics_json_agrees_with_metrics_csv(evaluated):
    _, _, result_dir, _ = evaluated
    rows = _rows(result_dir)
    summary = json.loads((result_dir / "metrics.json").read_text())
    assert summary["images"] == len(rows) and summary["protocol"] == "original"
    assert np.isclose(summary["psnr"], np.mean([float(r["psnr"]) for r in rows]))
    assert np.isclose(summary["ssim"], np.mean([float(r["ssim"]) for r in rows]))
    for ratio, group in summary["per_ratio"].items():
        chosen = [float(r["psnr"]) for r in rows if float(r["ratio"]) == float(ratio)]
        assert group["images"] == len(chosen) and np.isclose(group["psnr"], np.mean(chosen))
    assert {"tensorflow", "keras", "rawpy", "sid_tf2"} <= set(summary["versions"])


def test_metrics_json_says_what_computed_them(evaluated):
    _, _, result_dir, result = evaluated
    summary = json.loads((result_dir / "metrics.json").read_text())
    # The default evaluation is the original graph's computation on every machine.
    assert (summary["precision"], summary["jit_compile"], summary["tensor_float_32"]) == ("float32", False, False)
    assert isinstance(summary["onednn"], bool) and summary["device"].startswith(("CPU: ", "GPU"))
    assert "speed settings: float32 (" in result.stdout  # the original's computation


def test_the_metrics_do_not_depend_on_onednn(evaluated, tmp_path):
    """The same evaluation with oneDNN switched the other way (as on another kind of CPU):
    the float32 outputs differ only in their last bits, so the 8-bit images and the metrics
    agree."""
    data_dir, weights, result_dir, _ = evaluated
    first = json.loads((result_dir / "metrics.json").read_text())
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0" if first["onednn"] else "1")
    result = subprocess.run(  # a new process: oneDNN is chosen when TensorFlow starts
        [sys.executable, TEST_SONY, f"--data_dir={data_dir}", f"--checkpoint={weights}", f"--result_dir={tmp_path}"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr
    second = json.loads((tmp_path / "metrics.json").read_text())
    assert second["onednn"] != first["onednn"]
    for a, b in zip(_rows(result_dir), _rows(tmp_path)):
        assert abs(float(a["psnr"]) - float(b["psnr"])) < 1e-2
        assert abs(float(a["ssim"]) - float(b["ssim"])) < 1e-4
        stem = f"{int(a['scene_id']):5d}_00_{int(float(a['ratio']))}_out.png"
        one, other = (tf.io.decode_png(open(d / "final" / stem, "rb").read()).numpy()
                      for d in (result_dir, tmp_path))
        assert np.abs(one.astype(int) - other).max() <= 1
        assert np.count_nonzero(one != other) <= 1e-3 * one.size


def test_the_scale_image_is_the_originals(evaluated):
    """`_scale.png`: the short exposure rendered by LibRaw like the ground truth, not amplified,
    times mean(gt) / mean(itself), written through bytescale: computed here from the raw files
    with rawpy directly, in the original's order of operations."""
    import rawpy

    _, _, result_dir, _ = evaluated
    for row in _rows(result_dir)[:2]:
        rendered = {}
        for kind in ("input", "gt"):
            with rawpy.imread(row[f"{kind}_path"]) as raw:
                image = raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True,
                                        output_bps=16)
            rendered[kind] = np.float32(image / 65535.0)
        scale_full = rendered["input"] * np.mean(rendered["gt"]) / np.mean(rendered["input"])
        stem = result_dir / "final" / f"{int(row['scene_id']):5d}_00_{int(float(row['ratio']))}"
        written = tf.io.decode_png(open(f"{stem}_scale.png", "rb").read()).numpy()
        expected = _scipy_bytescale(scale_full * 255, cmin=0, cmax=255, high=255, low=0)
        np.testing.assert_array_equal(written, expected)
        assert written.mean() > 0


def test_reported_psnr_is_what_scikit_image_measures_on_the_saved_pngs(evaluated):
    _, _, result_dir, _ = evaluated
    for row in _rows(result_dir):
        stem = result_dir / "final" / f"{int(row['scene_id']):5d}_00_{int(float(row['ratio']))}"
        out = tf.io.decode_png(open(f"{stem}_out.png", "rb").read()).numpy()
        gt = tf.io.decode_png(open(f"{stem}_gt.png", "rb").read()).numpy()
        assert abs(peak_signal_noise_ratio(gt, out, data_range=255) - float(row["psnr"])) < 1e-3
        expected = structural_similarity(gt, out, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False, channel_axis=-1, data_range=255)
        assert abs(expected - float(row["ssim"])) < 1e-3


def test_protocol_all_reads_the_list_file(evaluated, tmp_path):
    data_dir, weights, _, _ = evaluated
    result = run_command(TEST_SONY, f"--data_dir={data_dir}", f"--checkpoint={weights}",
                         f"--result_dir={tmp_path}", "--protocol=all", f"--list_file={data_dir}/test_list.txt",
                         "--tile_size=32", "--tile_overlap=16")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "metrics.json").read_text())
    listed = len(data.discover_pairs(list_file=f"{data_dir}/test_list.txt", split="test"))
    assert summary["protocol"] == "all" and summary["images"] == listed and summary["tile_size"] == 32


def test_a_fuji_checkpoint_for_sony_data_is_refused(evaluated, tmp_path, random_weights):
    data_dir, _, _, _ = evaluated
    fuji = random_weights["fuji"]
    result = run_command(TEST_SONY, f"--data_dir={data_dir}", f"--checkpoint={fuji}",
                         f"--result_dir={tmp_path / 'out'}")
    assert result.returncode == 1
    assert "fuji.weights.h5" in result.stderr and "Fuji" in result.stderr
    assert not (tmp_path / "out").exists()
