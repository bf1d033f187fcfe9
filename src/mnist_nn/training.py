"""Training: epochs of shuffled mini-batches, a history of each epoch, the final test accuracy.

Shape key: N examples, B batch size, D = 784 pixels, C = 10 classes.
One `numpy.random.Generator`, made from the seed, initialises the weights, then shuffles every
epoch and draws dropout masks and augmentations, so the same seed gives bit-identical runs.
Training loss and accuracy of an epoch are averaged over its mini-batches as they are trained
(free, and what the seed reports); the held-out accuracy is measured after the epoch.
"""

import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from mnist_nn.augment import augment
from mnist_nn.checkpoints import (
    RunState,
    StopRequest,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from mnist_nn.data import Dataset, Split, one_hot
from mnist_nn.errors import TrainingInterrupted, UserError
from mnist_nn.layers import Buffers
from mnist_nn.network import Network, build_network
from mnist_nn.optimizers import SCHEDULES, Optimizer, make_optimizer
from mnist_nn.presets import TrainConfig


@dataclass
class TrainingResult:
    network: Network
    history: list[dict] = field(default_factory=list)  # one record per epoch
    test_accuracy: float = 0.0
    training_seconds: float = 0.0  # time spent in mini-batches, evaluation excluded
    best_epoch: int | None = None  # with early stopping: the epoch whose weights were kept


def accuracy(network: Network, split: Split) -> float:
    """Fraction of `split` whose predicted digit is the true one."""
    return float(np.mean(network.predict(split.images) == split.labels))


def build(config: TrainConfig, rng: np.random.Generator, inputs: int = 784):
    """The network and optimizer a config describes."""
    network = build_network(
        [inputs, *config.hidden_sizes, 10],
        rng,
        config.dtype,
        activation=config.activation,
        loss=config.loss,
        dropout=config.dropout,
        input_dropout=config.input_dropout,
    )
    optimizer = make_optimizer(
        config.optimizer,
        config.learning_rate,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        max_norm=config.max_norm,
    )
    return network, optimizer


def train_epoch(
    network: Network,
    optimizer: Optimizer,
    config: TrainConfig,
    train: Split,
    targets: np.ndarray,
    state: RunState,
    rng: np.random.Generator,
    stop: StopRequest,
    progress,
) -> bool:
    """Run the epoch `state` is in, from where it stands, in shuffled mini-batches.

    Updates `state` after every batch; returns False if a stop was requested before the end.
    """
    if state.order is None:
        state.order = rng.permutation(len(train))  # a new shuffle every epoch
    schedule = SCHEDULES[config.lr_schedule]
    augmenting = config.augment_shift or config.augment_rotation or config.augment_scale
    progress.update(state.batch_start // config.batch_size)
    buffers = Buffers()
    dims, classes = (train.images.shape[1], train.images.dtype), (targets.shape[1], targets.dtype)
    while state.batch_start < len(train):  # the last, partial batch is included
        start = time.perf_counter()
        batch = state.order[state.batch_start : state.batch_start + config.batch_size]
        done = (state.epoch - 1 + state.batch_start / len(train)) / config.epochs
        optimizer.learning_rate = config.learning_rate * schedule(done)
        # Gather this batch's rows into reused arrays. mode="clip" lets take write straight into
        # them (indices from a permutation are always in range, so nothing is ever clipped).
        x_buffer, y_buffer = (
            buffers.get("x", len(batch), *dims),
            buffers.get("y", len(batch), *classes),
        )
        images = np.take(train.images, batch, axis=0, out=x_buffer, mode="clip")  # (B, D)
        batch_targets = np.take(targets, batch, axis=0, out=y_buffer, mode="clip")  # (B, C)
        if augmenting:
            images = augment(
                images, rng, config.augment_shift, config.augment_rotation, config.augment_scale
            )
        loss, output = network.train_step(images, batch_targets, optimizer)
        if not np.isfinite(loss):
            raise UserError(
                f"training diverged in epoch {state.epoch} (the loss became {loss}); "
                f"try a smaller learning rate than --lr {config.learning_rate}"
            )
        state.loss_sum += loss * len(batch)
        state.correct += int(np.count_nonzero(output.argmax(axis=1) == train.labels[batch]))
        state.batch_start += len(batch)
        state.epoch_seconds += time.perf_counter() - start
        progress.update(1)
        if stop.requested:
            return False
    return True


def train(
    config: TrainConfig,
    dataset: Dataset,
    on_epoch=None,
    checkpoint_dir=None,
    resume: bool = False,
) -> TrainingResult:
    """Build the network the config describes, train it on `dataset`, and test it once at the end.

    Each epoch's record goes to `on_epoch(record)` as soon as it is known. Held-out accuracy per
    epoch is on the validation split when there is one, otherwise on the test set (as the seed did).
    With `early_stopping`, training stops once the validation accuracy has not improved for that
    many epochs, and the best epoch's weights are restored. With `checkpoint_dir`, the whole state
    is saved there after every epoch and on Ctrl-C (which stops after the current mini-batch);
    `resume` continues from that checkpoint exactly as if the run had never stopped.
    """
    from tqdm import tqdm

    if config.early_stopping and dataset.validation is None:
        raise UserError("--early-stopping needs a validation split: add --val-size N (e.g. 5000)")
    rng = np.random.default_rng(config.seed)
    network, optimizer = build(config, rng, dataset.train.images.shape[1])
    state = RunState()
    if checkpoint_dir is not None and not resume and checkpoint_path(checkpoint_dir).exists():
        raise UserError(
            f"{checkpoint_path(checkpoint_dir)} already exists: add --resume to continue that run, "
            "or choose another --checkpoint-dir"
        )
    if resume:
        state = load_checkpoint(checkpoint_dir, network, optimizer, rng, config)
    targets = one_hot(dataset.train.labels, dtype=config.dtype)  # (N, C)
    held_out, held_out_name = (
        (dataset.validation, "val") if dataset.validation is not None else (dataset.test, "test")
    )

    def save():
        if checkpoint_dir is not None:
            save_checkpoint(checkpoint_dir, network, optimizer, rng, state, config, dataset.name)

    batches_per_epoch = -(-len(dataset.train) // config.batch_size)
    stopper = StopRequest() if checkpoint_dir is not None else nullcontext(StopRequest())
    # A diverging run overflows into inf and NaN: the loss check reports it in one clear line,
    # so NumPy's own warnings about it would only be noise.
    with stopper as stop, np.errstate(over="ignore", invalid="ignore"):
        while state.epoch <= config.epochs and not _stopped_early(state, config):
            with tqdm(
                total=batches_per_epoch,
                desc=f"epoch {state.epoch}/{config.epochs}",
                leave=False,
                disable=not sys.stderr.isatty(),  # a bar in a terminal, no noise in logs
            ) as progress:
                finished = train_epoch(
                    network, optimizer, config, dataset.train, targets, state, rng, stop, progress
                )
            if not finished:
                save()
                raise TrainingInterrupted(
                    f"interrupted in epoch {state.epoch} after {state.batch_start} of "
                    f"{len(dataset.train)} examples; checkpoint saved in "
                    f"{checkpoint_path(checkpoint_dir)}; to continue, run the same command "
                    "with --resume"
                )
            record = {
                "epoch": state.epoch,
                "train_loss": state.loss_sum / len(dataset.train),
                "train_accuracy": state.correct / len(dataset.train),
                f"{held_out_name}_accuracy": accuracy(network, held_out),
                "seconds": state.epoch_seconds,
            }
            state.history.append(record)
            state.training_seconds += state.epoch_seconds
            if config.early_stopping and record["val_accuracy"] > state.best_accuracy:
                state.best_accuracy, state.best_epoch = record["val_accuracy"], state.epoch
                state.best_weights = [parameter.copy() for parameter, _ in network.parameters()]
            state.next_epoch()
            save()
            if on_epoch is not None:
                on_epoch(record)
    if state.best_weights is not None:
        for (parameter, _), best in zip(network.parameters(), state.best_weights, strict=True):
            parameter[...] = best
    return TrainingResult(
        network,
        history=state.history,
        test_accuracy=accuracy(network, dataset.test),
        training_seconds=state.training_seconds,
        best_epoch=state.best_epoch,
    )


def _stopped_early(state: RunState, config: TrainConfig) -> bool:
    """Early stopping: `early_stopping` epochs have passed without a better validation accuracy."""
    return bool(
        config.early_stopping
        and state.best_epoch is not None
        and state.epoch - 1 - state.best_epoch >= config.early_stopping
    )
