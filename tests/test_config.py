"""Training settings: one source for defaults, help, limits, the command line and the README."""

import argparse
import inspect
import re
import subprocess
import sys
from dataclasses import fields, make_dataclass, replace
from pathlib import Path

import pytest

from mnist_nn.cli.flags import add_setting, cli_word, flag_table
from mnist_nn.config import TrainConfig, flag, kind, setting, settings
from mnist_nn.errors import UserError, named, worded
from mnist_nn.estimator import (
    SCIKIT_LEARN_NAMES,
    MLPClassifier,
    estimator_parameters,
    estimator_word,
)
from mnist_nn.nn import layers, losses, optimizers
from mnist_nn.web.form import form_settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_choices_are_the_math_modules_tables():
    choices = {f.name: f.metadata["choices"] for f in fields(TrainConfig)}
    assert tuple(choices["activation"]) == tuple(layers.ACTIVATIONS)
    assert tuple(choices["loss"]) == tuple(losses.LOSSES)
    assert tuple(choices["optimizer"]) == tuple(optimizers.OPTIMIZERS)
    assert tuple(choices["lr_schedule"]) == tuple(optimizers.SCHEDULES)
    assert "relu" in choices["activation"] and "no-such-activation" not in choices["activation"]


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
        ({"activation": "no-such-activation"}, "activation: 'no-such-activation' is not one of"),
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
    code = "import sys; from mnist_nn.cli.parser import build_parser; build_parser(); "
    code += "print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_the_flag_table_of_the_docs_is_the_config():
    reference = (ROOT / "docs" / "cli.md").read_text()
    start = reference.index("<!-- training flags -->")
    end = reference.index("<!-- end of flags -->")
    assert reference[start:end].strip().splitlines()[1:] == flag_table().splitlines(), (
        "docs/cli.md's flag table differs from TrainConfig: `python -m mnist_nn.cli.flags --write`"
    )


def test_every_setting_is_a_flag_with_its_help_and_default(capsys):
    from mnist_nn.cli.parser import build_parser

    help_text = " ".join(
        build_parser()._subparsers._group_actions[0].choices["train"].format_help().split()
    )
    for option in fields(TrainConfig):
        assert flag(option) in help_text
        assert " ".join(option.metadata["help"].split()) in help_text


def test_a_new_setting_reaches_the_form_the_estimator_and_the_docs():
    """Declaring a setting in config.py is all it takes for the web form, the estimator and the
    command line (with docs/cli.md's table) to offer it."""
    smoothing = setting(0.0, "spread this much of each target over the other classes", low=0,
                        high=1, open_high=True)  # fmt: skip
    extended = make_dataclass(
        "Extended", [("label_smoothing", float, smoothing)], bases=(TrainConfig,), frozen=True
    )
    options = fields(extended)
    form = {entry["name"]: entry for entry in form_settings(options)}
    assert form["label_smoothing"]["high"] == 1 and form["label_smoothing"]["type"] == "float"
    assert form["label_smoothing"]["label"] == "Label smoothing"
    assert estimator_parameters(options)["label_smoothing"] == 0.0
    assert "| `--label-smoothing X` | 0.0 | spread this much" in flag_table(options)
    parser = argparse.ArgumentParser()
    add_setting(parser, options[-1])
    assert parser.parse_args(["--label-smoothing", "0.1"]).label_smoothing == 0.1


def test_every_estimator_parameter_reaches_the_training_settings():
    """The estimator's signature is the declared settings (under scikit-learn's names), and
    each parameter set to another valid value changes that setting of the run."""
    signature = inspect.signature(MLPClassifier)
    assert {name: p.default for name, p in signature.parameters.items()} == (estimator_parameters())
    others = {"hidden_layer_sizes": (7, 5), "random_state": 3, "activation": "relu",
              "loss": "cross_entropy", "optimizer": "adam", "lr_schedule": "cosine",
              "dtype": "float64", "layers": "conv4x3 pool"}  # fmt: skip
    for name, option in settings("estimator").items():
        parameter = SCIKIT_LEARN_NAMES.get(name, name)
        value = others.get(parameter)
        if value is None:  # a number inside its limits, other than the default
            value = option.default + 1 if kind(option) is int else option.default / 2 + 0.25
        config = MLPClassifier(**{parameter: value})._config(early_stopping=False)
        assert getattr(config, name) == value, name


def test_messages_name_settings_as_each_front_end_writes_them():
    message = f"try {named('learning_rate', 0.01)} or a smaller {named('hidden_sizes', (64, 32))}"
    assert worded(message, cli_word) == "try --lr 0.01 or a smaller --hidden 64 32"
    assert worded(message) == "try learning_rate=0.01 or a smaller hidden_sizes=(64, 32)"
    assert worded(message, estimator_word).endswith("hidden_layer_sizes=(64, 32)")
    assert str(UserError(message)) == worded(message)
    assert UserError(message).worded(cli_word) == worded(message, cli_word)
