"""Training settings: one source for defaults, help, limits, the command line and the README."""

import re
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest

from mnist_nn import layers, losses, optimizers
from mnist_nn.config import TrainConfig, flag, flag_table
from mnist_nn.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_the_choices_are_the_math_modules_tables():
    choices = {f.name: f.metadata["choices"] for f in fields(TrainConfig)}
    assert tuple(choices["activation"]) == tuple(layers.ACTIVATIONS)
    assert tuple(choices["loss"]) == tuple(losses.LOSSES)
    assert tuple(choices["optimizer"]) == tuple(optimizers.OPTIMIZERS)
    assert tuple(choices["lr_schedule"]) == tuple(optimizers.SCHEDULES)
    assert "relu" in choices["activation"] and "gelu" not in choices["activation"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"epochs": 0}, "epochs: 0 is not a whole number from 1 to 1,000"),
        ({"learning_rate": 0.0}, "learning_rate: 0.0 is not a number above 0 and at most 1,000"),
        ({"learning_rate": float("nan")}, "learning_rate: nan is not"),
        ({"augment_shift": float("inf")}, "augment_shift: inf is not a number from 0 to 14"),
        ({"augment_rotation": 1e308}, "augment_rotation: 1e+308 is not"),
        ({"dropout": 1.0}, "dropout: 1.0 is not a number at least 0 and below 1"),
        ({"hidden_sizes": (100000,)}, "hidden_sizes: 100000 is not a whole number from 1 to 8,192"),
        ({"hidden_sizes": ()}, "hidden_sizes: 0 values, where 1 to 8 are allowed"),
        ({"hidden_sizes": (8000, 8000, 8000)}, "over the limit of 100,000,000"),
        ({"batch_size": 2.5}, "batch_size: 2.5 is not a whole number"),
        ({"activation": "gelu"}, "activation: 'gelu' is not one of sigmoid, tanh, relu"),
        ({"seed": True}, "seed: True is not a whole number"),
    ],
)
def test_settings_out_of_their_limits_are_refused_in_one_line(change, message):
    with pytest.raises(UserError, match=re.escape(message)):
        replace(TrainConfig(), **change).validated()


def test_from_dict_reads_what_to_dict_wrote():
    config = TrainConfig(hidden_sizes=(64, 32), activation="relu")
    assert TrainConfig.from_dict({**config.to_dict(), "hidden_sizes": [64, 32]}) == config


def test_help_needs_no_numpy():
    code = "import sys; from mnist_nn.cli import build_parser; build_parser(); "
    code += "print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_the_flag_table_of_the_docs_is_the_config():
    reference = (ROOT / "docs" / "cli.md").read_text()
    start = reference.index("<!-- training flags -->")
    end = reference.index("<!-- end of flags -->")
    assert reference[start:end].strip().splitlines()[1:] == flag_table().splitlines(), (
        "docs/cli.md's flag table differs from TrainConfig: paste `python -m mnist_nn.config` there"
    )


def test_every_setting_is_a_flag_with_its_help_and_default(capsys):
    from mnist_nn.cli import build_parser

    help_text = " ".join(
        build_parser()._subparsers._group_actions[0].choices["train"].format_help().split()
    )
    for option in fields(TrainConfig):
        assert flag(option) in help_text
        assert " ".join(option.metadata["help"].split()) in help_text
