"""Training runs: the loop, determinism, history, divergence, and what callbacks can do."""

import threading

import numpy as np
import pytest

from mnist_nn.cli.flags import cli_word
from mnist_nn.config import TrainConfig
from mnist_nn.errors import UserError
from mnist_nn.train.callbacks import EarlyStopping, LambdaCallback, RunControl
from mnist_nn.train.loop import Trainer, mini_batches, train

from helpers import tiny_dataset, weights

CONFIG = TrainConfig(epochs=3, batch_size=32, learning_rate=0.05, hidden_sizes=(16,))


def strip_seconds(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def test_same_seed_same_run_different_seed_different_run():
    dataset = tiny_dataset()
    first, second = train(CONFIG, dataset), train(CONFIG, dataset)
    for a, b in zip(weights(first), weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    assert strip_seconds(first.history) == strip_seconds(second.history)
    other = train(TrainConfig(**{**CONFIG.to_dict(), "seed": 1}), dataset)
    assert not np.array_equal(weights(other)[0], weights(first)[0])


def test_history_has_one_record_per_epoch_and_learns():
    records = []
    result = train(
        CONFIG, tiny_dataset(), [LambdaCallback(on_epoch_end=lambda t, r: records.append(r))]
    )
    assert records == result.history and [r["epoch"] for r in records] == [1, 2, 3]
    assert set(records[0]) == {"epoch", "train_loss", "train_accuracy", "test_accuracy", "seconds"}
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert result.test_accuracy >= 0.8  # chance is 0.1
    assert result.training_seconds == pytest.approx(sum(r["seconds"] for r in records))
    assert len(result.batch_losses) == 3 * 10 and not result.stopped


def test_validation_accuracy_replaces_test_accuracy_per_epoch():
    result = train(CONFIG, tiny_dataset(validation=True))
    assert "val_accuracy" in result.history[0] and "test_accuracy" not in result.history[0]


def test_mini_batches_cover_the_order_from_any_position_including_the_partial_last():
    dataset = tiny_dataset(n_train=300)
    targets = np.eye(10, dtype=np.float32)[dataset.train.labels]
    order = np.random.default_rng(0).permutation(300)
    batches = [labels.copy() for _, _, labels in mini_batches(dataset.train, targets, 128, order)]
    assert [len(labels) for labels in batches] == [128, 128, 44]
    np.testing.assert_array_equal(np.concatenate(batches), dataset.train.labels[order])
    resumed = list(mini_batches(dataset.train, targets, 128, order, start=256))
    images, batch_targets, labels = resumed[0]
    assert len(resumed) == 1 and len(labels) == 44
    np.testing.assert_array_equal(images, dataset.train.images[order[256:]])
    np.testing.assert_array_equal(batch_targets.argmax(axis=1), labels)


def test_a_diverging_run_stops_with_advice():
    dataset = tiny_dataset()
    dataset.train.images[0, 0] = np.nan  # the loss becomes NaN at once
    with pytest.raises(UserError, match="diverged in epoch 1 with .*: the loss became nan; Try "):
        train(CONFIG, dataset)


def test_early_stopping_stops_and_restores_the_best_weights():
    """Validation accuracies scripted through the callback itself: 0.5, 0.7 (best), 0.6, 0.65."""
    dataset = tiny_dataset(validation=True)
    scripted = iter([0.5, 0.7, 0.6, 0.65, 0.9, 0.95])
    kept = {}

    class Scripted(EarlyStopping):
        def on_epoch_end(self, trainer, record):
            record["val_accuracy"] = next(scripted)
            if record["val_accuracy"] == 0.7:
                kept["best"] = [p.copy() for p, _ in trainer.network.parameters()]
            super().on_epoch_end(trainer, record)

    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 6})
    trainer = Trainer(config, callbacks=[Scripted(2)])
    result = trainer.fit(dataset)
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]  # 2 epochs without a better one
    assert result.best_epoch == 2
    for (parameter, _), best in zip(result.network.parameters(), kept["best"], strict=True):
        np.testing.assert_array_equal(parameter, best)


def test_early_stopping_needs_a_validation_split():
    config = TrainConfig(**{**CONFIG.to_dict(), "early_stopping": 2})
    with pytest.raises(UserError, match="early_stopping needs a validation split") as caught:
        train(config, tiny_dataset())
    # Each front end names the settings its own way: the command line by its flags.
    assert caught.value.worded(cli_word).startswith("--early-stopping needs a validation split")


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


def test_a_callback_can_stop_the_run_and_fit_continues_it_exactly():
    dataset = tiny_dataset()
    straight = train(CONFIG, dataset)
    stopper = LambdaCallback(
        on_batch_end=lambda trainer, batch: trainer.state.batches_done == 14 and trainer.stop()
    )
    trainer = Trainer(CONFIG, callbacks=[stopper])
    stopped = trainer.fit(dataset)
    assert stopped.stopped and trainer.state.epoch == 2 and trainer.state.batch_start == 4 * 32
    trainer.callbacks.remove(stopper)
    finished = trainer.fit(dataset)
    assert not finished.stopped
    for a, b in zip(weights(straight), weights(finished), strict=True):
        np.testing.assert_array_equal(a, b)
    assert strip_seconds(straight.history) == strip_seconds(finished.history)


def test_fit_with_epochs_trains_that_many_more():
    trainer = Trainer(CONFIG)
    trainer.fit(tiny_dataset(), epochs=1)
    trainer.fit(tiny_dataset(), epochs=2)
    assert [r["epoch"] for r in trainer.state.history] == [1, 2, 3]


def test_learning_rate_and_momentum_change_between_batches():
    seen = []
    config = TrainConfig(**{**CONFIG.to_dict(), "optimizer": "momentum", "epochs": 1})

    def on_batch_end(trainer, batch):
        seen.append((trainer.optimizer.learning_rate, trainer.optimizer.momentum))
        if trainer.state.batches_done == 3:
            trainer.learning_rate, trainer.optimizer.momentum = 0.5, 0.1

    train(config, tiny_dataset(), [LambdaCallback(on_batch_end=on_batch_end)])
    assert seen[:4] == [(0.05, 0.9)] * 3 + [(0.5, 0.1)]


def test_run_control_pauses_steps_resumes_and_stops_from_another_thread():
    """The web page's buttons: the training thread waits while paused, runs exactly one batch per
    step, takes a new learning rate, and stops when told."""
    control = RunControl()
    batches = []
    config = TrainConfig(**{**CONFIG.to_dict(), "epochs": 50})
    record = LambdaCallback(
        on_batch_end=lambda t, b: batches.append((t.state.batches_done, t.learning_rate))
    )
    trainer = Trainer(config, callbacks=[record, control])
    control.pause()  # takes effect after the first batch
    thread = threading.Thread(target=trainer.fit, args=(tiny_dataset(),))
    thread.start()

    def wait_for(count):
        for _ in range(500):
            if len(batches) >= count:
                return
            threading.Event().wait(0.01)

    wait_for(1)
    threading.Event().wait(0.2)
    assert len(batches) == 1  # paused: nothing more runs
    control.change(learning_rate=0.2)
    control.step()
    wait_for(2)
    threading.Event().wait(0.2)
    assert len(batches) == 2 and batches[-1] == (2, 0.2)
    control.resume()
    wait_for(20)
    control.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and trainer.stop_requested
    assert 20 <= len(batches) < 50 * 10


def test_a_run_beyond_the_machines_available_memory_is_refused_before_it_allocates(monkeypatch):
    from mnist_nn.train import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 100 << 20)  # a machine with 100 MB
    config = TrainConfig(**{**CONFIG.to_dict(), "hidden_sizes": (4096, 4096)})
    with pytest.raises(UserError, match="over this machine's available memory") as refused:
        train(config, tiny_dataset())
    assert "--batch-size or fewer, smaller --hidden" in refused.value.worded(cli_word)


def test_the_weight_limit_counts_the_datas_own_inputs_and_classes():
    config = TrainConfig(hidden_sizes=(2000,))  # 784 inputs: 1.6 M weights, fine
    with pytest.raises(UserError, match="a 200000-2000-10 network has 400,022,010 weights"):
        Trainer(config, inputs=200_000)
    with pytest.raises(UserError, match="20,000 classes, over the limit of 1,000"):
        Trainer(TrainConfig(), classes=20_000)
