"""The noise estimate from ordinary raws (`simulation.noise_estimate`), on DNGs with known noise.

The scenes are what the estimator must see through: flat patches at many levels, a smooth
gradient and a textured region, with Poisson-Gaussian noise of a chosen gain K and read noise
added in DN, written as the camera's DNG with its ISO tag.
"""

import math

import numpy as np
import pytest

from sid_tf2 import dng
from sid_tf2.simulation.noise_estimate import EstimationError, estimate_profile
from sid_tf2.simulation.noise_profile import load_noise_profile
from sid_tf2.simulation.profiles import get_profile

BLACK, WHITE = 512, 16383
SHAPE = (320, 480)


def _scene(seed, dark_patches):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    signal = 50 + 3000 * (cols / SHAPE[1]) ** 2
    for _ in range(20):
        top, left = rng.integers(0, SHAPE[0] - 40), rng.integers(0, SHAPE[1] - 40)
        height, width = rng.integers(20, 100), rng.integers(20, 130)
        level = rng.uniform(5, 12000)
        signal[top:top + height, left:left + width] = level * (1 + 0.2 * rows[top:top + height, left:left + width]
                                                              / SHAPE[0])
    if dark_patches:
        for _ in range(8):
            top, left = rng.integers(0, SHAPE[0] - 60), rng.integers(0, SHAPE[1] - 90)
            signal[top:top + 60, left:left + 90] = rng.uniform(0, 15)
    texture = np.sin(cols[240:300, 80:240] * 0.9) * np.sin(rows[240:300, 80:240] * 1.3)
    signal[240:300, 80:240] += 800 * (1 + texture)
    return signal


def _write_raws(folder, gain, read, *, iso=400, count=2, dark_patches=True, seed=0, noise=True):
    rng = np.random.default_rng(seed + 100)
    paths = []
    for index in range(count):
        signal = _scene(seed + index, dark_patches)
        if noise:
            signal = rng.poisson(signal / gain) * gain + rng.normal(0, read, signal.shape)
        mosaic = np.clip(np.round(signal + BLACK), 0, WHITE).astype(np.uint16)
        path = str(folder / f"iso{iso}_{seed}_{index}.dng")
        dng.write_dng(path, mosaic, cfa_pattern="RGGB", black_level=BLACK, white_level=WHITE,
                      iso=iso, exposure_time=0.01)
        paths.append(path)
    return paths


@pytest.mark.parametrize("gain, read", [(0.4, 2.0), (1.5, 5.0), (4.0, 12.0)])
def test_gain_and_read_noise_are_recovered_from_raws_with_dark_areas(tmp_path, gain, read):
    profile, per_iso = estimate_profile(_write_raws(tmp_path, gain, read))
    (estimated_gain, estimated_read, files), = per_iso.values()
    assert files == 2
    assert estimated_gain == pytest.approx(gain, rel=0.15)  # measured: 3-13 % high (texture only adds)
    assert estimated_read == pytest.approx(read, rel=0.25)
    assert profile["K_at_iso100"] == pytest.approx(estimated_gain / 4)  # K proportional to ISO
    sony = get_profile("sony_a7s2").gaussian_read
    assert math.exp(profile["G"]["bias"] + sony.slope * math.log(estimated_gain)) == pytest.approx(estimated_read)
    assert "ISO 400: K" in profile["description"] and "anchored there" in profile["description"]


def test_without_dark_areas_only_the_gain_is_measured_and_the_read_noise_is_sonys(tmp_path):
    profile, per_iso = estimate_profile(_write_raws(tmp_path, 1.5, 5.0, dark_patches=False))
    (gain, read, _), = per_iso.values()
    assert gain == pytest.approx(1.5, rel=0.15) and read is None
    sony = get_profile("sony_a7s2")
    assert profile["G"]["bias"] == sony.gaussian_read.intercept and profile["TL"]["bias"] == sony.tukey_read.intercept
    assert "read noise not seen" in profile["description"]


def test_two_isos_give_the_read_noise_slope(tmp_path):
    paths = _write_raws(tmp_path, 0.4, 2.0, iso=400) + _write_raws(tmp_path, 1.6, 5.0, iso=1600, seed=7)
    profile, per_iso = estimate_profile(paths)
    assert sorted(per_iso) == [400.0, 1600.0]
    assert per_iso[1600.0][0] / per_iso[400.0][0] == pytest.approx(4.0, rel=0.2)
    expected_slope = math.log(5.0 / 2.0) / math.log(4.0)
    assert profile["G"]["slope"] == pytest.approx(expected_slope, abs=0.25)


def test_noise_free_raws_and_raws_without_iso_are_refused_with_the_reason(tmp_path):
    with pytest.raises(EstimationError, match="no shot noise to be seen"):
        estimate_profile(_write_raws(tmp_path, 1.0, 0.0, noise=False))
    path = str(tmp_path / "no_iso.dng")
    dng.write_dng(path, np.full((64, 64), 600, np.uint16), cfa_pattern="RGGB", black_level=BLACK, white_level=WHITE)
    with pytest.raises(EstimationError, match=f"{path}: no ISO in its metadata"):
        estimate_profile([path])


def test_sid_adapt_uses_the_estimate_and_falls_back_to_sony_with_the_reason(tmp_path):
    from sid_tf2.adapt.noise_source import choose_noise

    raws = _write_raws(tmp_path, 1.5, 5.0)
    choice = choose_noise(str(tmp_path / "estimated.json"), raws=raws)
    assert choice.warning is None and choice.description.startswith("estimated from the camera's raws")
    saved = load_noise_profile(choice.path)
    assert math.exp(saved.log_k_range[0]) == pytest.approx(1.5 / 4, rel=0.15)  # K_range starts at ISO 100

    flat = _write_raws(tmp_path, 1.0, 0.0, noise=False, seed=3)
    fallback = choose_noise(str(tmp_path / "fallback.json"), raws=flat)
    assert "no shot noise to be seen" in fallback.warning and "Sony A7S2" in fallback.warning
    assert load_noise_profile(fallback.path).gaussian_read == get_profile("sony_a7s2").gaussian_read
