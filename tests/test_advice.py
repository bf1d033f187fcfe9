"""Advice when a run fails: one change, from the run's own settings, never one already made, and
one that works (the runs the issue tracker reported, on real MNIST)."""

from dataclasses import replace

import pytest

from mnist_nn.cli.flags import cli_word
from mnist_nn.config import TrainConfig, setting_value
from mnist_nn.data.dataset import load_dataset
from mnist_nn.errors import MARK, UserError
from mnist_nn.train.advice import one_change, round_down, safe_learning_rate
from mnist_nn.train.loop import Trainer

# Runs that fail, as users wrote them (each differs from the seed by these settings).
FAILING = {
    "lr 0.1": {"learning_rate": 0.1},
    "lr 0.1, relu": {"learning_rate": 0.1, "activation": "relu"},
    "lr 0.1, relu, cross-entropy": {
        "learning_rate": 0.1,
        "activation": "relu",
        "loss": "cross_entropy",
    },
    "lr 1.0, cross-entropy (the silent one)": {"learning_rate": 1.0, "loss": "cross_entropy"},
    "1000 hidden units": {"hidden_sizes": (1000,)},
    "momentum at the seed's lr": {"optimizer": "momentum"},
}


def advised(config: TrainConfig) -> TrainConfig:
    """`config` with the one change the advice names."""
    [(name, value)] = [match.groups() for match in MARK.finditer(one_change(config))]
    return replace(config, **{name: setting_value(name, type(getattr(config, name))(value))})


@pytest.mark.parametrize("changes", FAILING.values(), ids=FAILING)
def test_the_advice_is_one_change_never_one_already_made(changes):
    config = TrainConfig(**changes)
    assert len(advised(config).changes_from(config)) == 1  # one setting, to a value it is not


def test_the_rate_shrinks_with_the_batch_the_width_and_momentum():
    assert safe_learning_rate(TrainConfig()) == 0.01  # the seed's own
    assert safe_learning_rate(TrainConfig(batch_size=512)) == 0.002
    assert safe_learning_rate(TrainConfig(hidden_sizes=(1000,))) == 0.001
    assert safe_learning_rate(TrainConfig(optimizer="momentum")) == 0.001
    assert safe_learning_rate(TrainConfig(optimizer="adam", batch_size=4096)) == 0.001
    assert [round_down(x) for x in (0.0078, 0.01, 0.003, 0.25)] == [0.005, 0.01, 0.002, 0.2]


def test_with_a_small_rate_already_the_advice_is_the_loss_then_a_smaller_rate():
    assert "⟦loss=cross_entropy⟧" in one_change(TrainConfig(learning_rate=0.001))
    config = TrainConfig(learning_rate=0.001, loss="cross_entropy")
    assert "⟦learning_rate=0.0001⟧" in one_change(config)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_dataset("mnist", data_dir=mnist_dir, val_size=5000)


@pytest.mark.slow
@pytest.mark.parametrize("changes", FAILING.values(), ids=FAILING)
def test_each_failing_run_stops_in_one_line_and_the_advice_learns(mnist, changes):
    """The run stops (none runs silently to chance), names what it used, and the advised change
    learns: well above chance on the held-out images after one epoch."""
    config = TrainConfig(**changes, epochs=2)
    trainer = Trainer(config, 784, 10)
    with pytest.raises(UserError) as stopped:
        trainer.fit(mnist)
    message = stopped.value.worded(cli_word)
    assert "\n" not in message and "--lr" in message and "Try --" in message
    assert "no better than chance" in message or "diverged" in message
    result = Trainer(replace(advised(config), epochs=1), 784, 10).fit(mnist)
    assert result.history[-1]["val_accuracy"] > 0.4


def test_the_advice_counts_the_units_of_a_stack_of_layers():
    """With --layers, the hidden units are the stack's (its dense layers, or the flattened maps
    that feed the output), not --hidden's default of 128."""
    from mnist_nn.train.advice import used, widest

    assert widest(TrainConfig(layers="dense1000 bn")) == 1000
    assert widest(TrainConfig(layers="conv8x5 pool conv16x5 pool")) == 16 * 4 * 4
    assert widest(TrainConfig(layers="conv8x5 pool dense64")) == 64
    assert "1000 hidden units" in used(TrainConfig(layers="dense1000"))
