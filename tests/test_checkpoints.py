"""Checkpoints: resuming gives the very weights of an uninterrupted run; failures lose nothing."""

import signal

import numpy as np
import pytest

from mnist_nn.checkpoints import checkpoint_path
from mnist_nn.errors import TrainingInterrupted, UserError
from mnist_nn.network import Network
from mnist_nn.presets import TrainConfig
from mnist_nn.training import train

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


def interrupt_after(monkeypatch, batches: int):
    """Press Ctrl-C (a real SIGINT) during the given mini-batch."""
    original, calls = Network.train_step, []

    def step(self, x, targets, optimizer):
        calls.append(1)
        if len(calls) == batches:
            signal.raise_signal(signal.SIGINT)
        return original(self, x, targets, optimizer)

    monkeypatch.setattr(Network, "train_step", step)


def test_interrupt_and_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    dataset = tiny_dataset()
    straight = train(CONFIG, dataset)
    interrupt_after(monkeypatch, 14)  # epoch 2 of 3 (10 batches per epoch), mid-epoch
    with pytest.raises(TrainingInterrupted, match="epoch 2 after 128 of 300 .*--resume"):
        train(CONFIG, dataset, checkpoint_dir=tmp_path)
    monkeypatch.undo()
    assert checkpoint_path(tmp_path).exists()
    resumed = train(CONFIG, dataset, checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(weights(straight), weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history]


def test_a_second_ctrl_c_stops_at_once(tmp_path, monkeypatch):
    original = Network.train_step

    def step(self, x, targets, optimizer):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        return original(self, x, targets, optimizer)

    monkeypatch.setattr(Network, "train_step", step)
    with pytest.raises(KeyboardInterrupt):
        train(CONFIG, tiny_dataset(), checkpoint_dir=tmp_path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_resume_refuses_another_configuration(tmp_path):
    train(TrainConfig(**{**CONFIG.to_dict(), "epochs": 1}), tiny_dataset(), checkpoint_dir=tmp_path)
    with pytest.raises(UserError, match="made by another configuration"):
        train(CONFIG, tiny_dataset(), checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(UserError, match="no checkpoint to resume"):
        train(CONFIG, tiny_dataset(), checkpoint_dir=tmp_path / "empty", resume=True)


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    dataset = tiny_dataset()
    interrupt_after(monkeypatch, 12)
    with pytest.raises(TrainingInterrupted):
        train(CONFIG, dataset, checkpoint_dir=tmp_path)
    monkeypatch.undo()
    good = checkpoint_path(tmp_path).read_bytes()
    dataset.train.images[:, 5] = np.inf  # the resumed run's loss becomes NaN at once
    with pytest.raises(UserError, match="diverged in epoch 2 .*smaller learning rate"):
        train(CONFIG, dataset, checkpoint_dir=tmp_path, resume=True)
    assert checkpoint_path(tmp_path).read_bytes() == good


def test_a_new_run_never_overwrites_a_checkpoint(tmp_path):
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 1})
    train(config, tiny_dataset(), checkpoint_dir=tmp_path)
    with pytest.raises(UserError, match="already exists: add --resume"):
        train(config, tiny_dataset(), checkpoint_dir=tmp_path)
