"""Training: epochs of shuffled mini-batches, a history of each epoch, the final test accuracy.

Shape key: N examples, B batch size, D = 784 pixels, C = 10 classes.
One `numpy.random.Generator`, made from the seed, initialises the weights and then shuffles every
epoch, so the same seed gives bit-identical runs. Training loss and accuracy of an epoch are
averaged over its mini-batches as they are trained (free, and what the seed reports); the held-out
accuracy is measured after the epoch.
"""

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from mnist_nn.data import Dataset, Split, one_hot
from mnist_nn.errors import UserError
from mnist_nn.network import Network, build_network
from mnist_nn.optimizers import SGD
from mnist_nn.presets import TrainConfig


@dataclass
class TrainingResult:
    network: Network
    history: list[dict] = field(default_factory=list)  # one record per epoch
    test_accuracy: float = 0.0
    training_seconds: float = 0.0  # time spent in mini-batches, evaluation excluded


def accuracy(network: Network, split: Split) -> float:
    """Fraction of `split` whose predicted digit is the true one."""
    return float(np.mean(network.predict(split.images) == split.labels))


def train_epoch(network: Network, optimizer, images, targets, labels, batch_size, rng, progress):
    """One pass over the training set in shuffled mini-batches; returns (mean loss, accuracy)."""
    order = rng.permutation(len(images))  # a new shuffle every epoch
    loss_sum, correct = 0.0, 0
    for start in range(0, len(images), batch_size):  # the last, partial batch is included
        batch = order[start : start + batch_size]
        loss, output = network.train_step(images[batch], targets[batch], optimizer)
        if not np.isfinite(loss):
            raise UserError(
                f"training diverged (the loss became {loss}); try a smaller learning rate (--lr)"
            )
        loss_sum += loss * len(batch)
        correct += int(np.count_nonzero(output.argmax(axis=1) == labels[batch]))
        progress.update(1)
    return loss_sum / len(images), correct / len(images)


def train(config: TrainConfig, dataset: Dataset, on_epoch=None) -> TrainingResult:
    """Build the network the config describes, train it on `dataset`, and test it once at the end.

    Each epoch's record goes to `on_epoch(record)` as soon as it is known. Held-out accuracy per
    epoch is on the validation split when there is one, otherwise on the test set (as the seed did).
    """
    from tqdm import tqdm

    rng = np.random.default_rng(config.seed)
    sizes = [dataset.train.images.shape[1], *config.hidden_sizes, 10]
    network = build_network(sizes, rng, config.dtype)
    optimizer = SGD(config.learning_rate)
    train = dataset.train
    targets = one_hot(train.labels, dtype=config.dtype)  # (N, C)
    held_out, held_out_name = (
        (dataset.validation, "val") if dataset.validation is not None else (dataset.test, "test")
    )
    result = TrainingResult(network)
    batches_per_epoch = -(-len(train) // config.batch_size)
    for epoch in range(1, config.epochs + 1):
        with tqdm(
            total=batches_per_epoch,
            desc=f"epoch {epoch}/{config.epochs}",
            leave=False,
            disable=not sys.stderr.isatty(),  # a bar in a terminal, no noise in logs
        ) as progress:
            start = time.perf_counter()
            loss, train_accuracy = train_epoch(
                network,
                optimizer,
                train.images,
                targets,
                train.labels,
                config.batch_size,
                rng,
                progress,
            )
            seconds = time.perf_counter() - start
        result.training_seconds += seconds
        record = {
            "epoch": epoch,
            "train_loss": loss,
            "train_accuracy": train_accuracy,
            f"{held_out_name}_accuracy": accuracy(network, held_out),
            "seconds": seconds,
        }
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    result.test_accuracy = accuracy(network, dataset.test)
    return result
