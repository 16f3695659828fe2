"""Fine-tuning: re-initialised and frozen layers, pair subsets, the on-the-fly pipeline."""

import numpy as np
import pytest

import sid_tf2
from sid_tf2.data import Scene, count_by_ratio, subset_scenes
from sid_tf2.simulation.stream import OnTheFlySampler
from sid_tf2.training import TrainConfig, make_optimizer, make_train_step, train, trained_variables
from sid_tf2.training.finetune import ENCODER_LAYERS, last_conv_layers, reinitialize_layers, resolve_frozen_layers


def _batch(seed, size=16):
    rng = np.random.default_rng(seed)
    return (rng.random((1, size, size, 4), dtype=np.float32),
            rng.random((1, 2 * size, 2 * size, 3), dtype=np.float32))


def test_last_layers_count_back_from_g_conv10():
    assert last_conv_layers(3) == ["g_conv10", "g_conv9_2", "g_conv9_1"]
    assert last_conv_layers(0) == [] and len(last_conv_layers(19)) == 19
    with pytest.raises(ValueError):
        last_conv_layers(20)


def test_reinitialised_layers_change_and_the_others_keep_their_values():
    model = sid_tf2.build_unet("sony")
    before = {v.path: v.numpy() for v in model.weights}
    names = reinitialize_layers(model, last_conv_layers(2), seed=5)
    assert names == ["g_conv10", "g_conv9_2"]
    for variable in model.weights:
        layer = variable.path.split("/")[0]
        same = np.array_equal(before[variable.path], variable.numpy())
        if layer in names and variable.path.endswith("kernel"):
            assert not same, variable.path
        elif layer not in names:
            assert same, variable.path  # bit for bit
    # Seeded: the same seed gives the same fresh weights, another seed others.
    again = sid_tf2.build_unet("sony")
    reinitialize_layers(again, ["g_conv10"], seed=5)
    np.testing.assert_array_equal(again.get_layer("g_conv10").kernel.numpy(),
                                  model.get_layer("g_conv10").kernel.numpy())
    reinitialize_layers(again, ["g_conv10"], seed=6)
    assert not np.array_equal(again.get_layer("g_conv10").kernel.numpy(), model.get_layer("g_conv10").kernel.numpy())
    kernel = model.get_layer("g_conv9_2").kernel.numpy()  # Glorot uniform: |w| <= sqrt(6 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= np.sqrt(6 / (9 * 32 + 9 * 32)) + 1e-7
    assert not model.get_layer("g_conv9_2").bias.numpy().any()


def test_frozen_layers_do_not_move_and_the_others_do():
    model = sid_tf2.build_unet("sony")
    frozen = resolve_frozen_layers("encoder", model)
    assert frozen == ENCODER_LAYERS
    optimizer = make_optimizer()
    variables = trained_variables(model, True, frozen)
    assert len(variables) == len(model.trainable_variables) - 20
    optimizer.build(variables)
    before = {v.path: v.numpy() for v in model.trainable_variables}
    step = make_train_step(model, optimizer, frozen_layers=frozen)
    for index in range(2):
        step(*_batch(index), 1e-3)
    for variable in model.trainable_variables:
        moved = not np.array_equal(before[variable.path], variable.numpy())
        assert moved == (variable.path.split("/")[0] not in frozen), variable.path
    assert resolve_frozen_layers("g_conv10, up6", model) == ("g_conv10", "up6")
    assert resolve_frozen_layers(None) == () and resolve_frozen_layers("none") == ()
    with pytest.raises(ValueError, match="no layer named g_conv11"):
        resolve_frozen_layers("g_conv11", model)


def _scenes(count=10):
    return [Scene(i, f"/d/long/{i:05d}_00_10s.ARW",
                  tuple(f"/d/short/{i:05d}_00_{exposure}s.ARW" for exposure in ("0.1", "0.04", "0.033")))
            for i in range(1, count + 1)]


def test_pair_subsets_are_reproducible_and_respect_the_counts():
    scenes = _scenes()
    few = subset_scenes(scenes, pairs_per_ratio=2, seed=3)
    assert count_by_ratio(few) == {100.0: 2, 250.0: 2, 300.0: 2}
    assert few == subset_scenes(scenes, pairs_per_ratio=2, seed=3)
    assert few != subset_scenes(scenes, pairs_per_ratio=2, seed=4)
    assert all(scene.input_paths for scene in few)
    assert set(few[0].input_paths) <= set(scenes[few[0].scene_id - 1].input_paths)
    more = {p for s in subset_scenes(scenes, pairs_per_ratio=5, seed=3) for p in s.input_paths}
    assert {p for s in few for p in s.input_paths} <= more  # a larger count keeps a superset
    assert count_by_ratio(subset_scenes(scenes, fraction=0.3, seed=0)) == {100.0: 3, 250.0: 3, 300.0: 3}
    assert count_by_ratio(subset_scenes(scenes, fraction=0.01, seed=0)) == {100.0: 1, 250.0: 1, 300.0: 1}
    assert count_by_ratio(subset_scenes(scenes, pairs_per_ratio=99)) == {100.0: 10, 250.0: 10, 300.0: 10}
    assert subset_scenes(scenes) == scenes
    with pytest.raises(ValueError, match="not both"):
        subset_scenes(scenes, fraction=0.5, pairs_per_ratio=1)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        subset_scenes(scenes, fraction=1.5)


def test_the_on_the_fly_pipeline_is_deterministic_with_the_right_shapes_and_ranges():
    sampler = OnTheFlySampler(patch_size=16, seed=1, examples_per_epoch=3, scene_size=64)
    first = [(x.numpy(), y.numpy()) for x, y in sampler.dataset(2, batch_size=2)]
    again = [(x.numpy(), y.numpy()) for x, y in sampler.dataset(2, batch_size=2)]
    other = [(x.numpy(), y.numpy()) for x, y in sampler.dataset(3, batch_size=2)]
    assert [x.shape for x, _ in first] == [(2, 16, 16, 4), (1, 16, 16, 4)]
    assert [y.shape for _, y in first] == [(2, 32, 32, 3), (1, 32, 32, 3)]
    for (x, y), (x2, y2) in zip(first, again):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(first[0][0], other[0][0])
    for x, y in first:
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0 and 0.0 <= y.min() and y.max() <= 1.0
        assert y.mean() > 0.05  # a real image, not black
    element, _, _ = sampler.draw(2, 1)
    assert element.ratio in (100.0, 250.0, 300.0) and element.scene_id == 1
    np.testing.assert_array_equal(sampler.example(2, 0)[0], first[0][0][0])


def test_training_on_the_fly_and_fine_tuning_with_surgery(tmp_path):
    pretrain = TrainConfig.from_flat(data_dir=str(tmp_path / "none"), result_dir=str(tmp_path / "pre"), epochs=0,
                                     patch_size=16, val_freq=0, save_freq=10**6, progress=False,
                                     simulate_on_the_fly=True, on_the_fly_examples=2, on_the_fly_scene_size=64)
    result = train(pretrain, log=lambda message: None)
    assert result.epochs_run == 1 and result.steps_per_epoch == 2
    assert TrainConfig.from_flat(init_checkpoint=None, reinit_last=1).validate is not None
    with pytest.raises(ValueError, match="init_checkpoint"):
        TrainConfig.from_flat(reinit_last=1).validate()
