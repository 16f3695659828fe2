"""The training run: the original's epochs and schedule on a compiled step, resumable exactly.

Each epoch visits every training scene once (the data layer decides the order, input and crop
from the seed and the epoch) and takes one Adam step per batch. Every `save_freq` epochs it
writes the original's image dumps (`result_dir/%04d/%05d_00_train_%d.jpg`, ground truth |
output); every `val_freq` epochs it scores the validation images, which the original never did.
Restarting the same command continues from the newest checkpoint.

Checkpoints (93 MB for the Sony network) are written at most every `checkpoint_every_seconds`
and every `checkpoint_every_epochs`, and always at image-dump epochs, after a new best
validation, at the end and on SIGINT/SIGTERM: the original wrote one every epoch, hundreds of
GB over a run. Epochs after the last checkpoint replay identically on resume, since every
random choice is a function of (seed, epoch, index). The run holds a lock on its result
directory (`sid_tf2.folder_lock`) and removes the `.tmp-` leftovers of a killed write there.
"""

import contextlib
import dataclasses
import os
import sys
import time

import numpy as np
import tensorflow as tf

from sid_tf2 import data
from sid_tf2.atomic import as_write_error, ensure_space, make_directory, remove_leftovers
from sid_tf2.folder_lock import FolderLock
from sid_tf2.images import write_image
from sid_tf2.metrics import psnr, to_uint8
from sid_tf2.model import build_unet
from sid_tf2.progress import Progress, format_duration
from sid_tf2.simulation.stream import OnTheFlySampler
from sid_tf2.training.checkpoints import (
    CHECKPOINTS,
    TrainingState,
    latest_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from sid_tf2.training.distribute import describe as describe_strategy
from sid_tf2.training.distribute import is_chief, make_strategy, worker_result_dir
from sid_tf2.training.finetune import last_conv_layers, reinitialize_layers, resolve_frozen_layers
from sid_tf2.training.initialize import initialize_from
from sid_tf2.training.interrupt import StopSignals, TrainingInterrupted
from sid_tf2.training.run_settings import (
    TrainingError,
    check_resumable,
    read_run_settings,
    resolve_speed,
    resolve_train_deconv,
    write_run_settings,
)
from sid_tf2.training.step import make_optimizer, make_train_step, trained_variables


@dataclasses.dataclass
class TrainingResult:
    result_dir: str
    epochs_run: int
    losses: list  # mean loss of each epoch run, in order
    validation: list  # (epoch, mean PSNR, mean L1) of each validation
    state: TrainingState
    steps_per_epoch: int = 0
    seconds: float = 0.0  # wall time of the epochs run (validation and dumps included)


def _validation_pairs(config):
    data_config = config.data
    val_dir = data_config.val_dir or data_config.data_dir
    pairs = data.discover_pairs(
        val_dir, split="val", exclude_misaligned=data_config.exclude_misaligned
    ) if os.path.isdir(os.path.join(val_dir, "long")) else []
    if data_config.val_max_images:
        pairs = pairs[: data_config.val_max_images]
    return pairs


def _discover(config):
    if config.simulation.simulate_on_the_fly:
        return [], _validation_pairs(config)
    data_config = config.data
    try:
        scenes = data.discover_scenes(
            data_config.data_dir, split="train", list_file=data_config.list_file,
            exclude_misaligned=data_config.exclude_misaligned,
        )
    except (FileNotFoundError, data.DatasetError) as error:
        scenes, missing = [], error
    else:
        missing = None
    if not scenes:
        reason = f" ({missing})" if missing else ""
        raise TrainingError(
            f"No training scenes in {data_config.data_dir}{reason}: expected short/ and long/ raw files "
            "with train ids (0xxxx), as in the SID dataset. Download it (Sony: 25 GB) following "
            "https://github.com/cchen156/Learning-to-See-in-the-Dark and unpack it so that "
            "dataset/Sony/short and dataset/Sony/long exist, or train on generated data with "
            "--synthetic."
        )
    if _is_subset(config):
        scenes = data.subset_scenes(scenes, fraction=data_config.train_fraction,
                                    pairs_per_ratio=data_config.pairs_per_ratio, seed=config.schedule.seed)
    return scenes, _validation_pairs(config)


def _is_subset(config):
    return config.data.train_fraction is not None or config.data.pairs_per_ratio is not None


def _make_sampler(config, scenes):
    """The training examples: a `data.TrainSampler` over cached scenes, or simulated on the fly.

    The loop needs of a sampler only `dataset(epoch, batch_size=...)`, `len()`, and for the
    image dumps `order(epoch)`, `draw(epoch, index, order)` -> (something with `.scene_id`,
    something with `.ratio`, draw) and `example(epoch, index, order)` -> (input, gt).
    """
    simulation, patch_size, seed = config.simulation, config.schedule.patch_size, config.schedule.seed
    if simulation.simulate_on_the_fly:
        return OnTheFlySampler(
            simulation.source_dir, patch_size=patch_size, seed=seed,
            examples_per_epoch=simulation.on_the_fly_examples, noise_model=simulation.noise_model,
            profile=simulation.simulation_profile, scene_size=simulation.on_the_fly_scene_size,
            max_ratio=simulation.max_ratio,
            isos=[float(iso) for iso in simulation.simulation_isos.split(",")] if simulation.simulation_isos else (),
        )
    cache = data.RawCache.for_dataset(config.data.data_dir, config.data.cache_dir, config.data.gt_png_dir)
    return data.TrainSampler(
        scenes, cache, camera=config.data.camera, patch_size=patch_size, seed=seed,
        progress=config.runtime.progress, column_flips=config.data.column_flips,
    )


def _validation_cache(config):
    """The decode cache of the validation images: data_dir's, or a separate val_dir's own."""
    data_config = config.data
    if data_config.val_dir:
        return data.RawCache.for_dataset(data_config.val_dir, None, None)
    return data.RawCache.for_dataset(data_config.data_dir, data_config.cache_dir, data_config.gt_png_dir)


def _predictor(model, jit_compile):
    """Full-image inference with shapes left open, traced once (compiled once per size with XLA)."""
    signature = [tf.TensorSpec([None, None, None, model.input_shape[-1]], tf.float32)]
    return tf.function(lambda x: model(x, training=False), input_signature=signature,
                       jit_compile=jit_compile)


def validate(predict, examples):
    """Mean PSNR (on 8-bit images, as the published numbers) and mean L1 over full images."""
    scores, l1 = [], []
    for example in examples:
        output = np.clip(predict(example.input[None])[0].numpy(), 0.0, 1.0)
        scores.append(psnr(to_uint8(output), to_uint8(example.gt)))
        l1.append(float(np.mean(np.abs(output - example.gt))))
    return float(np.mean(scores)), float(np.mean(l1))


def dump_epoch_images(predict, sampler, epoch, result_dir):
    """The original's dumps: ground truth | clipped output of each scene's patch this epoch.

    The output is taken after the epoch's updates (the original took it from the step's own
    forward pass); the patches are the epoch's, drawn again from the seed.
    """
    directory = os.path.join(result_dir, f"{epoch:04d}")
    first = None
    order = sampler.order(epoch)
    for index in range(len(sampler)):
        scene, pair, _ = sampler.draw(epoch, index, order)
        inputs, gt = sampler.example(epoch, index, order)
        output = np.clip(predict(inputs[None])[0].numpy(), 0.0, 1.0)
        side_by_side = np.concatenate([gt, output], axis=1)
        write_image(
            os.path.join(directory, f"{scene.scene_id:05d}_00_train_{int(pair.ratio)}.jpg"),
            to_uint8(side_by_side),
        )
        first = side_by_side if first is None else first
    return first


def _remove_leftovers(result_dir, log):
    """Remove the staging leftovers of a killed write (the lock makes them nobody else's)."""
    for directory in (result_dir, os.path.join(result_dir, CHECKPOINTS)):
        names = remove_leftovers(directory)
        if names:
            log(f"note: removed what an interrupted write left in {directory}: {', '.join(names)}")


def _summary_writer(log_dir):
    """A TensorBoard writer; its own errors become `WriteError`s naming the directory.

    The space for its first event is checked first: TensorFlow would log a page about it.
    """
    make_directory(log_dir)
    ensure_space(log_dir, 4096)
    try:
        return tf.summary.create_file_writer(log_dir)
    except tf.errors.OpError as error:
        raise as_write_error(log_dir, error) or error from None


def _write_summaries(writer, log_dir, epoch, scalars, image=None):
    """Scalars (and an image) for TensorBoard at step `epoch`.

    TensorBoard's writer drops events silently when the disk is full, so the free space is
    checked first: a full disk stops the run here, with the directory named.
    """
    ensure_space(log_dir, 4096 + (0 if image is None else image.size * 4))
    with writer.as_default(step=epoch):
        if image is not None:
            tf.summary.image("train/gt_output", image[None], max_outputs=1)
        for name, value in scalars.items():
            tf.summary.scalar(name, value)
    writer.flush()


class _Cadence:
    """When a checkpoint is due: not before `seconds` and `epochs` since the last one, unless forced."""

    def __init__(self, output, first_epoch):
        self.seconds = output.checkpoint_every_seconds
        self.epochs = output.checkpoint_every_epochs
        self.last_time = time.monotonic()
        self.last_epoch = first_epoch - 1

    def due(self, epoch, forced):
        return forced or (time.monotonic() - self.last_time >= self.seconds
                          and epoch - self.last_epoch >= self.epochs)

    def written(self, epoch):
        self.last_time, self.last_epoch = time.monotonic(), epoch


def _interrupted(stop, state, path):
    where = (f"epoch {state.next_epoch}, step {state.steps_done}" if state.steps_done
             else f"the end of epoch {state.next_epoch - 1}")
    return TrainingInterrupted(
        stop.received, f"stopped by {stop.name()} at {where}; checkpoint {path}; run the same "
        "command again to resume.")


def train(config, *, log=print):
    """Run (or resume) training as configured; returns a `TrainingResult`.

    Raises `TrainingInterrupted` after checkpointing when SIGINT or SIGTERM arrives, and
    `sid_tf2.atomic.WriteError` when the disk is full or unwritable (the checkpoints already
    written stay usable).
    """
    config.validate()
    scenes, val_pairs = _discover(config)
    distribute = config.runtime.distribute
    strategy = make_strategy(distribute)
    if distribute != "none":
        log(f"distributed training: {describe_strategy(strategy)}")
    chief = is_chief(strategy)
    result_dir = config.output.result_dir if chief else worker_result_dir(config.output.result_dir, strategy)
    make_directory(result_dir)
    with FolderLock(result_dir, log), contextlib.ExitStack() as signals:
        _remove_leftovers(result_dir, log)
        return _train(config, scenes, val_pairs, strategy, chief, result_dir, signals, log)


def _train(config, scenes, val_pairs, strategy, chief, result_dir, signals, log):
    sampler = _make_sampler(config, scenes)
    if scenes and _is_subset(config):
        counts = data.count_by_ratio(scenes)
        log(f"training on {sum(counts.values())} pairs of {len(scenes)} scenes "
            f"({', '.join(f'x{ratio:g}: {n}' for ratio, n in counts.items())})")
    cache = _validation_cache(config)
    if val_pairs:  # decode and check now, so a bad validation file stops the run up front
        cache.prepare(val_pairs, progress=config.runtime.progress)

    resume_from = latest_checkpoint(result_dir)
    saved = read_run_settings(result_dir) if resume_from else None
    config = resolve_speed(config, saved, log)
    config = resolve_train_deconv(config, saved, log)
    model, optimizer, frozen = _build(config, strategy)
    step = make_train_step(
        model, optimizer, precision=config.runtime.precision, train_deconv=config.finetune.train_deconv,
        jit_compile=config.runtime.jit_compile, frozen_layers=frozen,
        strategy=None if config.runtime.distribute == "none" else strategy,
        global_batch_size=config.schedule.batch_size,
    )
    if resume_from:
        check_resumable(saved, config, resume_from)  # before restoring: it names what differs
        state = restore_checkpoint(resume_from, model, optimizer)
        within = f", step {state.steps_done}" if state.steps_done else ""
        log(f"resuming from {resume_from}: next epoch {state.next_epoch}{within}")
    else:
        state = _start(config, model, optimizer, frozen, log)
        write_run_settings(result_dir, config)

    run = _Run(config, model, optimizer, step, strategy, sampler, state, result_dir, chief,
               _predictor(model, config.runtime.jit_compile), val_pairs, cache)
    # From here on a signal is a request to checkpoint and stop (before, it stops at once:
    # there is nothing to save yet, and decoding the raw files may take long).
    return run.epochs(signals.enter_context(StopSignals()), log)


def _build(config, strategy):
    """The model and its optimizer, in the strategy's scope, and the layers kept frozen."""
    with strategy.scope():
        tf.keras.utils.set_random_seed(config.schedule.seed)
        model = build_unet(config.data.camera, config.runtime.precision)
        frozen = resolve_frozen_layers(config.finetune.freeze, model)
        optimizer = make_optimizer(config.schedule.learning_rate, config.runtime.precision)
        optimizer.build(trained_variables(model, config.finetune.train_deconv, frozen))
    return model, optimizer, frozen


def _start(config, model, optimizer, frozen, log):
    """A fresh run's state, after loading `init_checkpoint` and re-initialising layers if asked."""
    finetune = config.finetune
    if finetune.init_checkpoint:
        # Surgery changes what the Adam state of a TF1 checkpoint would belong to: weights only then.
        surgery = bool(finetune.reinit_last or frozen)
        log(initialize_from(finetune.init_checkpoint, model, None if surgery else optimizer))
        if finetune.reinit_last:
            names = reinitialize_layers(model, last_conv_layers(finetune.reinit_last), seed=config.schedule.seed)
            log(f"re-initialised {', '.join(names)}")
    if frozen:
        log(f"frozen: {', '.join(frozen)}")
    return TrainingState(next_epoch=0, seed=config.schedule.seed)


@dataclasses.dataclass
class _Run:
    """The parts of a run the epochs share; `epochs` runs them."""

    config: object
    model: object
    optimizer: object
    step: object
    strategy: object
    sampler: object
    state: TrainingState
    result_dir: str
    chief: bool
    predict: object
    val_pairs: list
    cache: object
    writer: object = None
    log_dir: str = ""

    def epochs(self, stop, log):
        """The remaining epochs; a `TrainingResult`, or `TrainingInterrupted` raised at a stop signal."""
        config, state = self.config, self.state
        last_epoch = config.schedule.epochs
        self.log_dir = config.output.log_dir or os.path.join(self.result_dir, "logs")
        self.writer = _summary_writer(self.log_dir) if self.chief else None
        first_epoch = state.next_epoch
        cadence = _Cadence(config.output, first_epoch)
        epoch_progress = Progress(
            "epochs", max(last_epoch + 1 - first_epoch, 0), unit="epoch", log_interval=0.0,
            enabled=config.runtime.progress,
        )
        losses, validation = [], []
        for epoch in range(first_epoch, last_epoch + 1):
            started = time.monotonic()
            learning_rate = tf.constant(config.schedule.learning_rate_at(epoch), tf.float32)
            mean_loss = float(np.mean(self._steps(epoch, learning_rate, stop)))
            losses.append(mean_loss)
            state.next_epoch, state.steps_done, state.epoch_losses = epoch + 1, 0, []
            summary = {"loss": mean_loss, "lr": float(learning_rate)}
            scores, is_best = self._validate(epoch)
            if scores:
                validation.append((epoch, *scores))
                summary.update(val_psnr=scores[0], val_l1=scores[1])
            path = self._write(epoch, summary, epoch_started=started, cadence=cadence,
                               forced=is_best or bool(stop.received), is_best=is_best)
            epoch_progress.update(epoch + 1 - first_epoch, epoch=epoch, **summary)
            if stop.received and epoch < last_epoch:
                epoch_progress.close()
                raise _interrupted(stop, state, path)
        epoch_progress.close()
        if losses:
            log(f"trained epochs {first_epoch}..{last_epoch} in "
                f"{format_duration(time.monotonic() - epoch_progress.start)}; loss {losses[0]:.4f} -> "
                f"{losses[-1]:.4f}; weights: {os.path.join(self.result_dir, 'model.weights.h5')}")
        return TrainingResult(self.result_dir, len(losses), losses, validation, state, self._steps_per_epoch(),
                              time.monotonic() - epoch_progress.start)

    def _steps_per_epoch(self):
        return -(-len(self.sampler) // self.config.schedule.batch_size)

    def _steps(self, epoch, learning_rate, stop):
        """The epoch's steps (from `steps_done` when resuming within it); their losses.

        A stop signal checkpoints after the step in progress and raises `TrainingInterrupted`.
        """
        config, state = self.config, self.state
        dataset = self.sampler.dataset(epoch, batch_size=config.schedule.batch_size).skip(state.steps_done)
        if config.runtime.distribute != "none":
            dataset = self.strategy.experimental_distribute_dataset(dataset)
        step_progress = Progress(f"epoch {epoch}", self._steps_per_epoch(),
                                 enabled=config.runtime.progress and sys.stderr.isatty())
        epoch_losses = list(state.epoch_losses)
        for index, (inputs, gt) in enumerate(dataset, start=state.steps_done):
            loss = float(self.step(inputs, gt, learning_rate))
            if not np.isfinite(loss) and config.runtime.precision != "mixed_float16":
                raise TrainingError(
                    f"epoch {epoch}, step {index}: the loss is {loss}; stopped without saving these "
                    f"weights. The last checkpoint ({latest_checkpoint(self.result_dir) or 'none yet'}) is "
                    "intact; a lower --learning_rate or --precision=float32 may avoid this.")
            epoch_losses.append(loss)
            step_progress.update(index + 1, loss=float(np.mean(epoch_losses)))
            if stop.received:
                state.steps_done, state.epoch_losses = index + 1, epoch_losses
                step_progress.close()
                raise _interrupted(stop, state, self._save())
        step_progress.close()
        return epoch_losses

    def _validate(self, epoch):
        """((mean PSNR, mean L1), whether it is the best yet) on validation epochs, else (None, False)."""
        schedule, state = self.config.schedule, self.state
        if not (self.val_pairs and schedule.val_freq
                and (epoch % schedule.val_freq == 0 or epoch == schedule.epochs)):
            return None, False
        # One full image in memory at a time: examples are read from the cache afresh.
        examples = data.make_eval_pairs(self.val_pairs, self.cache, camera=self.config.data.camera, progress=False)
        val_psnr, val_l1 = validate(self.predict, examples)
        is_best = val_psnr > state.best_psnr
        if is_best:
            state.best_psnr, state.best_epoch = val_psnr, epoch
        return (val_psnr, val_l1), is_best

    def _write(self, epoch, summary, *, epoch_started, cadence, forced, is_best):
        """The epoch's image dumps, its checkpoint when due (or `forced`) and its TensorBoard
        summaries; the checkpoint's path, or None when none was due."""
        config = self.config
        dump_epoch = epoch % config.output.save_freq == 0
        sample = None
        if self.chief and dump_epoch:
            sample = dump_epoch_images(self.predict, self.sampler, epoch, self.result_dir)
        path = None
        if cadence.due(epoch, forced=forced or dump_epoch or epoch == config.schedule.epochs):
            path = self._save(is_best=is_best)
            cadence.written(epoch)
        if self.writer is not None:
            _write_summaries(self.writer, self.log_dir, epoch,
                             {**summary, "seconds_per_epoch": time.monotonic() - epoch_started}, sample)
        return path

    def _save(self, is_best=False):
        return save_checkpoint(self.result_dir, self.model, self.optimizer, self.state,
                               keep=self.config.output.keep_checkpoints, is_best=is_best)
