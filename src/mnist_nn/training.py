"""Training: epochs of shuffled mini-batches, a history of each epoch, the final test accuracy.

Shape key: N examples, B batch size, D = 784 pixels, C = 10 classes.
One `numpy.random.Generator`, made from the seed, initialises the weights, then shuffles every
epoch and draws dropout masks and augmentations, so the same seed gives bit-identical runs.
Training loss and accuracy of an epoch are averaged over its mini-batches as they are trained
(free, and what the seed reports); the held-out accuracy is measured after the epoch.
"""

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from mnist_nn.augment import augment
from mnist_nn.data import Dataset, Split, one_hot
from mnist_nn.errors import UserError
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
    epoch: int,
    rng: np.random.Generator,
    progress,
) -> tuple[float, float]:
    """One pass over the training set in shuffled mini-batches; returns (mean loss, accuracy)."""
    order = rng.permutation(len(train))  # a new shuffle every epoch
    schedule = SCHEDULES[config.lr_schedule]
    augmenting = config.augment_shift or config.augment_rotation or config.augment_scale
    loss_sum, correct = 0.0, 0
    for start in range(0, len(train), config.batch_size):  # the last, partial batch is included
        batch = order[start : start + config.batch_size]
        progress_fraction = (epoch - 1 + start / len(train)) / config.epochs
        optimizer.learning_rate = config.learning_rate * schedule(progress_fraction)
        images = train.images[batch]  # (B, D)
        if augmenting:
            images = augment(
                images, rng, config.augment_shift, config.augment_rotation, config.augment_scale
            )
        loss, output = network.train_step(images, targets[batch], optimizer)
        if not np.isfinite(loss):
            raise UserError(
                f"training diverged in epoch {epoch} (the loss became {loss}); "
                f"try a smaller learning rate than --lr {config.learning_rate}"
            )
        loss_sum += loss * len(batch)
        correct += int(np.count_nonzero(output.argmax(axis=1) == train.labels[batch]))
        progress.update(1)
    return loss_sum / len(train), correct / len(train)


def train(config: TrainConfig, dataset: Dataset, on_epoch=None) -> TrainingResult:
    """Build the network the config describes, train it on `dataset`, and test it once at the end.

    Each epoch's record goes to `on_epoch(record)` as soon as it is known. Held-out accuracy per
    epoch is on the validation split when there is one, otherwise on the test set (as the seed did).
    With `early_stopping`, training stops once the validation accuracy has not improved for that
    many epochs, and the best epoch's weights are restored.
    """
    from tqdm import tqdm

    if config.early_stopping and dataset.validation is None:
        raise UserError("--early-stopping needs a validation split: add --val-size N (e.g. 5000)")
    rng = np.random.default_rng(config.seed)
    network, optimizer = build(config, rng, dataset.train.images.shape[1])
    targets = one_hot(dataset.train.labels, dtype=config.dtype)  # (N, C)
    held_out, held_out_name = (
        (dataset.validation, "val") if dataset.validation is not None else (dataset.test, "test")
    )
    result = TrainingResult(network)
    best_accuracy, best_weights = -1.0, None
    batches_per_epoch = -(-len(dataset.train) // config.batch_size)
    for epoch in range(1, config.epochs + 1):
        with tqdm(
            total=batches_per_epoch,
            desc=f"epoch {epoch}/{config.epochs}",
            leave=False,
            disable=not sys.stderr.isatty(),  # a bar in a terminal, no noise in logs
        ) as progress:
            start = time.perf_counter()
            loss, train_accuracy = train_epoch(
                network, optimizer, config, dataset.train, targets, epoch, rng, progress
            )
            seconds = time.perf_counter() - start
        result.training_seconds += seconds
        held_out_accuracy = accuracy(network, held_out)
        record = {
            "epoch": epoch,
            "train_loss": loss,
            "train_accuracy": train_accuracy,
            f"{held_out_name}_accuracy": held_out_accuracy,
            "seconds": seconds,
        }
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if config.early_stopping:
            if held_out_accuracy > best_accuracy:
                best_accuracy, result.best_epoch = held_out_accuracy, epoch
                best_weights = [parameter.copy() for parameter, _ in network.parameters()]
            elif epoch - result.best_epoch >= config.early_stopping:
                break
    if best_weights is not None:
        for (parameter, _), best in zip(network.parameters(), best_weights, strict=True):
            parameter[...] = best
    result.test_accuracy = accuracy(network, dataset.test)
    return result
