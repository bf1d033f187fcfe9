"""Checkpoints: everything a run needs to continue exactly where it stopped.

A checkpoint is a model file (see `persistence.py`) with more entries: the optimizer's state
(velocities, Adam's moments and step count), the random generator's state, this epoch's shuffled
order and how far into it training got, the history so far, and early stopping's best weights.
Resuming from it replays nothing and skips nothing, so the final weights are bit-identical to
those of an uninterrupted run.
"""

import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_nn.errors import UserError
from mnist_nn.persistence import model_from_arrays, read_arrays, save_model
from mnist_nn.presets import TrainConfig

CHECKPOINT_NAME = "checkpoint.npz"


@dataclass
class RunState:
    """Where a training run is. A new run starts at epoch 1, batch 0."""

    epoch: int = 1  # the epoch under way
    batch_start: int = 0  # where in this epoch's shuffled order the next batch starts
    order: np.ndarray | None = None  # this epoch's shuffle (None: not drawn yet)
    loss_sum: float = 0.0  # this epoch so far: summed batch losses x batch sizes
    correct: int = 0  # this epoch so far: correctly classified training examples
    epoch_seconds: float = 0.0  # this epoch so far
    history: list[dict] = field(default_factory=list)
    training_seconds: float = 0.0
    best_accuracy: float = -1.0  # early stopping: best validation accuracy so far
    best_epoch: int | None = None
    best_weights: list[np.ndarray] | None = None

    def next_epoch(self) -> None:
        self.epoch += 1
        self.batch_start, self.order = 0, None
        self.loss_sum, self.correct, self.epoch_seconds = 0.0, 0, 0.0


class StopRequest:
    """While active, Ctrl-C asks training to stop after the current mini-batch; a second Ctrl-C
    stops at once. Outside the main thread (where signals cannot be caught) it does nothing."""

    def __init__(self):
        self.requested = False
        self.previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def checkpoint_path(directory) -> Path:
    return Path(directory) / CHECKPOINT_NAME


def save_checkpoint(directory, network, optimizer, rng, state: RunState, config, dataset_name):
    """Write the run's whole state to DIRECTORY/checkpoint.npz (atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    if state.order is not None:
        arrays["checkpoint.order"] = state.order
    for i, slots in enumerate(optimizer.state):
        for j, slot in enumerate(slots):
            arrays[f"checkpoint.optimizer.{i}.{j}"] = slot
    for k, weights in enumerate(state.best_weights or []):
        arrays[f"checkpoint.best.{k}"] = weights
    scalars = {
        name: getattr(state, name)
        for name in ("epoch", "batch_start", "loss_sum", "correct", "epoch_seconds")
        + ("history", "training_seconds", "best_accuracy", "best_epoch")
    }
    metadata = {
        "dataset": dataset_name,
        "config": config.to_dict(),
        "checkpoint": {
            **scalars,
            "rng": rng.bit_generator.state,
            "optimizer_steps": getattr(optimizer, "steps", 0),
            "optimizer_slots": [len(slots) for slots in optimizer.state],
            "best_weights_count": len(state.best_weights or []),
        },
    }
    save_model(checkpoint_path(directory), network, metadata, arrays)


def load_checkpoint(directory, network, optimizer, rng, config: TrainConfig) -> RunState:
    """Restore network, optimizer and generator from DIRECTORY/checkpoint.npz; return the state."""
    path = checkpoint_path(directory)
    if not path.is_file():
        raise UserError(f"no checkpoint to resume in {directory}; start without --resume")
    arrays = read_arrays(path)
    saved_network, metadata = model_from_arrays(path, arrays)
    saved = metadata.get("checkpoint")
    if saved is None:
        raise UserError(f"{path}: a model file, not a checkpoint; start without --resume")
    saved_config = TrainConfig.from_dict(metadata["config"])
    if saved_config != config:
        raise UserError(
            f"{path} was made by another configuration ({saved_config.describe()}); resume with "
            "the same flags, or use another --checkpoint-dir"
        )
    for (parameter, _), (stored, _) in zip(
        network.parameters(), saved_network.parameters(), strict=True
    ):
        parameter[...] = stored
    optimizer.state = [
        [arrays[f"checkpoint.optimizer.{i}.{j}"] for j in range(count)]
        for i, count in enumerate(saved["optimizer_slots"])
    ]
    if hasattr(optimizer, "steps"):
        optimizer.steps = saved["optimizer_steps"]
    rng.bit_generator.state = saved["rng"]
    best = [arrays[f"checkpoint.best.{k}"] for k in range(saved["best_weights_count"])]
    return RunState(
        order=arrays.get("checkpoint.order"),
        best_weights=best or None,
        **{key: saved[key] for key in saved if key in RunState.__dataclass_fields__},
    )
