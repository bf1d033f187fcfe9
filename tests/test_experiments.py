"""The README's experiments, each run as written but shortened: commands and pictures."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_nn.cli.parser import main
from mnist_nn.nn.layers import Sigmoid

DOCS = Path(__file__).resolve().parents[1] / "docs"


def experiments():
    spec = importlib.util.spec_from_file_location("experiments", DOCS / "experiments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The pictures a README command draws are run by test_readme.py, which checks their figures too.
SHOWN_BY_A_COMMAND = ("learning-rates", "saturation", "losses", "framing", "shifted", "filters",
                      "output-gradient", "im2col", "moving-map", "seams")  # fmt: skip


@pytest.mark.parametrize("name", [n for n in experiments().PICTURES if n not in SHOWN_BY_A_COMMAND])
def test_every_picture_is_drawn_by_the_script(tmp_path, mnist_dir, monkeypatch, capsys, name):
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    experiments().main([name, "--limit", "3000", "--out", str(tmp_path)])
    with Image.open(tmp_path / f"{name.replace('-', '_')}.png") as picture:
        assert picture.width > 500
    assert (DOCS / f"{name.replace('-', '_')}.png").exists()  # the README shows it
    assert re.search(r"wrote .*\.png: \S", capsys.readouterr().out)  # and its figures


def test_the_pictures_go_to_a_folder_of_the_users_not_into_docs(tmp_path, monkeypatch):
    """A quick, rough run must not overwrite the pictures the docs show: ./experiments unless
    --out says otherwise."""
    shown = DOCS / "sigmoid.png"
    before = shown.read_bytes()
    monkeypatch.chdir(tmp_path)
    experiments().main(["sigmoid"])
    assert (tmp_path / "experiments" / "sigmoid.png").is_file()
    assert shown.read_bytes() == before


def test_every_picture_is_checked_somewhere():
    from test_readme import PICTURES

    shown = {command.split()[-1] for command in PICTURES}
    assert set(SHOWN_BY_A_COMMAND) == shown and shown <= set(experiments().PICTURES)


def test_breaking_the_sigmoid_derivative_is_caught_by_gradcheck(monkeypatch, capsys):
    def broken_backward(self, dout):  # the README's experiment: `dz *= self.a` deleted
        dz = np.subtract(1.0, self.a)
        dz *= dout
        return dz

    monkeypatch.setattr(Sigmoid, "backward", broken_backward)
    assert main(["gradcheck", "--activations", "sigmoid"]) == 1
    out = capsys.readouterr().out
    assert out.count("WRONG") == 10 and "backprop has a bug" in out  # W3, b3 of softmax: right
