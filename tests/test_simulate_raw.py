"""Simulation from clean raw files: raw-domain short exposures in every Bayer phase with their
own levels, the noise-profile file and its calibration, skipped sources, and the datasets and
on-the-fly pairs that training uses."""

import json
import math

import numpy as np
import pytest
import rawpy

from sid_tf2 import dng, simulate
from sid_tf2 import raw as rawlib
from sid_tf2.simulation import calibrate, noise_profile, raw_pairs, raw_sources, raw_stream
from sid_tf2.simulation.noise import NoiseParams, sample_noise_params, simulate_short_exposure
from sid_tf2.simulation.profiles import gain_at_iso, get_profile

PHASES = ("RGGB", "BGGR", "GRBG", "GBRG")
# (phase, per-position black levels in raster order, white level, ISO): none is SID's 512/16383.
CAMERAS = {
    "RGGB": ((240, 250, 245, 255), 4095, 200),
    "BGGR": (1000, 15000, 800),
    "GRBG": ((60, 64, 62, 66), 1023, 1600),
    "GBRG": (2048, 65000, 3200),
}
# A flat long exposure: each colour's signal above black, as a fraction of the sensor's range.
LEVELS = {"R": 0.3, "G": 0.55, "B": 0.22}
SONY_MATRIX = get_profile("sony_a7s2").matrices()[0]


def tiled(values, shape):
    return np.tile(np.reshape(values, (2, 2)), (shape[0] // 2, shape[1] // 2))


def level(phase, letter):
    """The flat long exposure's signal of one colour, in DN above black."""
    blacks, white, _ = CAMERAS[phase]
    return float(round(LEVELS[letter] * (white - np.max(blacks))))


def flat_long(phase, shape):
    """A flat long exposure with one level per colour, as stored (black included)."""
    blacks, _, _ = CAMERAS[phase]
    levels = tiled([level(phase, letter) for letter in phase], shape)
    return (tiled(np.broadcast_to(blacks, 4), shape) + levels).astype(np.uint16)


def write_source(path, mosaic, phase, *, iso=None, matrix=None):
    blacks, white, default_iso = CAMERAS[phase]
    dng.write_dng(path, mosaic, cfa_pattern=phase, black_level=blacks, white_level=white,
                  color_matrix=matrix, as_shot_neutral=(0.5, 1.0, 0.7), exposure_time=1 / 60,
                  iso=default_iso if iso is None else iso)
    return path


def scene(phase, shape=(64, 96), seed=0):
    """A scene with structure: smooth colour gradients, a bright square, brightness mid-range."""
    blacks, white, _ = CAMERAS[phase]
    span = white - np.max(blacks)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    light = 0.2 + 0.4 * cols / shape[1] + 0.15 * rows / shape[0]
    light[8:24, 8:24] = 0.6
    colour = tiled([{"R": 0.8, "G": 1.0, "B": 0.6}[letter] for letter in phase], shape)
    noise = np.random.default_rng(seed).normal(0, 0.005, shape)
    signal = np.clip((light * colour + noise) * span, 0, span)
    return (tiled(np.broadcast_to(blacks, 4), shape) + signal).astype(np.uint16)


# ------------------------------------------------------------------------------------------
# Reading a clean raw source.


@pytest.mark.parametrize("phase", PHASES)
def test_a_raw_source_keeps_its_phase_levels_and_saturation(tmp_path, phase):
    blacks, white, iso = CAMERAS[phase]
    mosaic = scene(phase)
    mosaic[40:44, 40:48] = white  # saturated
    source = raw_sources.read_raw_source(write_source(tmp_path / "s.dng", mosaic, phase))
    assert source.cfa_pattern == phase
    assert source.black_level == tuple(np.broadcast_to(blacks, 4))
    assert source.white_level == white and source.iso == iso
    assert source.exposure_time == pytest.approx(1 / 60)
    np.testing.assert_array_equal(source.mosaic, mosaic)
    assert source.saturated_fraction == pytest.approx(32 / mosaic.size)
    assert source.wb_gains == pytest.approx((2.0, 1.0, 1 / 0.7), rel=1e-6)


def test_a_source_without_white_balance_renders_as_its_long_exposure(tmp_path):
    path = tmp_path / "no_wb.dng"
    dng.write_dng(path, scene("GRBG"), cfa_pattern="GRBG", black_level=CAMERAS["GRBG"][0],
                  white_level=CAMERAS["GRBG"][1], color_matrix=SONY_MATRIX, iso=100)
    source = raw_sources.read_raw_source(path)
    assert source.as_shot_neutral is None  # LibRaw falls back to daylight: so does the copy
    with rawpy.imread(str(path)) as raw:
        daylight = np.asarray(raw.daylight_whitebalance[:3])
    np.testing.assert_allclose(source.wb_gains, daylight / daylight[1])
    rendered = raw_stream.render_long_exposure(source).astype(np.int64)
    original = rawlib.render_ground_truth_uint16(path).astype(np.int64)
    assert np.abs(rendered - original).max() <= 2  # of 65535: the matrix's rational rounding


# ------------------------------------------------------------------------------------------
# The short exposure's statistics, per CFA position, in every phase and with other levels.


def tukey_variance(lam):
    """Variance of the standard Tukey-lambda distribution."""
    if abs(lam) < 1e-9:
        return math.pi**2 / 3
    return 2 / lam**2 * (1 / (1 + 2 * lam) - math.gamma(lam + 1) ** 2 / math.gamma(2 * lam + 2))


def read_variance(params):
    if params.read_noise == "gaussian":
        return params.read_sigma**2
    return params.read_sigma**2 * tukey_variance(params.read_lambda)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("ratio", [100.0, 300.0])
def test_short_exposure_mean_and_variance_follow_the_profile(tmp_path, phase, ratio):
    shape = (512, 512)
    source = raw_sources.read_raw_source(write_source(tmp_path / "s.dng", flat_long(phase, shape),
                                                      phase))
    rng = np.random.default_rng(PHASES.index(phase) * 1000 + int(ratio))
    gain, iso, note = raw_pairs.pair_gain(source, rng, "sony_a7s2")
    assert (gain, note) == (gain_at_iso(source.iso, "sony_a7s2")[0], None)
    assert iso == CAMERAS[phase][2] and gain == pytest.approx(0.0939 * iso / 100)
    params = sample_noise_params(rng, "physics", "sony_a7s2", system_gain=gain)
    assert params.system_gain == gain
    short = raw_pairs.simulate_raw_short(source, ratio, params, rng).astype(np.float64)
    rows, cols = short.shape[0] // 2, short.shape[1] // 2
    for position, letter in enumerate(phase):
        r, c = divmod(position, 2)
        plane = short[r::2, c::2] - source.black_level[position]
        signal = level(phase, letter) / ratio
        # Mean: the black-level bias is part of the model; row noise moves whole rows.
        expected_variance = params.system_gain * signal + read_variance(params) + 1 / 12
        standard_error = math.sqrt(expected_variance / plane.size + params.row_sigma**2 / rows)
        estimate = (plane.mean() - params.bias[position]) * ratio
        assert abs(estimate - level(phase, letter)) < 5 * ratio * standard_error, (letter, estimate)
        # Variance within rows (row noise removed): shot + read + rounding, within 5 %. A
        # variance of n = 65536 samples has a relative standard error near sqrt(2 / n) = 0.6 %
        # (a little more for Tukey-lambda's tails), so 5 % is about 8 standard errors.
        within_rows = (plane - plane.mean(axis=1, keepdims=True)).var() * cols / (cols - 1)
        assert within_rows == pytest.approx(expected_variance, rel=0.05), (letter, params)


def test_saturated_pixels_stay_saturated_and_amplify_to_one(tmp_path):
    phase = "RGGB"
    _, white, _ = CAMERAS[phase]
    mosaic = scene(phase, (64, 96))
    mosaic[16:48, 32:64] = white + 7  # above the white level: read as saturated
    source = raw_sources.read_raw_source(write_source(tmp_path / "s.dng", mosaic, phase))
    assert np.all(source.mosaic[16:48, 32:64] == white)  # the long exposure stays saturated
    rng = np.random.default_rng(3)
    params = sample_noise_params(rng, "physics", system_gain=raw_pairs.pair_gain(source, rng,
                                                                                  "sony_a7s2")[0])
    short = raw_pairs.simulate_raw_short(source, 250.0, params, rng)
    packed = rawlib.pack_bayer(short, source.black_level, white, pattern=phase)
    # A saturated pixel's short exposure gets the saturation level over the ratio (a lower
    # bound of its light): SID's input, amplified by the ratio, is 1 on average there ...
    amplified = packed[8:24, 16:32] * np.float32(250.0)
    assert amplified.mean() == pytest.approx(
        1.0, abs=5 * float(amplified.std()) / math.sqrt(amplified.size))
    # ... and clipped at 1 as SID clips it.
    clipped = np.minimum(packed * np.float32(250.0), 1.0)
    assert clipped.max() == 1.0 and clipped[8:24, 16:32].mean() > 0.9
    assert clipped[:4, :8].mean() < 0.5  # the dark corner stays dark


# ------------------------------------------------------------------------------------------
# Sources that cannot be used.


def write_unusable_sources(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    dng.write_dng(folder / "xtrans.dng", rng.integers(1024, 4000, (96, 96)).astype(np.uint16),
                  cfa_pattern=rawlib.SID_XTRANS_PATTERN, black_level=1024, iso=400)
    dng.write_linear_dng(folder / "linear.dng", rng.integers(0, 4000, (64, 96, 3)).astype(np.uint16))
    blacks = CAMERAS["RGGB"][0]
    dark = tiled(blacks, (64, 96)) + 100  # 100 DN above black: 0.33 DN at ratio 300
    write_source(folder / "dark.dng", dark.astype(np.uint16), "RGGB")


def test_unusable_sources_are_named_and_skipped_with_their_reason(tmp_path):
    sources = tmp_path / "sources"
    write_unusable_sources(sources)
    write_source(sources / "good.dng", scene("GBRG"), "GBRG")
    summary = simulate.write_synthetic_dataset(tmp_path / "out", source_dir=sources, num_scenes=3,
                                               progress=False)  # more scenes than sources: all read
    reasons = {pathlib_name(path): reason for path, reason in summary.skipped_sources}
    assert set(reasons) == {"xtrans.dng", "linear.dng", "dark.dng"}
    assert "X-Trans" in reasons["xtrans.dng"] and "not Bayer" in reasons["xtrans.dng"]
    assert "no colour mosaic" in reasons["linear.dng"] and "linear" in reasons["linear.dng"]
    assert "too dark for ratio 300" in reasons["dark.dng"]
    assert summary.sources == [str(sources / "good.dng")]


def pathlib_name(path):
    return path.rsplit("/", 1)[-1]


def test_no_usable_source_is_one_error_line(tmp_path, capsys):
    from absl import flags

    sources = tmp_path / "sources"
    write_unusable_sources(sources)
    flag_values = simulate.define_flags(flags.FlagValues())
    flag_values(["simulate", f"--output_dir={tmp_path / 'out'}", f"--source_dir={sources}"])
    assert simulate.main(["simulate"], flag_values) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: No readable photographs") and error.count("\n") == 1
    assert "xtrans.dng" in error and "too dark" in error


# ------------------------------------------------------------------------------------------
# Noise profiles and their calibration.


def test_a_noise_profile_file_replaces_the_noise_of_the_profile(tmp_path):
    values = {"K_range": [0.2, 4.0], "K_at_iso100": 0.2,
              "G": {"slope": 0.5, "bias": 1.0, "sigma": 0.1},
              "TL": {"slope": 0.45, "bias": 0.6, "sigma": 0.2}, "lambda": [-0.1, 0.1],
              "Row": {"slope": 0.5, "bias": -0.5, "sigma": 0.3}}
    path = tmp_path / "my_camera.json"
    path.write_text(json.dumps(values))
    profile = get_profile(str(path))
    assert profile.name == "my_camera" and profile.k_at_iso100 == 0.2
    assert profile.log_k_range == pytest.approx((math.log(0.2), math.log(4.0)))
    assert (profile.tukey_read.slope, profile.row.intercept) == (0.45, -0.5)
    assert gain_at_iso(800, profile) == (pytest.approx(1.6), False)
    assert gain_at_iso(50, profile) == (pytest.approx(0.2), True)  # clamped to the range
    again = noise_profile.profile_from_dict(noise_profile.profile_to_dict(profile))
    assert again.tukey_read == profile.tukey_read and again.log_k_range == pytest.approx(
        profile.log_k_range)
    path.write_text(json.dumps({**values, "Row": {"slope": 0.5}}))
    with pytest.raises(noise_profile.NoiseProfileError, match="my_camera.json.*'Row'"):
        get_profile(str(path))


TRUE_NOISE = {"k_at_iso100": 0.1, "tl": (0.5, 0.8), "lambda": -0.05, "row": (0.5, -0.6)}


def true_params(iso):
    gain = TRUE_NOISE["k_at_iso100"] * iso / 100
    scale = math.exp(TRUE_NOISE["tl"][0] * math.log(gain) + TRUE_NOISE["tl"][1])
    row = math.exp(TRUE_NOISE["row"][0] * math.log(gain) + TRUE_NOISE["row"][1])
    return NoiseParams(system_gain=gain, read_noise="tukey", read_sigma=scale,
                       read_lambda=TRUE_NOISE["lambda"], row_sigma=row, bias=(0.3, -0.2, 0.1, 0.0))


def write_calibration_frames(folder, isos=(400, 800, 1600), dark_shape=(256, 256),
                             flat_shape=(128, 128)):
    """Dark frames (8 per ISO) and flat pairs (3 levels per ISO), simulated with known noise.

    Sizes set the precision: the row noise comes from 8 x 256 row means per ISO (its sigma's
    standard error is about 2 %), the gain from 3 pairs of 16384 pixels (about 1.5 %), so the
    10 % bounds are about 5 standard errors.
    """
    rng = np.random.default_rng(5)
    black = (256, 258, 254, 257)
    for kind in ("dark", "flat"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
    for iso in isos:
        params = true_params(iso)
        frames = [("dark", f"{iso}_{i}", 0, 1 / 4000) for i in range(8)]
        frames += [("flat", f"{iso}_{level}_{k}", level, level / 1e5)
                   for level in (300, 1000, 3000) for k in range(2)]
        for kind, name, level, exposure in frames:
            black_mosaic = tiled(black, dark_shape if kind == "dark" else flat_shape)
            frame = simulate_short_exposure(black_mosaic + level, 1.0, params, rng,
                                            black_level=black_mosaic, white_level=16383)
            dng.write_dng(folder / kind / f"{name}.dng", frame, cfa_pattern="RGGB",
                          black_level=black, white_level=16383, iso=iso, exposure_time=exposure)


def test_calibration_recovers_known_noise_within_ten_percent(tmp_path, capsys):
    from absl import flags

    write_calibration_frames(tmp_path)
    output = tmp_path / "camera.json"
    flag_values = simulate.define_flags(flags.FlagValues())
    flag_values(["simulate", "--calibrate", f"--dark_frames={tmp_path / 'dark'}",
                 f"--flat_pairs={tmp_path / 'flat'}", f"--profile_output={output}"])
    assert not simulate.main(["simulate"], flag_values)
    assert "written to" in capsys.readouterr().out
    profile = noise_profile.load_noise_profile(output)
    _, results = calibrate.calibrate(raw_sources.list_raw_paths(tmp_path / "dark"),
                                     raw_sources.list_raw_paths(tmp_path / "flat"))
    assert [r.iso for r in results] == [400, 800, 1600]
    for result in results:
        truth = true_params(result.iso)
        gaussian = truth.read_sigma * math.sqrt(tukey_variance(truth.read_lambda))
        assert result.system_gain == pytest.approx(truth.system_gain, rel=0.10)
        assert result.tukey_scale == pytest.approx(truth.read_sigma, rel=0.10)
        assert result.gaussian_sigma == pytest.approx(gaussian, rel=0.10)
        assert result.row_sigma == pytest.approx(truth.row_sigma, rel=0.10)
        assert result.tukey_lambda == pytest.approx(truth.read_lambda, abs=0.05)
        np.testing.assert_allclose(result.black_bias, truth.bias, atol=0.15)
    # The fitted lines give the true scales back at every calibrated gain.
    assert profile.k_at_iso100 == pytest.approx(0.1, rel=0.10)
    assert profile.tukey_read.slope == pytest.approx(0.5, abs=0.1)
    for iso in (400, 800, 1600):
        truth = true_params(iso)
        log_k = math.log(truth.system_gain)
        for line, expected in ((profile.tukey_read, truth.read_sigma), (profile.row, truth.row_sigma)):
            assert math.exp(line.slope * log_k + line.intercept) == pytest.approx(expected, rel=0.10)


def test_calibration_without_flat_pairs_is_explained(tmp_path):
    write_calibration_frames(tmp_path, isos=(400,), dark_shape=(32, 32), flat_shape=(32, 32))
    for path in (tmp_path / "flat").glob("*"):
        path.unlink()
    with pytest.raises(calibrate.CalibrationError, match="no raw files"):
        calibrate.calibrate_folders(tmp_path / "dark", tmp_path / "flat", tmp_path / "p.json")
    write_calibration_frames(tmp_path / "again", isos=(400,), dark_shape=(32, 32),
                             flat_shape=(32, 32))
    with pytest.raises(calibrate.CalibrationError, match=r"flat/400_\d+_\d.dng: not a dark frame"):
        calibrate.calibrate_folders(tmp_path / "again" / "flat", tmp_path / "again" / "flat",
                                    tmp_path / "p.json")


def test_calibration_keeps_an_existing_profile_unless_overwrite(tmp_path, capsys):
    """The profile may be edited by hand: replaced only with --overwrite, as sid-enhance's
    outputs are; a folder as --profile_output is named, not a temporary name (issue 24)."""
    from absl import flags

    write_calibration_frames(tmp_path, isos=(400,), dark_shape=(32, 32), flat_shape=(32, 32))
    output = tmp_path / "camera.json"
    output.write_text("my own edits")
    with pytest.raises(calibrate.CalibrationError, match=r"camera.json: already exists \(pass --overwrite"):
        calibrate.calibrate_folders(tmp_path / "dark", tmp_path / "flat", output)
    assert output.read_text() == "my own edits"
    with pytest.raises(calibrate.CalibrationError, match=r"is a folder; --profile_output names"):
        calibrate.calibrate_folders(tmp_path / "dark", tmp_path / "flat", tmp_path / "dark")
    flag_values = simulate.define_flags(flags.FlagValues())
    flag_values(["simulate", "--calibrate", f"--dark_frames={tmp_path / 'dark'}",
                 f"--flat_pairs={tmp_path / 'flat'}", f"--profile_output={output}", "--overwrite"])
    assert not simulate.main(["simulate"], flag_values)
    assert noise_profile.load_noise_profile(output).name == "camera"


# ------------------------------------------------------------------------------------------
# A dataset of two phases and levels, checked, and trained on; pairs made on the fly.


@pytest.fixture(scope="module")
def raw_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raws")
    write_source(folder / "a_grbg.dng", scene("GRBG", seed=1), "GRBG", matrix=SONY_MATRIX)
    write_source(folder / "b_bggr.dng", scene("BGGR", seed=2), "BGGR")
    return folder


@pytest.fixture(scope="module")
def raw_dataset(raw_folder, tmp_path_factory):
    root = tmp_path_factory.mktemp("raw_dataset")
    summary = simulate.write_synthetic_dataset(root, source_dir=raw_folder, num_scenes=4, seed=7,
                                               progress=False)
    return root, summary


def test_the_dataset_keeps_each_sources_cfa_levels_and_rendering(raw_folder, raw_dataset):
    root, summary = raw_dataset
    assert not summary.skipped_sources and len(summary.sources) == 2
    assert any("Sony A7S2's noise profile" in warning for warning in summary.warnings)
    record = json.loads((root / "simulation.json").read_text())
    for entry in record["scenes"]:
        phase = entry["cfa_pattern"]
        blacks, white, iso = CAMERAS[phase]
        with rawpy.imread(entry["source"]) as raw:
            source_mosaic = raw.raw_image_visible.copy()
        source_render = rawlib.render_ground_truth(entry["source"])
        files = [entry["long"]["file"]] + [short["file"] for short in entry["shorts"]]
        for name in files:
            assert name.endswith(".dng")
            with rawpy.imread(str(root / name)) as raw:
                assert rawlib.bayer_phase(raw) == phase
                assert tuple(int(raw.black_level_per_channel[int(raw.raw_pattern[r, c])])
                             for r in (0, 1) for c in (0, 1)) == tuple(np.broadcast_to(blacks, 4))
                assert raw.white_level == white and raw.other.iso_speed == iso
                mosaic = raw.raw_image_visible.copy()
            if name == entry["long"]["file"]:
                np.testing.assert_array_equal(mosaic, source_mosaic)  # the clean raw itself
                # The ground truth SID would render is the source's own rendering.
                np.testing.assert_allclose(rawlib.render_ground_truth(root / name), source_render,
                                           atol=2 / 65535)
        for short in entry["shorts"]:
            assert short["iso"] == iso and short["noise"]["system_gain"] == pytest.approx(
                gain_at_iso(iso, "sony_a7s2")[0])
            assert dng.read_tiff_exposure_time(root / short["file"]) == pytest.approx(
                10.0 / short["ratio"], rel=0.02)
    lines = (root / "train_list.txt").read_text().splitlines()
    assert lines and all(f"ISO{CAMERAS['GRBG'][2]}" in line or f"ISO{CAMERAS['BGGR'][2]}" in line
                         for line in lines)


def test_pairs_are_simulated_at_the_isos_asked_for_not_the_sources(raw_folder, tmp_path):
    source = raw_sources.read_raw_source(raw_sources.list_raw_paths(raw_folder)[0])
    drawn = {raw_pairs.pair_gain(source, np.random.default_rng(seed), "sony_a7s2", (3200, 6400))[1]
             for seed in range(20)}
    assert drawn == {3200, 6400} and source.iso not in drawn
    gain, iso, note = raw_pairs.pair_gain(source, np.random.default_rng(0), "sony_a7s2", (3200,))
    assert (gain, iso, note) == (gain_at_iso(3200, "sony_a7s2")[0], 3200, None)

    root = tmp_path / "at_3200"
    simulate.write_synthetic_dataset(root, source_dir=raw_folder, num_scenes=3, seed=7, progress=False,
                                     isos=(3200,))
    record = json.loads((root / "simulation.json").read_text())
    assert record["config"]["isos"] == [3200.0]
    shorts = [short for entry in record["scenes"] for short in entry["shorts"]]
    assert shorts and all(short["iso"] == 3200 for short in shorts)
    with rawpy.imread(str(root / shorts[0]["file"])) as raw:
        assert raw.other.iso_speed == 3200


def test_the_dataset_checker_finds_no_problem(raw_dataset):
    from sid_tf2.data.check import check_dataset

    root, _ = raw_dataset
    report = check_dataset(str(root), None, None, decode=True)
    assert report.ok, [str(problem) for problem in report.problems]
    assert sum(report.pairs_per_split.values()) == 12


def test_train_sony_trains_on_the_raw_dataset(raw_dataset, tmp_path):
    from sid_tf2.training import TrainConfig, train

    root, _ = raw_dataset
    result = train(TrainConfig.from_flat(data_dir=str(root), result_dir=str(tmp_path / "run"), epochs=1,
                                         patch_size=16, val_freq=1, save_freq=1, progress=False),
                   log=lambda message: None)
    assert result.epochs_run == 2 and all(np.isfinite(result.losses))
    assert result.validation and np.isfinite(result.validation[-1][1])


def test_on_the_fly_pairs_from_raw_files(raw_folder):
    from sid_tf2.simulation.stream import OnTheFlySampler

    with pytest.warns(RuntimeWarning, match="Sony A7S2's noise profile"):
        sampler = OnTheFlySampler(raw_folder, patch_size=16, seed=2, examples_per_epoch=4)
    assert [pathlib_name(p) for p in sampler.source_paths] == ["a_grbg.dng", "b_bggr.dng"]
    for index in range(4):
        inputs, gt = sampler.example(0, index)
        assert inputs.shape == (16, 16, 4) and gt.shape == (32, 32, 3)
        assert inputs.dtype == gt.dtype == np.float32 and 0 <= inputs.min() and inputs.max() <= 1
        np.testing.assert_array_equal(sampler.example(0, index)[0], inputs)  # deterministic
    assert not np.array_equal(sampler.example(1, 0)[0], sampler.example(0, 0)[0])


def test_on_the_fly_skips_unusable_raw_files_by_name(tmp_path):
    from sid_tf2.simulation.stream import OnTheFlySampler

    sources = tmp_path / "sources"
    write_unusable_sources(sources)
    with pytest.warns(RuntimeWarning) as caught:
        with pytest.raises(ValueError, match="No photographs or usable Bayer raw files.*dark.dng"):
            OnTheFlySampler(sources, patch_size=16)
    assert {pathlib_name(str(w.message).split(":")[0]) for w in caught} == {
        "dark.dng", "linear.dng", "xtrans.dng"}
    write_source(sources / "small.dng", scene("RGGB", (24, 24)), "RGGB")
    write_source(sources / "good.dng", scene("RGGB"), "RGGB")
    with pytest.warns(RuntimeWarning) as caught:
        sampler = OnTheFlySampler(sources, patch_size=16)
    assert any("small.dng: its 24x24 mosaic is smaller than a training window" in str(w.message)
               for w in caught)
    assert [pathlib_name(path) for path in sampler.source_paths] == ["good.dng"]
    assert len(sampler.skipped_sources) == 4


def test_an_on_the_fly_window_is_the_packed_short_and_the_rendered_long(tmp_path):
    phase = "GBRG"
    source = raw_sources.read_raw_source(write_source(tmp_path / "s.dng", scene(phase, (32, 32)),
                                                      phase, matrix=SONY_MATRIX))
    rendered = raw_stream.render_long_exposure(source)
    np.testing.assert_array_equal(rendered, rawlib.render_ground_truth_uint16(tmp_path / "s.dng"))
    exact = NoiseParams(system_gain=0.0, read_sigma=0.0)  # no noise: the short is long / ratio
    inputs, gt = raw_stream.raw_example(source, rendered, 16, 1.0, exact, np.random.default_rng(6))
    packed = rawlib.pack_bayer(source.mosaic, source.black_level, source.white_level, pattern=phase)
    truth = (rendered / 65535.0).astype(np.float32)
    candidates = []
    for flip_rows in (False, True):
        for flip_cols in (False, True):
            for transpose in (False, True):
                a, b = packed, truth
                if flip_rows:
                    a, b = a[::-1], b[::-1]
                if flip_cols:
                    a, b = a[:, ::-1], b[:, ::-1]
                if transpose:
                    a, b = a.transpose(1, 0, 2), b.transpose(1, 0, 2)
                candidates.append(np.array_equal(a, inputs) and np.array_equal(b, gt))
    assert sum(candidates) == 1


def test_train_on_the_fly_from_raw_files(raw_folder, tmp_path):
    from sid_tf2.training import TrainConfig, train

    with pytest.warns(RuntimeWarning):
        result = train(TrainConfig.from_flat(data_dir=str(tmp_path / "none"), result_dir=str(tmp_path / "run"),
                                             epochs=0, patch_size=16, val_freq=0, save_freq=10**6,
                                             progress=False, simulate_on_the_fly=True,
                                             source_dir=str(raw_folder), on_the_fly_examples=2),
                       log=lambda message: None)
    assert result.epochs_run == 1 and np.isfinite(result.losses[0])


def test_the_transfer_report_says_which_kind_of_source(raw_folder, tmp_path):
    from sid_tf2.experiments.transfer import describe_sources

    assert describe_sources(raw_folder).endswith(
        ": 2 raw files (Bayer ones used as clean long exposures, raw-domain simulation)")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_source(mixed / "one.dng", scene("RGGB"), "RGGB")
    (mixed / "photo.png").write_bytes((simulate.default_photo_paths()[0]).read_bytes())
    assert describe_sources(mixed, "64x64").endswith(
        ": 1 photographs (unprocessed, scenes of 64x64) and 1 raw files (Bayer ones used as clean "
        "long exposures, raw-domain simulation)")
