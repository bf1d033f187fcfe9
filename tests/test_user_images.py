"""The hard test set: MNIST test digits redrawn as people's own images are read back through
`predict`'s framing nearly as well as the digits themselves."""

import io

import numpy as np
import pytest

from benchmarks.user_images import render
from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import load_dataset
from mnist_nn.reading.images import load_digit
from mnist_nn.train.loop import train


@pytest.mark.slow
def test_redrawn_digits_are_read_nearly_as_well_as_mnist(mnist_dir):
    dataset = load_dataset("mnist", data_dir=mnist_dir)
    network = train(TrainConfig(), dataset).network
    rng = np.random.default_rng(1)
    count = 60
    kinds, redrawn = [], []
    for image in dataset.test.images[:count]:
        data, what = render(image.reshape(28, 28), rng)
        kinds.append(what)
        redrawn.append(load_digit(io.BytesIO(data), name=what))
    labels = dataset.test.labels[:count]
    direct = np.mean(network.predict(dataset.test.images[:count]) == labels)
    read = np.mean(network.predict(np.stack(redrawn)) == labels)
    # Today one digit apart on these 60 (98.3% and 96.7%), 2.0 points on 1,000 (benchmarks).
    assert read >= direct - 0.05, (direct, read)
    assert any("photo" in kind for kind in kinds) and any("JPEG" in kind for kind in kinds)
