"""The README's experiments, each run as written but shortened: commands and pictures."""

import importlib.util
from pathlib import Path

import numpy as np

from mnist_nn.cli.parser import main
from mnist_nn.nn.layers import Sigmoid

DOCS = Path(__file__).resolve().parents[1] / "docs"


def experiments():
    spec = importlib.util.spec_from_file_location("experiments", DOCS / "experiments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    """Every picture the script draws is shown with its command in the README or a chapter,
    where test_readme.py runs it, shortened, and checks the figures beside it."""
    from test_readme import PICTURES

    assert {command.split()[-1] for command in PICTURES} == set(experiments().PICTURES)


def test_breaking_the_sigmoid_derivative_is_caught_by_gradcheck(monkeypatch, capsys):
    def broken_backward(self, dout):  # the README's experiment: `dz *= self.a` deleted
        dz = np.subtract(1.0, self.a)
        dz *= dout
        return dz

    monkeypatch.setattr(Sigmoid, "backward", broken_backward)
    assert main(["gradcheck", "--activations", "sigmoid"]) == 1
    out = capsys.readouterr().out
    assert out.count("WRONG") == 10 and "backprop has a bug" in out  # W3, b3 of softmax: right
