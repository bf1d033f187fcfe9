"""Scores that mean what they say: calibration by temperature scaling, and how to measure it.

Shape key: N images, C = 10 classes.

A network's raw scores are not probabilities you can trust: softmax networks trained long are
overconfident, and the seed's sigmoid outputs do not even sum to 1. Temperature scaling (Guo et
al. 2017) divides the last dense layer's outputs z (the logits; for the seed's MSE network, z2
before its sigmoid) by one number T before a softmax, p = softmax(z / T), with T chosen to make
held-out digits' answers as likely as possible. T changes how sure the network says it is, never
which digit it picks. The expected calibration error (ECE) measures the result: bin the answers
by confidence, and average |accuracy − confidence| over the bins, weighted by their size.
"""

import numpy as np
from scipy.optimize import minimize_scalar

from mnist_nn.nn.losses import SoftmaxCrossEntropy

FIT_EXAMPLES = 5000  # training examples T is fitted on when there is no validation split


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """p = softmax(z / T), by the loss's own stable log-softmax."""
    return np.exp(SoftmaxCrossEntropy.log_probabilities(logits / temperature))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the negative log-likelihood of softmax(z / T) on held-out digits."""

    def nll(log_t: float) -> float:
        log_p = SoftmaxCrossEntropy.log_probabilities(logits / np.exp(log_t))
        return -float(log_p[np.arange(len(labels)), labels].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded").x))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15):
    """Per confidence bin (equal widths over [0, 1]): mean confidence, accuracy, count."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore"):  # empty bins: NaN, not drawn
        mean_confidence = np.bincount(which, confidence, bins) / counts
        accuracy = np.bincount(which, correct, bins) / counts
    return mean_confidence, accuracy, counts


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins=15) -> float:
    """Σ over bins of (share of answers in the bin) · |accuracy − mean confidence|."""
    confidence, accuracy, counts = reliability(probabilities, labels, bins)
    filled = counts > 0
    gaps = np.abs(accuracy[filled] - confidence[filled])
    return float(np.sum(counts[filled] * gaps) / counts.sum())


def calibrate(network, dataset) -> dict:
    """Fit the temperature of a trained network: on its validation split when it has one, else
    on FIT_EXAMPLES of its training examples (seen in training, so T comes out a little low).
    Returns what the model file records."""
    if dataset.validation is not None and len(dataset.validation):
        split, fitted_on = dataset.validation, f"validation split ({len(dataset.validation)})"
    else:
        split = dataset.train
        split = type(split)(split.images[-FIT_EXAMPLES:], split.labels[-FIT_EXAMPLES:])
        fitted_on = f"last {len(split)} training examples (no validation split)"
    if split.labels.ndim > 1:  # a line reader's: its confidence is its reading's own probability
        return {"temperature": None, "fitted_on": "not fitted: a line reader"}
    temperature = fit_temperature(network.logits(split.images), split.labels)
    return {"temperature": temperature, "fitted_on": fitted_on}


def model_temperature(metadata: dict) -> float | None:
    """The temperature a model file records, or None (an older model, or a damaged entry)."""
    calibration = metadata.get("calibration")
    temperature = calibration.get("temperature") if isinstance(calibration, dict) else None
    number = isinstance(temperature, int | float) and not isinstance(temperature, bool)
    return float(temperature) if number and 0 < temperature < 1e6 else None
