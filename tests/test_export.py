"""LiteRT and ONNX exports and the OpenVINO, LiteRT and ONNX Runtime backends, each held to the
Keras float32 model on small inputs; a missing runtime gives the one-line error.

The network, its input and its Keras output are conftest.py's `sony`, `packed` and `reference`:
a seeded random initialisation whose last layer is scaled so that the output spans the image
range (checked), so that agreeing with it means something.
"""

import os
import sys

import numpy as np
import pytest
from helpers import run_command, spanning_network

import sid_tf2
from sid_tf2.backends import BACKEND_PRECISIONS, MissingExtraError, make_runner
from sid_tf2.backends.calibration import check_input, simulated_patches
from sid_tf2.backends.common import agreement_psnr
from sid_tf2.backends.litert_backend import LiteRTRunner
from sid_tf2.inference import Predictor, make_predictor
from weight_converter import export as export_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
@pytest.fixture(scope="module")
def calibration():
    return simulated_patches(count=2, size=64)


@pytest.fixture(scope="module")
def tiled_reference(sony, packed):
    return make_predictor(sony, tile_size=32, tile_overlap=16)(packed)


@pytest.mark.parametrize("backend", ["openvino", "litert", "onnxruntime"])
def test_float32_backend_agrees_with_keras_whole_and_tiled(backend, sony, packed, reference,
                                                          tiled_reference):
    run = make_runner(sony, backend)
    whole = Predictor(run, block=2)(packed)
    assert agreement_psnr(whole, reference) >= 100
    kept = whole.copy()
    run(np.ascontiguousarray(packed[:, ::-1]))
    np.testing.assert_array_equal(whole, kept)  # a result is the caller's, not a reused buffer
    # Tiles of 32 with overlap 16 on 48x80: 2x4 tiles, blended as TensorFlow's are.
    tiled = Predictor(run, block=2, tile_size=32, tile_overlap=16)
    assert agreement_psnr(tiled(packed), tiled_reference) >= 100
    assert agreement_psnr(tiled_reference, reference) < 100  # tiling did change the output


@pytest.mark.parametrize("backend,precision,floor", [
    ("litert", "float16", 60), ("litert", "dynamic_int8", 30), ("litert", "int8", 30),
    ("onnxruntime", "int8", 30), ("openvino", "int8", 30),
])
def test_reduced_precision_backend_is_close_but_not_float32(backend, precision, floor, sony,
                                                            packed, reference, calibration):
    predictor = make_predictor(sony, backend=backend, precision=precision,
                               calibration=calibration)
    psnr = agreement_psnr(predictor(packed), reference)
    assert floor <= psnr < 100, f"{backend} {precision}: {psnr:.1f} dB"


def test_backend_refuses_a_precision_it_does_not_compute_in(sony):
    assert "int8" not in BACKEND_PRECISIONS["tensorflow"]
    with pytest.raises(ValueError, match="onnxruntime backend computes in"):
        make_predictor(sony, backend="onnxruntime", precision="float16")
    with pytest.raises(ValueError, match="jit_compile"):
        make_predictor(sony, backend="litert", jit_compile=True)


@pytest.mark.parametrize("backend,module", [
    ("openvino", "openvino"), ("litert", "ai_edge_litert"), ("onnxruntime", "onnxruntime"),
])
def test_missing_runtime_is_a_one_line_error_naming_the_extra(backend, module, sony, monkeypatch):
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like
    with pytest.raises(MissingExtraError) as error:
        make_predictor(sony, backend=backend)
    message = str(error.value)
    assert "\n" not in message and 'pip install "sid-tf2[export]"' in message


def test_missing_converter_is_a_one_line_error_and_writes_nothing(tmp_path, sony, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(MissingExtraError, match=r"tf2onnx.*sid-tf2\[export\]"):
        export_lib.export(sony, "sony", str(tmp_path / "sony.onnx"))
    assert os.listdir(tmp_path) == []


def test_tflite_export_from_the_command_line_prints_its_psnr_and_runs(tmp_path, sony):
    weights = tmp_path / "sony.weights.h5"
    sony.save_weights(weights)
    output = tmp_path / "sony.tflite"
    result = run_command("weight_converter", f"--checkpoint={weights}", f"--output={output}", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("wrote"))
    assert "litert float32 export" in line and float(line.split(" dB")[0].split()[-1]) >= 100
    packed = check_input("sony", (37, 53))  # dynamic sizes, odd ones included
    assert agreement_psnr(LiteRTRunner(str(output))(packed), sony(packed).numpy()) >= 100


def test_fixed_size_onnx_export_round_trips_and_takes_only_its_size(tmp_path, sony):
    from sid_tf2.backends.onnx_backend import OnnxRuntimeRunner

    output = tmp_path / "sony.onnx"
    report = export_lib.export(sony, "sony", str(output), input_size=(32, 48))
    assert report.input_shape == (1, 32, 48, 4) and report.psnr >= 100
    runner = OnnxRuntimeRunner(str(output))
    packed = check_input("sony", (32, 48))
    assert agreement_psnr(runner(packed), sony(packed).numpy()) >= 100
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        runner(check_input("sony", (48, 48)))


def test_int8_onnx_export_is_calibrated_and_reported(tmp_path, sony, monkeypatch):
    monkeypatch.setattr(export_lib, "calibration_patches",
                        lambda camera, directory: simulated_patches(count=2, size=64))
    report = export_lib.export(sony, "sony", str(tmp_path / "int8.onnx"), quantize="int8")
    assert 30 <= report.psnr < 100
    assert report.size_bytes < 10 * 2**20  # float32 weights alone are 31 MB


def test_fuji_export_round_trips(tmp_path):
    fuji = spanning_network("fuji", 1)
    packed = check_input("fuji", (24, 36))
    reference = fuji(packed).numpy()
    assert reference.shape == (1, 72, 108, 3)
    report = export_lib.export(fuji, "fuji", str(tmp_path / "fuji.tflite"))
    assert report.input_shape[-1] == 9 and report.psnr >= 100
    runner = LiteRTRunner(str(tmp_path / "fuji.tflite"))
    assert agreement_psnr(runner(packed), reference) >= 100


def test_fuji_int8_without_raw_files_is_refused(tmp_path):
    with pytest.raises(export_lib.ExportError, match="X-Trans raw files"):
        export_lib.export(spanning_network("fuji", 1), "fuji", str(tmp_path / "f.tflite"), quantize="int8")


def test_export_that_disagrees_is_not_kept(tmp_path, sony, monkeypatch):
    existing = tmp_path / "sony.tflite"
    existing.write_bytes(b"the previous good export")
    monkeypatch.setitem(export_lib.FLOORS, None, float("inf"))
    with pytest.raises(export_lib.ExportError, match="not written"):
        export_lib.export(sony, "sony", str(existing), overwrite=True)
    assert existing.read_bytes() == b"the previous good export"
    assert os.listdir(tmp_path) == ["sony.tflite"]  # no temporary file left


def test_existing_export_is_not_overwritten_without_the_flag(tmp_path, sony):
    existing = tmp_path / "sony.onnx"
    existing.write_bytes(b"x")
    with pytest.raises(export_lib.ExportError, match="already exists"):
        export_lib.export(sony, "sony", str(existing))


def test_sid_tf2_exposes_make_predictor():
    from sid_tf2 import tuning

    assert sid_tf2.make_predictor is tuning.predictor_for_purpose  # make_predictor, plus purpose=


def test_sid_enhance_without_the_runtime_stops_with_one_line(tmp_path, sony, monkeypatch, capsys):
    from absl import flags

    from sid_tf2 import enhance

    weights = tmp_path / "sony.weights.h5"
    sony.save_weights(weights)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    values = enhance.define_flags(flags.FlagValues())
    argv = values(["sid-enhance", "PHOTO.ARW", f"--weights={weights}",
                   f"--output_dir={tmp_path / 'out'}", "--backend=onnxruntime"])
    assert enhance.main(argv, values) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and 'pip install "sid-tf2[export]"' in errors[0], errors
