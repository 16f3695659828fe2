"""Tests of the low-light simulator: the noise model's statistics, the parameter sampler,
unprocessing (rendered back by rawpy), and the synthetic SID-layout dataset of real DNG files."""

import dataclasses
import json
import math
import pathlib
import re

import numpy as np
import pytest
import rawpy
import skimage.io

from sid_tf2 import dng, simulate
from sid_tf2.simulate import (
    NoiseParams,
    assign_photos,
    format_exposure,
    get_profile,
    original_exposure_from_name,
    raw_noise_dn,
    sample_noise_params,
    simulate_short_exposure,
    split_counts,
    tukey_lambda,
    unprocess,
    write_synthetic_dataset,
)
from sid_tf2.simulation import noise as noise_lib

BLACK, WHITE = 512, 16383
SID_NAME = re.compile(r"^(\d{5})_(\d{2})_([0-9.]+)s\.dng$")


def flat(level_dn, shape=(256, 256)):
    """A flat long exposure `level_dn` above black, as stored (uint16, black included)."""
    return np.full(shape, BLACK + level_dn, dtype=np.uint16)


# ------------------------------------------------------------------------------------------
# The noise model.


@pytest.mark.parametrize("model", ["physics", "poisson_gaussian"])
@pytest.mark.parametrize("ratio", [100.0, 250.0, 300.0])
def test_short_mean_times_ratio_matches_long(model, ratio):
    rng = np.random.default_rng(int(ratio))
    long = flat(5000)
    for _ in range(4):  # several sampled cameras, from low to high gain
        params = sample_noise_params(rng, model)
        short = simulate_short_exposure(long, ratio, params, rng).astype(np.float64)
        bias = np.mean(params.bias)
        estimate = (short.mean() - BLACK - bias) * ratio
        standard_error = ratio * (short.std() / math.sqrt(short.size)
                                  + params.row_sigma / math.sqrt(short.shape[0]))
        assert abs(estimate - 5000) < 5 * standard_error + 1.0, (params, estimate)


def test_short_mean_follows_a_smooth_long_exposure():
    rng = np.random.default_rng(1)
    rows = np.linspace(200, 12000, 128)[:, None]
    long = (BLACK + rows + np.zeros((128, 512))).astype(np.uint16)
    params = dataclasses.replace(sample_noise_params(rng, "physics"), bias=(0.0,) * 4)
    shorts = np.stack([simulate_short_exposure(long, 100, params, rng) for _ in range(8)])
    band_means = (shorts.astype(np.float64).mean(axis=(0, 2)) - BLACK) * 100
    truth = long.astype(np.float64).mean(axis=1) - BLACK
    # Row noise shifts whole rows: compare 16-row bands.
    error = band_means.reshape(8, 16).mean(1) - truth.reshape(8, 16).mean(1)
    assert np.all(np.abs(error) < 0.05 * truth.reshape(8, 16).mean(1) + 60), error


@pytest.mark.parametrize("gain", [0.5, 2.0])
def test_shot_noise_variance_grows_with_slope_k(gain):
    rng = np.random.default_rng(2)
    params = NoiseParams(system_gain=gain, read_noise="gaussian", read_sigma=1.5)
    levels = [4, 10, 25, 60, 120, 250]
    means, variances = [], []
    for level in levels:
        short = simulate_short_exposure(flat(level), 1.0, params, rng).astype(np.float64)
        means.append(short.mean() - BLACK)
        variances.append(short.var())
    slope, intercept = np.polyfit(means, variances, 1)
    assert slope == pytest.approx(gain, rel=0.04)
    # Read noise plus rounding to whole DN (about 1/12 for a continuous value).
    assert intercept == pytest.approx(1.5**2 + 1 / 12, abs=0.25 + 0.5 * gain)
    assert np.allclose(means, levels, atol=0.1)


def test_shot_noise_is_poisson_in_electrons():
    rng = np.random.default_rng(3)
    params = NoiseParams(system_gain=4.0, read_sigma=0.0)
    noisy = raw_noise_dn(np.full((128, 128), 20.0), params, rng, quantize=False)
    electrons = noisy / 4.0
    assert np.allclose(electrons, np.round(electrons))  # whole electrons, times K
    assert electrons.mean() == pytest.approx(5.0, rel=0.03)
    assert electrons.var() == pytest.approx(5.0, rel=0.06)


def test_row_noise_shows_in_row_means():
    rng = np.random.default_rng(4)
    base = NoiseParams(system_gain=1.0, read_noise="gaussian", read_sigma=3.0)
    with_rows = dataclasses.replace(base, row_sigma=2.0)
    long = flat(2000, (512, 512))
    row_var = {}
    col_var = {}
    for name, params in (("without", base), ("with", with_rows)):
        short = simulate_short_exposure(long, 100, params, rng).astype(np.float64)
        row_var[name] = short.mean(axis=1).var()
        col_var[name] = short.mean(axis=0).var()
    pixel_var = 1.0 * 20 + 9.0 + 1 / 12
    assert row_var["without"] == pytest.approx(pixel_var / 512, rel=0.3)
    assert row_var["with"] - row_var["without"] == pytest.approx(4.0, rel=0.2)
    # Columns average over the row offsets: only sigma_row^2 / H remains.
    assert col_var["with"] < 0.2


def test_quantisation_and_black_level_bias():
    rng = np.random.default_rng(5)
    bias = (1.0, -0.5, 0.25, 2.0)
    exact = NoiseParams(system_gain=0.0, read_sigma=0.0, bias=bias)
    long = (BLACK + 100 * np.arange(64 * 64).reshape(64, 64) % 9000).astype(np.uint16)
    short = simulate_short_exposure(long, 1.0, exact, rng)
    assert short.dtype == np.uint16
    expected = np.rint(long + np.tile(np.reshape(bias, (2, 2)), (32, 32)))
    np.testing.assert_array_equal(short, expected)

    # The float path adds U(-0.5, 0.5) DN when asked.
    signal = np.full((256, 256), 37.3)
    quantised = raw_noise_dn(signal, NoiseParams(system_gain=0.0), rng, quantize=True) - 37.3
    assert quantised.min() >= -0.5 - 1e-4 and quantised.max() <= 0.5 + 1e-4
    assert quantised.mean() == pytest.approx(0.0, abs=0.01)
    assert quantised.var() == pytest.approx(1 / 12, rel=0.05)
    assert np.all(raw_noise_dn(signal, NoiseParams(system_gain=0.0), rng, quantize=False) ==
                  np.float32(37.3))

    # A black frame measures the per-channel bias (rounding is unbiased on noisy data).
    noisy = NoiseParams(system_gain=1.0, read_noise="gaussian", read_sigma=2.0, bias=bias)
    dark = simulate_short_exposure(flat(0, (512, 512)), 100, noisy, rng).astype(np.float64)
    measured = [dark[dy::2, dx::2].mean() - BLACK for dy in (0, 1) for dx in (0, 1)]
    np.testing.assert_allclose(measured, bias, atol=0.05)


def test_clipping_to_the_sensor_range():
    rng = np.random.default_rng(6)
    params = NoiseParams(system_gain=5.0, read_noise="gaussian", read_sigma=50.0)
    bright = simulate_short_exposure(np.full((64, 64), WHITE, np.uint16), 1.0, params, rng)
    assert bright.max() == WHITE and bright.dtype == np.uint16
    huge_negative = NoiseParams(system_gain=0.0, bias=(-1000.0,) * 4)
    dark = simulate_short_exposure(flat(0, (32, 32)), 100, huge_negative, rng)
    assert dark.min() == 0
    with pytest.raises(ValueError):
        simulate_short_exposure(flat(0), 0.0, params, rng)


def test_a_1024_mosaic_is_fast_enough_to_call():
    rng = np.random.default_rng(7)
    params = sample_noise_params(rng, "physics")
    long = rng.integers(BLACK, WHITE, (1024, 1024)).astype(np.uint16)
    short = simulate_short_exposure(long, 300, params, rng)
    assert short.shape == (1024, 1024)


# ------------------------------------------------------------------------------------------
# The parameter sampler and the Tukey-lambda distribution.


def _fit(x, y):
    slope, intercept = np.polyfit(x, y, 1)
    residual = np.std(y - (slope * x + intercept), ddof=2)
    return slope, intercept, residual


def test_physics_sampler_follows_the_sony_a7s2_calibration():
    rng = np.random.default_rng(8)
    samples = [sample_noise_params(rng, "physics") for _ in range(4000)]
    log_k = np.log([p.system_gain for p in samples])
    assert log_k.min() >= math.log(0.0939) and log_k.max() <= math.log(6.0106)
    assert log_k.mean() == pytest.approx((math.log(0.0939) + math.log(6.0106)) / 2, abs=0.05)
    assert all(p.read_noise == "tukey" for p in samples)
    slope, intercept, residual = _fit(log_k, np.log([p.read_sigma for p in samples]))
    assert (slope, intercept, residual) == pytest.approx((0.4621, 0.5657, 0.2634), abs=0.015)
    slope, intercept, residual = _fit(log_k, np.log([p.row_sigma for p in samples]))
    assert (slope, intercept, residual) == pytest.approx((0.5275, -0.5917, 0.2943), abs=0.015)
    lambdas = np.array([p.read_lambda for p in samples])
    assert lambdas.min() >= -0.143 and lambdas.max() <= 0.129
    assert lambdas.mean() == pytest.approx((-0.143 + 0.129) / 2, abs=0.005)
    biases = np.array([p.bias for p in samples])
    assert biases.mean() == pytest.approx(0.0, abs=0.02)
    assert biases.std() == pytest.approx(get_profile("sony_a7s2").bias_std, rel=0.05)


def test_poisson_gaussian_sampler():
    rng = np.random.default_rng(9)
    samples = [sample_noise_params(rng, "poisson_gaussian") for _ in range(4000)]
    log_k = np.log([p.system_gain for p in samples])
    slope, intercept, residual = _fit(log_k, np.log([p.read_sigma for p in samples]))
    assert (slope, intercept, residual) == pytest.approx((0.5407, 1.2182, 0.2675), abs=0.015)
    assert all(p.read_noise == "gaussian" and p.row_sigma == 0 and not any(p.bias)
               for p in samples)
    with pytest.raises(ValueError, match="noise model"):
        sample_noise_params(rng, "nonsense")


def test_the_other_profile_is_a_different_domain():
    rng = np.random.default_rng(10)
    sony = [sample_noise_params(rng, "physics", "sony_a7s2") for _ in range(500)]
    other = [sample_noise_params(rng, "physics", "other") for _ in range(500)]
    assert max(p.system_gain for p in other) <= 3.0
    sony_read = np.mean([math.log(p.read_sigma / p.system_gain**0.4621) for p in sony])
    other_read = np.mean([math.log(p.read_sigma / p.system_gain**0.4621) for p in other])
    assert other_read - sony_read > 0.2
    assert not np.allclose(get_profile("other").matrices(), get_profile("sony_a7s2").matrices())
    with pytest.raises(ValueError, match="profile"):
        get_profile("canon")


def test_tukey_lambda_sampler():
    rng = np.random.default_rng(11)
    n = 200_000
    # lambda = 0 is the logistic distribution: variance pi^2 / 3.
    logistic = tukey_lambda(rng, 0.0, n)
    assert logistic.var() == pytest.approx(math.pi**2 / 3, rel=0.03)
    # lambda = 1 is uniform on (-1, 1).
    uniform = tukey_lambda(rng, 1.0, n)
    assert uniform.min() >= -1 and uniform.max() <= 1
    assert uniform.var() == pytest.approx(1 / 3, rel=0.02)
    for lam in (-0.143, 0.129):
        samples = tukey_lambda(rng, lam, n, scale=2.5)
        for p in (0.01, 0.1, 0.5, 0.9, 0.99):
            quantile = 2.5 * (p**lam - (1 - p) ** lam) / lam
            tolerance = 0.05 + 0.02 * abs(quantile)
            assert np.quantile(samples, p) == pytest.approx(quantile, abs=tolerance)
        assert abs(samples.mean()) < 0.05  # symmetric
    # Negative lambda has heavier tails than the logistic; positive lighter.
    kurtosis = {lam: np.mean(tukey_lambda(rng, lam, n) ** 4) / tukey_lambda(rng, lam, n).var() ** 2
                for lam in (-0.143, 0.0, 0.129)}
    assert kurtosis[-0.143] > kurtosis[0.0] > kurtosis[0.129]


# ------------------------------------------------------------------------------------------
# Unprocessing, checked by rendering the written DNG with rawpy.


def test_inverse_curves():
    y = np.linspace(0, 1, 101)
    x = simulate.inverse_smoothstep(y)
    np.testing.assert_allclose(3 * x**2 - 2 * x**3, y, atol=1e-6)
    linear = simulate.srgb_to_linear(y)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(encoded, y, atol=1e-6)
    rgb_to_cam = simulate.rgb_to_cam(get_profile("sony_a7s2").matrices()[0])
    np.testing.assert_allclose(rgb_to_cam.sum(axis=1), 1.0)


def test_white_unprocesses_to_white_over_the_gains():
    white = np.ones((4, 6, 3), np.float32)
    matrix = get_profile("sony_a7s2").matrices()[0]
    mosaic, metadata = unprocess(white, xyz_to_cam=matrix, wb_gains=(2.0, 1.0, 1.6))
    assert mosaic.dtype == np.uint16
    assert np.all(mosaic[0::2, 1::2] == WHITE) and np.all(mosaic[1::2, 0::2] == WHITE)
    assert np.all(mosaic[0::2, 0::2] == round(BLACK + (WHITE - BLACK) / 2.0))
    assert np.all(mosaic[1::2, 1::2] == round(BLACK + (WHITE - BLACK) / 1.6))
    assert metadata.as_shot_neutral == pytest.approx((0.5, 1.0, 0.625))
    black, _ = unprocess(np.zeros((4, 6, 3)), xyz_to_cam=matrix, wb_gains=(2.0, 1.0, 1.6))
    assert np.all(black == BLACK)


@pytest.mark.parametrize("profile", ["sony_a7s2", "other"])
def test_rawpy_renders_the_unprocessed_photo_back(tmp_path, profile):
    rng = np.random.default_rng(12)
    photo = simulate.read_photo(simulate.default_photo_paths()[2])  # coffee
    image, _ = simulate.scene_from_photo(photo, (128, 192), rng)
    mosaic, metadata = unprocess(
        image, xyz_to_cam=simulate.sample_xyz_to_cam(rng, profile),
        wb_gains=simulate.sample_wb_gains(rng, profile))
    assert 1.9 <= metadata.wb_gains[0] <= 2.6 and 1.2 <= metadata.wb_gains[2] <= 1.9
    path = tmp_path / "scene.dng"
    dng.write_dng(path, mosaic, cfa_pattern="RGGB", color_matrix=np.array(metadata.xyz_to_cam),
                  as_shot_neutral=metadata.as_shot_neutral, exposure_time=10.0)
    with rawpy.imread(str(path)) as raw:
        rendered = raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16)
        # LibRaw lowers the white level to the data's maximum when that is above 75 % of it
        # (adjust_maximum_thr=0.75, rawpy's default); without that the render is predictable.
        exact = raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16,
                                adjust_maximum_thr=0.0)
    rendered = rendered.astype(np.float64) / 65535.0
    exact = exact.astype(np.float64) / 65535.0
    assert rendered.shape == image.shape
    assert np.corrcoef(rendered.ravel(), image.ravel())[0, 1] > 0.97
    # Resembles the photograph: the rendering has no tone curve and a BT.709 gamma, so it is a
    # little darker and less saturated, but the mean colour is close.
    np.testing.assert_allclose(rendered.mean((0, 1)), image.mean((0, 1)), atol=0.1)
    # And it is what LibRaw's pipeline predicts from the linear light we put in: camera matrix
    # and white balance cancel (up to demosaicking and out-of-gamut clipping).
    linear = simulate.srgb_to_linear(simulate.inverse_smoothstep(image))
    predicted = np.where(linear < 0.018, 4.5 * linear, 1.099 * linear ** 0.45 - 0.099)
    np.testing.assert_allclose(exact.mean((0, 1)), predicted.mean((0, 1)), atol=0.004)
    assert np.median(np.abs(exact - predicted)) < 0.01


# ------------------------------------------------------------------------------------------
# The synthetic dataset.


SMALL = dict(num_scenes=4, size=(64, 96), seed=3, progress=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    summary = write_synthetic_dataset(root, bursts=2, **SMALL)
    return root, summary


def test_split_counts_and_ids():
    assert split_counts(8) == (5, 1, 2)
    assert split_counts(1) == (1, 0, 0) and split_counts(2) == (1, 0, 1)
    for n in range(3, 60):
        train, val, test = split_counts(n)
        assert train + val + test == n and val >= 1 and test >= 1 and train >= 1
    ids = simulate.scene_ids(8)
    assert [i for i, _ in ids] == ["00001", "00002", "00003", "00004", "00005", "20001",
                                   "10001", "10002"]


def test_photo_assignment():
    assert assign_photos((5, 1, 2), 10) == (list(range(8)), False)
    indices, shared = assign_photos((5, 1, 2), 4)
    assert not shared and indices == [0, 1, 0, 1, 0, 2, 3, 3]
    indices, shared = assign_photos((5, 1, 2), 2)
    assert shared and sorted(set(indices)) == [0, 1]


def test_exposure_names_round_trip():
    assert [format_exposure(s) for s in (0.1, 0.04, 0.05, 10.0, 10 / 137.4)] == \
        ["0.1", "0.04", "0.05", "10", "0.07278"]
    assert original_exposure_from_name("00001_00_0.05s.dng") == 0.05


def test_dataset_layout_and_names(dataset):
    root, summary = dataset
    shorts = sorted(p.name for p in (root / "short").iterdir())
    longs = sorted(p.name for p in (root / "long").iterdir())
    assert summary.splits == {"train": ["00001", "00002"], "val": ["20001"], "test": ["10001"]}
    assert longs == [f"{i}_00_10s.dng" for i in ("00001", "00002", "10001", "20001")]
    assert len(shorts) == 4 * 2 * 3 == summary.num_short
    for name in shorts + longs:
        assert SID_NAME.match(name), name
    assert {SID_NAME.match(n).group(3) for n in shorts} == {"0.1", "0.04", "0.033"}
    assert {SID_NAME.match(n).group(2) for n in shorts} == {"00", "01"}
    ratios = {min(10.0 / original_exposure_from_name(n), 300.0) for n in shorts}
    assert ratios == {100.0, 250.0, 300.0}
    assert not list(root.rglob(".tmp-*")) and not (root / ".simulation-in-progress.json").exists()


def test_list_files_reference_existing_files(dataset):
    root, summary = dataset
    line = re.compile(r"^\./short/(\S+) \./long/(\S+) ISO(\d+) F(\d+(\.\d+)?)$")
    seen = []
    for split, digit in (("train", "0"), ("val", "2"), ("test", "1")):
        path = root / f"{split}_list.txt"
        assert str(path) == summary.list_files[split]
        for text in path.read_text().splitlines():
            match = line.match(text)
            assert match, text
            short, long = match.group(1), match.group(2)
            assert (root / "short" / short).is_file() and (root / "long" / long).is_file()
            assert short[:5] == long[:5] and short[0] == digit
            seen.append(short)
    assert sorted(seen) == sorted(p.name for p in (root / "short").iterdir())


def test_files_decode_with_rawpy(dataset):
    root, _ = dataset
    record = json.loads((root / "simulation.json").read_text())
    scene = record["scenes"][0]
    for entry in [dict(scene["long"], ratio=None)] + scene["shorts"]:
        path = root / entry["file"]
        with rawpy.imread(str(path)) as raw:
            assert raw.raw_pattern.tolist() == [[0, 1], [3, 2]]  # R G / G2 B
            assert raw.color_desc == b"RGBG"
            assert list(raw.black_level_per_channel) == [512] * 4
            assert raw.white_level == 16383
            assert raw.raw_image_visible.shape == (64, 96)
            assert raw.other.iso_speed == entry["iso"]
            np.testing.assert_allclose(raw.camera_whitebalance[:3],
                                       np.array(scene["wb_gains"]), rtol=1e-5)
        exposure = dng.read_tiff_exposure_time(path)
        assert exposure == pytest.approx(entry["exposure_time"], rel=1e-6)
        if entry["ratio"] is not None:
            assert exposure == pytest.approx(10.0 / entry["ratio"], rel=1e-6)
            name_exposure = original_exposure_from_name(path.name)
            assert min(10.0 / name_exposure, 300.0) == entry["ratio"]


def test_short_files_are_the_long_file_divided_by_the_ratio(tmp_path):
    write_synthetic_dataset(tmp_path, num_scenes=3, size=(256, 256), seed=4, progress=False)
    record = json.loads((tmp_path / "simulation.json").read_text())
    for scene in record["scenes"]:
        with rawpy.imread(str(tmp_path / scene["long"]["file"])) as raw:
            long = raw.raw_image_visible.astype(np.float64) - BLACK
        for short_entry in scene["shorts"]:
            with rawpy.imread(str(tmp_path / short_entry["file"])) as raw:
                short = raw.raw_image_visible.astype(np.float64) - BLACK
            noise = NoiseParams.from_dict(short_entry["noise"])
            estimate = (short.mean() - np.mean(noise.bias)) * short_entry["ratio"]
            tolerance = short_entry["ratio"] * (
                5 * short.std() / 256 + 5 * noise.row_sigma / 16) + 2
            assert abs(estimate - long.mean()) < tolerance, (short_entry, long.mean(), estimate)


def test_simulation_json_records_everything(dataset):
    root, summary = dataset
    record = json.loads((root / "simulation.json").read_text())
    assert record["config"]["seed"] == 3 and record["config"]["num_scenes"] == 4
    assert record["config"]["profile"]["name"] == "sony_a7s2"
    assert record["sources"] == summary.sources and len(record["sources"]) == 4
    assert all(pathlib.Path(s).parent.name == "data" for s in record["sources"])
    for scene in record["scenes"]:
        assert len(scene["shorts"]) == 6
        assert 1.9 <= scene["wb_gains"][0] <= 2.4 and 1.5 <= scene["wb_gains"][2] <= 1.9
        for short in scene["shorts"]:
            NoiseParams.from_dict(short["noise"])
            assert short["ratio"] in (100.0, 250.0, 300.0)
            assert short["wb_gains"] == scene["wb_gains"]


def test_same_seed_gives_identical_files(dataset, tmp_path):
    root, _ = dataset
    write_synthetic_dataset(tmp_path / "again", bursts=2, **SMALL)
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "again")
                           for p in (tmp_path / "again").rglob("*") if p.is_file())
    for name in files:
        assert (root / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    other = write_synthetic_dataset(tmp_path / "other", bursts=2, **dict(SMALL, seed=4))
    assert other.num_short == 24
    assert ((root / "short/00001_00_0.1s.dng").read_bytes()
            != (tmp_path / "other/short/00001_00_0.1s.dng").read_bytes())


def test_uniform_ratios_round_trip_through_the_names(tmp_path):
    write_synthetic_dataset(tmp_path, num_scenes=3, size=(48, 64), seed=5, ratios="uniform",
                            noise_model="poisson_gaussian", progress=False)
    record = json.loads((tmp_path / "simulation.json").read_text())
    shorts = [short for scene in record["scenes"] for short in scene["shorts"]]
    assert len(shorts) == 9 and len({s["ratio"] for s in shorts}) == 9
    for short in shorts:
        name = pathlib.Path(short["file"]).name
        assert SID_NAME.match(name), name
        assert 100.0 <= short["ratio"] <= 300.0
        assert min(10.0 / original_exposure_from_name(name), 300.0) == short["ratio"]
        assert dng.read_tiff_exposure_time(tmp_path / short["file"]) == pytest.approx(
            original_exposure_from_name(name), rel=1e-6)
        assert short["noise"]["model"] == "poisson_gaussian"


def _photos(folder, count):
    """Write `count` small photographs cut from scikit-image's astronaut."""
    astronaut = skimage.io.imread(simulate.default_photo_paths()[0])
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo{i}.png"
        skimage.io.imsave(path, astronaut[40 * i:40 * i + 120, 30 * i:30 * i + 160],
                          check_contrast=False)
        paths.append(path)
    return paths


def test_source_dir_with_a_corrupt_image(tmp_path):
    photos = tmp_path / "photos"
    _photos(photos, 1)
    _photos(photos / "nested", 1)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG" * 10)
    (photos / "notes.txt").write_text("not a photo")
    lines = []
    summary = write_synthetic_dataset(tmp_path / "out", source_dir=photos, num_scenes=3,
                                      size=(48, 64), seed=0, progress=lines.append)
    assert [pathlib.Path(p).name for p, _ in summary.skipped_sources] == ["broken.jpg"]
    assert "broken.jpg" in summary.skipped_sources[0][1]
    assert any("broken.jpg" in line for line in lines)
    assert any("scene 3/3" in line and "ETA" in line for line in lines)
    assert [pathlib.Path(p).relative_to(photos).as_posix() for p in summary.sources] == [
        "nested/photo0.png", "photo0.png"]
    assert summary.num_long == 3 and summary.num_short == 9
    assert summary.warnings  # 2 photographs for 3 splits
    record = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert record["skipped_sources"][0][0].endswith("broken.jpg")


def test_no_readable_photographs_is_a_clear_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="(?s)No readable photographs.*bad.png"):
        write_synthetic_dataset(tmp_path / "out", source_dir=tmp_path, num_scenes=1,
                                size=(32, 32), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No readable photographs"):
        write_synthetic_dataset(tmp_path / "out", source_dir=tmp_path / "empty",
                                size=(32, 32), progress=False)


def test_interrupted_run_is_detected_and_resumed(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "resumed"

    class Stop(Exception):
        pass

    def stop_after_two_scenes(line):
        if line.startswith("scene 2/"):
            raise Stop()

    with pytest.raises(Stop):
        write_synthetic_dataset(out, bursts=2, **dict(SMALL, progress=stop_after_two_scenes))
    assert not (out / "simulation.json").exists()
    assert (out / ".simulation-in-progress.json").exists()
    with pytest.raises(ValueError, match="other settings.*seed"):
        write_synthetic_dataset(out, bursts=2, **dict(SMALL, seed=99))
    summary = write_synthetic_dataset(out, bursts=2, **SMALL)
    assert summary.files_written == 2 * (1 + 6)  # scenes 3 and 4
    for path in root.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (out / path.relative_to(root)).read_bytes(), path
    # Complete: nothing to do; a missing file is made again, identical.
    assert write_synthetic_dataset(out, bursts=2, **SMALL).files_written == 0
    (out / "short/10001_01_0.04s.dng").unlink()
    assert write_synthetic_dataset(out, bursts=2, **SMALL).files_written == 1
    assert ((out / "short/10001_01_0.04s.dng").read_bytes()
            == (root / "short/10001_01_0.04s.dng").read_bytes())


def test_refuses_a_folder_of_foreign_dngs(tmp_path):
    (tmp_path / "short").mkdir()
    (tmp_path / "short" / "00001_00_0.1s.dng").write_bytes(b"")
    with pytest.raises(ValueError, match="not a dataset this simulator started"):
        write_synthetic_dataset(tmp_path, **SMALL)


def test_command_line(tmp_path, capsys):
    from absl import flags

    flag_values = simulate.define_flags(flags.FlagValues())
    flag_values([
        "simulate", f"--output_dir={tmp_path}", "--num_scenes=3", "--size=32,48", "--seed=1",
        "--noise_model=poisson_gaussian", "--ratios=uniform", "--profile=other",
    ])
    simulate.main(["simulate"], flag_values)
    out = capsys.readouterr().out
    assert "scene 3/3" in out and "ETA" in out and "Synthetic dataset" in out
    record = json.loads((tmp_path / "simulation.json").read_text())
    assert record["config"]["profile"]["name"] == "other"
    assert record["config"]["size"] == [32, 48]
    assert simulate.parse_size("1024,512") == (1024, 512)


def test_default_sources_are_bundled_files_and_nothing_downloads(tmp_path, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the simulator tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    paths = simulate.default_photo_paths()
    assert [p.name for p in paths] == list(simulate.SKIMAGE_PHOTOS)
    summary = write_synthetic_dataset(tmp_path, num_scenes=1, size=(32, 32), progress=False)
    assert summary.sources == [str(paths[0])]


def test_ratios_fit_a_camera_of_fewer_bits(tmp_path):
    """SID's ratios keep about 53 DN of a saturated Sony pixel at 300; a 12-bit camera gets
    ratios scaled to keep as many (issue 22: ratios that fit its bit depth)."""
    assert noise_lib.fitting_max_ratio(16383, 512) == 300.0
    assert noise_lib.fitting_max_ratio(4095, 256) == pytest.approx(3839 / ((16383 - 512) / 300))
    assert noise_lib.fitting_max_ratio(255, 0) == pytest.approx(255 / 52.9, rel=1e-3)
    rng = np.random.default_rng(0)
    drawn = {noise_lib.sample_ratio(rng, "fixed", 72.0) for _ in range(50)}
    assert drawn == {24.0, 60.0, 72.0}
    assert all(24.0 <= noise_lib.sample_ratio(rng, "uniform", 72.0) <= 72.0 for _ in range(50))
    write_synthetic_dataset(tmp_path / "d", num_scenes=1, size=(48, 64), max_ratio=72.0, progress=False)
    shorts = sorted(path.name for path in (tmp_path / "d" / "short").iterdir())
    ratios = sorted(round(10 / original_exposure_from_name(name)) for name in shorts)
    assert ratios == [24, 60, 72]
    with pytest.raises(ValueError, match="max_ratio"):
        write_synthetic_dataset(tmp_path / "e", num_scenes=1, size=(48, 64), max_ratio=400.0, progress=False)
