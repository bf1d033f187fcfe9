"""The benchmark's NumPy baselines train the same network as mnist-nn, so their times compare like
with like: one epoch of each, from the same weights and in the same batch order, ends at the same
weights, bit for bit."""

import numpy as np

from benchmarks import plain_numpy
from benchmarks.lean_numpy import LeanTrainer
from mnist_nn.nn.losses import one_hot
from mnist_nn.nn.network import build_network
from mnist_nn.nn.optimizers import SGD


def our_epoch(images, targets, order):
    network = build_network([784, 128, 10], np.random.default_rng(0))
    start = [parameter.copy() for parameter, _ in network.parameters()]  # W1, b1, W2, b2
    optimizer = SGD(0.01)
    for first in range(0, len(order), 128):
        batch = order[first : first + 128]
        network.train_step(images[batch], targets[batch], optimizer)
    return start, [parameter for parameter, _ in network.parameters()]


def test_plain_and_lean_epochs_end_where_ours_does():
    rng = np.random.default_rng(7)
    images = rng.random((300, 784), dtype=np.float32)  # two full batches and a partial one
    targets = one_hot(rng.integers(0, 10, 300))
    start, ours = our_epoch(images, targets, np.random.default_rng(3).permutation(300))

    plain = dict(zip(("W1", "b1", "W2", "b2"), (array.copy() for array in start), strict=True))
    plain_numpy.train_epoch(plain, images, targets, np.random.default_rng(3))

    lean = LeanTrainer(np.random.default_rng(0))
    lean.rng = np.random.default_rng(3)  # the same shuffle as the others
    for name, array in zip(("W1", "b1", "W2", "b2"), start, strict=True):
        lean.params[name][...] = array
    lean.train_epoch(images, targets)

    for name, expected, before in zip(("W1", "b1", "W2", "b2"), ours, start, strict=True):
        assert not np.array_equal(expected, before)  # the epoch did move every parameter
        np.testing.assert_array_equal(plain[name], expected)
        np.testing.assert_array_equal(lean.params[name], expected)
