"""Real handwriting (photos, scans, drawings by 11 writers): a development set, read by path
from the folder MNIST_NN_HANDWRITING_DIR names, never copied here; skipped, saying so, where it is
absent."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import load_dataset
from mnist_nn.reading.images import load_digit
from mnist_nn.train.loop import train

HANDWRITING = Path(os.environ.get("MNIST_NN_HANDWRITING_DIR", "/nonexistent"))


@pytest.fixture(scope="module")
def handwriting():
    if not (HANDWRITING / "labels.csv").is_file():
        pytest.skip(
            "needs a set of real handwritten digits (other writers' work, not shipped): set "
            "MNIST_NN_HANDWRITING_DIR to a folder with the images and labels.csv (file, label)"
        )
    with open(HANDWRITING / "labels.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    images = np.stack([load_digit(HANDWRITING / row["file"]) for row in rows])
    return images, np.array([int(row["label"]) for row in rows])


@pytest.mark.slow
def test_the_seed_model_reads_at_least_90_percent_of_real_handwriting(handwriting, mnist_dir):
    """A development figure (the set was looked at while the framing was built): 84 of 91."""
    images, labels = handwriting
    network = train(TrainConfig(), load_dataset("mnist", data_dir=mnist_dir)).network
    assert np.mean(network.predict(images) == labels) >= 0.90
