"""Training runs: determinism, history, divergence."""

import numpy as np
import pytest

from mnist_nn.errors import UserError
from mnist_nn.presets import TrainConfig
from mnist_nn.training import train

from helpers import tiny_dataset, weights

CONFIG = TrainConfig(epochs=3, batch_size=32, learning_rate=0.05, hidden_sizes=(16,))


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


def test_early_stopping_stops_and_restores_the_best_weights(monkeypatch):
    dataset = tiny_dataset(validation=True)
    accuracies = iter([0.5, 0.7, 0.6, 0.65, 0.9, 0.95])
    import mnist_nn.training as training

    saved = {}
    real_accuracy = training.accuracy

    def scripted(network, split):
        if split is dataset.validation:
            value = next(accuracies)
            if value == 0.7:  # remember the weights of the best epoch
                saved["best"] = [p.copy() for p, _ in network.parameters()]
            return value
        return real_accuracy(network, split)

    monkeypatch.setattr(training, "accuracy", scripted)
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 6, "early_stopping": 2})
    result = train(config, dataset)
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]  # 2 epochs without a better one
    assert result.best_epoch == 2
    for (parameter, _), best in zip(result.network.parameters(), saved["best"], strict=True):
        np.testing.assert_array_equal(parameter, best)


def test_early_stopping_needs_a_validation_split():
    config = TrainConfig(**{**CONFIG.to_dict(), "early_stopping": 2})
    with pytest.raises(UserError, match="--early-stopping needs a validation split"):
        train(config, tiny_dataset())


def test_extensions_train_deterministically():
    config = TrainConfig(
        epochs=2,
        batch_size=32,
        learning_rate=0.001,
        hidden_sizes=(16, 16),
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        dropout=0.3,
        augment_shift=2,
        augment_rotation=10,
        augment_scale=0.1,
        lr_schedule="cosine",
        weight_decay=1e-4,
        max_norm=3.0,
    )
    first, second = train(config, tiny_dataset()), train(config, tiny_dataset())
    for a, b in zip(weights(first), weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(r["train_loss"]) for r in first.history)
