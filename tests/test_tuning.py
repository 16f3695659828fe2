"""The tuner: candidates per kind of machine (injected), the choice under the accuracy floors,
the per-machine cache, and one real measurement on this machine with a small input.

No test asserts a timing: which candidate wins depends on the machine, so the tests check that
the choice is the fastest of those measured that meet the floor, whatever they measured.
"""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import sid_tf2
from sid_tf2 import tuning
from sid_tf2.hardware import Hardware, SpeedSettings
from sid_tf2.tuning import Measurement

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AVX2_CPU = Hardware((), frozenset({"avx2", "fma"}), onednn_bfloat16=False, onednn=False)
AVX512_CPU = Hardware((), frozenset({"avx512f", "avx512_vnni"}), onednn_bfloat16=False, onednn=True)
AVX512_BF16_CPU = Hardware((), frozenset({"avx512f", "avx512_bf16"}), onednn_bfloat16=True, onednn=True)
AMX_CPU = Hardware((), frozenset({"avx512f", "avx512_bf16", "amx_bf16"}), onednn_bfloat16=True, onednn=True)
TENSOR_CORE_GPU = Hardware(((8, 0),))
OLDER_GPU = Hardware(((6, 1),))
MACHINES = [AVX2_CPU, AVX512_CPU, AVX512_BF16_CPU, AMX_CPU, TENSOR_CORE_GPU, OLDER_GPU]


@pytest.mark.parametrize("machine", MACHINES)
def test_every_purpose_starts_from_the_originals_computation(machine):
    for purpose in tuning.PURPOSES:
        options = tuning.candidates(purpose, machine, backends=("openvino",))
        first = options[0]
        assert (first.precision, first.jit_compile, first.winograd_levels) == ("float32", False, ())
        assert not first.tensor_float_32
        assert len({o.name for o in options}) == len(options)
        own = [o for o in options if o.backend == "tensorflow"]
        assert options[:len(own)] == own  # other runtimes last
        assert [o.jit_compile for o in own] == sorted(o.jit_compile for o in own)


@pytest.mark.parametrize("machine", MACHINES)
def test_candidates_fit_the_purpose_and_the_machine(machine):
    gpu = bool(machine.gpu_capabilities)
    evaluate = tuning.candidates("evaluate", machine)
    assert {o.precision for o in evaluate} == {"float32"}  # metrics stay float32
    assert not any(o.tensor_float_32 for o in evaluate)
    assert any(o.winograd_levels for o in evaluate) is not gpu
    enhance = {o.precision for o in tuning.candidates("enhance", machine, backends=())}
    assert enhance == ({"float32", "mixed_float16"} if gpu else {"float32", "mixed_bfloat16"})
    runtimes = [o.name for o in tuning.candidates("enhance", machine, backends=("openvino",))
                if o.backend != "tensorflow"]
    assert runtimes == ([] if gpu else ["openvino:float32", "openvino:bfloat16"])
    for purpose in ("evaluate", "train"):
        assert all(o.backend == "tensorflow" for o in tuning.candidates(purpose, machine, ("openvino",)))
    train = tuning.candidates("train", machine)
    assert not any(o.winograd_levels or o.low_precision_from > 1 for o in train)
    with pytest.raises(ValueError, match="purpose"):
        tuning.candidates("fastest", machine)


def test_the_choice_is_the_fastest_that_meets_the_floor():
    options = tuning.candidates("enhance", AVX512_BF16_CPU, backends=())
    table = [Measurement(o.name, seconds=1.0 - 0.1 * i, quality=200.0 - 30 * i, meets_floor=200 - 30 * i >= 55)
             for i, o in enumerate(options)]
    chosen = tuning.choose(options, table)
    meeting = [m for m in table if m.meets_floor]
    assert chosen.name == min(meeting, key=lambda m: m.seconds).name
    assert chosen.name != table[-1].name  # the fastest of all misses the floor
    table[1].note = "failed (InvalidArgumentError)"
    assert tuning.choose(options, [table[0], table[1]]) == options[0]


@pytest.fixture(name="cache_dir")
def cache_dir_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv(tuning.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv(tuning.TUNING_ENV, raising=False)
    return tmp_path


def test_tuning_measures_once_per_machine_and_caches(cache_dir, monkeypatch):
    calls = []

    def fake_measure(purpose, options, **kwargs):
        calls.append(purpose)
        table = [Measurement(o.name, seconds=1.0 / (i + 1), quality=float("inf") if i == 0 else 120.0,
                             meets_floor=True) for i, o in enumerate(options)]
        return table, None, (64, 64)

    monkeypatch.setattr(tuning, "measure", fake_measure)
    monkeypatch.setattr(tuning, "onednn_switchable", lambda machine: False)
    lines = []
    first = tuning.tuned_settings("evaluate", log=lines.append)
    expected = tuning.candidates("evaluate", sid_tf2.hardware.detect_hardware())[-1]
    assert first.name == expected.name and calls == ["evaluate"]
    assert len(lines) == 2 and lines[1].startswith(f"tuned evaluate: {expected.name} (")
    assert "cached in" in lines[1] and "identical" in lines[1]
    again = tuning.tuned_settings("evaluate", log=lines.append)
    assert again.name == first.name and calls == ["evaluate"]  # from the cache
    assert again.reason.startswith("tuned for this machine")
    tuning.tuned_settings("evaluate", retune=True, log=lines.append)
    assert calls == ["evaluate", "evaluate"]
    cache = json.loads((cache_dir / tuning.CACHE_FILE).read_text())
    (entry,) = cache.values()
    assert entry["fingerprint"]["tensorflow"] and "evaluate" in entry["purposes"]
    assert tuning.clear() == 1 and tuning.load_cache() == {}


def test_a_damaged_or_unwritable_cache_costs_only_a_measurement(cache_dir, monkeypatch):
    monkeypatch.setattr(tuning, "measure", lambda purpose, options, **kwargs: (
        [Measurement(o.name, seconds=1.0, quality=float("inf"), meets_floor=True) for o in options], None, (8, 8)))
    monkeypatch.setattr(tuning, "onednn_switchable", lambda machine: False)
    (cache_dir / tuning.CACHE_FILE).write_text("{not json")
    assert tuning.tuned_settings("train", log=lambda line: None).name == "float32"
    blocked = cache_dir / "blocked"
    blocked.write_text("a file where the cache directory should be")
    monkeypatch.setenv(tuning.CACHE_ENV, str(blocked))
    lines = []
    assert tuning.tuned_settings("train", log=lines.append).name == "float32"
    assert "not cached:" in lines[-1]


def test_settings_that_need_the_other_onednn_state_are_chosen_only_where_a_restart_can_follow():
    options = tuning.candidates("enhance", AVX512_BF16_CPU, backends=())
    other = [dataclasses.replace(o, onednn=False) for o in options]
    table = [Measurement(o.name, seconds=1.0, quality=float("inf"), meets_floor=True) for o in options]
    table += [Measurement(o.name, seconds=0.5, quality=float("inf"), meets_floor=True) for o in other]
    both = options + other
    assert tuning.choose(both, table).onednn is False
    assert tuning.choose(both, table, switchable=False).onednn is None
    entry = {"table": [dataclasses.asdict(m) for m in table], "tuned": "now"}
    assert tuning.select("enhance", entry).name.endswith("+onednn_off")
    assert "+onednn" not in tuning.select("enhance", entry, switchable=False).name


def test_the_other_onednn_state_is_measured_in_a_child_and_a_restart_applies_it(cache_dir, tmp_path):
    """A real child with TF_ENABLE_ONEDNN_OPTS flipped; then a command that restarts itself."""
    keras.utils.set_random_seed(4)
    model = sid_tf2.build_unet("sony")
    options = tuning.candidates("evaluate", AVX2_CPU)[:1]
    _, reference, shape = tuning.measure("evaluate", options, model=model, shape=(32, 48))
    rows = tuning._measure_other_onednn(  # pylint: disable=protected-access
        "evaluate", options, model, "sony", shape, 30.0, reference, sid_tf2.hardware.onednn_enabled())
    (row,) = rows
    assert not row.note, row.note
    assert row.name == "float32" + ("+onednn_off" if sid_tf2.hardware.onednn_enabled() else "+onednn_on")
    assert row.quality >= tuning.FLOOR_DB["evaluate"]  # the other kernels agree closely
    script = tmp_path / "restart.py"
    script.write_text(
        "import os, sys\n"
        "from sid_tf2 import hardware, tuning\n"
        "wanted = sys.argv[1] == '1'\n"
        "settings = hardware.SpeedSettings('float32', False, onednn=wanted)\n"
        "tuning.switch_onednn(settings, log=lambda line: print(line, flush=True))\n"
        "print('onednn', hardware.onednn_enabled(), os.environ.get(tuning.USER_ONEDNN_ENV))\n")
    wanted = not sid_tf2.hardware.onednn_enabled()
    env = {k: v for k, v in os.environ.items() if k != tuning.USER_ONEDNN_ENV}
    result = subprocess.run([sys.executable, str(script), "1" if wanted else "0"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "restarting with TF_ENABLE_ONEDNN_OPTS" in result.stdout
    assert f"onednn {wanted}" in result.stdout


def test_a_tuned_runtime_runs_through_make_predictor():
    """The tuner may choose another runtime for enhancing (here OpenVINO, of the export extra
    that the test extra installs): its name round-trips and make_predictor runs it."""
    pytest.importorskip("openvino", reason="the export extra is not installed")
    settings = SpeedSettings.from_name("openvino:float32")
    assert (settings.backend, settings.precision, settings.name) == ("openvino", "float32", "openvino:float32")
    keras.utils.set_random_seed(8)
    model = sid_tf2.build_unet("sony")
    packed = tuning.reference_input(32, 48, 4)
    runtime = sid_tf2.make_predictor(model, settings=settings)
    assert runtime.settings is None and runtime.model is None  # not TensorFlow
    expected = sid_tf2.make_predictor(model)(packed)
    assert tuning._psnr(runtime(packed), expected) >= tuning.FLOOR_DB["evaluate"]  # pylint: disable=protected-access


def test_a_purpose_whose_tuned_choice_is_another_runtime_runs_there(monkeypatch):
    pytest.importorskip("openvino", reason="the export extra is not installed")
    monkeypatch.setattr(tuning, "tuned_settings",
                        lambda purpose, model=None: SpeedSettings.from_name("openvino:float32"))
    predictor = sid_tf2.make_predictor(sid_tf2.build_unet("sony"), purpose="enhance")
    assert predictor.settings is None and predictor.model is None  # OpenVINO, not TensorFlow
    assert predictor(tuning.reference_input(16, 16, 4)).shape == (1, 32, 32, 3)


def test_tuning_off_uses_the_reasoned_rule(monkeypatch):
    monkeypatch.setenv(tuning.TUNING_ENV, "off")
    settings = tuning.tuned_settings("evaluate")
    assert (settings.precision, settings.jit_compile) == ("float32", False)
    assert "SID_TF2_TUNING=off" in settings.reason


def test_a_real_measurement_on_this_machine(cache_dir):
    """Every candidate runs here for real (small input, short budget); the floors hold."""
    keras.utils.set_random_seed(3)
    model = sid_tf2.build_unet("sony")
    lines = []
    settings = tuning.tuned_settings("enhance", model=model, shape=(48, 64), budget=30, log=lines.append)
    entry = next(iter(tuning.load_cache().values()))["purposes"]["enhance"]
    table = [Measurement(**row) for row in entry["table"]]
    assert table[0].name == "float32" and table[0].quality == float("inf")
    measured = [m for m in table if not m.note]
    assert len(measured) >= 2
    chosen = next(m for m in table if m.name == settings.name)
    assert chosen.meets_floor and chosen.quality >= tuning.FLOOR_DB["enhance"]
    # A library call cannot restart the process: the fastest of this process's oneDNN state.
    assert chosen.seconds == min(m.seconds for m in measured if m.meets_floor and "+onednn" not in m.name)
    for m in measured:  # float32 variants agree with the original's computation closely
        if m.name.startswith("float32"):
            assert m.quality >= tuning.FLOOR_DB["evaluate"], m
    predictor = sid_tf2.make_predictor(model, settings=settings)
    output = predictor(tuning.reference_input(48, 64, 4))
    assert output.shape == (1, 96, 128, 3) and np.isfinite(output).all()


def test_the_command_line_shows_retunes_and_clears(tmp_path):
    env = dict(os.environ, SID_TF2_CACHE_DIR=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("SID_TF2_TUNING", None)

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "sid_tf2.tune", *args], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    assert "nothing tuned yet" in run()
    shown = run("--retune=train", "--budget=8")
    assert "tuned train:" in shown and "  train: " in shown
    assert "cleared 1 machine entry" in run("--clear")
    result = subprocess.run([sys.executable, "-m", "sid_tf2.tune", "--retune=fastest"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--retune takes" in result.stderr
