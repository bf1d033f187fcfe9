"""How good a trained network is, digit by digit: confusion matrix, precision, recall, F1, and
its most confident mistakes.

Shape key: N examples, C = 10 classes. `confusion[t, p]` counts examples of true digit t that
were predicted as p; its diagonal holds the correct ones.
"""

import numpy as np


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    """(C, C) counts: rows are true digits, columns predicted digits."""
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(
        classes, classes
    )


def per_digit_scores(confusion: np.ndarray) -> list[dict]:
    """Precision (of the predictions of d, how many were d), recall (of the true d, how many were
    found) and F1 (their harmonic mean) of each digit d."""
    correct = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # a digit never predicted: 0, not NaN
        precision = np.nan_to_num(correct / predicted)
        recall = np.nan_to_num(correct / actual)
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return [
        {
            "digit": digit,
            "precision": float(precision[digit]),
            "recall": float(recall[digit]),
            "f1": float(f1[digit]),
            "support": int(actual[digit]),
        }
        for digit in range(len(confusion))
    ]


def most_confident_mistakes(scores: np.ndarray, labels: np.ndarray, count: int = 24) -> np.ndarray:
    """Indices of the wrongly classified examples with the highest score on their wrong answer."""
    predicted = scores.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = scores[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]]


def calibration_report(network, split, scores, temperature: float | None) -> dict:
    """The expected calibration error of the network's own scores (before) and of its calibrated
    probabilities softmax(z / T) (after), with the probabilities for the reliability diagram."""
    from mnist_nn.evaluate.calibration import expected_calibration_error, softmax

    after = softmax(network.logits(split.images), temperature or 1.0)
    return {
        "temperature": temperature,
        "ece_before": expected_calibration_error(scores, split.labels),
        "ece_after": expected_calibration_error(after, split.labels),
        "calibrated": after,  # (N, C), for the reliability diagram; not printed
    }


def evaluate(network, split, temperature: float | None = None) -> dict:
    """Every number `mnist-nn evaluate` reports, for `split` (images and labels); `temperature`:
    the model's calibration (see `calibration.py`), None if it records none."""
    scores = network.scores(split.images)
    predicted = scores.argmax(axis=1)
    confusion = confusion_matrix(split.labels, predicted)
    return {
        "calibration": calibration_report(network, split, scores, temperature),
        "accuracy": float(np.mean(predicted == split.labels)),
        "examples": len(split.labels),
        "per_digit": per_digit_scores(confusion),
        "confusion": confusion.tolist(),
        "scores": scores,  # (N, C), for the pictures; not printed
        "predicted": predicted,
    }


def calibration_line(calibration: dict) -> str:
    """How far the scores are from meaning what they say, before and after calibration."""
    temperature = calibration["temperature"]
    if temperature is None:
        return (
            f"calibration error (ECE): {calibration['ece_before']:.2%} (the model records no "
            "temperature: train it again to calibrate it)"
        )
    return (
        f"calibration error (ECE): {calibration['ece_before']:.2%} for the network's own scores, "
        f"{calibration['ece_after']:.2%} calibrated (temperature {temperature:.3g})"
    )


def report_lines(results: dict) -> list[str]:
    """The per-digit table and the confusion matrix of `evaluate`'s results, as printed lines."""
    lines = [calibration_line(results["calibration"])]
    lines.append(f"{'digit':>5} {'precision':>10} {'recall':>8} {'f1':>7} {'support':>8}")
    for row in results["per_digit"]:
        lines.append(
            f"{row['digit']:>5} {row['precision']:>10.2%} {row['recall']:>8.2%} "
            f"{row['f1']:>7.2%} {row['support']:>8}"
        )
    lines.append("confusion matrix (rows: true digit, columns: predicted digit)")
    lines.append("      " + "".join(f"{digit:>6}" for digit in range(len(results["confusion"]))))
    for digit, row in enumerate(results["confusion"]):
        lines.append(f"{digit:>6}" + "".join(f"{count:>6}" for count in row))
    return lines
