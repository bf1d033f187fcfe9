"""Small things several test files use."""

import numpy as np

from mnist_nn.data import Dataset, Split


def tiny_dataset(n_train=300, n_test=100, validation=False):
    """Two well separated blobs per digit: learnable in a few epochs."""
    rng = np.random.default_rng(0)
    centres = rng.random((10, 784)).astype(np.float32)

    def split(n):
        labels = rng.integers(0, 10, n)
        noise = 0.1 * rng.standard_normal((n, 784)).astype(np.float32)
        return Split(np.clip(centres[labels] + noise, 0, 1), labels)

    val = split(50) if validation else None
    return Dataset("tiny", "generated", split(n_train), split(n_test), val)


def weights(result):
    return [p.copy() for p, _ in result.network.parameters()]
