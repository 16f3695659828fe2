"""Write a synthetic dataset in SID's layout, as real DNG files, from photographs or clean raws.

    DIR/long/<id>_00_10s.dng             clean 10 s exposure (the unprocessed photograph, or
                                         the clean raw file with its own CFA and levels)
    DIR/short/<id>_<burst>_<exp>s.dng    simulated short exposures of the same scene
    DIR/{train,val,test}_list.txt        "./short/... ./long/... ISO<iso> F<f>" lines
    DIR/simulation.json                  seed, sources and every sampled parameter; written
                                         last, it marks a complete dataset

Ids have five digits whose first one is the split, as in SID: 0 train, 1 test, 2 validation.
Every short file carries the scene's colour matrix and white balance (AsShotNeutral), its
exposure time and a nominal ISO; the long file the same with ISO 100. A raw source (any Bayer
camera's file, `raw_sources.py`) is not unprocessed: its mosaic is the long exposure, and its
short exposures are simulated in the raw domain at the source's ISO (`raw_pairs.py`); both files
keep its CFA phase, black and white levels, colour matrix and white balance.

Reproducible: every scene and every short file draws from its own generator, seeded by
`numpy.random.SeedSequence(seed, spawn_key=(scene, k))`, so the same arguments give
byte-identical files. Resumable: each DNG is written to a temporary name and renamed; while a
run is under way `.simulation-in-progress.json` holds its settings, and running again with the
same settings skips the files already there and finishes the rest.
"""

import dataclasses
import json
import pathlib
import time

import numpy as np

import sid_tf2.simulation.noise as noise_lib
import sid_tf2.simulation.sources as sources_lib
import sid_tf2.simulation.unprocess as unprocess_lib
from sid_tf2.atomic import write_text
from sid_tf2.simulation.layout import (
    LIST_FILES,
    SPLITS,
    assign_photos,
    format_exposure,
    scene_ids,
    split_counts,
)
from sid_tf2.simulation.profiles import get_profile, nominal_iso
from sid_tf2.simulation.raw_pairs import black_level_of, pair_gain
from sid_tf2.simulation.raw_sources import (
    RawSource,
    is_raw_path,
    list_raw_paths,
    read_usable_source,
)

FORMAT_VERSION = 1
LONG_EXPOSURE = 10.0
# (name, ratio): SID's short exposures; 10 / 0.033 = 303 is capped to 300 as the original does.
FIXED_SHORTS = (("0.1", 100.0), ("0.04", 250.0), ("0.033", 300.0))
MAX_RATIO = 300.0
F_NUMBERS = (4.0, 4.5, 5.0, 5.6, 7.1, 8.0, 9.0, 10.0, 11.0, 13.0, 14.0, 16.0)
LONG_ISO = 100
COMPLETE_MARKER = "simulation.json"
PROGRESS_MARKER = ".simulation-in-progress.json"


@dataclasses.dataclass(frozen=True)
class SimulationSummary:
    """What `write_synthetic_dataset` made.

    Attributes:
      output_dir: the dataset folder.
      splits: split name -> scene ids (5-digit strings).
      num_long, num_short: numbers of DNG files in the dataset.
      list_files: split name -> path of its list file.
      sources: the photographs used (paths), in use order.
      skipped_sources: (path, reason) of photographs that could not be read.
      files_written: DNG files written by this call (0 when the dataset was already complete).
      seconds: wall time of this call.
      warnings: anything the user should know (e.g. photographs shared between splits).
    """

    output_dir: str
    splits: dict
    num_long: int
    num_short: int
    list_files: dict
    sources: list
    skipped_sources: list
    files_written: int
    seconds: float
    warnings: list

    def to_dict(self):
        return dataclasses.asdict(self)


def _rng(seed, *key):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _write_json_atomic(path, value):
    write_text(path, json.dumps(value, indent=1, sort_keys=True) + "\n")


def _short_exposures(rng, ratios, taken, max_ratio=MAX_RATIO):
    """(name, exposure_time, ratio) of one short file; `taken` holds this burst's names. With
    a `max_ratio` below SID's 300 the exposures are longer alike, named so that 10 / exposure
    gives the ratio back."""
    if ratios == "fixed" and max_ratio == MAX_RATIO:
        name, ratio = FIXED_SHORTS[len(taken)]
        return name, LONG_EXPOSURE / ratio, ratio
    while True:
        if ratios == "fixed":
            ratio = FIXED_SHORTS[len(taken)][1] * max_ratio / MAX_RATIO
        else:
            ratio = noise_lib.sample_ratio(rng, "uniform", max_ratio)
        name = format_exposure(LONG_EXPOSURE / ratio)
        if name not in taken:
            exposure = float(name)
            return name, exposure, min(LONG_EXPOSURE / exposure, MAX_RATIO)


def _read_source(path, max_ratio=MAX_RATIO):
    """A photograph as float32 RGB, or a raw file as a `RawSource` that is bright enough for
    the largest ratio; `PhotoError` (or its `RawSourceError`) says why a source cannot be used."""
    if is_raw_path(path):
        return read_usable_source(path, max_ratio)
    return sources_lib.read_photo(path)


def _scan_sources(source_dir, num_scenes, report, max_ratio=MAX_RATIO):
    """Usable sources (photographs and raw files) in order, stopping once there is one per
    scene."""
    if source_dir is None:
        candidates = sources_lib.default_photo_paths()
        where = f"scikit-image's data folder {sources_lib.skimage_data_dir()}"
    else:
        root = pathlib.Path(source_dir)
        candidates = sorted(
            sources_lib.list_photo_paths(source_dir) + list_raw_paths(source_dir),
            key=lambda path: path.relative_to(root).as_posix())
        where = f"{source_dir}"
    readable, skipped, cache, cached_bytes = [], [], {}, 0
    for path in candidates:
        if len(readable) == num_scenes:
            break
        try:
            source = _read_source(path, max_ratio)
        except sources_lib.PhotoError as error:
            skipped.append((str(path), str(error)))
            report(f"skipping source: {error}")
            continue
        readable.append(path)
        size = getattr(source, "nbytes", None) or source.mosaic.nbytes
        if cached_bytes + size <= 512 * 2**20:
            cache[str(path)] = source
            cached_bytes += size
    if not readable:
        details = "; ".join(reason for _, reason in skipped)
        raise ValueError(
            f"No readable photographs ({', '.join(sources_lib.PHOTO_EXTENSIONS)}) or Bayer raw "
            f"files in {where}" + (f"; unusable: {details}" if details else "")
        )
    return candidates, readable, skipped, cache


def _check_settings(output_dir, config):
    """Decide from the markers whether to start, resume, or stop with an error."""
    for marker in (COMPLETE_MARKER, PROGRESS_MARKER):
        path = output_dir / marker
        if path.exists():
            try:
                previous = json.loads(path.read_text(encoding="utf-8")).get("config")
            except (OSError, ValueError):
                previous = None
            if previous != config:
                different = sorted(
                    key for key in set(config) | set(previous or {})
                    if (previous or {}).get(key) != config.get(key)
                )
                raise ValueError(
                    f"{output_dir} already holds a synthetic dataset made with other settings "
                    f"({path.name} differs in: {', '.join(different) or 'unreadable file'}). "
                    "Use another output_dir, or delete this one."
                )
            return marker
    for sub in ("short", "long"):
        if any((output_dir / sub).glob("*.dng")):
            raise ValueError(
                f"{output_dir / sub} already has DNG files but no {COMPLETE_MARKER} or "
                f"{PROGRESS_MARKER}: not a dataset this simulator started. Use another "
                "output_dir."
            )
    return None


def _complete_summary(output_dir, started, report):
    """The summary of an already complete dataset, or None if any of its files is missing."""
    record = json.loads((output_dir / COMPLETE_MARKER).read_text(encoding="utf-8"))
    files = [scene["long"]["file"] for scene in record["scenes"]]
    files += [short["file"] for scene in record["scenes"] for short in scene["shorts"]]
    missing = [name for name in files + list(record["lists"].values())
               if not (output_dir / name).is_file()]
    if missing:
        report(f"{len(missing)} file(s) of the dataset are missing; making them again")
        return None
    summary = SimulationSummary(
        output_dir=str(output_dir),
        splits=record["splits"],
        num_long=len(record["scenes"]),
        num_short=len(files) - len(record["scenes"]),
        list_files={split: str(output_dir / name) for split, name in record["lists"].items()},
        sources=record["sources"],
        skipped_sources=[tuple(item) for item in record["skipped_sources"]],
        files_written=0,
        seconds=time.monotonic() - started,
        warnings=record.get("warnings", []),
    )
    report(f"dataset {output_dir} is already complete ({len(files)} DNG files)")
    return summary


def write_synthetic_dataset(output_dir, *, source_dir=None, num_scenes=8, size=(1024, 1024),
                            seed=0, noise_model="physics", ratios="fixed", bursts=1,
                            profile="sony_a7s2", progress=True, max_ratio=MAX_RATIO, isos=()):
    """Generate a synthetic low-light dataset in SID's layout (see the module docstring).

    Args:
      output_dir: the dataset folder (created if needed).
      source_dir: a folder of JPEG/PNG/TIFF photographs and/or raw files of Bayer cameras
        (searched recursively, sorted); None uses the photographs bundled with scikit-image.
        Unusable files (unreadable, X-Trans, Foveon, linear DNG, raws too dark for ratio 300)
        are reported with their reason and skipped; none usable is an error.
      num_scenes: scenes to make; beyond the number of sources they are reused with other
        crops, flips and noise (raw sources: other noise). Split about 70/10/20 into
        train/val/test.
      size: (H, W) of each photograph's mosaic, even numbers, at least 24; raw sources keep
        their own size.
      seed: a non-negative integer; the same arguments give byte-identical files.
      noise_model: "physics" or "poisson_gaussian".
      ratios: "fixed" (0.1 s, 0.04 s, 0.033 s: ratios 100, 250, 300) or "uniform" (three
        exposures per burst with ratios uniform in [100, 300], named so that 10 / exposure
        gives the ratio back).
      bursts: short-exposure bursts per scene (names `_00`, `_01`, ...).
      max_ratio: the largest ratio (the others scaled alike): SID's 300, or less for a camera
        of fewer bits (`noise.fitting_max_ratio`).
      profile: camera profile name, noise-profile JSON file (`noise_profile.py`) or
        `CameraProfile` ("sony_a7s2", "other").
      progress: True prints progress lines, a callable receives them, False is silent.
      isos: the ISOs a raw source's scenes are simulated at, one drawn per scene; empty: the
        source's own (`raw_pairs.pair_gain`).

    Returns:
      A `SimulationSummary`.
    """
    started = time.monotonic()
    report = progress if callable(progress) else (
        (lambda line: print(line, flush=True)) if progress else (lambda line: None))
    profile = get_profile(profile)
    size, bursts, seed, num_scenes = _checked_arguments(size, noise_model, ratios, bursts, seed,
                                                        num_scenes)
    ids = scene_ids(num_scenes)

    output_dir = pathlib.Path(output_dir)
    if not 1 <= max_ratio <= MAX_RATIO:
        raise ValueError(f"max_ratio must be in [1, {MAX_RATIO:g}], got {max_ratio!r}")
    candidates, readable, skipped, cache = _scan_sources(source_dir, num_scenes, report, max_ratio)
    config = _settings(seed=seed, num_scenes=num_scenes, size=size, noise_model=noise_model,
                       ratios=ratios, bursts=bursts, profile=profile, source_dir=source_dir,
                       candidates=candidates, max_ratio=max_ratio, isos=isos)
    output_dir.mkdir(parents=True, exist_ok=True)
    state = _check_settings(output_dir, config)
    if state == COMPLETE_MARKER:
        done = _complete_summary(output_dir, started, report)
        if done is not None:
            return done
    _prepare_folders(output_dir, config, keep_complete_record=state == COMPLETE_MARKER)

    counts = split_counts(num_scenes)
    photo_index, shared = assign_photos(counts, len(readable))
    warnings = _source_warnings(profile, readable, counts, shared)
    scenes, lists, files_written = [], {split: [] for split in SPLITS}, 0
    for index, (scene_id, split) in enumerate(ids):
        scene_started = time.monotonic()
        path = readable[photo_index[index]]
        source = cache.get(str(path))
        if source is None:
            source = _read_source(path, max_ratio)
        long = _long_exposure(source, size, _rng(seed, index, 0), profile, isos)
        if long.note and long.note not in warnings:
            warnings.append(long.note)
        scene, lines, written = _write_scene(
            output_dir, scene_id, index, long, seed=seed, bursts=bursts, ratios=ratios,
            noise_model=noise_model, profile=profile, max_ratio=max_ratio)
        scenes.append({"id": scene_id, "split": split, "source": str(path), **scene})
        lists[split] += lines
        files_written += written
        elapsed = time.monotonic() - started
        eta = elapsed / (index + 1) * (num_scenes - index - 1)
        report(
            f"scene {index + 1}/{num_scenes} {scene_id} ({split}) from {path.name}: "
            f"{time.monotonic() - scene_started:.1f} s; elapsed {elapsed:.1f} s, "
            f"ETA {eta:.1f} s"
        )

    record, list_files = _write_record(output_dir, config, readable, skipped, ids, scenes, lists,
                                       warnings)
    summary = SimulationSummary(
        output_dir=str(output_dir),
        splits=record["splits"],
        num_long=len(scenes),
        num_short=sum(len(scene["shorts"]) for scene in scenes),
        list_files=list_files,
        sources=record["sources"],
        skipped_sources=[tuple(item) for item in skipped],
        files_written=files_written,
        seconds=time.monotonic() - started,
        warnings=warnings,
    )
    report(
        f"wrote {files_written} DNG files; dataset {output_dir}: {summary.num_long} long, "
        f"{summary.num_short} short; train/val/test scenes "
        f"{'/'.join(str(len(summary.splits[s])) for s in SPLITS)}; {summary.seconds:.1f} s"
    )
    for warning in warnings:
        report(f"warning: {warning}")
    return summary


def _checked_arguments(size, noise_model, ratios, bursts, seed, num_scenes):
    """(size, bursts, seed, num_scenes) as integers; a ValueError names a bad argument."""
    size = tuple(int(s) for s in size)
    if len(size) != 2 or any(s < 24 or s % 2 for s in size):
        raise ValueError(f"size must be (H, W) with even values of at least 24, got {size}")
    if noise_model not in noise_lib.NOISE_MODELS:
        raise ValueError(
            f"noise_model must be one of {noise_lib.NOISE_MODELS}, not {noise_model!r}")
    if ratios not in noise_lib.RATIO_MODES:
        raise ValueError(f"ratios must be one of {noise_lib.RATIO_MODES}, not {ratios!r}")
    if not 1 <= int(bursts) <= 100:
        raise ValueError(f"bursts must be in [1, 100], got {bursts}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return size, int(bursts), int(seed), int(num_scenes)


def _settings(*, seed, num_scenes, size, noise_model, ratios, bursts, profile, source_dir,
              candidates, max_ratio=MAX_RATIO, isos=()):
    """Everything that decides the files, as simulation.json records it: a run resumes only a
    dataset made with the same settings."""
    config = {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "num_scenes": num_scenes,
        "size": list(size),
        "noise_model": noise_model,
        "ratios": ratios,
        "bursts": bursts,
        "profile": profile.to_dict(),
        "source_dir": None if source_dir is None else str(pathlib.Path(source_dir).resolve()),
        "source_candidates": [str(path) for path in candidates],
        # Only when not SID's: datasets written before the setting existed still resume.
        **({"max_ratio": max_ratio} if max_ratio != MAX_RATIO else {}),
        **({"isos": [float(iso) for iso in isos]} if len(isos) else {}),
    }
    return json.loads(json.dumps(config))  # as it reads back from simulation.json


def _prepare_folders(output_dir, config, keep_complete_record):
    """Make short/ and long/, remove what an interrupted write left there, and mark the run as
    under way, unless it completes a dataset whose files went missing (its record stays until
    it is rewritten)."""
    for sub in ("short", "long"):
        (output_dir / sub).mkdir(exist_ok=True)
        for stale in (output_dir / sub).glob(".tmp-*"):  # left by an interrupted write
            stale.unlink()
    if not keep_complete_record:
        _write_json_atomic(output_dir / PROGRESS_MARKER, {"config": config})


def _source_warnings(profile, readable, counts, shared):
    """What the user should know about the sources before any scene is made."""
    warnings = []
    if profile.name == "sony_a7s2" and any(map(is_raw_path, readable)):
        warnings.append(
            "raw sources get the Sony A7S2's noise profile; for another camera pass its own "
            "(--noise_profile=FILE, e.g. from --calibrate)")
    if shared:
        warnings.append(
            f"only {len(readable)} source(s) for {sum(c > 0 for c in counts)} splits: "
            "splits share sources"
        )
    return warnings


@dataclasses.dataclass(frozen=True)
class _LongExposure:
    """A scene's clean long exposure and what its short exposures share with it."""

    mosaic: np.ndarray
    metadata: object  # `unprocess.RawMetadata` of a photograph, or the `RawSource` itself
    info: dict  # how a photograph was cut into the scene (empty for a raw source)
    f_number: float
    gain: float  # a raw source's system gain K, fixed by its ISO; None: drawn per short file
    iso: int
    camera_model: str
    note: str  # what the user should know about a raw source's gain, or None


def _long_exposure(source, size, rng, profile, isos=()):
    """A raw source's own mosaic, or a photograph cut to `size` and unprocessed to a mosaic."""
    if isinstance(source, RawSource):
        f_number = float(F_NUMBERS[rng.integers(len(F_NUMBERS))])
        gain, iso, note = pair_gain(source, rng, profile, isos)
        return _LongExposure(source.mosaic, source, {}, f_number, gain, iso,
                             "simulated from a clean raw file", note)
    image, info = sources_lib.scene_from_photo(source, size, rng)
    xyz_to_cam = unprocess_lib.sample_xyz_to_cam(rng, profile)
    gains = unprocess_lib.sample_wb_gains(rng, profile)
    f_number = float(F_NUMBERS[rng.integers(len(F_NUMBERS))])
    mosaic, metadata = unprocess_lib.unprocess(
        image, xyz_to_cam=xyz_to_cam, wb_gains=gains,
        black_level=profile.black_level, white_level=profile.white_level)
    return _LongExposure(mosaic, metadata, info, f_number, None, LONG_ISO, profile.model, None)


def _write_scene(output_dir, scene_id, index, long, *, seed, bursts, ratios, noise_model,
                 profile, max_ratio=MAX_RATIO):
    """Write a scene's long file and its short files, skipping those already there.

    Returns (the scene's record for simulation.json, without id, split and source; its list
    lines; the number of files written).
    """
    metadata, files_written = long.metadata, 0
    black_level = black_level_of(metadata)
    long_name = f"{scene_id}_00_{format_exposure(LONG_EXPOSURE)}s.dng"
    long_path = output_dir / "long" / long_name
    if not long_path.exists():
        _write_dng(long_path, long.mosaic, metadata, LONG_EXPOSURE, long.iso, profile.make,
                   long.camera_model)
        files_written += 1
    shorts, lines = [], []
    for burst in range(bursts):
        taken = []
        for k in range(len(FIXED_SHORTS)):
            file_rng = _rng(seed, index, 1 + burst * len(FIXED_SHORTS) + k)
            name, exposure_time, ratio = _short_exposures(file_rng, ratios, taken, max_ratio)
            taken.append(name)
            params = noise_lib.sample_noise_params(file_rng, noise_model, profile,
                                                   system_gain=long.gain)
            iso = long.iso if long.gain else nominal_iso(params.system_gain, profile)
            short_name = f"{scene_id}_{burst:02d}_{name}s.dng"
            short_path = output_dir / "short" / short_name
            if not short_path.exists():
                short = noise_lib.simulate_short_exposure(
                    long.mosaic, ratio, params, file_rng,
                    black_level=black_level, white_level=metadata.white_level)
                _write_dng(short_path, short, metadata, exposure_time, iso, profile.make,
                           long.camera_model)
                files_written += 1
            shorts.append({
                "file": f"short/{short_name}", "burst": burst, "exposure_name": name,
                "exposure_time": exposure_time, "ratio": ratio, "iso": iso,
                "noise": params.to_dict(), "wb_gains": list(metadata.wb_gains),
            })
            lines.append(f"./short/{short_name} ./long/{long_name} ISO{iso} F{long.f_number:g}")
    scene = {
        **long.info,
        "f_number": long.f_number, "long": {"file": f"long/{long_name}",
                                            "exposure_time": LONG_EXPOSURE, "iso": long.iso},
        **metadata.to_dict(), "shorts": shorts,
    }
    return scene, lines, files_written


def _write_dng(path, mosaic, metadata, exposure_time, iso, make, model):
    from sid_tf2 import dng  # pylint: disable=import-outside-toplevel  (PIL, through dng: only when writing)

    dng.write_dng(
        path, mosaic, cfa_pattern=metadata.cfa_pattern, black_level=metadata.black_level,
        white_level=metadata.white_level, color_matrix=np.asarray(metadata.xyz_to_cam),
        as_shot_neutral=metadata.as_shot_neutral, exposure_time=exposure_time, iso=iso,
        make=make, model=model,
    )


def _write_record(output_dir, config, readable, skipped, ids, scenes, lists, warnings):
    """Write the list files, then simulation.json, which marks the dataset complete.

    Returns (the record, split -> list file path).
    """
    list_files = {}
    for split in SPLITS:
        list_files[split] = str(output_dir / LIST_FILES[split])
        lines = sorted(lists[split])
        write_text(list_files[split], "".join(line + "\n" for line in lines))
    record = {
        "description": "sid-tf2 synthetic low-light dataset (unprocessed photographs or "
                       "clean raw files, simulated short exposures)",
        "config": config,
        "sources": [str(path) for path in readable],
        "skipped_sources": [list(item) for item in skipped],
        "splits": {split: [s for s, sp in ids if sp == split] for split in SPLITS},
        "lists": {split: LIST_FILES[split] for split in SPLITS},
        "scenes": scenes,
        "warnings": warnings,
    }
    _write_json_atomic(output_dir / COMPLETE_MARKER, record)
    (output_dir / PROGRESS_MARKER).unlink(missing_ok=True)
    return record, list_files
