"""Running `sid-adapt`'s training stages within a budget, and scoring weights on held-out pairs.

A budget of minutes becomes epochs from measured speed: a stage first runs one epoch (which also
pays for tracing the step), then as many more as the time left allows at the speed measured so
far, a few times over, so that the estimate improves and the stage ends near its deadline. Each
call is a resumption of the same training run, so an interrupted stage continues where it
stopped when the command runs again. What every call adds (losses, validation PSNR, seconds)
is accumulated in the stage's record, which the caller keeps in the adapt state file.
"""

import math
import os
import time

from sid_tf2 import data

MAX_EXTENSIONS = 4


def _merge(record, result, epochs):
    """Add a `TrainingResult` of a call that ended at epoch `epochs` to a stage's record."""
    first = epochs - result.epochs_run + 1
    record["losses"] += [[first + index, float(loss)] for index, loss in enumerate(result.losses)]
    record["validation"] += [[int(epoch), float(psnr)] for epoch, psnr, _ in result.validation]
    record["seconds"] += result.seconds
    record["steps_per_epoch"] = result.steps_per_epoch or record.get("steps_per_epoch", 0)
    record["epochs"] = epochs
    return record


def run_stage(config, record, *, steps_per_epoch, steps=None, seconds=None, log=print):
    """Train one stage for `steps` steps or about `seconds` more seconds; return its record.

    `steps_per_epoch` is the expected count (simulated pairs per epoch, or real training
    scenes) until a call has measured it.

    `record` (a dict, or None for a new stage) holds what earlier calls did: `epochs` (the last
    epoch reached), `losses`, `validation`, `seconds` and `steps_per_epoch`.
    """
    from sid_tf2.training import train  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    record = record or {"epochs": -1, "losses": [], "validation": [], "seconds": 0.0, "steps_per_epoch": 0}
    if steps is not None:
        per_epoch = record["steps_per_epoch"] or steps_per_epoch
        epochs = max(record["epochs"], math.ceil(steps / per_epoch) - 1)
        return _merge(record, train(config.replace(epochs=epochs), log=log), epochs)
    if seconds <= 0 and record["epochs"] >= 0:
        return record  # the budget was spent by an earlier run
    deadline = time.monotonic() + seconds
    epochs = record["epochs"] + 1
    for _ in range(MAX_EXTENSIONS):
        started = time.monotonic()
        result = train(config.replace(epochs=epochs), log=log)
        record = _merge(record, result, epochs)
        per_epoch = (time.monotonic() - started) / max(1, result.epochs_run)
        more = int((deadline - time.monotonic()) // per_epoch)
        if more < 1:
            break
        epochs += more
    return record


def score(weights, heldout, folder, log=print):
    """PSNR/SSIM of the network at `weights` on the held-out pairs, as the evaluation measures
    them (8-bit images; each file packed with its own CFA phase and levels)."""
    from sid_tf2.evaluation import evaluate  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.inference import make_predictor  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)
    from sid_tf2.weights import load_model_weights  # pylint: disable=import-outside-toplevel  (TensorFlow: off --help)

    started = time.monotonic()
    model, _ = load_model_weights(weights, camera="sony")
    summary = evaluate(make_predictor(model), list(heldout.pairs), data.RawCache.for_dataset(heldout.data_dir),
                       folder, camera="sony", progress=False, log=lambda line: None)
    return {"psnr": summary["psnr"], "ssim": summary["ssim"], "images": summary["images"],
            "per_ratio": summary.get("per_ratio", {}), "seconds": time.monotonic() - started,
            "weights": os.fspath(weights)}
