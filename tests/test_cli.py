"""The command line: arguments, presets, errors as one line, and runs through a subprocess."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from mnist_nn.cli import build_parser, config_from_arguments, main
from mnist_nn.presets import PRESETS


def parse(*argv):
    return build_parser().parse_args(["train", *argv])


def test_defaults_are_the_seed_design():
    config = config_from_arguments(parse())
    assert config == PRESETS["seed"]
    assert (config.epochs, config.batch_size, config.learning_rate) == (15, 128, 0.01)
    assert config.hidden_sizes == (128,) and config.dtype == "float32" and config.seed == 0


def test_flags_override_the_preset():
    config = config_from_arguments(parse("--epochs", "2", "--lr", "0.5", "--hidden", "64", "32"))
    assert (config.epochs, config.learning_rate, config.hidden_sizes) == (2, 0.5, (64, 32))
    assert config.batch_size == 128


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "-1"], "-1 is not a positive whole number"),
        (["--epochs", "0"], "0 is not a positive whole number"),
        (["--lr", "0"], "0 is not a positive number"),
        (["--lr", "nan"], "nan is not a positive number"),
        (["--lr", "fast"], "'fast' is not a number"),
        (["--dtype", "float16"], "invalid choice: 'float16'"),
        (["--val-size", "-5"], "-5 is not zero or a positive whole number"),
    ],
)
def test_invalid_values_are_rejected_by_the_parser(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    text = " ".join(capsys.readouterr().out.split())
    for default in ["(default: 15)", "(default: 128)", "(default: 0.01)", "(default: float32)"]:
        assert default in text
    assert "seed: epochs=15" in text


def test_user_errors_are_one_line_without_traceback(tmp_path, offline, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["train", "--out", str(tmp_path / "file"), "--dataset", "digits"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and err.count("\n") == 1


def run(*argv, env=None, cwd):
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_main_py_offline_trains_on_digits_and_says_so(tmp_path, offline, main_py):
    result = run(str(main_py), "--epochs", "2", env=os.environ, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "NOTICE: MNIST not found" in result.stderr and "MNIST_DATA_DIR" in result.stderr
    assert result.stdout.count("\nepoch ") == 2 and "test accuracy:" in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["dataset"] == "digits" and len(metrics["history"]) == 2
    with Image.open(tmp_path / "predictions.png") as image:
        assert image.format == "PNG" and image.width > 500
    assert (tmp_path / "model.npz").stat().st_size > 100_000


def test_explicit_mnist_offline_exits_non_zero_with_one_clear_line(tmp_path, offline):
    result = run("-m", "mnist_nn", "train", "--dataset", "mnist", env=os.environ, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: MNIST not found") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "metrics.json").exists()
