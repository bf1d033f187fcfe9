"""Losses: values, gradients, and numerical stability."""

import numpy as np
import pytest

from mnist_nn.nn.gradcheck import numerical_gradient, relative_error
from mnist_nn.nn.losses import LOSSES, MeanSquaredError, SoftmaxCrossEntropy, one_hot


@pytest.mark.parametrize("name", [name for name in LOSSES if name != "ctc"])  # see test_ctc.py
def test_gradient_is_the_objectives_derivative(name):
    rng = np.random.default_rng(0)
    loss = LOSSES[name]()
    output = rng.random((6, 10))
    targets = one_hot(rng.integers(0, 10, 6), dtype="float64")
    _, gradient = loss(output, targets)
    numerical = numerical_gradient(lambda: loss.objective(output, targets), output)
    assert relative_error(gradient, numerical) < 1e-7


def test_mse_reports_the_mean_and_returns_minus_the_seeds_error():
    output = np.array([[0.5, 0.0], [1.0, 1.0]])
    targets = np.array([[1.0, 0.0], [0.0, 1.0]])
    value, gradient = MeanSquaredError()(output, targets)
    assert value == pytest.approx((0.25 + 0 + 1 + 0) / 4)
    np.testing.assert_array_equal(gradient, -(targets - output))


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1e30, 1e30, 0.0]], dtype=np.float32)
    targets = np.array([[1.0, 0, 0], [1.0, 0, 0]], dtype=np.float32)
    loss = SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        value, gradient = loss(logits, targets)
    assert np.isfinite(value) and np.all(np.isfinite(gradient))
    assert value == pytest.approx(2e30 / 2, rel=1e-3)  # the second row is confidently wrong
    np.testing.assert_allclose(gradient[0], [0, 0, 0], atol=1e-6)  # right and sure: no push


def test_cross_entropy_probabilities_and_gradient():
    logits = np.log(np.array([[1.0, 2.0, 7.0]]))
    loss = SoftmaxCrossEntropy()
    np.testing.assert_allclose(loss.scores(logits), [[0.1, 0.2, 0.7]])
    value, gradient = loss(logits, np.array([[0.0, 0.0, 1.0]]))
    assert value == pytest.approx(-np.log(0.7))
    np.testing.assert_allclose(gradient, [[0.1, 0.2, -0.3]])  # p − y


def test_mse_scores_are_the_sigmoid_outputs_so_a_dead_model_never_looks_sure():
    from mnist_nn.nn.losses import MeanSquaredError

    dead = np.array([[1e-7, 2e-6, 3e-7, 1e-7, 1e-7, 1e-7, 1e-7, 1e-7, 1e-7, 1e-7]])
    scores = MeanSquaredError.scores(dead)
    assert scores.max() < 1e-5  # not 2e-6 / 2.9e-6 = "69% sure"
    np.testing.assert_array_equal(scores.argmax(axis=1), [1])


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([5, 0]))[0], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    assert one_hot(np.array([3]), dtype="float64").dtype == np.float64
