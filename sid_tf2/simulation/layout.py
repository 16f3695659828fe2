"""SID's layout: scenes split into train, validation and test by their ids, and file names
that carry the exposure.

Ids have five digits whose first one is the split, as in SID: 0 train, 1 test, 2 validation;
a file is `<id>_<burst>_<exposure>s.dng`, named so that the original's scripts read the
exposure back (`original_exposure_from_name`).
"""

import os

import numpy as np

SPLITS = ("train", "val", "test")
SPLIT_DIGIT = {"train": 0, "test": 1, "val": 2}
LIST_FILES = {"train": "train_list.txt", "val": "val_list.txt", "test": "test_list.txt"}


def split_counts(num_scenes):
    """(train, val, test) scene counts: about 70/10/20 like SID, at least one validation and one
    test scene from 3 scenes on (2 scenes: train and test; 1 scene: train)."""
    if num_scenes < 1:
        raise ValueError(f"num_scenes must be at least 1, got {num_scenes}")
    if num_scenes < 3:
        return 1, 0, num_scenes - 1
    test = max(1, round(0.2 * num_scenes))
    val = max(1, round(0.1 * num_scenes))
    return num_scenes - val - test, val, test


def scene_ids(num_scenes):
    """[(id, split)] in generation order: train scenes, then validation, then test."""
    ids = []
    for split, count in zip(SPLITS, split_counts(num_scenes)):
        if count > 9999:
            raise ValueError(f"at most 9999 scenes per split, got {count} {split} scenes")
        ids += [(f"{SPLIT_DIGIT[split]}{n:04d}", split) for n in range(1, count + 1)]
    return ids


def format_exposure(seconds):
    """An exposure time as it appears in a file name: at most 4 significant digits, no
    exponent, no trailing zeros (0.1, 0.04, 0.05, 0.07278, 10)."""
    text = np.format_float_positional(float(f"{seconds:.4g}"), trim="-")
    if float(text) <= 0:
        raise ValueError(f"exposure {seconds!r} s is too short to name")
    return text


def original_exposure_from_name(name):
    """The exposure as the original's scripts read it: the name's characters 9 to -5
    ("00001_00_0.1s.dng" -> 0.1).

    `format_exposure` names the files so that this gives their exposure back, so the datasets
    train the original code too; `sid_tf2.raw.exposure_from_name` parses the whole pattern
    instead, and reads any extension.
    """
    return float(os.path.basename(name)[9:-5])


def assign_photos(split_sizes, num_photos):
    """The photograph index of each scene (scenes ordered train, val, test).

    With at least as many photographs as scenes every scene has its own. Otherwise the
    photographs are divided among the splits in proportion to their scene counts (at least one
    each), and the scenes of a split take turns over that split's photographs, so no
    photograph is in two splits - unless there are fewer photographs than non-empty splits.
    Returns (indices, shared) where `shared` says whether splits share photographs.
    """
    num_scenes = sum(split_sizes)
    if num_photos >= num_scenes:
        return list(range(num_scenes)), False
    active = [i for i, size in enumerate(split_sizes) if size > 0]
    if num_photos < len(active):
        return [i % num_photos for i in range(num_scenes)], True
    allocation = {i: 1 for i in active}
    for _ in range(num_photos - len(active)):
        neediest = max(active, key=lambda i: split_sizes[i] / allocation[i])
        allocation[neediest] += 1
    indices, first = [], 0
    for i in active:
        indices += [first + t % allocation[i] for t in range(split_sizes[i])]
        first += allocation[i]
    return indices, False
