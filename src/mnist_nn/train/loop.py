"""Training: the seed design's loop, and the trainer that lets others watch and drive it.

Shape key: N examples, B batch size, D = 784 pixels, C = 10 classes.

    for each epoch:
        shuffle the training set
        for each mini-batch:
            set the learning rate, augment, take a step (forward, loss, backward, update),
            check, record
        measure the held-out accuracy, record the epoch
    measure the test accuracy, once

One `numpy.random.Generator`, made from the seed, initialises the weights, then shuffles every
epoch and draws dropout masks and augmentations, so the same seed gives bit-identical runs.
Training loss and accuracy of an epoch are averaged over its mini-batches as they are trained
(free, and what the seed reports, but a running average over weights that keep changing: early
on it trails the held-out accuracy, measured after the epoch). Everything that watches or
steers a run (progress bar, checkpoints, early stopping, Ctrl-C, the web page) is a callback
(`callbacks.py`); this module holds the loop and nothing else.
"""

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from mnist_nn.config import TrainConfig, check_weights
from mnist_nn.data.augment import augment
from mnist_nn.data.dataset import Dataset, Split
from mnist_nn.data.own_data import MAX_CLASSES
from mnist_nn.errors import UserError, named
from mnist_nn.nn.layers import Buffers
from mnist_nn.nn.network import Network, build_network
from mnist_nn.nn.optimizers import SCHEDULES, make_optimizer
from mnist_nn.nn.stack import LINE_HEIGHT, LINE_LOSS, image_shape, reads_lines
from mnist_nn.train.advice import one_change, used
from mnist_nn.train.callbacks import EarlyStopping, History, Saturation
from mnist_nn.train.memory import check_training_memory


@dataclass
class RunState:
    """Where a training run stands; a checkpoint saves exactly this. A new run: epoch 1, batch 0."""

    epoch: int = 1  # the epoch under way
    batch_start: int = 0  # where in this epoch's shuffled order the next batch starts
    order: np.ndarray | None = None  # this epoch's shuffle (None: not drawn yet)
    loss_sum: float = 0.0  # this epoch so far: summed batch losses x batch sizes
    correct: int = 0  # this epoch so far: correctly classified training examples
    epoch_seconds: float = 0.0  # this epoch so far, mini-batches only
    batches_done: int = 0  # over the whole run
    history: list[dict] = field(default_factory=list)  # one record per epoch
    batch_losses: list[float] = field(default_factory=list)  # one per mini-batch
    training_seconds: float = 0.0
    best_accuracy: float = -1.0  # early stopping: best validation accuracy so far
    best_epoch: int | None = None
    best_weights: list[np.ndarray] | None = None
    stopped_early: bool = False

    def record_batch(self, loss: float, correct: int, size: int, seconds: float) -> None:
        self.loss_sum += loss * size
        self.correct += correct
        self.batch_start += size
        self.batches_done += 1
        self.epoch_seconds += seconds

    def next_epoch(self) -> None:
        self.training_seconds += self.epoch_seconds
        self.epoch += 1
        self.batch_start, self.order = 0, None
        self.loss_sum, self.correct, self.epoch_seconds = 0.0, 0, 0.0


@dataclass
class TrainingResult:
    network: Network
    history: list[dict]  # one record per epoch
    test_accuracy: float | None  # measured once, at the end (None: the data had no test set)
    training_seconds: float  # time spent in mini-batches, evaluation excluded
    best_epoch: int | None = None  # with early stopping: the epoch whose weights were kept
    stopped: bool = False  # stopped on request (Ctrl-C, the web page) before the last epoch
    batch_losses: list[float] = field(default_factory=list)


def exactly_right(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) whether each answer is its label: the digit, or every digit of a line's number (a
    line's answers and labels are (N, U) digits padded with −1, perhaps to different widths)."""
    if labels.ndim == 1:
        return predicted == labels
    width = max(predicted.shape[1], labels.shape[1])
    padded = [np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=-1)
              for a in (predicted, labels)]  # fmt: skip
    return np.all(padded[0] == padded[1], axis=1)


def accuracy(network: Network, split: Split) -> float:
    """Fraction of `split` read right (each digit its class; each line its whole number)."""
    return float(np.mean(exactly_right(network.predict(split.images), split.labels)))


def mini_batches(split: Split, targets: np.ndarray, batch_size: int, order, start: int = 0):
    """Yield (images (B, D), targets (B, C), labels (B,)) of each mini-batch of `order` from
    position `start`; the last, partial batch too. Images and targets are gathered into arrays
    reused from batch to batch, valid until the next one."""
    buffers = Buffers()
    for first in range(start, len(order), batch_size):
        batch = order[first : first + batch_size]
        # mode="clip" lets take write straight into the reused arrays (indices from a
        # permutation are always in range, so nothing is ever clipped).
        x = buffers.get("x", len(batch), split.images.shape[1], split.images.dtype)
        y = buffers.get("y", len(batch), targets.shape[1], targets.dtype)
        yield (
            np.take(split.images, batch, axis=0, out=x, mode="clip"),
            np.take(targets, batch, axis=0, out=y, mode="clip"),
            split.labels[batch],
        )


class Trainer:
    """One training run: the network a config describes, its optimizer, the random generator,
    and where the run stands (`state`). `fit` runs the loop; callbacks watch and steer it."""

    def __init__(
        self,
        config: TrainConfig,
        inputs: int = 784,
        classes: int = 10,
        callbacks=(),
        memory_budget: int | None = None,
        budget_name: str = "the memory budget given",
    ):
        """`memory_budget`: the bytes a run may hold besides its data (default: what the machine
        has available), named in the refusal as `budget_name`; a run that would need more is
        refused before it allocates (`check_memory`)."""
        self.image_shape = augmented_shape(config, inputs)
        check_size(config, inputs, classes)
        self.memory_budget, self.budget_name = memory_budget, budget_name
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.network = build_network(
            [inputs, *config.hidden_sizes, classes],
            self.rng,
            config.dtype,
            activation=config.activation,
            loss=config.loss,
            dropout=config.dropout,
            input_dropout=config.input_dropout,
            layers=config.layers,
        )
        self.optimizer = make_optimizer(config.optimizer, **config.to_dict())
        self.learning_rate = config.learning_rate  # the base rate: a callback may change it
        self.state = RunState()
        stopping = [EarlyStopping(config.early_stopping)] if config.early_stopping else []
        self.callbacks = [History(), Saturation(), *stopping, *callbacks]
        self.stop_requested = False
        self.dataset: Dataset | None = None
        self.held_out_predicted: np.ndarray | None = None  # the last epoch's, on held-out data

    @property
    def batches_per_epoch(self) -> int:
        """Mini-batches in an epoch of the data being trained on (the last may be partial)."""
        return -(-len(self.dataset.train) // self.config.batch_size)

    def stop(self) -> None:
        """Stop after the current mini-batch (safe to call from a callback or a signal handler)."""
        self.stop_requested = True

    def check_memory(self, dataset: Dataset) -> None:
        """A UserError, before anything is allocated, if training on `dataset` would hold more
        than the memory budget (or what this machine has available)."""
        inputs, classes = self.network.sizes[0], self.network.sizes[-1]
        where = self.budget_name if self.memory_budget else ""
        check_training_memory(
            self.config, len(dataset.train), inputs, classes, self.memory_budget, where
        )

    def fit(self, dataset: Dataset, epochs: int | None = None) -> TrainingResult:
        """Train on `dataset` until the config's last epoch (or `epochs` more), then test once.

        Each epoch's held-out accuracy is on the validation split when there is one, otherwise
        on the test set (as the seed did).
        """
        if self.config.early_stopping and dataset.validation is None:
            raise UserError(
                f"{named('early_stopping')} needs a validation split: add {named('val_size', 'N')}"
            )
        if (self.config.loss == LINE_LOSS) != (dataset.train.labels.ndim == 2):
            raise UserError(
                "a line reader learns from lines of digits and a digit reader from single "
                "digits: train a line reader with `mnist-nn train --preset line`"
            )
        self.check_memory(dataset)
        self.dataset, self.stop_requested = dataset, False
        targets = self.network.loss.targets(
            dataset.train.labels, self.network.sizes[-1], self.config.dtype
        )  # one-hot rows for a class per example; a line's digits as they are for CTC
        self._call("on_train_begin")
        last_epoch = self.config.epochs if epochs is None else self.state.epoch - 1 + epochs
        # A diverging run overflows into inf and NaN: the loss check reports it in one clear line,
        # so NumPy's own warnings about it would only be noise.
        with np.errstate(over="ignore", invalid="ignore"):
            while self.state.epoch <= last_epoch and not self.state.stopped_early:
                self.train_epoch(dataset.train, targets)
                if self.stop_requested:
                    break
                self.end_epoch(dataset)
            self._call("on_train_end")
            test_accuracy = None if dataset.test is None else accuracy(self.network, dataset.test)
        state = self.state
        return TrainingResult(
            self.network,
            state.history,
            test_accuracy,
            state.training_seconds,
            state.best_epoch,
            self.stop_requested,
            state.batch_losses,
        )

    def train_epoch(self, train: Split, targets: np.ndarray) -> None:
        """The epoch under way, in shuffled mini-batches, from wherever it stands."""
        state, config = self.state, self.config
        if state.order is None:
            state.order = self.rng.permutation(len(train))  # a new shuffle every epoch
        augmented = augmenting(config)  # asked once: not in the per-batch path
        clock = time.perf_counter()
        for images, batch_targets, labels in mini_batches(
            train, targets, config.batch_size, state.order, state.batch_start
        ):
            self.optimizer.learning_rate = self.learning_rate * self.schedule(len(train))
            if augmented:
                images = augment(images, self.rng, config.augment_shift, config.augment_rotation,
                                 config.augment_scale, config.augment_shear,
                                 config.augment_elastic, config.augment_thickness,
                                 self.image_shape)  # fmt: skip
            loss, output = self.network.train_step(images, batch_targets, self.optimizer)
            self.check(loss)
            size = len(labels)
            correct = int(
                np.count_nonzero(exactly_right(self.network.loss.read(output, size), labels))
            )
            seconds = time.perf_counter() - clock  # the step alone: callbacks are not counted
            state.record_batch(loss, correct, size, seconds)
            batch = {"loss": loss, "accuracy": correct / size, "size": size, "seconds": seconds}
            self._call("on_batch_end", batch)
            clock = time.perf_counter()
            if self.stop_requested:
                return

    def schedule(self, examples: int) -> float:
        """The schedule's factor on the base learning rate, from the fraction of the run done."""
        state = self.state
        done = (state.epoch - 1 + state.batch_start / examples) / self.config.epochs
        return SCHEDULES[self.config.lr_schedule](min(done, 1.0))

    def check(self, loss: float) -> None:
        if not math.isfinite(loss):
            config = replace(self.config, learning_rate=self.learning_rate)  # as it was last
            raise UserError(
                f"training diverged in epoch {self.state.epoch} with {used(config)}: the loss "
                f"became {loss}; {one_change(config)}"
            )

    def end_epoch(self, dataset: Dataset) -> None:
        """Record the epoch that just ended, with its held-out accuracy, and start the next."""
        state = self.state
        held_out, name = (
            (dataset.validation, "val")
            if dataset.validation is not None
            else (dataset.test, "test")
        )
        record = {
            "epoch": state.epoch,
            "train_loss": state.loss_sum / state.batch_start,
            "train_accuracy": state.correct / state.batch_start,
            "seconds": state.epoch_seconds,
        }
        if held_out is not None:
            # Kept for callbacks (a confusion matrix needs no second pass over the data).
            self.held_out_predicted = self.network.predict(held_out.images)
            right = exactly_right(self.held_out_predicted, held_out.labels)
            record[f"{name}_accuracy"] = float(np.mean(right))
        state.next_epoch()
        self._call("on_epoch_end", record)

    def _call(self, hook: str, *arguments) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *arguments)


def check_size(config: TrainConfig, inputs: int, classes: int) -> None:
    """The network's size checked with the data's own inputs and classes (the config's own
    check assumes MNIST's 784 and 10): a UserError beyond MAX_WEIGHTS or MAX_CLASSES."""
    if classes > MAX_CLASSES:
        raise UserError(
            f"{classes:,} classes, over the limit of {MAX_CLASSES:,} (each example's one-hot "
            "target holds one number per class); are these the right labels?"
        )
    check_weights(config, inputs, classes)


def augmented_shape(config: TrainConfig, inputs: int) -> tuple[int, int] | None:
    """The (height, width) of the images augmentation moves: a 28x28 digit, or a line for a
    line reader; None when nothing is augmented. Other data has no pixels to move: refused."""
    if not augmenting(config):
        return None
    if reads_lines(config.layers) and inputs % LINE_HEIGHT == 0:
        return image_shape(inputs, config.layers)
    if inputs == 28 * 28:
        return 28, 28
    raise UserError(
        "augmentation moves the pixels of 28x28 images or of lines, so X needs 784 values "
        f"per example (these have {inputs}); leave the augment settings at 0 for other data"
    )


def augmenting(config: TrainConfig) -> bool:
    """Whether any augmentation is switched on."""
    return any(getattr(config, name) for name in config.to_dict() if name.startswith("augment_"))


def train(config: TrainConfig, dataset: Dataset, callbacks=()) -> TrainingResult:
    """Build the network `config` describes, train it on `dataset`, and test it once at the end."""
    trainer = Trainer(config, dataset.train.images.shape[1], dataset.classes, callbacks)
    return trainer.fit(dataset)
