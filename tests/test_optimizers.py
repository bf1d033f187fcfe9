"""Optimizers against their update rules written out, schedules, weight decay and max-norm."""

import numpy as np
import pytest

from mnist_nn.config import SETTINGS, TrainConfig
from mnist_nn.nn.optimizers import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    Momentum,
    limit_column_norms,
    make_optimizer,
)

GRADIENTS = [np.array([1.0, -2.0]), np.array([0.5, 0.5]), np.array([-1.0, 3.0])]


def run(optimizer, start=(1.0, 1.0)):
    parameter = np.array(start)
    for gradient in GRADIENTS:
        optimizer.step([(parameter, gradient)])
    return parameter


def test_sgd():
    np.testing.assert_allclose(run(SGD(0.1)), [1.0, 1.0] - 0.1 * sum(GRADIENTS))


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum(nesterov):
    theta, velocity = np.array([1.0, 1.0]), np.zeros(2)
    for g in GRADIENTS:
        velocity = 0.9 * velocity - 0.1 * g
        theta = theta + (0.9 * velocity - 0.1 * g if nesterov else velocity)
    np.testing.assert_allclose(run(Momentum(0.1, 0.9, nesterov=nesterov)), theta)


def test_adam():
    theta, m, v = np.array([1.0, 1.0]), np.zeros(2), np.zeros(2)
    for t, g in enumerate(GRADIENTS, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        theta = theta - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(run(Adam(0.01)), theta)


def test_adam_first_step_moves_each_weight_by_about_the_learning_rate():
    parameter = np.zeros(3)
    Adam(0.001).step([(parameter, np.array([1e-6, 1.0, -1e6]))])
    np.testing.assert_allclose(parameter, [-0.001, -0.001, 0.001], rtol=0.02)


def test_weight_decay_pulls_weight_matrices_only():
    weight, bias = np.ones((2, 2)), np.ones(2)
    SGD(0.1, weight_decay=0.5).step([(weight, np.zeros((2, 2))), (bias, np.zeros(2))])
    np.testing.assert_allclose(weight, 0.95)  # W −= lr·λ·W
    np.testing.assert_allclose(bias, 1.0)


def test_max_norm_caps_each_units_incoming_weights():
    weight = np.array([[3.0, 0.3], [4.0, 0.4]])  # column norms 5 and 0.5
    limit_column_norms(weight, 2.0)
    np.testing.assert_allclose(np.linalg.norm(weight, axis=0), [2.0, 0.5])
    np.testing.assert_allclose(weight[:, 0], [1.2, 1.6])  # direction kept


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_minimises_a_quadratic(name):
    optimizer = make_optimizer(name, 0.05 if name != "adam" else 0.1)
    theta = np.array([[3.0, -2.0]])
    for _ in range(300):
        optimizer.step([(theta, 2 * theta)])  # gradient of ‖θ‖²
    assert np.abs(theta).max() < 1e-2


def test_schedules():
    assert SCHEDULES["constant"](0.7) == 1.0
    assert [SCHEDULES["step"](p) for p in (0.0, 0.49, 0.5, 0.8)] == pytest.approx([1, 1, 0.1, 0.01])
    assert SCHEDULES["cosine"](0.0) == 1.0 and SCHEDULES["cosine"](0.5) == pytest.approx(0.5)
    assert SCHEDULES["cosine"](1.0) == pytest.approx(0.0)
    one_cycle = [SCHEDULES["onecycle"](p) for p in np.linspace(0, 1, 101)]
    assert one_cycle[0] == pytest.approx(1 / 25) and one_cycle[30] == pytest.approx(1.0)
    assert one_cycle[-1] == pytest.approx(0.0) and max(one_cycle) == pytest.approx(1.0)
    assert np.all(np.diff(one_cycle[:31]) > 0) and np.all(np.diff(one_cycle[30:]) < 0)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_reads_declared_settings_and_only_those(name):
    assert set(OPTIMIZERS[name].reads) <= set(SETTINGS)
    config = TrainConfig(optimizer=name, momentum=0.5, weight_decay=0.01)
    optimizer = make_optimizer(name, **config.to_dict())  # the rest of the settings are left
    for setting in OPTIMIZERS[name].reads:
        assert getattr(optimizer, setting) == getattr(config, setting)
