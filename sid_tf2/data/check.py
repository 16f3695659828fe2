"""Checking a dataset: every problem listed at once, and its counts per split and per ratio.

`check_dataset` looks at a SID-layout directory (or a list file's pairs) and collects, instead of
stopping at the first:

* `bad_name`: a name without a 5-digit scene id or a parseable exposure (`00001_00_0.1s.ARW`);
* `missing_gt`: an input whose scene has no `long/%05d_00*` ground truth;
* `missing_input`: a ground truth without any input (or with inputs of other bursts only, which
  the original's burst-00 glob never uses);
* `missing_file`: a list file naming a file that does not exist;
* `unreadable`: a file LibRaw cannot open or decode (truncated, not raw, no mosaic). With
  `decode` every file is decoded into the cache (which training then reuses: ground truths are
  rendered too); otherwise each is only opened with `read_raw` (which unpacks the mosaic, so
  truncation is still found) and nothing is rendered or written;
* `size_mismatch`: an input whose packed size times the block size (2 Bayer, 3 X-Trans) is not
  its ground truth's size (with `decode`; from the headers the two mosaics must agree);
* `camera_mismatch`, `too_small` (when a patch size is given).

`count_list` gives the counts of a list file from its names alone (no raw file needed).
"""

import collections
import dataclasses
import os

from sid_tf2 import raw as rawlib
from sid_tf2.data.cache import RawCache, describe_cfa
from sid_tf2.data.discovery import (
    DatasetError,
    burst_of,
    camera_from_extension,
    raw_files,
    read_list_file,
    scene_id_of,
    split_of,
)
from sid_tf2.data.sampling import packed_shape, size_mismatch

AUTO_DECODE_MAX_FILES = 100
SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class Problem:
    kind: str
    path: str
    message: str

    def __str__(self):
        return f"{self.kind}: {self.path}: {self.message}"


@dataclasses.dataclass
class CheckReport:
    problems: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    scenes_per_split: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    pairs_per_split: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    pairs_per_ratio: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    cameras: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    decoded: bool = False

    @property
    def ok(self):
        return not self.problems

    def add(self, kind, path, message):
        self.problems.append(Problem(kind, str(path), message))

    @property
    def num_pairs(self):
        return sum(self.pairs_per_split.values())

    def format(self):
        lines = [str(problem) for problem in self.problems]
        lines += [f"note: {note}" for note in self.notes]
        lines.append("split   scenes  pairs")
        for split in [*SPLITS, *sorted(set(self.pairs_per_split) - set(SPLITS), key=str)]:
            lines.append(f"{str(split):7} {self.scenes_per_split[split]:6d} {self.pairs_per_split[split]:6d}")
        lines.append("ratio   pairs")
        for ratio, count in sorted(self.pairs_per_ratio.items()):
            lines.append(f"{ratio:<7g} {count:6d}")
        if self.cameras:
            lines.append("cameras: " + ", ".join(f"{name} {count}" for name, count in sorted(self.cameras.items())))
        lines.append(f"{len(self.problems)} problem(s)" if self.problems else "no problems found")
        return "\n".join(lines)


def _parse_names(path, report):
    """(scene_id, exposure) from a file name, or None after recording a bad_name problem."""
    try:
        return scene_id_of(path), rawlib.exposure_from_name(path)
    except ValueError as error:
        report.add("bad_name", path, _reason(error, path))
        return None


def _reason(error, path):
    """An error's message without a leading copy of the path (the problem line has it)."""
    if isinstance(error, rawlib.RawFileError):
        return error.reason
    message = str(error)
    for prefix in (f"{path}: ", f"{os.path.abspath(path)}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def _count(report, pairs):
    scenes = collections.defaultdict(set)
    for scene_id, gt_path, _input, ratio in pairs:
        split = split_of(scene_id)
        scenes[split].add((scene_id, gt_path))
        report.pairs_per_split[split] += 1
        report.pairs_per_ratio[ratio] += 1
    for split, members in scenes.items():
        report.scenes_per_split[split] = len(members)


def count_list(list_file):
    """Counts of a list file from its names only: a CheckReport (scenes and pairs per split,
    pairs per ratio, `bad_name` problems); no raw file is opened or even needed."""
    report = CheckReport()
    pairs = []
    for input_path, gt_path in read_list_file(list_file):
        parsed_input, parsed_gt = _parse_names(input_path, report), _parse_names(gt_path, report)
        if parsed_input and parsed_gt:
            pairs.append((parsed_input[0], gt_path, input_path,
                          rawlib.amplification_ratio(parsed_input[1], parsed_gt[1])))
    _count(report, pairs)
    return report


def _glob_pairs(data_dir, report):
    """(scene_id, gt, input, ratio) of the original's burst-00 glob, recording pairing problems."""
    short_dir, long_dir = os.path.join(data_dir, "short"), os.path.join(data_dir, "long")
    inputs, gts = {}, collections.defaultdict(list)
    for directory, names in ((short_dir, raw_files(short_dir)), (long_dir, raw_files(long_dir))):
        for name in names:
            path = os.path.join(directory, name)
            parsed = _parse_names(path, report)
            if parsed is None:
                continue
            if directory == short_dir:
                inputs[path] = parsed
            elif name.startswith(f"{parsed[0]:05d}_00"):
                gts[parsed[0]].append((path, parsed[1]))
            else:
                report.notes.append(f"{path}: not burst 00, never used as a ground truth")
    pairs = []
    for path, (scene_id, exposure) in sorted(inputs.items()):
        if scene_id not in gts:
            report.add("missing_gt", path, f"no ground truth long/{scene_id:05d}_00* for this input")
        elif burst_of(path) == "00":
            gt_path, gt_exposure = sorted(gts[scene_id])[0]
            pairs.append((scene_id, gt_path, path, rawlib.amplification_ratio(exposure, gt_exposure)))
    ids_with_inputs = {scene_id for scene_id, _ in inputs.values()}
    ids_with_burst00 = {scene_id for path, (scene_id, _) in inputs.items() if burst_of(path) == "00"}
    for scene_id, candidates in sorted(gts.items()):
        candidates = sorted(candidates)
        if scene_id not in ids_with_inputs:
            report.add("missing_input", candidates[0][0], "ground truth without any input in short/")
        elif scene_id not in ids_with_burst00:
            report.add("missing_input", candidates[0][0],
                       "ground truth whose inputs are all of bursts other than 00 (the original uses burst 00)")
        for extra, _ in candidates[1:]:
            report.notes.append(f"{extra}: another long/{scene_id:05d}_00* file; only the first is used")
    return pairs


def _list_pairs(list_file, report):
    pairs = []
    seen_missing = set()
    for input_path, gt_path in read_list_file(list_file):
        for path in (input_path, gt_path):
            if path not in seen_missing and not os.path.isfile(path):
                seen_missing.add(path)
                report.add("missing_file", path, f"listed in {list_file} but not found")
        parsed_input, parsed_gt = _parse_names(input_path, report), _parse_names(gt_path, report)
        if parsed_input and parsed_gt:  # counted even when missing: the list defines the pairs
            pairs.append((parsed_input[0], gt_path, input_path,
                          rawlib.amplification_ratio(parsed_input[1], parsed_gt[1])))
    return pairs


def _header(path, kind):
    """What the header tells: (visible height, width, camera or None)."""
    with rawlib.read_raw(path) as raw:
        height, width = int(raw.sizes.height), int(raw.sizes.width)
        camera = describe_cfa(raw)[1] if kind == "input" else None
    return height, width, camera


def check_dataset(data_dir=None, list_file=None, cache_dir=None, decode=None, camera=None,
                  patch_size=None, progress=False):
    """Check a dataset and return a CheckReport listing every problem found.

    Args:
      data_dir: the SID-layout directory (short/, long/); with `list_file`, only the default
        cache location.
      list_file: check the pairs of this list file instead of the original's glob.
      cache_dir: where decoded files go (default DATA_DIR/.cache, or beside the list file).
      decode: decode every file into the cache (True), or only open each file and read its
        header (False); None decodes when there are at most 100 files.
      camera: "sony" or "fuji" to require; None accepts either (per file).
      patch_size: report inputs whose packed size is smaller than this patch.
    """
    report = CheckReport()
    if list_file is not None:
        pairs = _list_pairs(list_file, report)
        default_root = data_dir if data_dir is not None else os.path.dirname(os.path.abspath(list_file))
    elif data_dir is not None:
        try:
            pairs = _glob_pairs(os.fspath(data_dir), report)
        except DatasetError as error:
            report.add("layout", data_dir, str(error))
            return report
        default_root = data_dir
    else:
        raise ValueError("check_dataset needs a data_dir or a list_file.")
    _count(report, pairs)

    files = {}
    for _, gt_path, input_path, _ in pairs:
        for path, kind in ((input_path, "input"), (gt_path, "gt")):
            if os.path.isfile(path):  # missing files are already reported
                files.setdefault(path, kind)
    report.decoded = decode if decode is not None else len(files) <= AUTO_DECODE_MAX_FILES
    cache = RawCache.for_dataset(default_root, cache_dir)
    facts = {}  # path -> (height, width, camera, entry)
    for number, (path, kind) in enumerate(sorted(files.items())):
        if progress:
            print(f"checking {number + 1}/{len(files)} {path}", flush=True)
        try:
            if report.decoded:
                entry = cache.input(path) if kind == "input" else cache.ground_truth(path)
                facts[path] = (entry.shape[0], entry.shape[1], getattr(entry, "camera", None), entry)
            else:
                facts[path] = _header(path, kind) + (None,)
        except (ValueError, OSError) as error:  # RawFileError is a ValueError
            report.add("unreadable", path, _reason(error, os.path.abspath(path)))
    wanted = camera.lower() if camera else None
    for scene_id, gt_path, input_path, _ in pairs:
        if input_path not in facts or gt_path not in facts:
            continue
        height, width, input_camera, entry = facts[input_path]
        gt_height, gt_width = facts[gt_path][:2]
        report.cameras[input_camera or camera_from_extension(input_path) or "unknown"] += 1
        if wanted and input_camera and input_camera != wanted:
            report.add("camera_mismatch", input_path, f"a {input_camera} mosaic, but camera={wanted!r} was asked for")
            continue
        if input_camera is None:
            continue
        packed_h, packed_w = packed_shape((height, width), input_camera)
        if entry is not None:  # decoded: the rendered ground truth must be block x the packed input
            mismatch = size_mismatch((height, width), (gt_height, gt_width), input_camera)
            if mismatch:
                report.add("size_mismatch", input_path, f"{mismatch} ({gt_path})")
        elif (height, width) != (gt_height, gt_width):
            report.add("size_mismatch", input_path,
                       f"mosaic {height}x{width} differs from its ground truth {gt_path} ({gt_height}x{gt_width})")
        if patch_size and min(packed_h, packed_w) < int(patch_size):
            report.add("too_small", input_path,
                       f"packed input {packed_h}x{packed_w} is smaller than the patch {patch_size}")
    return report
