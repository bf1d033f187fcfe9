"""Pictures: a path gets a PNG; no path gets a matplotlib Figure, for a notebook to show."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from mnist_nn.evaluate import plots

rng = np.random.default_rng(0)
IMAGES = rng.random((6, 784), dtype=np.float32)
HISTORY = [
    {"epoch": e, "train_loss": 1 / e, "train_accuracy": 0.8, "val_accuracy": 0.9} for e in (1, 2)
]
PICTURES = {
    "predictions": lambda path: plots.plot_predictions(
        IMAGES, [1] * 6, [1, 2, 1, 1, 1, 1], path=path
    ),
    "comparison": lambda path: plots.plot_comparison(
        [{"name": "seed", "val_accuracy": 0.96, "test_accuracy": 0.955}], path=path
    ),
    "activations": lambda path: plots.plot_activations(rng.random((50, 16)), path=path),
    "confusion": lambda path: plots.plot_confusion(rng.integers(0, 50, (10, 10)), path=path),
    "mistakes": lambda path: plots.plot_mistakes(IMAGES, [1] * 6, [2] * 6, [0.9] * 6, path=path),
    "curves": lambda path: plots.plot_curves(HISTORY, [0.5, 0.4, 0.3, 0.2], path=path),
    "weights": lambda path: plots.plot_first_layer_weights(
        rng.standard_normal((784, 16)), path=path
    ),
}


@pytest.mark.parametrize("name", PICTURES)
def test_a_path_gets_a_png_and_no_path_gets_a_figure(tmp_path, name):
    assert PICTURES[name](tmp_path / f"{name}.png") is None
    with Image.open(tmp_path / f"{name}.png") as image:
        assert image.format == "PNG" and image.width > 100
    assert isinstance(PICTURES[name](None), Figure)


def test_the_activations_picture_says_how_many_units_saturated_in_this_run():
    half_saturated = np.concatenate([np.full((10, 4), 0.5), np.full((10, 4), 0.001)])
    assert plots.saturation_words(half_saturated, "sigmoid").startswith("50.0% saturated")
    assert plots.saturation_words(np.full((5, 5), 0.5), "sigmoid").startswith("0.0% saturated")
    off = np.array([[0.0, 0.0, 0.0, 2.5]])
    assert plots.saturation_words(off, "relu").startswith("75% of ReLU values are 0")
    assert plots.saturation_words(np.array([[0.999, -0.999, 0.0, 0.1]]), "tanh").startswith("50.0%")
