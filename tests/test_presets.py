"""Presets: the seed is the design, and every preset builds and describes itself."""

import numpy as np
import pytest

from mnist_nn.presets import PRESETS, TrainConfig, describe_presets
from mnist_nn.training import build


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
def test_every_preset_builds(name):
    network, optimizer = build(PRESETS[name], np.random.default_rng(0))
    assert network.sizes == [784, *PRESETS[name].hidden_sizes, 10]
    assert name in describe_presets()


def test_presets_never_hold_out_the_test_set():
    for config in PRESETS.values():
        assert config.early_stopping == 0 or config.val_size > 0


def test_the_config_vocabulary_matches_the_math_modules():
    from mnist_nn import layers, losses, optimizers, presets

    assert tuple(layers.ACTIVATIONS) == presets.ACTIVATIONS
    assert tuple(losses.LOSSES) == presets.LOSSES
    assert tuple(optimizers.SCHEDULES) == presets.SCHEDULES
    for name in presets.OPTIMIZERS:
        assert optimizers.make_optimizer(name, 0.1) is not None
