"""Datasets as arrays ready for the network: MNIST, or the offline `digits` stand-in.

Shapes: N examples, D = 784 pixels (a 28x28 image flattened; rows are examples), C = 10 classes.
MNIST's files come from `sources.py` (folder, cache or download, checksums). If MNIST cannot be
had and no dataset was asked for, scikit-learn's bundled 8x8 `digits` are framed like MNIST
(28x28) so that the same network can still learn something offline.
Left out: other datasets (Fashion-MNIST, EMNIST).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_nn.data import sources
from mnist_nn.data.sources import HOW_TO_GET_MNIST, MnistNotFound, load_mnist_arrays
from mnist_nn.errors import UserError, named

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
    class_names: list | None = None  # what each label stands for, when not the digits 0-9


def load_digits_arrays() -> tuple[dict[str, np.ndarray], str]:
    """scikit-learn's 1,797 bundled 8x8 digits, framed like MNIST, split 80/20 with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from mnist_nn.data.framing import frame_like_mnist

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


def load_dataset(
    name: str | None = None, data_dir=None, dtype="float32", val_size: int = 0, data_file=None
):
    """Load a dataset as float pixels in [0, 1] and integer labels.

    `name` None means MNIST, falling back to `digits` (with a notice) if MNIST cannot be had;
    "mnist" means MNIST or an error; `data_file` is your own data (see `own_data.py`).
    `val_size` examples are held out of the end of the training set for validation, so that
    choices are never made on the test set.
    """
    if data_file is not None:
        return load_data_file(data_file, dtype, val_size)
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
    train, validation = hold_out(train, val_size, name)
    return Dataset(name, source, train, test, validation, notice, checksums)


def default_val_size(train_size: int) -> int:
    """5,000 held out of MNIST's 60,000; a fifth of a smaller training set (the digits')."""
    return min(5000, train_size // 5)


def hold_out(train: Split, val_size: int, name: str) -> tuple[Split, Split | None]:
    """The last `val_size` training examples become the validation split."""
    if not val_size:
        return train, None
    if not 0 < val_size < len(train):
        raise UserError(
            f"{named('val_size', val_size)} must be between 1 and {len(train) - 1} "
            f"(the {name} training set has {len(train)} examples)"
        )
    cut = len(train) - val_size
    return (
        Split(train.images[:cut], train.labels[:cut]),
        Split(train.images[cut:], train.labels[cut:]),
    )


def load_data_file(path, dtype="float32", val_size: int = 0) -> Dataset:
    """Your own data from an .npz or CSV file, checked (see `own_data.py`)."""
    from mnist_nn.data.own_data import read_data_file

    arrays, class_names = read_data_file(path)
    name = f"file:{Path(path).name}"
    train = Split(arrays["x_train"].astype(dtype), arrays["y_train"].astype(np.int64))
    train, validation = hold_out(train, val_size, name)
    test = None
    if "x_test" in arrays:
        test = Split(arrays["x_test"].astype(dtype), arrays["y_test"].astype(np.int64))
    return Dataset(
        name, str(path), train, test, validation, classes=len(class_names), class_names=class_names
    )
