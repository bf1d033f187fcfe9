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


def test_presets_never_hold_out_the_test_set():
    for config in PRESETS.values():
        assert config.early_stopping == 0 or config.val_size > 0
