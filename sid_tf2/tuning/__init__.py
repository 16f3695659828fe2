"""Measured, not guessed: the speed settings for a purpose on this machine, chosen with a margin.

Which precision and compiler is fastest differs between CPU kinds and GPUs (on an AVX2-only Zen 3
XLA wins; on an AVX512-BF16 Zen 4 bfloat16 without XLA does; on an Ice Lake without native
bfloat16 nothing beats float32). So a script's first run on a machine times a few candidates on
the code path the purpose runs, keeps the original's computation unless a candidate is clearly
faster, caches the table per machine and prints it once; later runs print one line.

- Few candidates (`CANDIDATES`), per purpose and kind of machine, in the order the project's
  recorded measurements expect them to win (docs/speed_settings.md gives the numbers and the
  families dropped for never winning). Where the list is the reference alone, nothing is timed.
- Measure what runs: `evaluate` (test_sony.py) whole images; `enhance` (sid-enhance) one tile of
  its default tiling through the same predictor; `train` steps on the run's patch size. Every
  candidate is timed in the same interleaved rounds as the reference, in this process.
- A margin: a candidate replaces the original's computation only when its median is at least
  `MARGIN` below the reference's and its slowest round is faster than the reference's fastest.
- Accuracy against float32, per model: 16-bit candidates are checked on the model that will run,
  on a simulated low-light frame, each time they are chosen (one small forward pass); one that
  misses the purpose's floor gives way to the next, with a line saying so.
- A cache that cannot break a run: a damaged, partial or foreign entry is measured again (or, for
  a library call, the reasoned rule is used) with one line; writes merge under a file lock; an
  unwritable cache warns once and keeps the table for the process.
- Library calls (`sid_tf2.make_predictor(purpose=...)`, the training loop) take the cached
  choice or the reasoned rule and never measure unless asked (`tune=True`, which the scripts pass, or
  `python -m sid_tf2.tune`). Nothing here restarts a process or changes the environment:
  TF_ENABLE_ONEDNN_OPTS stays as the user set it and is part of the machine's fingerprint.

The modules: `ranking` (the candidates and the rule that ranks them), `measuring` (timing on
each purpose's code path, realistic inputs, the accuracy check), `cache` (the per-machine table
file), `choose` (`tuned_settings`, and `predictor_for_purpose`, which `sid_tf2.make_predictor`
names). `sid-tune` (`sid_tf2.tune`) is the command line. The public names are re-exported
here; a test that replaces one patches the module that looks it up.

SID_TF2_TUNING=off uses the reasoned rule without reading the cache (the test suite does so);
SID_TF2_CACHE_DIR moves the cache from the platform's user cache directory.
"""

from sid_tf2.tuning.cache import (
    CACHE_ENV,
    CACHE_FILE,
    RUNTIME_DISTRIBUTIONS,
    TUNER_REVISION,
    CacheEntryError,
    cache_path,
    clear,
    fingerprint_key,
    installed_runtimes,
    load_cache,
    machine_fingerprint,
    parse_entry,
    store_entry,
)
from sid_tf2.tuning.choose import TUNING_ENV, predictor_for_purpose, tuned_settings
from sid_tf2.tuning.measuring import (
    BUDGET,
    CHECK_SIDE,
    ENHANCE_INPUT,
    ENHANCE_TILE,
    ESTIMATED_SECONDS,
    EVALUATE_INPUT,
    MAX_ROUNDS,
    MIN_ROUNDS,
    TRAIN_PATCH,
    TRAIN_PATCH_LIMIT,
    TRAIN_STEPS,
    check_accuracy,
    full_range_model,
    measure_inference,
    measure_training,
    measured_shape,
    psnr,
    realistic_input,
    tiled_to,
)
from sid_tf2.tuning.ranking import (
    CANDIDATES,
    FLOOR_DB,
    IDENTICAL_DB,
    MARGIN,
    PURPOSES,
    TRAIN_LOSS_RTOL,
    Measurement,
    candidates,
    machine_kind,
    rank,
    reasoned,
    settings_named,
    table_lines,
)

__all__ = [
    "BUDGET", "CACHE_ENV", "CACHE_FILE", "CANDIDATES", "CHECK_SIDE", "ENHANCE_INPUT", "ENHANCE_TILE",
    "ESTIMATED_SECONDS", "EVALUATE_INPUT", "FLOOR_DB", "IDENTICAL_DB", "MARGIN", "MAX_ROUNDS",
    "MIN_ROUNDS", "PURPOSES", "RUNTIME_DISTRIBUTIONS", "TRAIN_LOSS_RTOL", "TRAIN_PATCH",
    "TRAIN_PATCH_LIMIT", "TRAIN_STEPS", "TUNER_REVISION", "TUNING_ENV", "CacheEntryError", "Measurement",
    "cache_path", "candidates", "check_accuracy", "clear", "fingerprint_key", "full_range_model",
    "installed_runtimes", "load_cache", "machine_fingerprint", "machine_kind", "measure_inference",
    "measure_training", "measured_shape", "parse_entry", "predictor_for_purpose", "psnr", "rank",
    "realistic_input", "reasoned", "settings_named", "store_entry", "table_lines", "tiled_to",
    "tuned_settings",
]
