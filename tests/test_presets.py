"""Presets: the seed is the design, and every preset builds, validates and describes itself."""

import pytest

from mnist_nn.config import TrainConfig
from mnist_nn.presets import PRESETS, describe_presets
from mnist_nn.train.loop import Trainer


def test_seed_preset_is_the_original_design():
    seed = PRESETS["seed"]
    assert seed == TrainConfig()
    assert (seed.hidden_sizes, seed.activation, seed.loss, seed.optimizer) == (
        (128,),
        "sigmoid",
        "mse",
        "sgd",
    )
    assert (seed.learning_rate, seed.epochs, seed.batch_size) == (0.01, 15, 128)
    assert seed.describe() == "784-128-10 sigmoid, mse, sgd lr 0.01 (the seed design)"


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_valid_and_builds(name):
    config = PRESETS[name].validated()
    inner = () if config.layers else config.hidden_sizes  # image layers: inputs and outputs
    assert Trainer(config).network.sizes == [784, *inner, 10]
    assert name in describe_presets()


def test_a_preset_that_would_choose_on_the_test_set_is_refused():
    """Every preset passes the rule (PRESETS is built through it), and the rule can fail: one
    that stops early without a validation split would pick its epoch on the test set."""
    from dataclasses import replace

    from mnist_nn.presets import chosen_on_validation

    for name, config in PRESETS.items():
        assert chosen_on_validation(name, config) is config
    stops_early = replace(PRESETS["quick"], early_stopping=3)
    with pytest.raises(ValueError, match="would choose its epoch on the test set"):
        chosen_on_validation("quick", stops_early)
    held_out = replace(stops_early, val_size=5000)
    assert chosen_on_validation("quick", held_out) is held_out
