"""Checkpoints: everything a run needs to continue exactly where it stopped.

A checkpoint is a model file (see `saving/model_files.py`) with more entries: the optimizer's state
(its `state_dict`: velocities, Adam's moments and step count), the random generator's state, the
trainer's `RunState` (this epoch's shuffled order, how far into it training got, the history so
far, early stopping's best weights) and the dataset's name. Resuming from it replays nothing and
skips nothing, so the final weights are bit-identical to those of an uninterrupted run.
"""

from pathlib import Path

import numpy as np

from mnist_nn.config import TrainConfig
from mnist_nn.errors import UserError
from mnist_nn.saving.model_files import model_from_arrays, read_arrays, save_model, statistics
from mnist_nn.train.callbacks import Callback
from mnist_nn.train.loop import RunState

CHECKPOINT_NAME = "checkpoint.npz"
# RunState's fields stored as JSON in the metadata; `order` and `best_weights` are arrays.
STATE_SCALARS = (
    "epoch", "batch_start", "loss_sum", "correct", "epoch_seconds", "batches_done", "history",
    "batch_losses", "training_seconds", "best_accuracy", "best_epoch", "stopped_early",
)  # fmt: skip


def checkpoint_path(directory) -> Path:
    return Path(directory) / CHECKPOINT_NAME


class Checkpoints(Callback):
    """Save the whole run in DIRECTORY/checkpoint.npz after every epoch and when it is stopped
    (Ctrl-C); with `resume`, first restore the run saved there. A new run never overwrites one."""

    def __init__(self, directory, resume: bool = False):
        self.directory, self.resume = Path(directory), resume

    @property
    def path(self) -> Path:
        return checkpoint_path(self.directory)

    def on_train_begin(self, trainer):
        if self.resume:
            restore_checkpoint(self.path, trainer)
        elif self.path.exists():
            raise UserError(
                f"{self.path} already exists: add --resume to continue that run, "
                "or choose another --checkpoint-dir"
            )

    def on_epoch_end(self, trainer, record):
        save_checkpoint(self.path, trainer)

    def on_train_end(self, trainer):
        if trainer.stop_requested:
            save_checkpoint(self.path, trainer)


def save_checkpoint(path: Path, trainer) -> None:
    """Write the trainer's whole state to `path` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = trainer.state
    optimizer_state = trainer.optimizer.state_dict()
    arrays = {
        f"checkpoint.optimizer.{name}": value
        for name, value in optimizer_state.items()
        if isinstance(value, np.ndarray)
    }
    if state.order is not None:
        arrays["checkpoint.order"] = state.order
    for k, weights in enumerate(state.best_weights or []):
        arrays[f"checkpoint.best.{k}"] = weights
    metadata = {
        "dataset": trainer.dataset.name,
        "config": trainer.config.to_dict(),
        "checkpoint": {
            **{name: getattr(state, name) for name in STATE_SCALARS},
            "rng": trainer.rng.bit_generator.state,
            "optimizer": {
                name: value
                for name, value in optimizer_state.items()
                if not isinstance(value, np.ndarray)
            },
            "best_weights_count": len(state.best_weights or []),
        },
    }
    save_model(path, trainer.network, metadata, arrays)


def restore_checkpoint(path: Path, trainer) -> None:
    """Put the run saved in `path` back into `trainer`: weights, optimizer, generator, state."""
    if not path.is_file():
        raise UserError(f"no checkpoint to resume in {path.parent}; start without --resume")
    arrays = read_arrays(path)
    saved_network, metadata = model_from_arrays(path, arrays)
    saved = metadata.get("checkpoint")
    if saved is None:
        raise UserError(f"{path}: a model file, not a checkpoint; start without --resume")
    saved_config = TrainConfig.from_dict(metadata["config"])
    if saved_config != trainer.config:
        raise UserError(
            f"{path} was made by another configuration ({saved_config.describe()}); resume with "
            "the same flags, or use another --checkpoint-dir"
        )
    if metadata.get("dataset") != trainer.dataset.name:
        raise UserError(
            f"{path} was made on the {metadata.get('dataset')} dataset, not "
            f"{trainer.dataset.name}; resume with the same --dataset"
        )
    try:
        for (parameter, _), (stored, _) in zip(
            trainer.network.parameters(), saved_network.parameters(), strict=True
        ):
            parameter[...] = stored
        for mine, theirs in zip(
            trainer.network.weighted_layers(), saved_network.weighted_layers(), strict=True
        ):
            for name, kept in statistics(mine).items():  # batch norm's running averages
                kept[...] = statistics(theirs)[name]
        prefix = "checkpoint.optimizer."
        optimizer_arrays = {
            name[len(prefix) :]: array for name, array in arrays.items() if name.startswith(prefix)
        }
        trainer.optimizer.load_state_dict({**saved["optimizer"], **optimizer_arrays})
        trainer.rng.bit_generator.state = saved["rng"]
        best = [arrays[f"checkpoint.best.{k}"] for k in range(saved["best_weights_count"])]
        state = RunState(
            order=arrays.get("checkpoint.order"),
            best_weights=best or None,
            **{name: saved[name] for name in STATE_SCALARS},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(
            f"{path}: damaged checkpoint ({type(error).__name__}: {error}); start again without "
            "--resume, or in another --checkpoint-dir"
        ) from None
    trainer.state = state
