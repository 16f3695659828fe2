"""Tests of sid_tf2.data: discovery, the disk cache, the training and evaluation pipelines, the check.

Datasets are tiny real DNG files (64x96 mosaics) written with sid_tf2.dng; the expected crops are
computed straight from rawpy with the original's formulas, written out again here.
"""

import dataclasses
import os

import numpy as np
import pytest
import rawpy
from helpers import run_command

from parity_tests.environment import reference_file
from sid_tf2 import data
from sid_tf2.data import sampling
from sid_tf2.dng import write_dng
from sid_tf2.raw import SID_XTRANS_PATTERN, RawFileError, pack_bayer

H, W = 64, 96  # mosaic size: packed 32 x 48 (Bayer)
PATCH = 16
XTRANS = SID_XTRANS_PATTERN  # the X-Trans phase the original packing table assumes

# short/: dark inputs, long/: bright ground truths (.ARW names hold DNG content too)
BAYER_FILES = [
    "short/00001_00_0.1s.dng", "short/00001_00_0.04s.dng", "short/00001_01_0.1s.dng",
    "short/00002_00_0.033s.ARW", "short/00002_00_0.1s.dng",
    "short/00005_00_0.1s.dng", "short/00006_00_0.04s.dng", "short/00007_00_0.1s.dng",
    "short/10003_00_0.1s.dng", "short/10034_00_0.1s.dng", "short/20004_00_0.04s.dng",
    "long/00001_00_10s.dng", "long/00001_00_30s.dng", "long/00002_00_30s.ARW",
    "long/00005_00_10s.dng", "long/00006_00_30s.dng", "long/00007_00_10s.dng",
    "long/10003_00_10s.dng", "long/10034_00_10s.dng", "long/20004_00_10s.dng",
]


def _mosaic(rng, kind, shape=(H, W)):
    if kind == "short":  # around the black level, a few saturating pixels after amplification
        mosaic = rng.integers(480, 600, size=shape)
        mosaic[rng.random(shape) < 0.01] = 700
    else:
        mosaic = rng.integers(512, 9000, size=shape)
    return mosaic.astype(np.uint16)


def write_raw(path, kind, seed, cfa="RGGB", shape=(H, W)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    black = 1024 if not isinstance(cfa, str) else 512
    mosaic = _mosaic(rng, kind, shape) + (black - 512)
    write_dng(path, mosaic, cfa_pattern=cfa, black_level=black, white_level=16383,
              as_shot_neutral=[0.5, 1.0, 0.7])


def make_dataset(root, files=BAYER_FILES, **kwargs):
    for number, name in enumerate(files):
        write_raw(os.path.join(root, name), name.split("/")[0], number, **kwargs)
    return str(root)


@pytest.fixture(scope="module")
def bayer_dir(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("bayer"))


@pytest.fixture(scope="module")
def bayer_cache(bayer_dir):
    scenes = data.discover_scenes(bayer_dir)
    return data.prepare_cache(scenes, os.path.join(bayer_dir, ".cache"), progress=False)


# -- the original's formulas, straight from rawpy -------------------------------------------------
def original_pack_sony(path):
    with rawpy.imread(path) as raw:
        im = raw.raw_image_visible.astype(np.float32)
    im = np.maximum(im - 512, 0) / (16383 - 512)
    return np.stack([im[0::2, 0::2], im[0::2, 1::2], im[1::2, 1::2], im[1::2, 0::2]], axis=-1)


def original_pack_fuji(path):
    with rawpy.imread(path) as raw:
        im = raw.raw_image_visible.astype(np.float32)
    im = np.maximum(im - 1024, 0) / (16383 - 1024)
    im = im[:im.shape[0] // 6 * 6, :im.shape[1] // 6 * 6]
    out = np.zeros((im.shape[0] // 3, im.shape[1] // 3, 9), dtype=np.float32)
    table = [
        [(0, 0), (0, 4), (3, 1), (3, 3)], [(0, 2), (0, 5), (3, 2), (3, 5)], [(0, 1), (0, 3), (3, 0), (3, 4)],
        [(1, 2), (2, 5), (5, 2), (4, 5)], [(2, 2), (1, 5), (4, 2), (5, 5)],
    ]
    for channel, sources in enumerate(table):
        for (a, b), (r, s) in zip([(0, 0), (0, 1), (1, 0), (1, 1)], sources):
            out[a::2, b::2, channel] = im[r::6, s::6]
    for channel, (r, s) in enumerate([(1, 0), (1, 1), (2, 0), (2, 1)], start=5):
        out[:, :, channel] = im[r::3, s::3]
    return out


def original_gt(path):
    with rawpy.imread(path) as raw:
        im = raw.postprocess(use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16)
    return np.float32(im / 65535.0)


def flip_like_original_spec(image, draw):
    if draw.flip_rows:
        image = np.flip(image, axis=0)
    if draw.flip_cols:
        image = np.flip(image, axis=1)
    if draw.transpose:
        image = np.transpose(image, (1, 0, 2))
    return image


def expected_example(sampler, epoch, index, pack):
    scene, pair, draw = sampler.draw(epoch, index)
    p, block = sampler.patch_size, sampler.block
    inputs = np.minimum(pack(pair.input_path) * np.float32(pair.ratio), 1.0)[draw.y:draw.y + p, draw.x:draw.x + p]
    gt = original_gt(scene.gt_path)[block * draw.y:block * (draw.y + p), block * draw.x:block * (draw.x + p)]
    return flip_like_original_spec(inputs, draw), flip_like_original_spec(gt, draw)


def batches(dataset):
    return [(inputs.numpy(), gt.numpy()) for inputs, gt in dataset]


# -- discovery ---------------------------------------------------------------------------------
def test_glob_discovery_follows_the_original(bayer_dir):
    scenes = data.discover_scenes(bayer_dir)
    assert [s.scene_id for s in scenes] == [1, 2, 5, 6, 7, 10003, 10034, 20004]
    first = scenes[0]
    assert first.gt_path == os.path.join(bayer_dir, "long", "00001_00_10s.dng")  # first sorted long
    assert [os.path.basename(p) for p in first.input_paths] == ["00001_00_0.04s.dng", "00001_00_0.1s.dng"]
    pairs = first.pairs()
    assert [(p.input_exposure, p.gt_exposure, p.ratio) for p in pairs] == [(0.04, 10.0, 250.0), (0.1, 10.0, 100.0)]
    assert [p.ratio for p in scenes[1].pairs()] == [300, 300]  # 30 / 0.033 and 30 / 0.1, capped
    everything = data.discover_scenes(bayer_dir, bursts="all")
    assert len(everything[0].input_paths) == 3
    assert data.camera_from_extension("a/00002_00_0.1s.ARW") == "sony"
    assert data.camera_from_extension("x.RAF") == "fuji" and data.camera_from_extension("x.dng") is None
    assert data.infer_camera(scenes[1].pairs()[:1]) == "sony"  # .ARW: no need to read it
    with pytest.raises(data.DatasetError, match="CFA"):
        data.infer_camera(scenes[:1])  # .dng without a cache to read the pattern from


def test_splits_and_misaligned_scenes(bayer_dir):
    ids = lambda **kw: [s.scene_id for s in data.discover_scenes(bayer_dir, **kw)]  # noqa: E731
    assert ids(split="train") == [1, 2, 5, 6, 7]
    assert ids(split="test") == [10003, 10034]
    assert ids(split="val") == [20004]
    assert ids(split="test", exclude_misaligned=True) == [10003]
    assert len(data.discover_pairs(bayer_dir, split="train")) == 7
    with pytest.raises(ValueError, match="split"):
        data.discover_scenes(bayer_dir, split="holdout")


def test_list_file_pairs(bayer_dir, tmp_path):
    list_file = os.path.join(bayer_dir, "Synthetic_train_list.txt")
    with open(list_file, "w") as stream:
        stream.write("./short/00001_00_0.1s.dng ./long/00001_00_10s.dng ISO200 F8\n"
                     "./short/00001_01_0.1s.dng ./long/00001_00_10s.dng ISO200 F8\n"
                     "\n./short/10003_00_0.1s.dng ./long/10003_00_10s.dng ISO200 F9\n")
    scenes = data.discover_scenes(list_file=list_file)
    assert [(s.scene_id, len(s.input_paths)) for s in scenes] == [(1, 2), (10003, 1)]
    assert scenes[0].input_paths[1] == os.path.join(bayer_dir, "short", "00001_01_0.1s.dng")
    assert [s.scene_id for s in data.discover_scenes(list_file=list_file, split="train")] == [1]
    assert len(data.discover_scenes(list_file=list_file, bursts="00")[0].input_paths) == 1
    # The real lists sit in dataset/ and name ./Sony/...: paths are relative to the list's directory.
    (tmp_path / "Sony").symlink_to(bayer_dir)
    (tmp_path / "list.txt").write_text("./Sony/short/00002_00_0.1s.dng ./Sony/long/00002_00_30s.ARW ISO200 F8\n")
    pair, = data.discover_pairs(list_file=str(tmp_path / "list.txt"))
    assert os.path.isfile(pair.input_path) and pair.ratio == 300


def test_a_name_without_exposure_is_named(tmp_path):
    root = make_dataset(tmp_path, ["short/00001_00_0.1s.dng", "short/00001_00_dark.dng", "long/00001_00_10s.dng"])
    with pytest.raises(ValueError, match="00001_00_dark.dng"):
        data.discover_scenes(root)


# -- the training pipeline ---------------------------------------------------------------------
def test_train_crops_follow_the_original_formula(bayer_dir, bayer_cache):
    scenes = data.discover_scenes(bayer_dir, split="train")
    sampler = data.TrainSampler(scenes, bayer_cache, patch_size=PATCH, seed=3, progress=False)
    for epoch in (0, 1):
        got = batches(sampler.dataset(epoch))
        assert len(got) == len(scenes)
        for index, (inputs, gt) in enumerate(got):
            assert inputs.shape == (1, PATCH, PATCH, 4) and gt.shape == (1, 2 * PATCH, 2 * PATCH, 3)
            want_inputs, want_gt = expected_example(sampler, epoch, index, original_pack_sony)
            np.testing.assert_allclose(inputs[0], want_inputs, rtol=0, atol=1e-6)
            np.testing.assert_array_equal(gt[0], want_gt)
    visited = [sampler.draw(1, i)[0].scene_id for i in range(len(scenes))]
    assert sorted(visited) == [s.scene_id for s in scenes]  # every scene once


@pytest.mark.parametrize("patch", [8, 7])
def test_xtrans_crops_follow_the_original_formula(tmp_path, patch):
    root = make_dataset(tmp_path, ["short/00001_00_0.1s.dng", "short/00001_00_0.04s.dng"], cfa=XTRANS,
                        shape=(75, 99))
    # LibRaw's X-Trans demosaic needs 512x512 pixels: a Bayer file of the same size stands in
    # for the ground truth (what is tested is where the crops come from).
    make_dataset(tmp_path, ["long/00001_00_10s.dng"], shape=(75, 99))
    scenes = data.discover_scenes(root)
    sampler = data.TrainSampler(scenes, os.path.join(root, ".cache"), camera="fuji", patch_size=patch,
                                progress=False)
    corners = set()
    for epoch in range(8):
        (inputs, gt), = batches(sampler.dataset(epoch))
        assert inputs.shape == (1, patch, patch, 9) and gt.shape == (1, 3 * patch, 3 * patch, 3)
        corners.add((sampler.draw(epoch, 0)[2].y % 2, sampler.draw(epoch, 0)[2].x % 2))
        want_inputs, want_gt = expected_example(sampler, epoch, 0, original_pack_fuji)
        np.testing.assert_allclose(inputs[0], want_inputs, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(gt[0], want_gt)
    assert len(corners) > 1  # odd corners too, not only those on a 6x6 block
    assert data.infer_camera(scenes, sampler.cache) == "fuji"  # .dng: from the CFA pattern
    example = next(data.make_eval_pairs(scenes, sampler.cache, camera=None, progress=False))
    assert example.input.shape == (24, 32, 9) and example.gt.shape == (72, 96, 3)
    with pytest.raises(data.DatasetError, match="X-Trans"):
        data.TrainSampler(scenes, sampler.cache, camera="sony", patch_size=4, progress=False)


def _position_dataset(root, count, camera):
    """Cached scenes whose mosaic holds 512 + row * width + col and whose gt holds (row, col, 0)."""
    cache = data.RawCache(os.path.join(root, "cache"))
    height, width = (40, 60) if camera == "sony" else (42, 60)
    rows, cols = np.mgrid[:height, :width]
    gt = np.stack([rows, cols, np.zeros_like(rows)], axis=-1)
    scenes = []
    for scene_id in range(count):
        paths = [os.path.join(root, kind, f"{scene_id:05d}_00_10s.ARW") for kind in ("short", "long")]
        for path in paths:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
        cfa = "RGGB" if camera == "sony" else "".join("RGB"[i] for i in XTRANS.ravel())
        cache.store_input(paths[0], 1024 + rows * width + cols, cfa=cfa,
                          black_level=1024 if camera == "sony" else None)
        cache.store_ground_truth(paths[1], gt)
        scenes.append(data.Scene(scene_id, paths[1], (paths[0],)))  # ratio 10 s / 10 s = 1
    return scenes, cache, width


@pytest.mark.parametrize("camera", ["sony", "fuji"])
def test_gt_crop_aligns_with_the_input_crop_under_flips(tmp_path, camera):
    scenes, cache, width = _position_dataset(str(tmp_path), 24, camera)
    sampler = data.TrainSampler(scenes, cache, camera=camera, patch_size=6, seed=1, progress=False)
    block = sampler.block
    seen = set()
    for epoch in range(2):
        for index, (inputs, gt) in enumerate(batches(sampler.dataset(epoch, batch_size=5))):
            positions = np.rint(gt * 65535).astype(int)
            for inp, pos in zip(inputs, positions):
                channel = 0 if camera == "sony" else 5  # R at (2Y, 2X); X-Trans ch 5 at (3Y + 1, 3X)
                code = np.rint(inp[..., channel] * (16383 - 1024)).astype(int)
                rows, cols = code // width, code % width
                rows = rows // 2 if camera == "sony" else (rows - 1) // 3
                cols = cols // block
                for i in range(6):
                    for j in range(6):
                        block_pos = pos[block * i:block * (i + 1), block * j:block * (j + 1), :2].reshape(-1, 2)
                        want = {(block * rows[i, j] + a, block * cols[i, j] + b)
                                for a in range(block) for b in range(block)}
                        assert set(map(tuple, block_pos)) == want
        seen.update((d.flip_rows, d.flip_cols, d.transpose) for d in
                    (sampler.draw(epoch, i)[2] for i in range(len(scenes))))
    assert len(seen) == 8  # every combination of the three augmentations occurred


def test_same_seed_and_epoch_give_identical_batches(bayer_dir, bayer_cache):
    scenes = data.discover_scenes(bayer_dir)
    sequential = data.make_train_dataset(scenes, bayer_cache, patch_size=PATCH, seed=5, epoch=7,
                                         num_parallel_calls=1, progress=False)
    parallel = data.make_train_dataset(scenes, data.RawCache(bayer_cache.cache_dir), patch_size=PATCH, seed=5,
                                       epoch=7, progress=False)
    for (a_in, a_gt), (b_in, b_gt) in zip(batches(sequential), batches(parallel), strict=True):
        np.testing.assert_array_equal(a_in, b_in)
        np.testing.assert_array_equal(a_gt, b_gt)
    # a run resumed at epoch 2 (a fresh sampler) reproduces the uninterrupted run's epoch 2
    uninterrupted = data.TrainSampler(scenes, bayer_cache, patch_size=PATCH, seed=5, progress=False)
    epochs = [batches(uninterrupted.dataset(epoch)) for epoch in range(3)]
    resumed = data.TrainSampler(scenes, data.RawCache(bayer_cache.cache_dir), patch_size=PATCH, seed=5,
                                progress=False)
    for (a_in, a_gt), (b_in, b_gt) in zip(epochs[2], batches(resumed.dataset(2)), strict=True):
        np.testing.assert_array_equal(a_in, b_in)
        np.testing.assert_array_equal(a_gt, b_gt)
    orders = {tuple(data.epoch_order(len(scenes), 5, epoch)) for epoch in range(6)}
    assert len(orders) > 1
    assert not np.array_equal(data.epoch_order(8, 5, 7), data.epoch_order(8, 6, 7))
    other = batches(data.make_train_dataset(scenes, bayer_cache, patch_size=PATCH, seed=5, epoch=8, progress=False))
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(batches(sequential), other))


def test_batches_larger_than_one(bayer_dir, bayer_cache):
    scenes = data.discover_scenes(bayer_dir)  # 8 scenes
    dataset = data.make_train_dataset(scenes, bayer_cache, patch_size=PATCH, batch_size=3, progress=False)
    assert dataset.element_spec[0].shape.as_list() == [None, PATCH, PATCH, 4]
    assert [b[0].shape[0] for b in batches(dataset)] == [3, 3, 2]
    dropped = data.make_train_dataset(scenes, bayer_cache, patch_size=PATCH, batch_size=3, drop_remainder=True,
                                      progress=False)
    assert dropped.element_spec[1].shape.as_list() == [3, 2 * PATCH, 2 * PATCH, 3]
    single = [b for b in batches(data.make_train_dataset(scenes, bayer_cache, patch_size=PATCH, progress=False))]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches(dataset)]),
                                  np.concatenate([b[0] for b in single]))


def test_ground_truth_scaling_matches_the_original_for_every_value():
    values = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(sampling.gt_to_float(values), np.float32(values / 65535.0))


@pytest.mark.parametrize("camera", ["sony", "fuji"])
def test_draws_cover_the_originals_range(camera):
    """The original's `randint(0, H - p)`: every corner in [0, H - p), never H - p itself."""
    draws = [data.draw_sample(0, 0, i, [(20, 30)], 17, camera=camera) for i in range(400)]
    assert {d.y for d in draws} == set(range(3)) and {d.x for d in draws} == set(range(13))
    assert data.draw_sample(0, 0, 0, [(20, 30)], 20, camera=camera).y == 0  # patch = image


def test_the_release_recipe_keeps_every_draw_but_the_column_flip():
    draws = [data.draw_sample(0, 3, i, [(20, 30)], 8) for i in range(64)]
    release = [data.draw_sample(0, 3, i, [(20, 30)], 8, column_flips=False) for i in range(64)]
    assert any(d.flip_cols for d in draws) and not any(d.flip_cols for d in release)
    assert [dataclasses.replace(d, flip_cols=False) for d in draws] == release


def test_too_small_images_are_named(bayer_dir, bayer_cache):
    scenes = data.discover_scenes(bayer_dir, split="val")
    with pytest.raises(data.DatasetError, match=r"20004_00_0\.04s\.dng.*smaller than the patch"):
        data.make_train_dataset(scenes, bayer_cache, patch_size=40, progress=False)


def test_eval_pairs_are_full_images(bayer_dir, bayer_cache):
    pairs = data.discover_pairs(bayer_dir, split="test")
    examples = list(data.make_eval_pairs(pairs, bayer_cache, progress=False))
    assert [e.pair for e in examples] == pairs
    for example in examples:
        assert example.input.dtype == np.float32 and example.input.shape == (H // 2, W // 2, 4)
        want = np.minimum(original_pack_sony(example.pair.input_path) * np.float32(example.pair.ratio), 1.0)
        np.testing.assert_allclose(example.input, want, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(example.gt, original_gt(example.pair.gt_path))


def test_dng_levels_and_bayer_phase_follow_pack_bayer(tmp_path):
    short, long = tmp_path / "short" / "00001_00_0.1s.dng", tmp_path / "long" / "00001_00_10s.dng"
    rng = np.random.default_rng(0)
    os.makedirs(short.parent)
    os.makedirs(long.parent)
    write_dng(short, rng.integers(480, 620, size=(H, W)), cfa_pattern="GBRG", black_level=[500, 510, 520, 530],
              white_level=15000)
    write_raw(str(long), "long", 1)
    example, = data.make_eval_pairs(data.discover_pairs(str(tmp_path)), str(tmp_path / "cache"), progress=False)
    with rawpy.imread(str(short)) as raw:
        want = np.minimum(pack_bayer(raw) * np.float32(100.0), 1.0)
    np.testing.assert_array_equal(example.input, want)


# -- the cache ---------------------------------------------------------------------------------
def test_cache_is_reused_and_refreshed_when_a_file_changes(tmp_path):
    root = make_dataset(tmp_path / "d", BAYER_FILES[:3] + ["long/00001_00_10s.dng"])
    scenes = data.discover_scenes(root)
    cache = data.prepare_cache(scenes, str(tmp_path / "cache"), progress=False)
    assert len(cache.decoded) == 3
    again = data.prepare_cache(scenes, str(tmp_path / "cache"), progress=False)
    assert again.decoded == []
    entry = again.input(scenes[0].input_paths[0])
    assert isinstance(entry.load(), np.memmap) and entry.load().dtype == np.uint16
    changed = scenes[0].input_paths[0]
    write_raw(changed, "long", 99)  # new content, size unchanged: the mtime tells
    stat = os.stat(changed)
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = data.prepare_cache(scenes, str(tmp_path / "cache"), progress=False)
    assert third.decoded == [os.path.abspath(changed)]
    with rawpy.imread(changed) as raw:
        np.testing.assert_array_equal(third.input(changed).load(), raw.raw_image_visible)
    assert len([n for n in os.listdir(tmp_path / "cache") if n.endswith(".npy")]) == 3  # stale entry gone
    assert not [n for n in os.listdir(tmp_path / "cache") if n.startswith(".tmp")]


def test_prepare_cache_names_the_bad_file(tmp_path, capsys):
    root = make_dataset(tmp_path / "d", ["short/00001_00_0.1s.dng", "short/00002_00_0.1s.dng",
                                         "long/00001_00_10s.dng", "long/00002_00_10s.dng"])
    bad = os.path.join(root, "short", "00002_00_0.1s.dng")
    with open(bad, "r+b") as stream:
        stream.truncate(os.path.getsize(bad) // 3)
    scenes = data.discover_scenes(root)
    with pytest.raises(RawFileError, match="00002_00_0.1s.dng"):
        data.prepare_cache(scenes, os.path.join(root, ".cache"), progress=True)
    assert "0/4 file 00001_00_0.1s.dng" in capsys.readouterr().err  # progress: files i/N
    with pytest.raises(RawFileError, match="00002_00_0.1s.dng"):
        data.make_train_dataset(scenes, os.path.join(root, ".cache"), patch_size=PATCH, progress=False)


# -- the check ---------------------------------------------------------------------------------
def _broken_dataset(root):
    make_dataset(root, ["short/00001_00_0.1s.dng", "short/00001_00_0.04s.dng", "short/00003_00_0.1s.dng",
                        "short/00004_00_x.dng", "long/00001_00_10s.dng", "long/00002_00_10s.dng",
                        "long/00004_00_10s.dng", "short/00005_00_0.1s.dng", "long/00005_00_10s.dng"])
    truncated = os.path.join(root, "short", "00001_00_0.04s.dng")
    with open(truncated, "r+b") as stream:
        stream.truncate(os.path.getsize(truncated) // 2)
    with open(os.path.join(root, "short", "00004_00_0.1s.ARW"), "w") as stream:
        stream.write("not a raw file\n")
    return {
        ("unreadable", "short/00001_00_0.04s.dng"),  # truncated
        ("unreadable", "short/00004_00_0.1s.ARW"),  # text renamed .ARW
        ("missing_gt", "short/00003_00_0.1s.dng"),  # input without ground truth
        ("missing_input", "long/00002_00_10s.dng"),  # ground truth without input
        ("bad_name", "short/00004_00_x.dng"),  # no exposure in the name
    }


def test_check_lists_every_problem(tmp_path):
    root = str(tmp_path / "d")
    expected = _broken_dataset(root)
    report = data.check_dataset(root)
    assert report.decoded
    found = {(p.kind, os.path.relpath(p.path, root)) for p in report.problems}
    assert found == expected, report.format()
    assert report.pairs_per_split["train"] == 4 and report.scenes_per_split["train"] == 3
    assert report.pairs_per_ratio == {100: 3, 250: 1}
    header_only = data.check_dataset(root, decode=False, cache_dir=str(tmp_path / "c2"))
    assert {(p.kind, os.path.relpath(p.path, root)) for p in header_only.problems} >= expected - {
        ("unreadable", "short/00001_00_0.04s.dng")}
    assert not os.path.exists(tmp_path / "c2")  # nothing decoded


def test_check_command_reports_several_problems_and_fails(tmp_path):
    root = str(tmp_path / "d")
    expected = _broken_dataset(root)
    result = run_command("sid_tf2.data", f"--data_dir={root}")
    assert result.returncode == 1, result.stderr
    for kind, name in expected:
        assert any(line.startswith(f"{kind}: ") and name in line for line in result.stdout.splitlines()), result.stdout
    assert "5 problem(s)" in result.stdout


def test_check_size_mismatch_and_a_clean_dataset(tmp_path):
    root = make_dataset(tmp_path / "d", ["short/00001_00_0.1s.dng", "long/00001_00_10s.dng"])
    report = data.check_dataset(root, patch_size=PATCH)
    assert report.ok, report.format()
    write_raw(os.path.join(root, "long", "00001_00_10s.dng"), "long", 1, shape=(H, W + 6))
    report = data.check_dataset(root)
    assert [p.kind for p in report.problems] == ["size_mismatch"]
    assert "00001_00_0.1s.dng" in report.problems[0].path
    assert [p.kind for p in data.check_dataset(root, decode=False).problems] == ["size_mismatch"]


REFERENCE_COUNTS = {  # ORIGINAL.md: pairs and scenes per list
    ("Sony", "train"): (1865, 161), ("Sony", "val"): (234, 20), ("Sony", "test"): (598, 50),
    ("Fuji", "train"): (1655, 135), ("Fuji", "val"): (218, 17), ("Fuji", "test"): (524, 41),
}


@pytest.mark.parametrize("camera,split", sorted(REFERENCE_COUNTS))
def test_counts_of_the_real_lists(camera, split):
    report = data.count_list(str(reference_file("dataset", f"{camera}_{split}_list.txt")))
    assert report.ok, report.format()
    assert (report.num_pairs, report.scenes_per_split[split]) == REFERENCE_COUNTS[(camera, split)]
    assert set(report.pairs_per_split) == {split}  # the ids' first digit agrees with the list
    assert set(report.pairs_per_ratio) == {100, 250, 300}


def test_count_list_reports_bad_names(tmp_path, bayer_dir):
    list_file = tmp_path / "list.txt"
    list_file.write_text(f"{bayer_dir}/short/00001_00_0.1s.dng {bayer_dir}/long/00001_00_10s.dng\n"
                         "./short/missing_00_0.1s.ARW ./long/00009_00_10s.ARW\n")
    report = data.count_list(str(list_file))
    assert [p.kind for p in report.problems] == ["bad_name"]
    assert report.pairs_per_ratio == {100: 1}


# -- ground truths from the authors' 16-bit PNG release -----------------------------------------
def test_ground_truth_from_16_bit_pngs_equals_the_rendering(bayer_dir, bayer_cache, tmp_path):
    import tensorflow as tf

    from sid_tf2.raw import render_ground_truth_uint16

    scenes = data.discover_scenes(bayer_dir)
    png_dir = tmp_path / "gt_png"
    png_dir.mkdir()
    for scene in scenes:  # what the release holds: rawpy's rendering as 16-bit PNG
        stem = os.path.splitext(os.path.basename(scene.gt_path))[0]
        encoded = tf.io.encode_png(render_ground_truth_uint16(scene.gt_path)).numpy()
        (png_dir / f"{stem}.png").write_bytes(encoded)
    cache = data.RawCache(tmp_path / "cache", gt_png_dir=png_dir)
    cache.prepare(scenes, progress=False)
    assert sorted(p for p in cache.decoded if p.endswith(".png")) == sorted(
        os.path.join(str(png_dir), f) for f in os.listdir(png_dir))
    assert not any(os.sep + "long" + os.sep in p for p in cache.decoded)  # no raw rendered
    for scene in scenes:
        np.testing.assert_array_equal(cache.ground_truth(scene.gt_path).load(),
                                      bayer_cache.ground_truth(scene.gt_path).load())

    eight_bit = png_dir / os.listdir(png_dir)[0]
    eight_bit.write_bytes(tf.io.encode_png(np.zeros((4, 4, 3), np.uint8)).numpy())
    with pytest.raises(RawFileError, match="needs a 16-bit RGB PNG"):
        data.RawCache(tmp_path / "cache2", gt_png_dir=png_dir).prepare(scenes, progress=False)
    eight_bit.unlink()
    with pytest.raises(RawFileError, match=r"ground-truth PNG .* is missing from the --gt_png_dir"):
        data.RawCache(tmp_path / "cache3", gt_png_dir=png_dir).prepare(scenes, progress=False)
