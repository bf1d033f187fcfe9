"""Calibration: the temperature found, the calibration error measured, and where both appear."""

import numpy as np
import pytest

from mnist_nn.data.dataset import Dataset, Split
from mnist_nn.evaluate.calibration import (
    calibrate,
    expected_calibration_error,
    fit_temperature,
    model_temperature,
    reliability,
    softmax,
)
from mnist_nn.nn.network import build_network


def sampled(logits, rng):
    """Labels drawn from softmax(logits): answers exactly as sure as those probabilities say."""
    probabilities = softmax(logits)
    return np.array([rng.choice(len(row), p=row) for row in probabilities])


def test_temperature_scaling_finds_the_temperature_that_made_the_scores_overconfident():
    rng = np.random.default_rng(0)
    honest = rng.normal(0, 3, (20_000, 10))
    labels = sampled(honest, rng)
    # The network's logits are the honest ones times 2.5: too sure. T should come out near 2.5.
    assert fit_temperature(2.5 * honest, labels) == pytest.approx(2.5, rel=0.05)
    before = expected_calibration_error(softmax(2.5 * honest), labels)
    after = expected_calibration_error(softmax(2.5 * honest, 2.5), labels)
    assert before > 0.05 and after < 0.02


def test_temperature_never_changes_which_digit_is_read():
    logits = np.random.default_rng(1).normal(0, 2, (500, 10))
    for temperature in (0.3, 1.0, 7.0):
        assert np.array_equal(softmax(logits, temperature).argmax(1), logits.argmax(1))


def test_reliability_bins_count_every_answer_once():
    probabilities = softmax(np.random.default_rng(2).normal(0, 2, (1000, 10)))
    labels = probabilities.argmax(1)  # always right: accuracy 1 in every filled bin
    confidence, accuracy, counts = reliability(probabilities, labels, bins=10)
    assert counts.sum() == 1000
    assert np.all(accuracy[counts > 0] == 1.0)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(
        1 - probabilities.max(1).mean()
    )


def test_calibrate_uses_the_validation_split_when_there_is_one():
    rng = np.random.default_rng(3)
    network = build_network([784, 16, 10], rng, "float64", "relu", "cross_entropy")
    split = Split(rng.random((200, 784)), rng.integers(0, 10, 200))
    with_validation = Dataset("fake", "here", split, split, validation=split)
    without = Dataset("fake", "here", split, split)
    assert calibrate(network, with_validation)["fitted_on"] == "validation split (200)"
    record = calibrate(network, without)
    assert "training examples" in record["fitted_on"] and record["temperature"] > 0


@pytest.mark.parametrize(
    "calibration", [None, "hot", {"temperature": -1}, {"temperature": True}, {"x": 1}]
)
def test_a_damaged_or_missing_temperature_is_read_as_none(calibration):
    assert model_temperature({"calibration": calibration}) is None
    assert model_temperature({"calibration": {"temperature": 1.7}}) == 1.7
