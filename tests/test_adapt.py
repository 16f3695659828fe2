"""sid-adapt end to end on a tiny camera: outputs, the report's numbers, resume, one-line errors."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from sid_tf2 import data, dng
from sid_tf2.adapt.command import adapt
from sid_tf2.adapt.plan import HeldOut
from sid_tf2.simulation.profiles import get_profile

PHASE, BLACK, WHITE = "GRBG", (256, 258, 254, 256), 4095  # another phase and 12-bit levels


def _scene(seed, shape=(96, 128)):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    signal = 600 + 1500 * (rows / shape[0]) + 900 * (cols / shape[1]) + rng.normal(0, 40, shape)
    signal[20:50, 30:70] += 800
    return (np.clip(signal, 0, WHITE - 300) + 256).astype(np.uint16)


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    """(raws folder, init weights): three tiny raws of the camera, a fresh network."""
    from sid_tf2.model import build_unet

    folder = tmp_path_factory.mktemp("camera")
    raws = folder / "raws"
    raws.mkdir()
    for index in range(3):
        dng.write_dng(raws / f"IMG_{index}.dng", _scene(index), cfa_pattern=PHASE, black_level=BLACK,
                      white_level=WHITE, as_shot_neutral=(0.5, 1.0, 0.7), exposure_time=1 / 60, iso=800)
    init = folder / "init.weights.h5"
    build_unet().save_weights(str(init))
    return raws, init


def _settings(raws, init, **changes):
    settings = dict(raws=str(raws), iso=None, noise_profile="nikon_d850", dark_frames=None, flat_pairs=None,
                    pairs=None, init=str(init), minutes=None, steps=4, patch_size=16, epoch_steps=2, scene_size=64,
                    heldout_scenes=3, val_every=1, val_images=1, learning_rate=1e-4, seed=0, name="mycam",
                    progress=False)
    settings.update(changes)
    return settings


def _report_numbers(path):
    text = path.read_text()
    before = re.search(r"\| before: `--init` as it is \| ([\d.]+) \| ([\d.]+) \|", text)
    after = re.search(r"\| after: adapted \| ([\d.]+) \| ([\d.]+) \|", text)
    return [float(v) for v in before.groups()], [float(v) for v in after.groups()]


def test_outputs_report_and_resume(camera, tmp_path, capsys):
    from sid_tf2.adapt.stages import score
    from sid_tf2.weights import load_model_weights

    raws, init = camera
    assert adapt(str(tmp_path), _settings(raws, init, iso=["3200"])) == 0  # the raws are at ISO 800
    weights = tmp_path / "mycam.weights.h5"
    model, camera_name = load_model_weights(str(weights))
    assert camera_name == "sony" and model.count_params() > 0
    assert get_profile(str(tmp_path / "noise_profile.json")).gaussian_read == get_profile("nikon_d850").gaussian_read
    state = json.loads((tmp_path / "adapt_state.json").read_text())
    assert state["stages"]["pretrain"]["epochs"] == 1 and len(state["stages"]["pretrain"]["losses"]) == 2
    (before_psnr, before_ssim), (after_psnr, _) = _report_numbers(tmp_path / "adapt_report.md")
    assert before_psnr == pytest.approx(state["before"]["psnr"], abs=0.006)
    assert before_ssim == pytest.approx(state["before"]["ssim"], abs=6e-5)
    pairs = tuple(data.discover_pairs(str(tmp_path / "heldout")))
    heldout = HeldOut(str(tmp_path / "heldout"), pairs, "simulated", "")
    assert after_psnr == pytest.approx(score(str(weights), heldout, str(tmp_path / "rescore"))["psnr"], abs=0.006)
    assert "simulated" in (tmp_path / "adapt_report.md").read_text()
    heldout_record = json.loads((tmp_path / "heldout" / "simulation.json").read_text())
    assert {short["iso"] for scene in heldout_record["scenes"] for short in scene["shorts"]} == {3200}
    assert (tmp_path / "adapt_report_val_psnr.svg").read_text().startswith("<svg")
    assert "held-out PSNR" in capsys.readouterr().out

    assert adapt(str(tmp_path), _settings(raws, init, iso=["3200"], steps=8)) == 0  # a larger budget continues
    state = json.loads((tmp_path / "adapt_state.json").read_text())
    assert state["stages"]["pretrain"]["epochs"] == 3
    assert [epoch for epoch, _ in state["stages"]["pretrain"]["losses"]] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="was adapted with the noise `nikon_d850`"):
        adapt(str(tmp_path), _settings(raws, init, noise_profile="canon_eos70d"))
    assert get_profile(str(tmp_path / "noise_profile.json")).name == "nikon_d850"


def test_bad_input_is_one_clear_message(camera, tmp_path):
    raws, init = camera
    with pytest.raises(ValueError, match="not a directory"):
        adapt(str(tmp_path), _settings(tmp_path / "missing", init))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no raw files"):
        adapt(str(tmp_path), _settings(tmp_path / "empty", init))
    with pytest.raises(ValueError, match="Unknown camera profile 'nikon_d8'"):
        adapt(str(tmp_path), _settings(raws, init, noise_profile="nikon_d8"))


@pytest.mark.parametrize("flag, message", [
    ("--iso=800", "--raws={missing}: not a directory"),
    ("--iso=800,high", "--iso=800,high: 'high' is not an ISO (a positive number)"),
])
def test_the_command_ends_in_one_line_on_bad_input(tmp_path, flag, message):
    missing = tmp_path / "missing"
    result = subprocess.run([sys.executable, "-m", "sid_tf2.adapt", f"--raws={missing}", flag,
                             f"--output_dir={tmp_path / 'out'}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: " + message.format(missing=missing)]


def test_real_pairs_are_fine_tuned_on_and_their_test_split_is_held_out(camera, tmp_path):
    from sid_tf2.simulation import write_synthetic_dataset

    raws, init = camera
    pairs = tmp_path / "pairs"
    write_synthetic_dataset(pairs, source_dir=raws, num_scenes=5, seed=3, profile="nikon_d850", progress=False)
    test_pairs = data.discover_pairs(str(pairs), split="test")
    assert len(test_pairs) >= 2
    out = tmp_path / "out"
    assert adapt(str(out), _settings(raws, init, pairs=str(pairs), steps=3)) == 0
    state = json.loads((out / "adapt_state.json").read_text())
    assert set(state["stages"]) == {"pretrain", "finetune"}
    assert state["before"]["images"] == len(test_pairs)
    report = (out / "adapt_report.md").read_text()
    assert f"Held-out pairs (real): the {len(test_pairs)} pairs of the test split" in report


def test_shipped_profiles_carry_elds_figures():
    from sid_tf2.simulation.profiles import shipped_profile_names

    assert shipped_profile_names() == ["canon_eos5d4", "canon_eos700d", "canon_eos70d", "nikon_d850"]
    nikon = get_profile("nikon_d850")  # ELD's NikonD850_params.npy, Profile-1
    assert nikon.gaussian_read.slope == pytest.approx(0.5635) and nikon.row.intercept == pytest.approx(-1.7977)
    assert nikon.tukey_lambda_range == pytest.approx((-0.2429, -0.1))
    for name in shipped_profile_names():
        profile = get_profile(name)
        low, high = np.exp(profile.log_k_range)
        assert profile.name == name and high / low == pytest.approx(64, rel=1e-3)


def test_without_noise_information_the_sony_profile_is_used_with_a_warning(tmp_path):
    from sid_tf2.adapt.noise_source import choose_noise

    choice = choose_noise(str(tmp_path / "profile.json"))
    assert "Sony A7S2" in choice.warning and "no raw files to estimate the noise from" in choice.warning
    assert get_profile(choice.path).gaussian_read == get_profile("sony_a7s2").gaussian_read
    with pytest.raises(ValueError, match="needs both --dark_frames=DIR and --flat_pairs=DIR"):
        choose_noise(str(tmp_path / "other.json"), dark_frames=str(tmp_path))


def test_real_pairs_named_by_the_camera_come_as_a_list(camera, tmp_path):
    from sid_tf2.adapt.plan import pairs_folder, real_pairs
    from sid_tf2.simulation import write_synthetic_dataset

    raws, _ = camera
    sid = tmp_path / "sid"
    write_synthetic_dataset(sid, source_dir=raws, num_scenes=3, seed=3, profile="nikon_d850", progress=False)
    shots, lines = tmp_path / "shots", []
    shots.mkdir()
    for index, pair in enumerate(data.discover_pairs(str(sid))):
        short, long = shots / f"DSC{2 * index:04d}.dng", shots / f"DSC{2 * index + 1:04d}.dng"
        short.symlink_to(pair.input_path)
        long.symlink_to(pair.gt_path)
        lines.append(f"{short.name} {long.name}" + (" test" if index == 0 else ""))
    listed = shots / "pairs.txt"
    listed.write_text("# short long [train|test]\n" + "\n".join(lines) + "\n")
    folder = pairs_folder(str(listed), str(tmp_path / "out" / "pairs"))
    train, test = real_pairs(folder)
    assert len(test) == 1 and sum(len(scene.input_paths) for scene in train) == len(lines) - 1
    assert [pair.ratio for pair in test] == [data.discover_pairs(str(sid))[0].ratio]
    listed.write_text(lines[1] + "\n")  # a shorter list next time: the others' links go
    train, test = real_pairs(pairs_folder(str(listed), folder))
    assert (len(train), len(test)) == (1, 0)

    listed.write_text("DSC0000.dng\n")
    with pytest.raises(ValueError, match=r"pairs.txt:1: expected 'SHORT LONG \[train\|test\]'"):
        pairs_folder(str(listed), folder)
    listed.write_text("DSC0000.dng missing.dng\n")
    with pytest.raises(ValueError, match=r"missing.dng: no such file \(listed in --pairs="):
        pairs_folder(str(listed), folder)
