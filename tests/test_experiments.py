"""The README's experiments, each run as written but shortened: commands and pictures."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_nn.cli import main
from mnist_nn.layers import Sigmoid

DOCS = Path(__file__).resolve().parents[1] / "docs"


def experiments():
    spec = importlib.util.spec_from_file_location("experiments", DOCS / "experiments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name", ["sigmoid", "network", "learning-rates", "saturation", "losses", "framing"]
)
def test_every_picture_is_drawn_by_the_script(tmp_path, mnist_dir, monkeypatch, name):
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    experiments().main([name, "--limit", "3000", "--out", str(tmp_path)])
    with Image.open(tmp_path / f"{name.replace('-', '_')}.png") as picture:
        assert picture.width > 500
    assert (DOCS / f"{name.replace('-', '_')}.png").exists()  # the README shows it


@pytest.mark.parametrize(
    "flags, ending",
    [
        (["--lr", "0.1"], "training stopped learning in epoch 1"),
        (["--hidden", "1000"], "training stopped learning in epoch 1"),
        (["--hidden", "1000", "--lr", "0.002"], "test accuracy:"),
        (
            [
                "--hidden",
                "1000",
                "--activation",
                "relu",
                "--loss",
                "cross_entropy",
                "--lr",
                "0.001",
            ],
            "test accuracy:",
        ),  # fmt: skip
        (["--loss", "cross_entropy"], "test accuracy:"),
    ],
)
def test_the_readme_commands_end_as_it_says(tmp_path, mnist_dir, capsys, flags, ending):
    argv = ["train", *flags, "--epochs", "1", "--data-dir", str(mnist_dir), "--out", str(tmp_path)]
    main(argv)
    captured = capsys.readouterr()
    assert ending in captured.out + captured.err


def test_breaking_the_sigmoid_derivative_is_caught_by_gradcheck(monkeypatch, capsys):
    def broken_backward(self, dout):  # the README's experiment: `dz *= self.a` deleted
        dz = np.subtract(1.0, self.a)
        dz *= dout
        return dz

    monkeypatch.setattr(Sigmoid, "backward", broken_backward)
    assert main(["gradcheck", "--activations", "sigmoid"]) == 1
    out = capsys.readouterr().out
    assert out.count("WRONG") == 10 and "backprop has a bug" in out  # W3, b3 of softmax: right
