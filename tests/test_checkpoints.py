"""Checkpoints: resuming gives the very weights of an uninterrupted run; failures lose nothing."""

import signal

import numpy as np
import pytest

from mnist_nn.config import TrainConfig
from mnist_nn.errors import UserError
from mnist_nn.train.callbacks import LambdaCallback, StopOnSignal
from mnist_nn.train.checkpoints import Checkpoints, checkpoint_path
from mnist_nn.train.loop import Trainer, train

from helpers import tiny_dataset, weights

CONFIG = TrainConfig(
    epochs=3,
    batch_size=32,
    learning_rate=0.001,
    hidden_sizes=(16,),
    activation="relu",
    loss="cross_entropy",
    optimizer="adam",
    dropout=0.3,
    augment_shift=1,
    lr_schedule="cosine",
)


def press_after(batches: int, signum=signal.SIGINT, times: int = 1):
    """A callback that sends a real signal (Ctrl-C by default) after the given mini-batch."""

    def on_batch_end(trainer, batch):
        if trainer.state.batches_done == batches:
            for _ in range(times):
                signal.raise_signal(signum)

    return LambdaCallback(on_batch_end=on_batch_end)


def interrupted_run(directory, dataset, batches, signum=signal.SIGINT):
    trainer = Trainer(CONFIG, callbacks=[Checkpoints(directory), press_after(batches, signum)])
    with StopOnSignal(trainer):
        return trainer, trainer.fit(dataset)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_and_resume_equals_an_uninterrupted_run(tmp_path, signum):
    dataset = tiny_dataset()
    straight = train(CONFIG, dataset)
    trainer, result = interrupted_run(tmp_path, dataset, 14, signum)  # epoch 2 of 3, mid-epoch
    assert result.stopped and (trainer.state.epoch, trainer.state.batch_start) == (2, 128)
    assert checkpoint_path(tmp_path).exists()
    assert signal.getsignal(signum) in (signal.default_int_handler, signal.SIG_DFL)
    resumed = train(CONFIG, dataset, [Checkpoints(tmp_path, resume=True)])
    for a, b in zip(weights(straight), weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history]
    assert straight.batch_losses == resumed.batch_losses


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    trainer = Trainer(CONFIG, callbacks=[Checkpoints(tmp_path), press_after(2, times=2)])
    with pytest.raises(KeyboardInterrupt), StopOnSignal(trainer):
        trainer.fit(tiny_dataset())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_resume_refuses_another_configuration_or_dataset(tmp_path):
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 1})
    train(config, tiny_dataset(), [Checkpoints(tmp_path)])
    with pytest.raises(UserError, match="made by another configuration"):
        train(CONFIG, tiny_dataset(), [Checkpoints(tmp_path, resume=True)])
    other = tiny_dataset()
    other.name = "digits"
    with pytest.raises(UserError, match="made on the tiny dataset, not digits"):
        train(config, other, [Checkpoints(tmp_path, resume=True)])
    with pytest.raises(UserError, match="no checkpoint to resume"):
        train(CONFIG, tiny_dataset(), [Checkpoints(tmp_path / "empty", resume=True)])


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    dataset = tiny_dataset()
    interrupted_run(tmp_path, dataset, 12)
    good = checkpoint_path(tmp_path).read_bytes()
    dataset.train.images[:, 5] = np.inf  # the resumed run's loss becomes NaN at once
    with pytest.raises(UserError, match="diverged in epoch 2 with .*; Try"):
        train(CONFIG, dataset, [Checkpoints(tmp_path, resume=True)])
    assert checkpoint_path(tmp_path).read_bytes() == good


def test_a_new_run_never_overwrites_a_checkpoint(tmp_path):
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 1})
    train(config, tiny_dataset(), [Checkpoints(tmp_path)])
    with pytest.raises(UserError, match="already exists: add --resume"):
        train(config, tiny_dataset(), [Checkpoints(tmp_path)])


def test_a_damaged_checkpoint_is_one_line(tmp_path):
    import json

    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 1})
    train(config, tiny_dataset(), [Checkpoints(tmp_path)])
    path = checkpoint_path(tmp_path)
    arrays = dict(np.load(path))
    metadata = json.loads(str(arrays["metadata"]))
    del metadata["checkpoint"]["rng"]
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(path, **arrays)
    with pytest.raises(UserError, match="damaged checkpoint"):
        train(config, tiny_dataset(), [Checkpoints(tmp_path, resume=True)])


def test_resuming_with_early_stopping_equals_an_uninterrupted_run(tmp_path):
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 8, "early_stopping": 2})
    dataset = tiny_dataset(validation=True)
    straight = train(config, dataset)
    trainer = Trainer(config, callbacks=[Checkpoints(tmp_path), press_after(45)])  # epoch 5
    with StopOnSignal(trainer):
        assert trainer.fit(dataset).stopped
    resumed = train(config, dataset, [Checkpoints(tmp_path, resume=True)])
    assert resumed.best_epoch == straight.best_epoch == 4 and len(resumed.history) == 6
    for a, b in zip(weights(straight), weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
