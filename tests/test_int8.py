"""OpenVINO int8 quantised by NNCF: its agreement with float32, the layers it keeps float, the
IR export, sid-enhance --fast's first line, and bad calibration input.

The network is conftest.py's `sony` (as in test_export.py), a seeded random one (its last
layer scaled so that the output spans the image range). Its bounds were measured on it: NNCF
int8 with g_conv10 in float 38.2-38.9 dB against float32 on the check input (2, 4 or 8
calibration patches of 64); the accuracy control asked for 45 dB kept five layers float and
reached 50.9 dB.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import run_command

from sid_tf2.backends.calibration import simulated_patches
from sid_tf2.backends.common import agreement_measures, agreement_psnr
from sid_tf2.backends.openvino_backend import OpenVINORunner
from sid_tf2.backends.openvino_int8 import FLOAT_LAYERS, convolution_names, quantize_openvino
from sid_tf2.inference import make_predictor
from weight_converter import export as export_lib

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_nncf_int8_keeps_the_last_layer_float_and_stays_close(sony, packed, reference):
    int8 = quantize_openvino(sony, simulated_patches(count=2, size=64))
    assert int8.float_layers == FLOAT_LAYERS == ("g_conv10",)
    assert len(convolution_names(sony)) == 23 and "g_conv10" in int8.why
    output = OpenVINORunner(int8.model, "int8")(packed)
    assert 35.0 <= agreement_psnr(output, reference) < 80.0  # measured 38.2-38.9: int8, not float32
    predictor = make_predictor(sony, backend="openvino", precision="int8",
                               calibration=simulated_patches(count=2, size=64))
    assert "NNCF int8" in predictor.note and "g_conv10" in predictor.note
    np.testing.assert_allclose(predictor(packed), output, atol=1e-6)  # the same calibration, the same model


ACCURACY_CONTROL = """
import json, sys
sys.path.insert(0, sys.argv[1])
from helpers import EXPORT_INPUT, spanning_network
from sid_tf2.backends.calibration import check_input, simulated_patches
from sid_tf2.backends.common import agreement_psnr
from sid_tf2.backends.openvino_backend import OpenVINORunner
from sid_tf2.backends.openvino_int8 import quantize_openvino
from sid_tf2.backends.quiet import runtime_output_hidden

sony, packed = spanning_network("sony", 0), check_input("sony", EXPORT_INPUT[1:3])
reference = sony(packed, training=False).numpy()
calibration = simulated_patches(count=2, size=64)
with runtime_output_hidden():
    plain = quantize_openvino(sony, calibration)
    controlled = quantize_openvino(sony, calibration, validation=simulated_patches(count=2, size=64, seed=1),
                                   target_db=45.0)
print(json.dumps({"float_layers": controlled.float_layers, "why": controlled.why,
                  "plain": agreement_psnr(OpenVINORunner(plain.model, "int8")(packed), reference),
                  "controlled": agreement_psnr(OpenVINORunner(controlled.model, "int8")(packed), reference)}))
"""


@pytest.mark.subprocess
def test_the_accuracy_control_keeps_more_layers_float_for_a_higher_target(sony):
    # In a process of its own: NNCF's accuracy control leaves worker threads behind, after which
    # a signal to the process (as tests of signals send) can crash it.
    result = subprocess.run([sys.executable, "-c", ACCURACY_CONTROL, os.path.dirname(__file__)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(FLOAT_LAYERS) < set(measured["float_layers"]) and "accuracy control" in measured["why"]
    assert measured["controlled"] >= measured["plain"] + 3.0  # measured: +12 dB
    calibration = simulated_patches(count=2, size=64)
    with pytest.raises(ValueError, match="no convolution named g_conv11"):
        quantize_openvino(sony, calibration, float_layers=("g_conv11",))
    with pytest.raises(ValueError, match="needs validation inputs"):
        quantize_openvino(sony, calibration, target_db=45.0)


def test_agreement_measures_see_the_dark_tenth():
    reference = np.linspace(0, 1, 100 * 100 * 3).reshape(1, 100, 100, 3)
    output = reference.copy()
    output[0, :10] += 0.02  # an error only in the darkest rows
    measures = agreement_measures(output, reference)
    assert measures["dark_tenth_psnr"] == pytest.approx(-20 * np.log10(0.02), abs=0.1)
    assert measures["psnr"] == pytest.approx(-20 * np.log10(0.02) + 10, abs=0.1)  # a tenth of the pixels
    assert measures["worst_1pct_levels"] == pytest.approx(0.02 * 255, abs=0.01) and measures["ssim"] < 1


def test_openvino_ir_int8_export_round_trips_without_tensorflow_names(tmp_path, sony, packed, reference,
                                                                      monkeypatch):
    monkeypatch.setattr(export_lib, "calibration_patches",
                        lambda camera, directory: simulated_patches(count=2, size=64))
    output = tmp_path / "sony_int8.xml"
    report = export_lib.export(sony, "sony", str(output), quantize="int8")
    assert sorted(os.listdir(tmp_path)) == ["sony_int8.bin", "sony_int8.xml"]  # nothing else left
    assert report.runtime == "openvino" and 30 <= report.psnr < 80
    assert report.size_bytes < 12 * 2**20  # float32 weights alone are 31 MB
    runner = OpenVINORunner(str(output), "int8")
    assert 35.0 <= agreement_psnr(runner(packed), reference) < 80.0
    (tmp_path / "sony_int8.xml").unlink()  # the weights alone are still someone's file
    with pytest.raises(export_lib.ExportError, match="sony_int8.bin: already exists"):
        export_lib.export(sony, "sony", str(output), quantize="int8")


def test_float32_openvino_ir_export_is_float32(tmp_path, sony, packed, reference):
    report = export_lib.export(sony, "sony", str(tmp_path / "sony.xml"))
    assert report.psnr >= 100 and report.size_bytes > 25 * 2**20  # float32, not OpenVINO's default float16
    assert agreement_psnr(OpenVINORunner(str(tmp_path / "sony.xml"))(packed), reference) >= 100


def _folder_of_notes(root):
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a raw file")
    return root / "notes"


def _fake_raw(root):
    (root / "fake").mkdir()
    (root / "fake" / "IMG_1.ARW").write_text("a text file named as a raw file")
    return root / "fake"


@pytest.mark.parametrize("make_dir, message", [
    (lambda root: root / "missing", "missing: no such file or folder"),
    (_folder_of_notes, "no raw files to calibrate on"),
    (_fake_raw, "IMG_1.ARW: not a raw file that LibRaw can read"),
])
def test_bad_calibration_input_ends_in_one_line(tmp_path, sony, make_dir, message):
    weights = tmp_path / "sony.weights.h5"
    sony.save_weights(str(weights))
    calibration_dir = make_dir(tmp_path)
    result = run_command("weight_converter", f"--checkpoint={weights}", f"--output={tmp_path / 'q.xml'}",
                         "--quantize=int8", f"--calibration_dir={calibration_dir}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0] and str(calibration_dir) in lines[0]
    assert not (tmp_path / "q.xml").exists() and not (tmp_path / "q.bin").exists()


def test_sid_enhance_fast_names_int8_and_its_measured_quality_first(tmp_path, sony):
    from sid_tf2 import dng

    weights = tmp_path / "sony.weights.h5"
    sony.save_weights(str(weights))
    mosaic = np.random.default_rng(0).integers(512, 2000, size=(96, 128)).astype(np.uint16)
    dng.write_dng(str(tmp_path / "dark.dng"), mosaic, cfa_pattern="RGGB", black_level=512, white_level=16383)
    result = run_command("sid_tf2.enhance", str(tmp_path / "dark.dng"), f"--weights={weights}",
                         f"--output_dir={tmp_path / 'out'}", "--fast")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("sid-enhance: 1 file(s)") and "openvino backend computing in int8" in first
    assert "NNCF int8" in first and " dB against float32" in first and "darkest tenth" in first
    assert (tmp_path / "out" / "dark_sid.png").exists()
    refused = run_command("sid_tf2.enhance", str(tmp_path / "dark.dng"), f"--weights={weights}",
                          "--fast", "--backend=litert")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].endswith("--fast is --backend=openvino "
                                                            "--backend_precision=int8: give one or the other")
