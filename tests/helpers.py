"""Small things several test files use."""

import gzip

import numpy as np

from mnist_nn import sources
from mnist_nn.data import Dataset, Split
from mnist_nn.idx import idx_bytes

# SHA-256 of the seed run's 15-epoch weights (W1, b1, W2, b2 as float32 bytes), as `python main.py`
# wrote them before the training loop was rewritten around callbacks: the seed must never drift.
SEED_WEIGHTS_SHA256 = "e0874fc0420c1bd1575f87835698bcfcddaa07937c0e48ab50f0ecddeed522e0"


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


_rng = np.random.default_rng(0)
FAKE = {  # a small stand-in for MNIST's four files (tests make it pass the checksums)
    "train_images": _rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8),
    "train_labels": _rng.integers(0, 10, size=50, dtype=np.uint8),
    "test_images": _rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
    "test_labels": _rng.integers(0, 10, size=20, dtype=np.uint8),
}


def write_fake_mnist(directory, compress=True, only=None):
    directory.mkdir(parents=True, exist_ok=True)
    for key, (name, _) in sources.MNIST_FILES.items():
        if only is None or key in only:
            raw = idx_bytes(FAKE[key])
            suffix = ".gz" if compress else ""
            (directory / f"{name}{suffix}").write_bytes(gzip.compress(raw) if compress else raw)
    return directory
