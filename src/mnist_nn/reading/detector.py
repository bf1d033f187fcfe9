"""Is it a digit at all? A second small network of this library's own that answers only that.

A digit reader has ten answers and gives one of them to anything: a capital A, a smiley, a
scribble, half of a digit. Its own confidence does not tell (docs/models.md says what thresholds
on it turned away). So a separate network learns the difference from
examples, as "outlier exposure" does (Hendrycks et al. 2019): a small convolutional network (the
`cnn` preset's layers, two classes, softmax cross-entropy) trained by the same `Trainer` as any
model, on

- digits: MNIST training digits as they are, and redrawn on a canvas and framed like a user's;
- not digits: letters, shapes, scribbles, random strokes, pieces of digits and two digits side by
  side (`non_digits.py`), drawn on a canvas and framed the same way.

Its limit on P(not a digit) is chosen on held-out images (MNIST's validation digits and other
drawings): the value that turns away `HELD_OUT_DIGITS_TURNED_AWAY` of the held-out digits. It is
shipped with the package (`detector.npz`, made by
`python -m mnist_nn.reading.detector_training`), and every model uses it, whatever its
architecture: it looks at the framed 28x28 image, not at the model.
"""

import functools
from pathlib import Path

import numpy as np

DETECTOR_PATH = Path(__file__).with_name("detector.npz")
NAMES = ["digit", "not a digit"]


@functools.cache
def load_detector():
    """The shipped detector: (network, its limit on P(not a digit))."""
    from mnist_nn.saving.model_files import load_model

    network, metadata = load_model(DETECTOR_PATH)
    return network, float(metadata["limit"])


def not_digit_probability(images: np.ndarray) -> tuple[np.ndarray, float]:
    """(N, 784) framed images -> (N,) P(not a digit) and the limit above which it says so."""
    network, limit = load_detector()
    return network.scores(images.astype(np.float32))[:, 1], limit
