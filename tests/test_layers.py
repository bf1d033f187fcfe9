"""Each layer's backward pass against calculus, and its behaviour in training and evaluation."""

import numpy as np
import pytest

from mnist_nn.nn.gradcheck import check_combinations, numerical_gradient, relative_error
from mnist_nn.nn.layers import ACTIVATIONS, Dense, Dropout, he_normal
from mnist_nn.nn.losses import LOSSES


@pytest.mark.parametrize("layer_class", [*ACTIVATIONS.values()], ids=list(ACTIVATIONS))
def test_activation_backward_matches_central_differences(layer_class):
    rng = np.random.default_rng(0)
    layer = layer_class()
    z = rng.normal(size=(6, 5))
    dout = rng.normal(size=(6, 5))  # L = Σ dout·a, so dL/dz is what backward returns
    layer.forward(z, training=True)
    analytic = layer.backward(dout)
    numerical = numerical_gradient(lambda: float(np.sum(dout * layer_class().forward(z))), z)
    assert relative_error(analytic, numerical) < 1e-7


def test_dense_backward_matches_central_differences():
    rng = np.random.default_rng(0)
    layer = Dense.initialised(4, 3, rng, dtype="float64")
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer.forward(x)
    dx = layer.backward(dout)

    def objective():
        return float(np.sum(dout * layer.forward(x)))

    assert relative_error(layer.dweight, numerical_gradient(objective, layer.weight)) < 1e-7
    assert relative_error(layer.dbias, numerical_gradient(objective, layer.bias)) < 1e-7
    assert relative_error(dx, numerical_gradient(objective, x)) < 1e-7


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_every_activation_and_loss_combination_backpropagates_correctly(dropout):
    per_example = [name for name in LOSSES if name != "ctc"]  # CTC's check: test_ctc.py
    results = check_combinations(list(ACTIVATIONS), per_example, dropout)
    assert len(results) == len(ACTIVATIONS) * len(per_example)
    for combination, errors in results:
        for name, error in errors:
            assert error < 1e-6, f"{combination} {name}: relative error {error:.1e}"


def test_dropout_is_inverted_and_off_in_evaluation():
    dropout = Dropout(0.25, np.random.default_rng(0))
    x = np.ones((1000, 100), dtype=np.float32)
    assert dropout.forward(x, training=False) is x
    out = dropout.forward(x, training=True)
    kept = out != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / 0.75)  # scaled so the expectation stays 1
    assert out.mean() == pytest.approx(1.0, abs=0.01) and out.dtype == np.float32
    np.testing.assert_array_equal(dropout.backward(x) != 0, kept)  # same units dropped


def test_dropout_masks_follow_the_seed():
    a = Dropout(0.5, np.random.default_rng(3)).forward(np.ones((4, 8)), training=True)
    b = Dropout(0.5, np.random.default_rng(3)).forward(np.ones((4, 8)), training=True)
    np.testing.assert_array_equal(a, b)


def test_he_initialisation_has_variance_two_over_fan_in():
    layer = Dense.initialised(500, 400, np.random.default_rng(0), init=he_normal)
    assert layer.weight.std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert layer.weight.dtype == np.float32 and not layer.bias.any()


def test_relu_and_tanh_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(ACTIVATIONS["relu"]().forward(z), [[0, 0, 3]])
    np.testing.assert_allclose(ACTIVATIONS["tanh"]().forward(z), np.tanh(z))
    sigmoid = ACTIVATIONS["sigmoid"]().forward(np.array([[-1000.0, 0.0, 1000.0]]))
    np.testing.assert_array_equal(sigmoid, [[0, 0.5, 1]])  # no overflow warning, no NaN
