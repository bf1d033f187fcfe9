"""The detector of non-digits: the shipped one on drawn non-digits and on MNIST's digits, and the
way it is trained (the library's own Trainer, on drawings made by `non_digits.py`)."""

import numpy as np
import pytest

from mnist_nn.data.dataset import load_dataset
from mnist_nn.data.framing import frame_digit
from mnist_nn.reading.detector import DETECTOR_PATH, not_digit_probability
from mnist_nn.reading.detector_training import detector_examples
from mnist_nn.reading.non_digits import KINDS, LETTERS, non_digit_set, render


def framed(canvases) -> np.ndarray:
    return np.stack([frame_digit(canvas).reshape(-1) for canvas in canvases])


def test_the_shipped_detector_turns_away_drawn_letters_shapes_and_scribbles():
    rng_digits = np.zeros((4, 784), dtype=np.float32)  # unused by these kinds
    kinds = ("letter", "shape", "scribble", "strokes")
    canvases, chosen = non_digit_set(200, 99, rng_digits, np.zeros(4, int), kinds, size=112)
    p_not, limit = not_digit_probability(framed(canvases))
    turned_away = p_not > limit
    chosen = np.array(chosen)
    assert np.mean(turned_away[np.isin(chosen, ["letter", "shape"])]) >= 0.95
    assert np.mean(turned_away) >= 0.8


def test_the_shipped_detector_keeps_mnist_test_digits(mnist_dir):
    test = load_dataset("mnist", data_dir=mnist_dir).test
    p_not, limit = not_digit_probability(test.images[:3000])
    assert np.mean(p_not > limit) <= 0.012  # its limit turns away 0.5% of validation digits


def test_two_digits_side_by_side_are_not_one_digit(mnist_dir):
    test = load_dataset("mnist", data_dir=mnist_dir).test
    rng = np.random.default_rng(5)
    pairs = [render("two digits", rng, test.images, test.labels, size=112) for _ in range(60)]
    p_not, limit = not_digit_probability(framed(pairs))
    assert np.mean(p_not > limit) >= 0.9


def test_letters_that_look_like_digits_are_left_out_of_the_non_digits():
    assert not set(LETTERS) & set("OIlSZBGTg")  # reading those as digits is no mistake
    assert "piece of a digit" in KINDS and "two digits" in KINDS


def test_detector_examples_are_framed_and_labelled(offline):
    digits = load_dataset("digits", val_size=100).validation
    examples = detector_examples(digits, count=24, seed=0)
    assert examples.images.shape[1] == 784 and set(np.unique(examples.labels)) == {0, 1}
    assert np.sum(examples.labels == 1) == 24 and examples.images.max() <= 1.0


def test_the_shipped_file_is_a_model_file_of_this_project():
    from mnist_nn.saving.model_files import load_model

    network, metadata = load_model(DETECTOR_PATH)
    layers = " ".join(metadata["layers"])
    assert "Conv2D" in layers and network.sizes[-1] == 2
    assert metadata["class_names"] == ["digit", "not a digit"]
    assert 0 < metadata["limit"] < 1
    assert metadata["held_out"]["non-digits turned away"] > 0.8


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_non_digit_is_drawn_with_ink_on_a_white_canvas(kind, offline):
    digits = load_dataset("digits").test
    canvas = render(kind, np.random.default_rng(1), digits.images, digits.labels, size=112)
    assert canvas.shape == (112, 112) and canvas.min() < 0.5 and np.median(canvas) > 0.9
