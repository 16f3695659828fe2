"""Evaluation as the original test script did it, plus metrics that can be trusted.

For every test pair the full-resolution input (packed, times the ratio, clipped at 1) goes
through the network and the result is clipped to [0, 1]. The original's three 8-bit PNGs are
written to `result_dir/final/`: `<id>_<burst>_<ratio>_out.png`, `_gt.png` and `_scale.png`
(the short exposure rendered like the ground truth, not amplified, then scaled to the ground
truth's mean brightness). PSNR and SSIM are computed on exactly the 8-bit images that were
saved, with data range 255, as the published numbers were; they go to `metrics.csv` (a row per
image) and `metrics.json` (means overall and per ratio, with what produced them).
"""

import csv
import dataclasses
import io
import json
import os
import platform
import time

import keras
import numpy as np
import rawpy
import tensorflow as tf

import sid_tf2
from sid_tf2 import data
from sid_tf2.atomic import write_text
from sid_tf2.images import write_image
from sid_tf2.metrics import psnr, ssim, to_uint8
from sid_tf2.progress import Progress
from sid_tf2.raw import read_raw, render_ground_truth

PROTOCOLS = ("original", "all")
FINAL = "final"


@dataclasses.dataclass
class ImageResult:
    scene_id: int
    burst: str
    ratio: float
    input_exposure: float
    gt_exposure: float
    psnr: float
    ssim: float
    seconds: float
    input_path: str
    gt_path: str


def select_pairs(data_dir, protocol="original", list_file=None, exclude_misaligned=False):
    """The test pairs of a protocol.

    "original": every burst-00 short exposure of the test ids, found by the original's glob
    (93 images on SID Sony). "all": every pair of a list file (598 on SID Sony).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}: expected one of {PROTOCOLS}.")
    if protocol == "original":
        return data.discover_pairs(data_dir, split="test", exclude_misaligned=exclude_misaligned)
    if not list_file:
        raise ValueError("protocol 'all' needs a list file (e.g. dataset/Sony_test_list.txt).")
    return data.discover_pairs(
        list_file=list_file, split="test", exclude_misaligned=exclude_misaligned, bursts="all"
    )


def file_stem(pair):
    """`%5d_%02d_%d` of the original's names (its burst was always 00)."""
    return f"{pair.scene_id:5d}_{pair.burst}_{int(pair.ratio)}"


def scaled_short_exposure(pair, gt):
    """The original's `_scale` image: the short raw rendered, brightened to the gt's mean."""
    with read_raw(pair.input_path) as raw:
        rendered = render_ground_truth(raw)
    rendered = rendered[: gt.shape[0], : gt.shape[1]]
    # The original's `scale_full * np.mean(gt_full) / np.mean(scale_full)`, in its order and in
    # float32, so the 8-bit image has its bytes; a black frame stays black.
    mean = np.mean(rendered)
    return rendered * np.mean(gt) / mean if mean > 0 else rendered


def _summarise(results):
    def means(rows):
        return {
            "images": len(rows),
            "psnr": float(np.mean([r.psnr for r in rows])) if rows else None,
            "ssim": float(np.mean([r.ssim for r in rows])) if rows else None,
        }

    ratios = sorted({r.ratio for r in results})
    return {
        **means(results),
        "per_ratio": {f"{ratio:g}": means([r for r in results if r.ratio == ratio]) for ratio in ratios},
    }


def software_versions():
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "rawpy": rawpy.__version__,
        "sid_tf2": sid_tf2.__version__,
    }


def write_metrics(result_dir, results, info):
    """`metrics.csv` (a row per image) and `metrics.json` (means, per ratio, provenance)."""
    buffer = io.StringIO()
    fields = [field.name for field in dataclasses.fields(ImageResult)]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for result in results:
        writer.writerow(dataclasses.asdict(result))
    write_text(os.path.join(result_dir, "metrics.csv"), buffer.getvalue())
    summary = {**info, **_summarise(results), "versions": software_versions(),
               "metric_convention": "PSNR and SSIM on the saved 8-bit PNGs, data range 255; "
               "SSIM with an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, mean over RGB"}
    write_text(os.path.join(result_dir, "metrics.json"), json.dumps(summary, indent=2) + "\n")
    return summary


def evaluate(predictor, pairs, cache, result_dir, *, camera="sony", info=None, progress=True,
             log=print):
    """Run the test pairs, write the original's images and the metrics; return the summary."""
    if not pairs:
        raise data.DatasetError("No test pairs to evaluate: check --data_dir, --protocol and --list_file.")
    final = os.path.join(result_dir, FINAL)
    os.makedirs(final, exist_ok=True)
    examples = data.make_eval_pairs(pairs, cache, camera=camera, progress=progress)
    meter = Progress("images", len(pairs), unit="image", log_interval=0.0, enabled=progress)
    results = []
    for index, example in enumerate(examples):
        pair = example.pair
        started = time.monotonic()
        output = np.clip(predictor(example.input[None])[0], 0.0, 1.0)
        seconds = time.monotonic() - started
        output_8bit, gt_8bit = to_uint8(output), to_uint8(example.gt)
        stem = os.path.join(final, file_stem(pair))
        write_image(stem + "_out.png", output_8bit)
        write_image(stem + "_gt.png", gt_8bit)
        write_image(stem + "_scale.png", to_uint8(scaled_short_exposure(pair, example.gt)))
        results.append(ImageResult(
            scene_id=pair.scene_id, burst=pair.burst, ratio=pair.ratio,
            input_exposure=pair.input_exposure, gt_exposure=pair.gt_exposure,
            psnr=psnr(output_8bit, gt_8bit), ssim=ssim(output_8bit, gt_8bit), seconds=seconds,
            input_path=pair.input_path, gt_path=pair.gt_path,
        ))
        meter.update(index + 1, psnr=results[-1].psnr, ssim=results[-1].ssim)
    meter.close()
    summary = write_metrics(result_dir, results, dict(info or {}, camera=camera))
    log(f"{summary['images']} images: PSNR {summary['psnr']:.2f} dB, SSIM {summary['ssim']:.4f} "
        f"-> {os.path.join(result_dir, 'metrics.json')}")
    return summary
