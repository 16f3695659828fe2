"""The fastest settings per machine, the --faithful flag, and fitted inference tiles."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from absl import flags

from sid_tf2.hardware import (
    FAITHFUL,
    Hardware,
    detect_hardware,
    read_cpu_flags,
    resolve_speed_settings,
)
from sid_tf2.inference import _axis_weights, _weight_sum, tile_spans
from sid_tf2.speed_flags import define_speed_flags, speed_settings_from_flags

AVX2_CPU = Hardware((), frozenset({"avx2", "fma", "f16c"}), onednn_bfloat16=False)
AMX_CPU = Hardware((), frozenset({"avx512f", "avx512_bf16", "amx_bf16"}), onednn_bfloat16=True)


@pytest.mark.parametrize("hardware, precision, jit", [
    (AVX2_CPU, "float32", True),  # what benchmarks/RESULTS.md measured: float32 + XLA fastest
    (AMX_CPU, "mixed_bfloat16", False),  # oneDNN's bfloat16 kernels; XLA would compute float32
    (Hardware((), frozenset({"amx_bf16"}), onednn_bfloat16=False), "float32", True),
    (Hardware(((8, 0),)), "mixed_float16", True),  # tensor cores
    (Hardware(((8, 6), (6, 1))), "float32", True),  # one GPU without them: not for all
])
def test_auto_picks_the_fastest_settings_for_the_hardware(hardware, precision, jit):
    settings = resolve_speed_settings(hardware=hardware)
    assert (settings.precision, settings.jit_compile) == (precision, jit)
    assert "auto" in settings.reason and not settings.warning


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


def _parse(*argv):
    values = flags.FlagValues()
    define_speed_flags(values)
    values(["prog", *argv])
    return values


def test_the_speed_flags_default_to_auto_and_parse():
    defaults = _parse()
    assert (defaults.precision, defaults.jit_compile, defaults.faithful) == ("auto", None, False)
    assert speed_settings_from_flags(defaults) == resolve_speed_settings()
    chosen = speed_settings_from_flags(_parse("--precision=mixed_float16", "--nojit_compile"))
    assert (chosen.precision, chosen.jit_compile) == ("mixed_float16", False)
    assert speed_settings_from_flags(_parse("--faithful")) == FAITHFUL
    with pytest.raises(ValueError, match="--faithful"):
        speed_settings_from_flags(_parse("--faithful", "--precision=mixed_bfloat16"))


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


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
