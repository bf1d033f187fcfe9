"""Evaluation numbers against hand-computed ones."""

import numpy as np
import pytest

from mnist_nn.evaluate.metrics import confusion_matrix, most_confident_mistakes, per_digit_scores


def test_confusion_and_scores():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    confusion = confusion_matrix(labels, predicted, classes=3)
    np.testing.assert_array_equal(confusion, [[1, 1, 0], [1, 2, 0], [0, 0, 1]])
    zero, one, two = per_digit_scores(confusion)
    assert zero["precision"] == pytest.approx(1 / 2) and zero["recall"] == pytest.approx(1 / 2)
    assert one["precision"] == pytest.approx(2 / 3) and one["recall"] == pytest.approx(2 / 3)
    assert one["f1"] == pytest.approx(2 / 3) and one["support"] == 3
    assert two["f1"] == 1.0


def test_a_digit_never_predicted_scores_zero_not_nan():
    confusion = confusion_matrix(np.array([0, 1]), np.array([0, 0]), classes=2)
    assert per_digit_scores(confusion)[1] == {
        "digit": 1,
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
    }


def test_most_confident_mistakes_come_first():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.99, 0.01]])
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(most_confident_mistakes(scores, labels), [3, 1, 2])
