"""The tuner: candidates per kind of machine (injected), the margin, the per-model accuracy check,
a cache that cannot break a run, library calls that never measure, and real measurements of
every candidate kind on small inputs.

No test asserts a timing: which candidate wins depends on the machine, so the tests fabricate
tables where a choice is tested and check only that real measurements produce valid tables.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import sid_tf2
from sid_tf2 import hardware, tuning
from sid_tf2.hardware import Hardware
from sid_tf2.tuning import Measurement, cache, choose, measuring

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AVX2_CPU = Hardware((), frozenset({"avx2", "fma"}), onednn_bfloat16=False, onednn=False)
AVX512_CPU = Hardware((), frozenset({"avx512f", "avx512_vnni"}), onednn_bfloat16=False, onednn=True)
AVX512_BF16_CPU = Hardware((), frozenset({"avx512f", "avx512_bf16"}), onednn_bfloat16=True, onednn=True)
AMX_CPU = Hardware((), frozenset({"avx512f", "avx512_bf16", "amx_bf16"}), onednn_bfloat16=True, onednn=True)
TENSOR_CORE_GPU = Hardware(((8, 0),))
OLDER_GPU = Hardware(((6, 1),))
MACHINES = [AVX2_CPU, AVX512_CPU, AVX512_BF16_CPU, AMX_CPU, TENSOR_CORE_GPU, OLDER_GPU]


def rows_for(purpose, machine, medians, spread=0.01, quality=60.0):
    """A fabricated table: each candidate's rounds around its median."""
    names = tuning.CANDIDATES[purpose][tuning.machine_kind(machine)]
    return [Measurement(name, times=[m - spread, m, m + spread], quality=tuning.IDENTICAL_DB if i == 0 else quality,
                        meets_floor=i == 0 or purpose == "train" or quality >= tuning.FLOOR_DB[purpose])
            for i, (name, m) in enumerate(zip(names, medians))]


@pytest.fixture(name="machine")
def machine_fixture(monkeypatch):
    """This machine replaced by an AVX512-BF16 CPU, whose enhance and train have candidates."""
    monkeypatch.setattr(hardware, "detect_hardware", lambda: AVX512_BF16_CPU)
    return AVX512_BF16_CPU


@pytest.fixture(name="cache_dir")
def cache_dir_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv(tuning.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(tuning.TUNING_ENV, raising=False)
    monkeypatch.setattr(cache, "_PROCESS_CACHE", {})
    monkeypatch.setattr(choose, "_WARNED", set())
    return tmp_path / "cache"


@pytest.fixture(name="small")
def small_fixture(monkeypatch):
    """Measure on small inputs: the same code paths, a fraction of the time."""
    monkeypatch.setattr(measuring, "ENHANCE_INPUT", (48, 64))
    monkeypatch.setattr(measuring, "ENHANCE_TILE", 256)  # one tile, as a Sony frame's 560x640 at 640
    monkeypatch.setattr(measuring, "EVALUATE_INPUT", (32, 48))
    monkeypatch.setattr(measuring, "TRAIN_PATCH", 32)


@pytest.fixture(name="fake_measure")
def fake_measure_fixture(monkeypatch):
    """Measuring replaced by a fabricated table in which the first candidate after the reference
    is twice as fast; returns the list of purposes measured."""
    calls = []

    def fake(purpose, options, *args, **kwargs):
        calls.append(purpose)
        machine = hardware.detect_hardware()
        return rows_for(purpose, machine, [1.0, 0.5, 0.8, 0.9][:len(options)])

    monkeypatch.setattr(choose, "measure_inference", fake)
    monkeypatch.setattr(choose, "measure_training", lambda options, *a, **k: fake("train", options))
    return calls


@pytest.mark.parametrize("machine", MACHINES)
def test_few_candidates_the_reference_first_and_nothing_shape_compiled_for_enhance(machine):
    for purpose in tuning.PURPOSES:
        options = tuning.candidates(purpose, machine)
        assert 1 <= len(options) <= 5
        first = options[0]
        assert (first.name, first.tensor_float_32) == ("float32", False)
        assert len({o.name for o in options}) == len(options)
        assert tuning.reasoned(purpose, machine).name in {o.name for o in options}
    assert {o.precision for o in tuning.candidates("evaluate", machine)} == {"float32"}
    assert tuning.reasoned("evaluate", machine).name == "float32"  # never changed unmeasured
    assert not any(o.jit_compile or o.variant.winograd_levels for o in tuning.candidates("enhance", machine))


def test_the_recorded_winners_come_right_after_the_reference():
    assert tuning.reasoned("enhance", AVX512_BF16_CPU).name == "mixed_bfloat16"
    assert tuning.reasoned("train", AMX_CPU).name == "mixed_bfloat16"
    assert tuning.reasoned("train", AVX2_CPU).name == "float32+xla"
    assert tuning.reasoned("train", TENSOR_CORE_GPU).name == "mixed_float16+xla"
    # No native bfloat16: only int8 may beat float32, and never unmeasured.
    assert [o.name for o in tuning.candidates("enhance", AVX512_CPU)] == ["float32", "openvino:int8"]
    assert tuning.reasoned("enhance", AVX512_CPU).name == "float32"
    with pytest.raises(ValueError, match="purpose"):
        tuning.candidates("fastest", AVX2_CPU)


def test_a_candidate_replaces_the_reference_only_by_the_margin_beyond_the_spread():
    def choice(median, spread):
        rows = rows_for("enhance", AVX512_BF16_CPU, [1.0, median, 2.0], spread=spread)
        return tuning.rank(rows)[0]

    assert choice(0.97, 0.001) == "float32"  # 3 %: within the margin
    assert choice(0.90, 0.06) == "float32"  # 10 % but the spreads overlap
    assert choice(0.90, 0.01) == "mixed_bfloat16"
    rows = rows_for("enhance", AVX512_BF16_CPU, [1.0, 0.5, 0.7])
    assert tuning.rank(rows) == ["mixed_bfloat16", "mixed_bfloat16@3", "float32"]  # fastest first
    rows[1].meets_floor = False
    assert tuning.rank(rows) == ["mixed_bfloat16@3", "float32"]


def test_the_reference_model_spans_the_output_range_where_a_random_one_does_not():
    model = tuning.full_range_model("sony")
    packed = tuning.realistic_input(4)
    low, high = np.percentile(np.asarray(model(packed)), [1, 99])
    assert low <= 0.05 and high >= 0.95
    bfloat16 = tuning.settings_named("enhance", "mixed_bfloat16")
    realistic = tuning.check_accuracy("enhance", bfloat16, model)
    keras.utils.set_random_seed(0)
    unscaled = tuning.check_accuracy("enhance", bfloat16, sid_tf2.build_unet("sony"))
    assert 45 < realistic < 75 and unscaled > realistic + 10  # bfloat16's error, honestly sized
    assert tuning.check_accuracy("enhance", tuning.settings_named("enhance", "float32"), model) is None
    assert tuning.realistic_input(9).shape == (1, tuning.CHECK_SIDE, tuning.CHECK_SIDE, 9)  # Fuji

@pytest.mark.slow

def test_every_candidate_kind_is_measured_through_the_public_function(small):
    """TensorFlow float32, 16-bit, XLA, Winograd and another runtime (OpenVINO, installed by the
    test extra): each runs, and the table holds its rounds and its quality."""
    pytest.importorskip("openvino", reason="the export extra is not installed")
    model = tuning.full_range_model("sony")
    names = ["float32", "mixed_bfloat16", "float32+xla", "float32+winograd4-5", "openvino:float32"]
    for purpose in ("evaluate", "enhance"):
        rows = tuning.measure_inference(purpose, [tuning.settings_named(purpose, n) for n in names], model)
        assert [row.name for row in rows] == names
        for row in rows:
            assert not row.error, row.error
            assert len(row.times) >= tuning.MIN_ROUNDS and all(t > 0 for t in row.times)
        assert rows[0].quality == tuning.IDENTICAL_DB
        assert all(row.quality > 100 for row in rows if row.name.split(":")[-1].startswith("float32"))
        json.dumps([row.__dict__ for row in rows], allow_nan=False)  # storable as it is


def test_training_candidates_are_measured_with_their_losses(small):
    options = [tuning.settings_named("train", n) for n in ("float32", "mixed_bfloat16")]
    rows = tuning.measure_training(options, "sony", patch=32)
    assert [row.name for row in rows] == ["float32", "mixed_bfloat16"]
    assert rows[0].quality == 0 and rows[0].meets_floor
    assert 0 < rows[1].quality <= tuning.TRAIN_LOSS_RTOL["mixed_bfloat16"] and rows[1].meets_floor
    assert all(len(row.times) >= tuning.MIN_ROUNDS for row in rows)


def test_a_script_measures_once_then_reads_the_cache(machine, cache_dir, small):
    """The first tuned call measures for real (small inputs), prints a progress line and the
    table, and caches; the next uses the cache and prints nothing."""
    lines = []
    first = tuning.tuned_settings("enhance", tune=True, log=lines.append)
    assert lines[0].startswith("measuring the enhance settings once for this machine: 4 candidates")
    assert sum("(reference)" in line for line in lines) == 1
    table = json.loads((cache_dir / tuning.CACHE_FILE).read_text())
    (entry,) = table.values()
    assert set(entry["purposes"]) == {"enhance"} and entry["fingerprint"]["usable_cores"] >= 1
    assert "tensorflow" in entry["fingerprint"]["versions"]
    lines.clear()
    cache._PROCESS_CACHE.clear()  # pylint: disable=protected-access  (as a new process)
    again = tuning.tuned_settings("enhance", tune=True, log=lines.append)
    assert lines == [] and again.name == first.name and "measured before" in again.reason
    assert len(again.reason) < 200  # one short line, the table behind sid-tune


def test_library_calls_never_measure_print_or_write(machine, cache_dir, fake_measure, capsys):
    keras.utils.set_random_seed(0)
    predictor = sid_tf2.make_predictor(sid_tf2.build_unet("sony"), purpose="enhance")
    assert fake_measure == [] and not cache_dir.exists()
    assert "reasoned, not measured" in predictor.settings.reason
    assert capsys.readouterr().out == ""
    assert tuning.tuned_settings("train").name == "mixed_bfloat16"

@pytest.mark.slow

def test_a_16bit_choice_that_misses_the_floor_on_the_model_falls_back(machine, cache_dir, fake_measure, monkeypatch):
    lines = []
    assert tuning.tuned_settings("enhance", tune=True, log=lines.append).name == "mixed_bfloat16"
    monkeypatch.setitem(tuning.FLOOR_DB, "enhance", 90.0)  # bfloat16 misses it, bfloat16@3 meets it
    lines.clear()
    chosen = tuning.tuned_settings("enhance", tune=True, log=lines.append)
    assert chosen.name == "mixed_bfloat16@3"
    assert len(lines) == 1 and "mixed_bfloat16 is" in lines[0] and "under the enhance floor" in lines[0]
    monkeypatch.setitem(tuning.FLOOR_DB, "enhance", 250.0)
    assert tuning.tuned_settings("enhance", tune=True, log=lambda line: None).name == "float32"


def _entry(purpose, rows, shape=None):
    return {"table": [row.__dict__ for row in rows], "input": shape or tuning.measured_shape(purpose),
            "tuned": "2026-01-01T00:00:00+00:00"}


DAMAGE = {
    "an empty list": lambda good: [],
    "an empty table": lambda good: dict(good, table=[]),
    "zero seconds": lambda good: dict(good, table=[dict(row, times=[0, 0, 0]) for row in good["table"]]),
    "a row of another shape": lambda good: dict(good, table=[{"name": "float32"}, 5]),
    "other candidates": lambda good: dict(good, table=good["table"][:1]),
    "another input": lambda good: dict(good, input=[1, 2]),
    "text": lambda good: "fast",
    "too few rounds": lambda good: dict(good, table=[dict(row, times=row["times"][:1]) for row in good["table"]]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_entry_is_measured_again_with_one_line(machine, cache_dir, fake_measure, damage):
    good = _entry("enhance", rows_for("enhance", machine, [1.0, 0.5, 0.8, 0.9]))
    fingerprint = tuning.machine_fingerprint(machine)
    assert tuning.store_entry(tuning.cache_path(), fingerprint, "enhance", DAMAGE[damage](good)) == ""
    cache._PROCESS_CACHE.clear()  # pylint: disable=protected-access
    lines = []
    library = tuning.tuned_settings("enhance", log=lines.append)  # no measuring: the reasoned rule
    assert "reasoned" in library.reason and fake_measure == []
    assert len(lines) == 1 and lines[0].startswith("warning: ignoring the enhance entry")
    script = tuning.tuned_settings("enhance", tune=True, log=lines.append)
    assert fake_measure == ["enhance"] and script.name == "mixed_bfloat16"
    result = subprocess.run([sys.executable, "-m", "sid_tf2.tune"], cwd=REPO, capture_output=True, text=True,
                            env=dict(os.environ, **{tuning.CACHE_ENV: str(cache_dir)}), timeout=300) if (
        damage == "zero seconds") else None
    if result is not None:  # the command shows a damaged entry of its own machine too
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("text", ['{"x": NaN}', "[1, 2]", "{not json", "", '{"a": []}'])
def test_a_damaged_file_is_an_empty_cache(cache_dir, text):
    cache_dir.mkdir(parents=True)
    (cache_dir / tuning.CACHE_FILE).write_text(text)
    assert tuning.load_cache(tuning.cache_path()) == {}


def test_a_choice_whose_runtime_was_uninstalled_is_measured_again(machine, cache_dir, fake_measure, monkeypatch):
    monkeypatch.setitem(tuning.CANDIDATES["enhance"], "bfloat16_cpu", ("float32", "openvino:float32"))
    fingerprint = tuning.machine_fingerprint(machine)
    rows = rows_for("enhance", machine, [1.0, 0.5])
    tuning.store_entry(tuning.cache_path(), fingerprint, "enhance", _entry("enhance", rows))
    cache._PROCESS_CACHE.clear()  # pylint: disable=protected-access
    monkeypatch.setattr(cache, "installed_runtimes", lambda: {})
    monkeypatch.setattr(choose, "machine_fingerprint", lambda machine=None: fingerprint)
    lines = []
    tuning.tuned_settings("enhance", tune=True, log=lines.append)
    assert "no longer installed" in lines[0] and fake_measure == ["enhance"]


def test_an_unwritable_cache_warns_once_and_holds_for_the_process(machine, tmp_path, monkeypatch, fake_measure):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv(tuning.CACHE_ENV, str(blocker / "cache"))  # a folder inside a file: unwritable
    monkeypatch.delenv(tuning.TUNING_ENV, raising=False)
    monkeypatch.setattr(cache, "_PROCESS_CACHE", {})
    monkeypatch.setattr(choose, "_WARNED", set())
    lines = []
    first = tuning.tuned_settings("enhance", tune=True, log=lines.append)
    assert fake_measure == ["enhance"]
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 1 and "cannot save the tuning cache" in warnings[0] and tuning.CACHE_ENV in warnings[0]
    assert tuning.tuned_settings("enhance", tune=True, log=lines.append).name == first.name
    assert fake_measure == ["enhance"]  # measured once in this process


WRITER = """
import sys
from sid_tf2 import tuning
purpose, path = sys.argv[1], sys.argv[2]
for index in range(40):
    entry = {"table": [], "input": [index], "tuned": purpose}
    assert tuning.store_entry(path, {"machine": "same"}, purpose, entry) == ""
"""


def test_two_processes_storing_at_once_keep_both_purposes(tmp_path):
    path = str(tmp_path / "tuning.json")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, purpose, path], cwd=REPO)
               for purpose in ("enhance", "train")]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    (machine,) = json.loads(open(path, encoding="utf-8").read()).values()
    assert set(machine["purposes"]) == {"enhance", "train"}
    assert all(entry["input"] == [39] for entry in machine["purposes"].values())


def test_tuning_off_and_single_candidates_measure_nothing(monkeypatch, fake_measure):
    monkeypatch.setenv(tuning.TUNING_ENV, "off")
    settings = tuning.tuned_settings("evaluate", tune=True)
    assert (settings.precision, settings.jit_compile) == ("float32", False)
    assert "SID_TF2_TUNING=off" in settings.reason
    monkeypatch.delenv(tuning.TUNING_ENV)
    monkeypatch.setattr(hardware, "detect_hardware", lambda: AVX2_CPU)
    assert tuning.tuned_settings("enhance", tune=True).name == "float32"
    assert fake_measure == []


def test_the_command_line_measures_shows_and_clears(tmp_path):
    env = dict(os.environ, **{tuning.CACHE_ENV: str(tmp_path)})
    env.pop(tuning.TUNING_ENV, None)

    def tune(*args):
        result = subprocess.run([sys.executable, "-m", "sid_tf2.tune", *args], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=600)
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return result

    shown = tune()
    assert shown.returncode == 0 and "this machine:" in shown.stdout and "usable_cores" in shown.stdout
    assert tune("--retune=fastest").returncode == 2
    cleared = tune("--clear")
    assert cleared.returncode == 0 and "cleared" in cleared.stdout
