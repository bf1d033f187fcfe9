"""Training runs: determinism, history, divergence."""

import numpy as np
import pytest

from mnist_nn.data import Dataset, Split
from mnist_nn.errors import UserError
from mnist_nn.presets import TrainConfig
from mnist_nn.training import train


def tiny_dataset(n_train=300, n_test=100, validation=False):
    """Two well separated blobs per digit: learnable in a few epochs."""
    rng = np.random.default_rng(0)
    centres = rng.random((10, 784)).astype(np.float32)

    def split(n):
        labels = rng.integers(0, 10, n)
        noise = 0.1 * rng.standard_normal((n, 784)).astype(np.float32)
        return Split(np.clip(centres[labels] + noise, 0, 1), labels)

    val = split(50) if validation else None
    return Dataset("tiny", "generated", split(n_train), split(n_test), val)


CONFIG = TrainConfig(epochs=3, batch_size=32, learning_rate=0.05, hidden_sizes=(16,))


def weights(result):
    return [p.copy() for p, _ in result.network.parameters()]


def test_same_seed_same_run_different_seed_different_run():
    dataset = tiny_dataset()
    first, second = train(CONFIG, dataset), train(CONFIG, dataset)
    for a, b in zip(weights(first), weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in first.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in second.history]
    other = train(TrainConfig(**{**CONFIG.to_dict(), "seed": 1}), dataset)
    assert not np.array_equal(weights(other)[0], weights(first)[0])


def test_history_has_one_record_per_epoch_and_learns():
    records = []
    result = train(CONFIG, tiny_dataset(), on_epoch=records.append)
    assert records == result.history and [r["epoch"] for r in records] == [1, 2, 3]
    assert set(records[0]) == {"epoch", "train_loss", "train_accuracy", "test_accuracy", "seconds"}
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert result.test_accuracy >= 0.8  # chance is 0.1
    assert result.training_seconds == pytest.approx(sum(r["seconds"] for r in records))


def test_validation_accuracy_replaces_test_accuracy_per_epoch():
    result = train(CONFIG, tiny_dataset(validation=True))
    assert "val_accuracy" in result.history[0] and "test_accuracy" not in result.history[0]


def test_every_example_is_used_each_epoch_including_the_last_partial_batch(monkeypatch):
    seen = []
    from mnist_nn.network import Network

    original = Network.train_step

    def spy(self, x, targets, optimizer):
        seen.append(len(x))
        return original(self, x, targets, optimizer)

    monkeypatch.setattr(Network, "train_step", spy)
    train(TrainConfig(epochs=1, batch_size=128, hidden_sizes=(8,)), tiny_dataset(n_train=300))
    assert seen == [128, 128, 44]


def test_a_diverging_run_stops_with_advice():
    dataset = tiny_dataset()
    dataset.train.images[0, 0] = np.nan  # the loss becomes NaN at once
    with pytest.raises(UserError, match="diverged.*smaller learning rate"):
        train(CONFIG, dataset)
