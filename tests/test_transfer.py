"""The transfer experiment end to end (tiny), its report, and fine-tuning's resume rules."""

import json
import os
import re

import pytest
from helpers import run_command

from sid_tf2.experiments.report import line_chart_svg
from sid_tf2.training import TrainConfig, TrainingError, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_transfer_command_writes_a_report_with_the_three_arms(tmp_path):
    report = tmp_path / "docs" / "report.md"
    command = [
        "sid_tf2.experiments.transfer", f"--target_dir={tmp_path / 'target'}",
        "--make_synthetic_target", f"--output_dir={tmp_path / 'run'}", f"--report={report}",
        "--patch_size=16", "--pairs_per_ratio=1", "--pretrain_epochs=1", "--finetune_epochs=1",
        "--scratch_epochs=0", "--val_freq=1", "--synthetic_scenes=3", "--synthetic_size=64,64",
        "--target_scenes=4", "--target_size=64,64", "--reinit_last=1", "--freeze=encoder",
    ]
    result = run_command(*command, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    text = report.read_text()
    for title in ("(a) from scratch", "(b) synthetic pretraining only", "(c) synthetic pretraining + fine-tuning"):
        assert title in text
    assert "| arm | training data | steps |" in text and "test PSNR (dB)" in text
    plot = tmp_path / "docs" / "report_val_psnr.svg"
    assert plot.exists() and "<polyline" in plot.read_text() and "report_val_psnr.svg" in text
    results = json.loads((tmp_path / "run" / "transfer_results.json").read_text())
    assert set(results["records"]) == {"scratch", "pretrain", "finetune"}
    for record in results["records"].values():
        assert record["test"]["images"] >= 1 and record["test"]["psnr"] > 0
    settings = json.loads((tmp_path / "run" / "finetune" / "run_settings.json").read_text())
    assert settings["freeze"] == "encoder" and settings["pairs_per_ratio"] == 1
    # The target photographs and the pretraining photographs are disjoint.
    photos = {name: set(os.listdir(tmp_path / "run" / "photos" / name)) for name in ("source", "target")}
    assert photos["source"] and photos["target"] and not photos["source"] & photos["target"]


def test_a_missing_target_is_explained(tmp_path):
    result = run_command("sid_tf2.experiments.transfer", f"--target_dir={tmp_path / 'none'}",
                         f"--output_dir={tmp_path / 'run'}", cwd=REPO)
    assert result.returncode == 1 and "--make_synthetic_target" in result.stderr


def test_resuming_with_another_freeze_or_subset_is_refused(tmp_path):
    config = TrainConfig.from_flat(data_dir=str(tmp_path / "none"), result_dir=str(tmp_path / "run"), epochs=0,
                                   patch_size=16, val_freq=0, save_freq=10**6, progress=False, simulate_on_the_fly=True,
                                   on_the_fly_examples=1, on_the_fly_scene_size=32, freeze="encoder")
    train(config, log=lambda message: None)
    config = config.replace(freeze=None, epochs=1)
    with pytest.raises(TrainingError, match="freeze: checkpoint 'encoder', now None"):
        train(config, log=lambda message: None)


def test_the_chart_is_valid_svg_with_a_line_per_series():
    svg = line_chart_svg([("a", [(1, 10.0), (2, 12.5)]), ("b", [(2, 11.0)]), ("c", [])],
                         title="t", x_label="steps", y_label="dB")
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and "steps" in svg
    for y in re.findall(r'cy="([-0-9.]+)"', svg):  # every point inside the plot area
        assert 36 <= float(y) <= 400 - 52
