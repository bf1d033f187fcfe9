"""Datasets: splits, scaling, one-hot targets, the offline digits."""

import numpy as np
import pytest

from mnist_nn.data import dataset as data
from mnist_nn.data import sources
from mnist_nn.errors import UserError

from helpers import FAKE, write_fake_mnist


def test_loads_scaled_pixels_and_labels(tmp_path, offline, fake_checksums):
    dataset = data.load_dataset(None, data_dir=write_fake_mnist(tmp_path / "m"))
    assert dataset.name == "mnist" and dataset.notice is None
    assert dataset.train.images.shape == (50, 784) and dataset.train.images.dtype == np.float32
    np.testing.assert_allclose(dataset.train.images * 255, FAKE["train_images"].reshape(50, 784))
    np.testing.assert_array_equal(dataset.test.labels, FAKE["test_labels"])
    assert data.load_dataset(None, tmp_path / "m", dtype="float64").test.images.dtype == np.float64


def test_validation_is_held_out_of_the_end_of_the_training_set(tmp_path, offline, fake_checksums):
    dataset = data.load_dataset("mnist", data_dir=write_fake_mnist(tmp_path / "m"), val_size=10)
    assert len(dataset.train) == 40 and len(dataset.validation) == 10 and len(dataset.test) == 20
    np.testing.assert_array_equal(dataset.validation.labels, FAKE["train_labels"][40:])
    with pytest.raises(UserError, match="val_size=50 must be between 1 and 49"):
        data.load_dataset("mnist", data_dir=tmp_path / "m", val_size=50)


def test_falls_back_to_digits_with_a_notice(offline):
    dataset = data.load_dataset(None)
    assert dataset.name == "digits"
    assert "MNIST not found" in dataset.notice and "MNIST_DATA_DIR" in dataset.notice
    assert dataset.train.images.shape[1] == 784 and len(dataset.train) + len(dataset.test) == 1797
    assert dataset.train.images.min() >= 0 and dataset.train.images.max() <= 1


def test_digits_are_framed_like_mnist():
    arrays, _ = data.load_digits_arrays()
    images = arrays["train_images"].astype(np.float64) / 255
    assert images.shape[1:] == (28, 28)
    ink_rows = (images > 0.05).any(axis=2).sum(axis=1)
    ink_cols = (images > 0.05).any(axis=1).sum(axis=1)
    assert np.all(np.maximum(ink_rows, ink_cols) <= 21)  # fits a 20 px box (±1 px of blur)
    rows = np.arange(28)
    centre = (images.sum(axis=2) * rows).sum(axis=1) / images.sum(axis=(1, 2))
    assert np.all(np.abs(centre - 14) <= 1.0)  # centred by mass, where MNIST centres it


def test_explicit_mnist_never_falls_back(offline):
    with pytest.raises(sources.MnistNotFound):
        data.load_dataset("mnist")
