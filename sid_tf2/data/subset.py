"""Training on a few pairs: keep a reproducible subset of a dataset's input pairs, per ratio.

    scenes = discover_scenes("dataset/Sony", split="train")
    few = subset_scenes(scenes, pairs_per_ratio=4, seed=0)   # 4 pairs at x100, x250 and x300
    some = subset_scenes(scenes, fraction=0.1, seed=0)       # a tenth of the pairs of each ratio

Pairs are grouped by exposure ratio (the original's 100, 250, 300); within each group a
permutation drawn from (seed, ratio) picks the pairs, so the same seed always keeps the same
pairs and a larger count keeps a superset of a smaller one. Each scene keeps only its chosen
inputs (in their original order); scenes left without an input are dropped. Nothing is read.
"""

import collections

import numpy as np

from sid_tf2.data.discovery import DatasetError, Scene

_SUBSET_STREAM = 3  # apart from the order (1) and element (2) streams of `sampling`


def subset_scenes(scenes, *, fraction=None, pairs_per_ratio=None, seed=0):
    """Scenes holding only the chosen input pairs (see the module docstring).

    Args:
      scenes: `Scene` objects (e.g. from `discover_scenes`).
      fraction: keep round(fraction * n) pairs of each ratio with n pairs, at least one; in (0, 1].
      pairs_per_ratio: keep this many pairs of each ratio (all of them if there are fewer).
      seed: a non-negative integer.
    Giving neither returns the scenes unchanged; giving both is an error.
    """
    scenes = list(scenes)
    if fraction is None and pairs_per_ratio is None:
        return scenes
    if fraction is not None and pairs_per_ratio is not None:
        raise ValueError("Give train_fraction or pairs_per_ratio, not both.")
    if fraction is not None and not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], got {fraction}.")
    if pairs_per_ratio is not None and int(pairs_per_ratio) < 1:
        raise ValueError(f"pairs_per_ratio must be at least 1, got {pairs_per_ratio}.")
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}.")
    groups = collections.defaultdict(list)
    for scene in scenes:
        for pair in scene.pairs():
            groups[pair.ratio].append((scene.scene_id, scene.gt_path, pair.input_path))
    chosen = set()
    for ratio, members in sorted(groups.items()):
        members.sort()
        count = (min(int(pairs_per_ratio), len(members)) if pairs_per_ratio is not None
                 else max(1, int(round(float(fraction) * len(members)))))
        # The ratio in thousandths keeps non-integer ratios (uniform simulation) apart.
        rng = np.random.default_rng([_SUBSET_STREAM, int(seed), int(round(ratio * 1000))])
        chosen.update(members[i] for i in rng.permutation(len(members))[:count])
    kept = []
    for scene in scenes:
        inputs = tuple(path for path in scene.input_paths if (scene.scene_id, scene.gt_path, path) in chosen)
        if inputs:
            kept.append(Scene(scene.scene_id, scene.gt_path, inputs))
    if not kept:
        raise DatasetError("The pair subset is empty: no scene has inputs.")
    return kept


def count_by_ratio(scenes):
    """{ratio: number of pairs} of `scenes` (for logs and reports)."""
    counts = collections.Counter(pair.ratio for scene in scenes for pair in scene.pairs())
    return dict(sorted(counts.items()))
