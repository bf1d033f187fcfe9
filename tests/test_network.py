"""The seed network's math: gradients against calculus, one step against the design's equations."""

import numpy as np
import pytest

from mnist_nn.nn.gradcheck import check_network
from mnist_nn.nn.losses import one_hot
from mnist_nn.nn.network import build_network
from mnist_nn.nn.optimizers import SGD


def small_batch(rng, n=8, inputs=12, dtype="float64"):
    x = rng.random((n, inputs)).astype(dtype)
    return x, one_hot(rng.integers(0, 10, n), dtype=dtype)


@pytest.mark.parametrize("sizes", [[12, 7, 10], [12, 10], [12, 9, 6, 10]])
def test_backward_pass_matches_central_differences(sizes):
    rng = np.random.default_rng(1)
    network = build_network(sizes, rng, dtype="float64")
    x, targets = small_batch(rng)
    for name, error in check_network(network, x, targets):
        assert error < 1e-6, f"{name}: relative error {error:.2e}"


def seed_step_transcribed(X, y, W1, b1, W2, b2, learning_rate):
    """The original design's equations, line by line (returns new parameters)."""

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def sigmoid_derivative(x):
        return x * (1 - x)

    z1 = np.dot(X, W1) + b1
    a1 = sigmoid(z1)
    z2 = np.dot(a1, W2) + b2
    a2 = sigmoid(z2)
    error = y - a2
    dz2 = error * sigmoid_derivative(a2)
    dW2 = np.dot(a1.T, dz2)
    db2 = np.sum(dz2, axis=0)
    dz1 = np.dot(dz2, W2.T) * sigmoid_derivative(a1)
    dW1 = np.dot(X.T, dz1)
    db1 = np.sum(dz1, axis=0)
    return (
        W1 + learning_rate * dW1,
        b1 + learning_rate * db1,
        W2 + learning_rate * dW2,
        b2 + learning_rate * db2,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_training_step_equals_the_seed_equations(dtype):
    rng = np.random.default_rng(2)
    network = build_network([784, 128, 10], rng, dtype=dtype)
    x, targets = small_batch(rng, n=128, inputs=784, dtype=dtype)
    first, second = network.dense_layers()
    expected = seed_step_transcribed(
        x,
        targets,
        first.weight.copy(),
        first.bias.copy(),
        second.weight.copy(),
        second.bias.copy(),
        0.01,
    )
    network.train_step(x, targets, SGD(0.01))
    for actual, wanted in zip(
        [first.weight, first.bias, second.weight, second.bias], expected, strict=True
    ):
        assert actual.dtype == np.dtype(dtype)
        # Same operations in the same order: the results agree to the last bit.
        np.testing.assert_array_equal(actual, wanted)


def test_seed_architecture_and_initialisation():
    network = build_network([784, 128, 10], np.random.default_rng(0))
    assert network.sizes == [784, 128, 10]
    assert [type(layer).__name__ for layer in network.layers] == [
        "Dense",
        "Sigmoid",
        "Dense",
        "Sigmoid",
    ]
    first = network.dense_layers()[0]
    limit = np.sqrt(6 / (784 + 128))  # Glorot uniform
    assert first.weight.dtype == np.float32 and np.abs(first.weight).max() <= limit
    assert first.weight.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    assert not first.bias.any()


def test_predict_returns_digits():
    rng = np.random.default_rng(0)
    network = build_network([784, 16, 10], rng)
    predicted = network.predict(rng.random((5000, 784), dtype=np.float32))
    assert predicted.shape == (5000,) and predicted.min() >= 0 and predicted.max() <= 9


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("layers", ["", "conv4x3 pool dense8"])
def test_reading_in_batches_gives_what_one_pass_gives(loss, layers):
    """Scores, logits, hidden activations and feature maps read a few rows at a time (as a test set
    is, through buffers each batch overwrites) are those of one pass over all the rows."""
    rng = np.random.default_rng(0)
    network = build_network([784, 16, 10], rng, "float64", "relu", loss, layers=layers)
    x = rng.random((23, 784))
    whole = network.forward(x).copy()
    assert np.allclose(network.scores(x, batch_size=5), network.loss.scores(whole))
    assert np.allclose(network.run(x, batch_size=4), whole)
    last_dense = max(i for i, layer in enumerate(network.layers) if hasattr(layer, "weight"))
    assert network.logits(x).shape == (23, 10) and network.logits(x).dtype == np.float64
    assert last_dense == len(network.layers) - 1 - (loss == "mse")
    scores, hidden = network.explain(x)
    assert np.allclose(scores, network.loss.scores(whole)) and hidden[-1].shape == (
        23,
        8 if layers else 16,
    )
    maps = network.feature_maps(x)
    assert maps is None if not layers else maps.shape == (23, 4, 26, 26)
