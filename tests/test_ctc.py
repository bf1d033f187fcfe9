"""CTC, the line reader's loss: against a brute-force sum over every column path, and its
gradient against central differences."""

import itertools

import numpy as np
import pytest

from mnist_nn.nn.ctc import CTC, best_path, columns_needed, log_softmax
from mnist_nn.nn.gradcheck import numerical_gradient, relative_error

BLANK = 2  # three classes: digits 0 and 1, then the blank


def brute_force_loss(logits: np.ndarray, number: list) -> float:
    """−ln of the summed probability of every path of classes over the T columns that reads
    as `number` once repeats are merged and blanks dropped: CTC's definition, written out."""
    columns, classes = logits.shape
    y = np.exp(log_softmax(logits[None]))[0]
    total = 0.0
    for path in itertools.product(range(classes), repeat=columns):
        merged = [k for t, k in enumerate(path) if t == 0 or k != path[t - 1]]
        if [k for k in merged if k != BLANK] == list(number):
            total += np.prod([y[t, k] for t, k in enumerate(path)])
    return -np.log(total)


# a repeat needs a blank between; an empty line is all blanks; the longest fills every column
NUMBERS = [[0, 1], [1, 1], [0], [], [1, 0, 1], [0, 0, 0]]


def test_the_loss_is_the_sum_over_every_path_that_reads_as_the_number():
    logits = np.random.default_rng(0).normal(size=(len(NUMBERS), 5, 3)) * 2
    loss, _ = CTC()(logits, NUMBERS)
    expected = sum(
        brute_force_loss(row, number) for row, number in zip(logits, NUMBERS, strict=True)
    )
    assert loss == pytest.approx(expected, rel=1e-10)


def test_the_gradient_is_that_of_the_brute_force_sum():
    logits = np.random.default_rng(1).normal(size=(len(NUMBERS), 5, 3))
    _, gradient = CTC()(logits, NUMBERS)
    for n, number in enumerate(NUMBERS):
        row = logits[n].copy()
        numerical = numerical_gradient(lambda r=row, k=number: brute_force_loss(r, k), row)
        assert relative_error(gradient[n], numerical) < 1e-6


def test_the_gradient_of_a_longer_batch_passes_the_gradient_check():
    rng = np.random.default_rng(2)
    numbers = [list(rng.integers(0, 10, size)) for size in (1, 3, 4, 6)]
    logits = rng.normal(size=(4, 12, 11))
    _, gradient = CTC()(logits, numbers)
    numerical = numerical_gradient(lambda: CTC()(logits, numbers)[0], logits)
    assert relative_error(gradient, numerical) < 1e-6


def test_a_long_line_does_not_underflow():
    """Products of hundreds of column probabilities are below the smallest float64; the sums
    are done in log space."""
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(1, 400, 11)) * 5
    loss, gradient = CTC()(logits, [list(rng.integers(0, 10, 30))])
    assert np.isfinite(loss) and loss > 745  # p below e^-745: zero as a float64 product
    assert np.all(np.isfinite(gradient)) and np.allclose(gradient.sum(axis=-1), 0, atol=1e-9)


def test_a_number_too_long_for_its_line_is_refused():
    assert columns_needed([1, 1, 2]) == 4  # a blank between the two 1s
    with pytest.raises(ValueError, match="3 digits need 4 columns; the line has 3"):
        CTC()(np.zeros((1, 3, 11)), [[1, 1, 2]])


def test_best_path_merges_repeats_drops_blanks_and_gives_each_digit_its_columns():
    b = 10
    path = [b, 4, 4, b, b, 2, b, 2, 2, 2, b, 7]
    logits = np.full((1, len(path), 11), -5.0)
    logits[0, np.arange(len(path)), path] = 5.0
    [(digits, spans)] = best_path(logits)
    assert digits == [4, 2, 2, 7]
    assert spans == [(1, 2), (5, 5), (7, 9), (11, 11)]


def test_a_line_network_of_our_layers_trains_on_ctc_and_passes_the_gradient_check():
    """Convolutions over a line image, one row per column position, a dense layer per column and
    CTC: every parameter's gradient, backpropagated through all of it, against calculus."""
    from mnist_nn.nn.convolution import Columns, Conv2D, MaxPool2D, Reshape
    from mnist_nn.nn.ctc import ColumnCTC
    from mnist_nn.nn.layers import Dense, Tanh
    from mnist_nn.nn.network import Network

    rng = np.random.default_rng(4)
    height, width = 6, 16  # lines 6 high, 16 wide: 8 columns after the pool
    layers = [Reshape(height, width), Conv2D(1, 3, 3, rng, padding=1, dtype="float64"), Tanh(),
              MaxPool2D(), Columns(), Dense.initialised(3 * 3, 11, rng, "float64")]  # fmt: skip
    network = Network(layers, ColumnCTC())
    lines = rng.random((3, height * width))
    targets = np.array([[4, 2, -1], [7, 7, 1], [0, -1, -1]])  # padded with −1

    def objective():
        return network.loss.objective(network.forward(lines, training=True), targets)

    loss, gradient = network.loss(network.forward(lines, training=True), targets)
    assert gradient.shape == (3 * 8, 11) and np.isfinite(loss)
    for layer in reversed(layers[1:]):
        gradient = layer.backward(gradient)
    for layer in (layers[1], layers[-1]):
        for parameter, analytic in layer.parameters():
            numerical = numerical_gradient(objective, parameter)
            assert relative_error(analytic, numerical) < 1e-6
