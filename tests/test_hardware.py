"""The fastest settings per machine, the --faithful flag, and fitted inference tiles."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from sid_tf2.hardware import (
    EVALUATE,
    FAITHFUL,
    Hardware,
    apply_math_settings,
    detect_hardware,
    read_cpu_flags,
    resolve_speed_settings,
)
from sid_tf2.inference import _axis_weights, _weight_sum, tile_spans
from sid_tf2.speed_flags import define_speed_flags, speed_settings_from_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The kinds of machine the project meets, described as detect_hardware would see them. Each
# branch of the auto rule runs here whatever the CPU running the tests is.
AVX2_CPU = Hardware((), frozenset({"avx2", "fma", "f16c"}), onednn_bfloat16=False, onednn=False)
AVX512_CPU = Hardware((), frozenset({"avx2", "avx512f", "avx512_vnni"}), onednn_bfloat16=False,
                      onednn=True)  # e.g. Intel Skylake/Cascade Lake Xeon: no BF16
AVX512_BF16_CPU = Hardware((), frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}),
                           onednn_bfloat16=True, onednn=True)  # e.g. AMD Zen 4
AMX_CPU = Hardware((), frozenset({"avx512f", "avx512_bf16", "amx_bf16"}), onednn_bfloat16=True,
                   onednn=True)  # e.g. Intel Sapphire Rapids
TENSOR_CORE_GPU = Hardware(((8, 0),))  # e.g. A100
OLDER_GPU = Hardware(((6, 1),))  # e.g. GTX 1080: no tensor cores


@pytest.mark.parametrize("hardware, precision, jit", [
    (AVX2_CPU, "float32", True),  # what benchmarks/RESULTS.md measured: float32 + XLA fastest
    (AVX512_CPU, "float32", True),  # no native bfloat16: as AVX2
    (AVX512_BF16_CPU, "mixed_bfloat16", False),  # oneDNN's bfloat16 kernels (measured: 1.9x)
    (AMX_CPU, "mixed_bfloat16", False),  # oneDNN's bfloat16 kernels; XLA would compute float32
    (dataclasses.replace(AVX512_BF16_CPU, onednn=False), "float32", True),  # TF_ENABLE_ONEDNN_OPTS=0
    (Hardware((), frozenset({"amx_bf16"}), onednn_bfloat16=False), "float32", True),
    (TENSOR_CORE_GPU, "mixed_float16", True),  # tensor cores
    (OLDER_GPU, "float32", True),
    (Hardware(((8, 6), (6, 1))), "float32", True),  # one GPU without them: not for all
])
def test_auto_picks_the_fastest_settings_for_the_hardware(hardware, precision, jit):
    settings = resolve_speed_settings(hardware=hardware)
    assert (settings.precision, settings.jit_compile) == (precision, jit)
    assert "auto" in settings.reason and not settings.warning


@pytest.mark.parametrize("hardware", [AVX2_CPU, AVX512_CPU, AVX512_BF16_CPU, AMX_CPU,
                                      TENSOR_CORE_GPU, OLDER_GPU])
def test_evaluation_computes_the_original_way_on_every_machine(hardware):
    """test_sony.py without tuning: float32 without XLA or TF32, whatever the hardware; an
    explicit 16-bit precision is the fast, approximate evaluation."""
    assert resolve_speed_settings("float32", None, hardware=hardware, purpose="evaluate") == EVALUATE
    assert resolve_speed_settings(hardware=hardware, purpose="evaluate") == EVALUATE
    assert (EVALUATE.precision, EVALUATE.jit_compile, EVALUATE.tensor_float_32) == ("float32", False, False)
    fast = resolve_speed_settings("mixed_bfloat16", hardware=hardware, purpose="evaluate")
    assert fast.precision == "mixed_bfloat16"
    assert resolve_speed_settings("float32", True, hardware=hardware, purpose="evaluate").jit_compile


def test_faithful_and_evaluation_turn_tensor_float_32_off():
    assert not FAITHFUL.tensor_float_32 and not EVALUATE.tensor_float_32
    assert resolve_speed_settings(hardware=TENSOR_CORE_GPU).tensor_float_32
    try:
        apply_math_settings(EVALUATE)
        assert not tf.config.experimental.tensor_float_32_execution_enabled()
    finally:
        apply_math_settings(resolve_speed_settings(hardware=TENSOR_CORE_GPU))
    assert tf.config.experimental.tensor_float_32_execution_enabled()


@pytest.mark.parametrize("setting", ["0", "1"])
def test_the_onednn_state_is_detected_as_set(setting):
    """TF_ENABLE_ONEDNN_OPTS decides oneDNN at start-up: a child process with each value."""
    code = ("from sid_tf2.hardware import detect_hardware, runtime_report, FAITHFUL; "
            "import json; h = detect_hardware(); "
            "print(json.dumps([h.onednn, runtime_report(FAITHFUL)]))")
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=setting, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    onednn, report = json.loads(result.stdout.strip().splitlines()[-1])
    assert onednn is (setting == "1") and report["onednn"] is (setting == "1")
    assert report["precision"] == "float32" and report["jit_compile"] is False
    assert report["device"].startswith(("CPU: ", "GPU"))


def test_explicit_settings_are_kept_and_slow_ones_warned_about():
    slow = resolve_speed_settings("mixed_bfloat16", False, hardware=AVX2_CPU)
    assert (slow.precision, slow.jit_compile) == ("mixed_bfloat16", False)
    assert "slow" in slow.warning and "as asked" in slow.reason
    assert resolve_speed_settings("mixed_float16", hardware=AVX2_CPU).jit_compile is True
    assert not resolve_speed_settings("mixed_bfloat16", False, hardware=AMX_CPU).warning
    assert not resolve_speed_settings("float32", False, hardware=AVX2_CPU).warning


def test_faithful_is_float32_without_xla_and_refuses_contradictions():
    assert resolve_speed_settings(faithful=True, hardware=AMX_CPU) == FAITHFUL
    assert resolve_speed_settings("float32", faithful=True) == FAITHFUL
    assert (FAITHFUL.precision, FAITHFUL.jit_compile) == ("float32", False)
    with pytest.raises(ValueError, match="--faithful"):
        resolve_speed_settings("mixed_float16", faithful=True)
    with pytest.raises(ValueError, match="--faithful"):
        resolve_speed_settings(jit_compile=True, faithful=True)
    with pytest.raises(ValueError, match="precision"):
        resolve_speed_settings("float64")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert read_cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "amx_bf16"}
    assert read_cpu_flags(str(tmp_path / "missing")) == frozenset()
    machine = detect_hardware()
    assert isinstance(machine.cpu_flags, frozenset) and isinstance(machine.gpu_capabilities, tuple)


def _parse(*argv, purpose="train"):
    values = flags.FlagValues()
    define_speed_flags(values, purpose=purpose)
    values(["prog", *argv])
    return values


def test_the_speed_flags_default_to_auto_and_parse():
    defaults = _parse()
    assert (defaults.precision, defaults.jit_compile, defaults.faithful) == ("auto", None, False)
    # The suite runs with SID_TF2_TUNING=off (tests/conftest.py): auto is the reasoned rule.
    assert speed_settings_from_flags(defaults).precision == resolve_speed_settings().precision
    chosen = speed_settings_from_flags(_parse("--precision=mixed_float16", "--nojit_compile"))
    assert (chosen.precision, chosen.jit_compile) == ("mixed_float16", False)
    assert speed_settings_from_flags(_parse("--faithful")) == FAITHFUL
    with pytest.raises(ValueError, match="--faithful"):
        speed_settings_from_flags(_parse("--faithful", "--precision=mixed_bfloat16"))


def test_evaluation_without_tuning_is_float32_without_xla():
    defaults = _parse(purpose="evaluate")
    assert (defaults.precision, defaults.jit_compile) == ("auto", None)
    chosen = speed_settings_from_flags(defaults, purpose="evaluate")
    assert (chosen.precision, chosen.jit_compile, chosen.tensor_float_32) == ("float32", False, False)
    explicit = speed_settings_from_flags(_parse("--precision=mixed_bfloat16", purpose="evaluate"),
                                         purpose="evaluate")
    assert explicit.precision == "mixed_bfloat16"  # the faster, approximate evaluation


@pytest.mark.parametrize("size, tile, overlap, count, length", [
    (1424, 512, 128, 4, 464),  # a Sony frame's height: 4 x 464 instead of 4 x 512
    (2128, 512, 128, 6, 464),
    (1424, 640, 128, 3, 560),
    (2128, 640, 128, 4, 640),
    (527, 512, 128, 1, 527),  # within the last tile's 15 extra samples: one tile
])
def test_tiles_are_fitted_to_the_image(size, tile, overlap, count, length):
    spans = tile_spans(size, tile, overlap)
    assert len(spans) == count and spans[0] == (0, length) and spans[-1][1] == size


def test_tiles_always_cover_align_overlap_and_blend_to_one():
    for tile in range(32, 321, 32):
        for overlap in range(0, tile // 2 + 1, 16):
            for size in range(1, 1300, 37):
                spans = tile_spans(size, tile, overlap)
                lengths = {end - start for start, end in spans[:-1]}
                assert spans[0][0] == 0 and spans[-1][1] == size
                assert len(lengths) <= 1 and all(length <= tile for length in lengths)
                assert 0 <= (spans[-1][1] - spans[-1][0]) - (spans[0][1] - spans[0][0]) < 16 or len(spans) == 1
                for (start, end), (next_start, next_end) in zip(spans, spans[1:]):
                    assert next_start % 16 == 0 and start < next_start and end - next_start >= overlap
                total = _weight_sum(_axis_weights(spans, 2), 2 * size)
                np.testing.assert_allclose(total, 1.0, atol=1e-6, err_msg=f"{size} {tile} {overlap}")



@pytest.mark.parametrize("command", [
    [os.path.join(REPO, "train_sony.py")],
    [os.path.join(REPO, "train_fuji.py")],
    [os.path.join(REPO, "test_sony.py")],
    ["-m", "sid_tf2.enhance"],
    ["sid-enhance"],  # the console script that `pip install` makes
])
def test_every_command_lists_the_speed_flags_in_its_help(command):
    if command == ["sid-enhance"]:
        executable = shutil.which("sid-enhance")
        if executable is None:
            pytest.skip("sid-enhance is not installed (pip install -e .)")
        argv = [executable, "--help"]
    else:
        argv = [sys.executable, *command, "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    for flag in ("--precision", "--[no]jit_compile", "--[no]faithful"):
        assert flag in result.stdout, (flag, result.stdout[-2000:])
