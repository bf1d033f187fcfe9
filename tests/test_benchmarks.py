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


def test_the_fast_ablation_removes_one_ingredient_at_a_time():
    from benchmarks.fast import ABLATED, FAST, ablation_trials

    trials = ablation_trials(seeds=2)
    recipe = {name: getattr(FAST, name) for name in ABLATED}
    by_label = {}
    for trial in trials:
        by_label.setdefault(trial.label, []).append(trial)
    assert all(len(seeds) == 2 for seeds in by_label.values())
    for label, (trial, _) in by_label.items():
        settings = dict(trial.settings)
        changed = {name for name in ABLATED if settings[name] != recipe[name]}
        assert len(changed) == (0 if label == "the fast recipe" else 1), label
    assert "bn" not in dict(by_label["without batch norm"][0].settings)["layers"]


def test_the_pytorch_network_has_our_parameters():
    import pytest

    torch = pytest.importorskip(
        "torch", reason="PyTorch is a benchmark extra: pip install -e '.[bench]'"
    )
    from benchmarks.peers import torch_stack
    from mnist_nn.nn.stack import count_weights
    from mnist_nn.presets import PRESETS

    for layers in (PRESETS["fast"].layers, PRESETS["cnn"].layers, "conv4x3 bn dense16 bn"):
        model = torch_stack(layers)
        assert sum(p.numel() for p in model.parameters()) == count_weights(784, 10, layers=layers)
        assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
