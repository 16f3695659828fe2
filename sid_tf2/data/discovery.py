"""Finding the scenes and (input, ground truth) pairs of a dataset in the SID layout.

    DATA_DIR/short/00001_00_0.1s.ARW     short exposures (inputs): id, burst, exposure
    DATA_DIR/long/00001_00_10s.ARW       long exposures (ground truth)

Two ways to pair them:

* the original scripts' glob (the default): scene ids come from the names in `long/`; each
  scene's inputs are `short/%05d_00*` (burst 00 only; `bursts="all"` takes every burst) and its
  ground truth is the first, in sorted order, of `long/%05d_00*`;
* a pair list (`list_file`), one pair a line, e.g.
  `./Sony/short/00001_00_0.04s.ARW ./Sony/long/00001_00_10s.ARW ISO200 F8`, with paths relative
  to the list file's directory (the real SID lists sit in `dataset/` and name `./Sony/...`; a
  synthetic dataset's lists sit in the dataset directory and name `./short/...`). Every line is
  a pair (all bursts) unless `bursts="00"` is asked for.

The first digit of a scene id is its split: 0 train, 1 test, 2 validation. Nothing here opens a
raw file: exposures come from the names (`00001_00_0.1s.ARW` -> 0.1 s, characters 9 to -5).
"""

import collections
import dataclasses
import os

from sid_tf2.raw import RAW_EXTENSIONS, amplification_ratio, exposure_from_name

SPLIT_DIGITS = {"train": "0", "test": "1", "val": "2"}
SPLIT_ALIASES = {"validation": "val", "eval": "val"}
# Scenes the authors say are misaligned and to be left out of metrics.
MISALIGNED_SCENES = frozenset({10034, 10045, 10172})
# Raw file extensions and the camera (packing) each implies: .ARW is SID's Sony, .RAF its Fuji;
# every other raw file (DNG, NEF, KDC...) is decided by its CFA pattern when read.
EXTENSION_CAMERAS = {extension: {".arw": "sony", ".raf": "fuji"}.get(extension)
                     for extension in RAW_EXTENSIONS}


class DatasetError(ValueError):
    """A dataset-level problem (layout, pairing, sizes); the message names the files involved."""


@dataclasses.dataclass(frozen=True)
class Pair:
    """One training or evaluation example: a short exposure and its long-exposure ground truth."""

    scene_id: int
    input_path: str
    gt_path: str
    input_exposure: float
    gt_exposure: float
    ratio: float  # min(gt_exposure / input_exposure, 300), as the original

    @property
    def split(self):
        return split_of(self.scene_id)

    @property
    def burst(self):
        return burst_of(self.input_path)


@dataclasses.dataclass(frozen=True)
class Scene:
    """A scene: one ground truth and the short exposures that go with it."""

    scene_id: int
    gt_path: str
    input_paths: tuple

    @property
    def split(self):
        return split_of(self.scene_id)

    def pairs(self):
        """The scene's (input, ground truth) pairs, exposures and ratios from the file names."""
        gt_exposure = exposure_from_name(self.gt_path)
        pairs = []
        for path in self.input_paths:
            exposure = exposure_from_name(path)
            pairs.append(
                Pair(self.scene_id, path, self.gt_path, exposure, gt_exposure,
                     amplification_ratio(exposure, gt_exposure))
            )
        return pairs


def pairs_of(scenes):
    """All pairs of `scenes` (Scene or Pair objects, mixed), in order."""
    pairs = []
    for item in scenes:
        pairs.extend([item] if isinstance(item, Pair) else item.pairs())
    return pairs


def is_raw_name(name):
    """Whether a file name has one of the raw extensions LibRaw reads (.ARW, .dng..., any case)."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in EXTENSION_CAMERAS


def camera_from_extension(path):
    """"sony" for .ARW, "fuji" for .RAF, None for other raw files (decided by their CFA pattern
    when read)."""
    extension = os.path.splitext(str(path))[1].lower()
    if extension not in EXTENSION_CAMERAS:
        raise DatasetError(f"{path}: not a raw file name (expected a raw extension LibRaw reads, "
                           "e.g. .ARW, .RAF, .dng, .NEF).")
    return EXTENSION_CAMERAS[extension]


def scene_id_of(path):
    """The 5-digit scene id at the start of a SID file name, as an int."""
    name = os.path.basename(str(path))
    head = name[:5]
    if len(head) != 5 or not head.isdigit() or name[5:6] != "_":
        raise DatasetError(
            f"{path}: the name does not start with a 5-digit scene id and '_' "
            "(expected e.g. 00001_00_0.1s.ARW)."
        )
    return int(head)


def burst_of(path):
    """The 2-character burst index of a SID file name ("00" in 00001_00_0.1s.ARW)."""
    return os.path.basename(str(path))[6:8]


def split_of(scene_id):
    """"train", "test" or "val" from the first digit of the 5-digit scene id (0, 1, 2)."""
    digit = f"{int(scene_id):05d}"[0]
    for split, split_digit in SPLIT_DIGITS.items():
        if digit == split_digit:
            return split
    return None


def normalize_split(split):
    if split is None:
        return None
    split = SPLIT_ALIASES.get(str(split).lower(), str(split).lower())
    if split not in SPLIT_DIGITS:
        raise ValueError(f"Unknown split {split!r}: expected one of {sorted(SPLIT_DIGITS)} or None.")
    return split


def _normalize_bursts(bursts, default):
    bursts = default if bursts is None else str(bursts).lower()
    if bursts not in ("00", "all"):
        raise ValueError(f"bursts must be '00' or 'all', got {bursts!r}.")
    return bursts


def raw_files(directory):
    """Sorted names of the raw files in a directory (hidden files and other extensions skipped)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        raise DatasetError(f"{directory}: directory not found (a SID dataset has short/ and long/).") from None
    return sorted(name for name in names if is_raw_name(name) and os.path.isfile(os.path.join(directory, name)))


def _glob_scenes(data_dir, bursts):
    short_dir = os.path.join(data_dir, "short")
    long_dir = os.path.join(data_dir, "long")
    short_names = raw_files(short_dir)
    long_names = raw_files(long_dir)
    ids = sorted({scene_id_of(os.path.join(long_dir, name)) for name in long_names})
    scenes = []
    for scene_id in ids:
        gt_prefix = f"{scene_id:05d}_00"
        gts = [name for name in long_names if name.startswith(gt_prefix)]
        if not gts:  # the original would fail on gt_files[0]; such a scene has no ground truth
            continue
        input_prefix = gt_prefix if bursts == "00" else f"{scene_id:05d}_"
        inputs = tuple(os.path.join(short_dir, name) for name in short_names if name.startswith(input_prefix))
        if inputs:
            scenes.append(Scene(scene_id, os.path.join(long_dir, gts[0]), inputs))
    return scenes


def read_list_file(list_file):
    """The (input path, gt path) pairs of a list file, paths joined to the list file's directory.

    Lines hold at least two whitespace-separated paths (extra fields such as ISO200 F8 are
    ignored); blank lines and lines starting with '#' are skipped.
    """
    base = os.path.dirname(os.path.abspath(list_file))
    try:
        with open(list_file, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except OSError as error:
        raise DatasetError(f"{list_file}: cannot read the list file: {error.strerror or error}.") from None
    entries = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 2:
            raise DatasetError(f"{list_file}:{number}: expected 'input_path gt_path ...', got {line!r}.")
        entries.append(tuple(os.path.normpath(os.path.join(base, field)) for field in fields[:2]))
    return entries


def _list_scenes(list_file, bursts):
    grouped = collections.OrderedDict()
    for input_path, gt_path in read_list_file(list_file):
        if bursts == "00" and burst_of(input_path) != "00":
            continue
        key = (scene_id_of(input_path), gt_path)
        inputs = grouped.setdefault(key, [])
        if input_path not in inputs:
            inputs.append(input_path)
    return [Scene(scene_id, gt_path, tuple(inputs)) for (scene_id, gt_path), inputs in grouped.items()]


def discover_scenes(data_dir=None, split=None, list_file=None, exclude_misaligned=False, bursts=None):
    """The scenes of a SID-layout dataset, sorted by scene id.

    Args:
      data_dir: the directory holding `short/` and `long/` (used when `list_file` is None).
      split: None (all), "train" (ids 0xxxx), "test" (1xxxx) or "val" (2xxxx).
      list_file: a pair list; when given, the scenes are its pairs grouped by (id, ground truth)
        instead of the glob over `data_dir`.
      exclude_misaligned: leave out scenes 10034, 10045 and 10172.
      bursts: "00" (burst 00 inputs only) or "all"; None means the mode's own default: "00" for
        the glob (the original's `short/%05d_00*`), "all" for a list file (every listed pair).

    Exposures and ratios come from the names: a name without a parseable exposure raises a
    ValueError naming the file (use `python -m sid_tf2.data` to list every such problem).
    Scenes without any input are left out; nothing here reads a raw file.
    """
    split = normalize_split(split)
    if list_file is not None:
        scenes = _list_scenes(list_file, _normalize_bursts(bursts, "all"))
    elif data_dir is not None:
        scenes = _glob_scenes(str(data_dir), _normalize_bursts(bursts, "00"))
    else:
        raise ValueError("discover_scenes needs a data_dir or a list_file.")
    scenes = [
        scene for scene in scenes
        if (split is None or scene.split == split)
        and not (exclude_misaligned and scene.scene_id in MISALIGNED_SCENES)
    ]
    scenes.sort(key=lambda scene: (scene.scene_id, scene.gt_path))
    for scene in scenes:  # every name must carry an exposure: fail here, not mid-training
        scene.pairs()
    return scenes


def discover_pairs(data_dir=None, split=None, list_file=None, exclude_misaligned=False, bursts=None):
    """`discover_scenes(...)` flattened into its pairs (the test set's 93 / 598 Sony images)."""
    return pairs_of(discover_scenes(data_dir, split, list_file, exclude_misaligned, bursts))
