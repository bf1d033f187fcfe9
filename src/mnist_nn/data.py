"""Datasets as arrays ready for the network: MNIST, or the offline `digits` stand-in.

Shapes: N examples, D = 784 pixels (a 28x28 image flattened; rows are examples), C = 10 classes.
MNIST's files come from `sources.py` (folder, cache or download, checksums). If MNIST cannot be
had and no dataset was asked for, scikit-learn's bundled 8x8 `digits` are framed like MNIST
(28x28) so that the same network can still learn something offline.
Left out: other datasets (Fashion-MNIST, EMNIST).
"""

from dataclasses import dataclass

import numpy as np

from mnist_nn import sources
from mnist_nn.errors import UserError
from mnist_nn.sources import HOW_TO_GET_MNIST, MnistNotFound, load_mnist_arrays

DATASETS = ("mnist", "digits")


@dataclass
class Split:
    """Examples of one split: `images` (N, 784) floats in [0, 1], `labels` (N,) digits 0-9."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    name: str  # "mnist" or "digits": recorded in every output
    source: str  # where the arrays came from
    train: Split
    test: Split
    validation: Split | None = None  # held out of the training set when --val-size > 0
    notice: str | None = None  # said prominently to the user (e.g. the fallback to digits)
    checksums: dict | None = None  # SHA-256 of each verified source file, for the record
    classes: int = 10  # labels are 0 .. classes - 1


def one_hot(labels: np.ndarray, num_classes: int = 10, dtype="float32") -> np.ndarray:
    """Digits (N,) -> one-hot rows (N, C): 5 -> [0,0,0,0,0,1,0,0,0,0]."""
    return np.eye(num_classes, dtype=dtype)[labels]


def load_digits_arrays() -> tuple[dict[str, np.ndarray], str]:
    """scikit-learn's 1,797 bundled 8x8 digits, framed like MNIST, split 80/20 with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from mnist_nn.images import frame_like_mnist

    digits = load_digits()
    framed = np.stack([frame_like_mnist(image / 16.0) for image in digits.images])
    framed = np.round(framed * 255).astype(np.uint8)  # the same 0-255 greys as MNIST's files
    train_images, test_images, train_labels, test_labels = train_test_split(
        framed,
        digits.target.astype(np.uint8),
        test_size=0.2,
        random_state=0,
        stratify=digits.target,
    )
    arrays = {
        "train_images": train_images,
        "train_labels": train_labels,
        "test_images": test_images,
        "test_labels": test_labels,
    }
    return arrays, "scikit-learn load_digits (8x8, framed as 28x28)"


def _split(images: np.ndarray, labels: np.ndarray, dtype) -> Split:
    # np.asarray: plain arrays, not np.memmap (the cache's type), which would add a Python-level
    # step to every slice and index of them, thousands of times per epoch.
    pixels = np.asarray(images).reshape(len(images), -1).astype(dtype)
    pixels /= 255  # grey levels 0-255 -> [0, 1]
    return Split(pixels, np.asarray(labels).astype(np.int64))


def load_dataset(name: str | None = None, data_dir=None, dtype="float32", val_size: int = 0):
    """Load a dataset as float pixels in [0, 1] and integer labels.

    `name` None means MNIST, falling back to `digits` (with a notice) if MNIST cannot be had;
    "mnist" means MNIST or an error. `val_size` examples are held out of the end of the training
    set for validation, so that choices are never made on the test set.
    """
    notice = None
    if name == "digits":
        arrays, source = load_digits_arrays()
    else:
        try:
            arrays, source = load_mnist_arrays(data_dir)
            name = "mnist"
        except MnistNotFound as error:
            if name == "mnist":
                raise
            name = "digits"
            arrays, source = load_digits_arrays()
            notice = (
                f"MNIST not found (looked at: {'; '.join(error.looked)}).\n"
                "Training on scikit-learn's small 8x8 `digits` set instead "
                "(1,797 images, framed as 28x28); accuracy will not be MNIST's.\n"
                f"To use MNIST: {HOW_TO_GET_MNIST}."
            )
    checksums = None if name == "digits" else dict(sources.MNIST_FILES.values())
    train = _split(arrays["train_images"], arrays["train_labels"], dtype)
    test = _split(arrays["test_images"], arrays["test_labels"], dtype)
    validation = None
    if val_size:
        if not 0 < val_size < len(train):
            raise UserError(
                f"--val-size {val_size} must be between 1 and {len(train) - 1} "
                f"(the {name} training set has {len(train)} examples)"
            )
        cut = len(train) - val_size
        validation = Split(train.images[cut:], train.labels[cut:])
        train = Split(train.images[:cut], train.labels[:cut])
    return Dataset(name, source, train, test, validation, notice, checksums)
