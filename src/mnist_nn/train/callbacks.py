"""Callbacks: how the progress bar, the history, the stop of a run that learns nothing, early
stopping, checkpoints, Ctrl-C and the web page's live view watch and steer a training run,
without a copy of the loop.

The protocol, in the spirit of Keras's callbacks. The loop (`Trainer.fit` in `loop.py`) calls,
on every callback in its list, in order:

    on_train_begin(trainer)          once, before the first mini-batch
    on_batch_end(trainer, batch)     after every mini-batch's step; batch = {"loss", "accuracy",
                                     "size", "seconds"} of that mini-batch
    on_epoch_end(trainer, record)    after every epoch, with its history record
    on_train_end(trainer)            once, when the run ends or is stopped (not when it fails),
                                     before the test set is measured

A callback steers through the trainer it is given: `trainer.stop()` stops the run after the
current mini-batch; `trainer.learning_rate` is the base learning rate (the schedule multiplies it)
and `trainer.optimizer.momentum` the momentum, both read again at every mini-batch.
`RunControl` does all of that from another thread (the web page's buttons).
"""

import signal
import sys
import threading
from dataclasses import replace

import numpy as np

from mnist_nn.errors import UserError
from mnist_nn.train.advice import one_change, used


class Callback:
    """Every hook does nothing: override the ones you need."""

    def on_train_begin(self, trainer) -> None:
        pass

    def on_batch_end(self, trainer, batch: dict) -> None:
        pass

    def on_epoch_end(self, trainer, record: dict) -> None:
        pass

    def on_train_end(self, trainer) -> None:
        pass


class History(Callback):
    """The run's record: each epoch's record and each mini-batch's loss, kept in the trainer's
    state (so a checkpoint keeps them too). Every trainer has one."""

    def on_batch_end(self, trainer, batch):
        trainer.state.batch_losses.append(batch["loss"])

    def on_epoch_end(self, trainer, record):
        trainer.state.history.append(record)


MIN_BATCHES_TO_JUDGE = 20
MIN_STEPS_TO_JUDGE = 5  # steps an epoch before a loss far above its start says anything


class Saturation(Callback):
    """Stop a run that has stopped learning, and say why and what to change (every trainer has
    one): after an epoch whose accuracy is at chance and whose loss is flat or rising.

    With MSE on sigmoid outputs, one step too large (a learning rate too high for a gradient
    summed over the batch, or very wide layers) drives z2 far negative; then every output is
    about 0, σ'(z2) = a2(1 − a2) is about 0, the gradient vanishes and nothing can recover: the
    loss is flat. With cross-entropy the same steps overshoot further each time: the loss rises.
    """

    def on_epoch_end(self, trainer, record):
        labels = trainer.dataset.train.labels
        # always answering the commonest class (a whole line's number: never, near enough)
        chance = np.bincount(labels).max() / len(labels) if labels.ndim == 1 else 0.0
        per_epoch = trainer.batches_per_epoch
        this_epoch = trainer.state.batch_losses[-per_epoch:]
        # Learning something, but its steps throw it about: after the first epoch, an accuracy
        # less than half way from chance to perfect with a loss at least twice where it started
        # (before the first step, the network knew nothing) never ends well. Said, not run
        # silently on. (Judged on a few steps an epoch at least: not on a handful of examples.)
        accuracy = held_out_accuracy(record)
        started, epoch_loss = trainer.state.batch_losses[0], float(np.mean(this_epoch))
        overshooting = accuracy < (1 + chance) / 2 and epoch_loss > 2 * started
        if record["epoch"] >= 2 and per_epoch >= MIN_STEPS_TO_JUDGE and overshooting:
            raise UserError(overshooting_message(trainer, record, accuracy, epoch_loss, started))
        if per_epoch < MIN_BATCHES_TO_JUDGE:
            return  # too few steps to tell a stuck run from a slow start
        tenth = max(1, len(this_epoch) // 10)  # the epoch's second half: the first steps may move
        first = np.mean(this_epoch[:tenth])
        early, late = np.mean(this_epoch[5 * tenth : 6 * tenth]), np.mean(this_epoch[-tenth:])
        flat = abs(early - late) <= 0.01 * max(abs(early), 1e-12)
        rising = late > first  # a run that learns ends its epoch below where it began
        if (flat or rising) and record["train_accuracy"] <= chance + 0.01:
            raise UserError(stuck_message(trainer, record, first, late, chance, flat))


def held_out_accuracy(record: dict) -> float:
    """The epoch's accuracy on held-out images (validation, else test), else on training ones."""
    for name in ("val_accuracy", "test_accuracy", "train_accuracy"):
        if record.get(name) is not None:
            return record[name]
    return 0.0


def overshooting_message(trainer, record, accuracy, epoch_loss, started) -> str:
    config = replace(trainer.config, learning_rate=trainer.learning_rate)  # as it was last
    return (
        f"training stopped learning in epoch {record['epoch']} with {used(config)}: accuracy "
        f"{accuracy:.1%}, far below what a network learns by now, with the loss at "
        f"{epoch_loss:.4g}, over twice the {started:.4g} it started from knowing nothing; each "
        f"step overshoots. {one_change(config)}"
    )


def stuck_message(trainer, record, first, late, chance, flat) -> str:
    config = replace(trainer.config, learning_rate=trainer.learning_rate)  # as it was last
    if flat:
        what = f"the loss flat at {late:.4f}"
        why = (
            "the sigmoid outputs have saturated near 0, where their slope σ' is about 0, so the "
            "gradient vanishes"
            if config.loss == "mse"
            else "the outputs stopped changing (dead or saturated units)"
        )
    else:
        what = f"the loss rising from {first:.4g} to {late:.4g}"
        why = "each step overshoots further than the last"
    return (
        f"training stopped learning in epoch {record['epoch']} with {used(config)}: accuracy "
        f"{record['train_accuracy']:.1%}, no better than chance (answering the commonest class "
        f"every time would score {chance:.1%}), and {what}; {why}. {one_change(config)}"
    )


class EarlyStopping(Callback):
    """Stop once the validation accuracy has not improved for `patience` epochs, and put back the
    weights of the best epoch. What it remembers lives in the trainer's state (checkpointed)."""

    def __init__(self, patience: int):
        self.patience = patience

    def on_epoch_end(self, trainer, record):
        state = trainer.state
        if record["val_accuracy"] > state.best_accuracy:
            state.best_accuracy, state.best_epoch = record["val_accuracy"], record["epoch"]
            state.best_weights = [parameter.copy() for parameter, _ in trainer.network.parameters()]
        elif record["epoch"] - state.best_epoch >= self.patience:
            state.stopped_early = True  # the loop ends after this epoch

    def on_train_end(self, trainer):
        # A stopped run (Ctrl-C) is only paused: it keeps its weights, so that it can resume.
        if trainer.state.best_weights is not None and not trainer.stop_requested:
            pairs = zip(trainer.network.parameters(), trainer.state.best_weights, strict=True)
            for (parameter, _), best in pairs:
                parameter[...] = best


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. LambdaCallback(on_epoch_end=lambda t, r: print(r))."""

    def __init__(self, **hooks):
        for name, function in hooks.items():
            if not hasattr(Callback, name):
                raise TypeError(f"no hook named {name}")
            setattr(self, name, function)  # called as function(trainer, ...)


class ProgressBar(Callback):
    """A tqdm bar over each epoch's mini-batches, in a terminal only (no noise in logs)."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None

    def on_batch_end(self, trainer, batch):
        if self.bar is None:
            from tqdm import tqdm

            state, config = trainer.state, trainer.config
            self.bar = tqdm(
                total=trainer.batches_per_epoch,
                initial=-(-state.batch_start // config.batch_size) - 1,  # a resumed epoch
                desc=f"epoch {state.epoch}/{config.epochs}",
                leave=False,
                disable=not self.enabled,
            )
        self.bar.update(1)

    def on_epoch_end(self, trainer, record):
        self.on_train_end(trainer)

    def on_train_end(self, trainer):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class RunControl(Callback):
    """Pause, resume, step one mini-batch, stop, and change the learning rate or momentum, from
    any thread; each command takes effect between two mini-batches.

    While paused, the training thread waits in `on_batch_end` (no CPU used); `step()` lets exactly
    one more mini-batch run, then it waits again.
    """

    def __init__(self):
        self.condition = threading.Condition()
        self.paused = False
        self.waiting = False  # the training thread is waiting between two mini-batches
        self.steps_allowed = 0
        self.stop_requested = False
        self.changes = {}  # pending: {"learning_rate": x, "momentum": m}

    def _command(self, **updates) -> None:
        with self.condition:
            for name, value in updates.items():
                setattr(self, name, value)
            self.condition.notify_all()

    def pause(self) -> None:
        self._command(paused=True)

    def resume(self) -> None:
        self._command(paused=False, steps_allowed=0)

    def step(self) -> None:
        """Run one more mini-batch, then pause (a running run pauses after its next batch)."""
        with self.condition:
            self.paused = True
            self.steps_allowed += 1
            self.condition.notify_all()

    def stop(self) -> None:
        self._command(stop_requested=True)

    def change(self, learning_rate: float | None = None, momentum: float | None = None) -> None:
        with self.condition:
            if learning_rate is not None:
                self.changes["learning_rate"] = learning_rate
            if momentum is not None:
                self.changes["momentum"] = momentum

    def _apply(self, trainer) -> None:
        if "learning_rate" in self.changes:
            trainer.learning_rate = self.changes.pop("learning_rate")
        if "momentum" in self.changes:
            trainer.optimizer.momentum = self.changes.pop("momentum")
        if self.stop_requested:
            trainer.stop()

    def on_train_begin(self, trainer):
        with self.condition:
            self._apply(trainer)

    def on_batch_end(self, trainer, batch):
        with self.condition:
            self._apply(trainer)
            while self.paused and not self.stop_requested and not self.steps_allowed:
                self.waiting = True  # the run is truly paused: no batch is under way
                self.condition.wait()
                self._apply(trainer)
            self.waiting = False
            if self.paused and self.steps_allowed:
                self.steps_allowed -= 1  # this step's batch is the next one


class StopOnSignal:
    """While active (a `with` block around `fit`), Ctrl-C or SIGTERM asks the trainer to stop after
    the current mini-batch; a second Ctrl-C stops at once. Outside the main thread (where signals
    cannot be caught) it does nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, trainer):
        self.trainer = trainer
        self.previous = {}

    def _handle(self, signum, frame):
        if self.trainer.stop_requested:
            raise KeyboardInterrupt
        self.trainer.stop()

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}
        return self

    def __exit__(self, *exc_info):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
