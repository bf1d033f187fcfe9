"""Batch normalization: against a direct transcription of its equations, in networks from
`--layers`, and its running averages kept to the last bit through save, load and resume."""

import numpy as np
import pytest

from mnist_nn.cli.parser import main
from mnist_nn.config import TrainConfig
from mnist_nn.errors import UserError
from mnist_nn.nn.batch_norm import BatchNorm
from mnist_nn.nn.stack import count_weights

from helpers import tiny_dataset


def transcribed(x, gamma, beta, dy, epsilon=1e-5):
    """Ioffe & Szegedy's equations, one feature and one value at a time (x, dy: (F, M))."""
    features, count = x.shape
    y, dx = np.zeros_like(x), np.zeros_like(x)
    dgamma, dbeta = np.zeros(features), np.zeros(features)
    for f in range(features):
        mean = sum(x[f]) / count
        var = sum((value - mean) ** 2 for value in x[f]) / count
        xhat = [(value - mean) / np.sqrt(var + epsilon) for value in x[f]]
        for m in range(count):
            y[f, m] = gamma[f] * xhat[m] + beta[f]
        dbeta[f] = sum(dy[f])
        dgamma[f] = sum(dy[f, m] * xhat[m] for m in range(count))
        dxhat = [dy[f, m] * gamma[f] for m in range(count)]
        dvar = sum(
            dxhat[m] * (x[f, m] - mean) * -0.5 * (var + epsilon) ** -1.5 for m in range(count)
        )
        dmean = (
            sum(-dxhat[m] / np.sqrt(var + epsilon) for m in range(count))
            + dvar * sum(-2 * (x[f, m] - mean) for m in range(count)) / count
        )
        for m in range(count):
            dx[f, m] = (
                dxhat[m] / np.sqrt(var + epsilon)
                + dvar * 2 * (x[f, m] - mean) / count
                + dmean / count
            )
    return y, dx, dgamma, dbeta


@pytest.mark.parametrize("shape", [(6, 3), (3, 4, 5, 2)], ids=["dense (N, F)", "conv (F, H, W, N)"])
def test_forward_and_backward_are_the_equations_written_out(shape):
    rng = np.random.default_rng(0)
    x, dy = rng.normal(2, 3, shape), rng.normal(0, 1, shape)
    layer = BatchNorm(shape[1] if len(shape) == 2 else shape[0], "float64")
    layer.weight[:], layer.bias[:] = rng.normal(1, 0.5, len(layer.weight)), rng.normal(0, 1)
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    expected = transcribed(
        BatchNorm.by_feature(x), layer.weight, layer.bias, BatchNorm.by_feature(dy)
    )
    assert np.allclose(BatchNorm.by_feature(y), expected[0])
    assert np.allclose(BatchNorm.by_feature(dx), expected[1])
    assert np.allclose(layer.dweight, expected[2]) and np.allclose(layer.dbias, expected[3])


def test_reading_uses_the_running_averages_not_the_batch():
    rng = np.random.default_rng(1)
    layer = BatchNorm(4, "float64")
    for _ in range(200):
        layer.forward(rng.normal(3, 2, (64, 4)), training=True)
    assert np.allclose(layer.running_mean, 3, atol=0.2) and np.allclose(
        layer.running_var, 4, rtol=0.15
    )
    one = np.full((1, 4), 3.0)  # one example: a batch's statistics would say nothing
    assert np.allclose(layer.forward(one), 0, atol=0.2)


@pytest.mark.parametrize(
    "spec, message",
    [("bn conv8x3", "bn follows a conv or dense layer"), ("conv8x3 pool bn", "bn follows"),
     ("conv8x3 bn bn", "bn follows")],
)  # fmt: skip
def test_bn_where_it_normalises_nothing_is_refused(spec, message):
    with pytest.raises(UserError, match=message):
        TrainConfig(layers=spec).validated()


def test_a_stack_with_bn_counts_its_parameters_and_builds_them():
    from mnist_nn.train.loop import Trainer

    config = TrainConfig(layers="conv8x3 bn pool dense32 bn", activation="relu")
    network = Trainer(config).network
    built = sum(parameter.size for parameter, _ in network.parameters())
    assert built == count_weights(784, 10, layers=config.layers)
    assert built - count_weights(784, 10, layers="conv8x3 pool dense32") == 2 * (8 + 32)
    assert "Conv2D(1 -> 8, 3x3) → BatchNorm(8) → MaxPool2D(2x2) → ReLU()" in repr(network)


def test_pooling_before_the_activation_after_bn_changes_no_number():
    """bn → pool → ReLU is built for bn → ReLU → pool (ReLU on a quarter of the values): the
    same outputs and the same gradients, as max and a rising activation commute."""
    import copy

    from mnist_nn.nn.convolution import MaxPool2D
    from mnist_nn.train.loop import Trainer

    config = TrainConfig(layers="conv8x3 bn pool dense32 bn", activation="relu", dtype="float64")
    built = Trainer(config).network.layers
    pool = next(i for i, layer in enumerate(built) if isinstance(layer, MaxPool2D))
    written = copy.deepcopy(built)
    written[pool], written[pool + 1] = written[pool + 1], written[pool]  # bn → ReLU → pool
    rng = np.random.default_rng(0)
    x, dout = rng.random((16, 784)), rng.normal(size=(16, 10))
    outputs, gradients = [], []
    for layers in (built, written):
        out = x
        for layer in layers:
            out = layer.forward(out, training=True)
        outputs.append(out.copy())
        gradient = dout
        for layer in reversed(layers[1:]):  # down to the first convolution (Reshape: nothing)
            gradient = layer.backward(gradient)
        gradients.append([g.copy() for layer in layers for _, g in layer.parameters()])
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12)
    for ours, theirs in zip(*gradients, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_running_averages_survive_save_load_and_resume_to_the_last_bit(tmp_path, offline):
    from mnist_nn.saving.model_files import load_model
    from mnist_nn.train.checkpoints import Checkpoints
    from mnist_nn.train.loop import Trainer

    config = TrainConfig(epochs=2, layers="conv4x3 bn pool dense16 bn", activation="relu",
                         loss="cross_entropy", learning_rate=0.005)  # fmt: skip
    data = tiny_dataset()
    straight = Trainer(config, data.train.images.shape[1], data.classes)
    straight.fit(data)
    first = Trainer(config, data.train.images.shape[1], data.classes,
                    [Checkpoints(tmp_path / "run")])  # fmt: skip
    first.fit(data, epochs=1)
    resumed = Trainer(config, data.train.images.shape[1], data.classes,
                      [Checkpoints(tmp_path / "run", resume=True)])  # fmt: skip
    resumed.fit(data)
    norms = [layer for layer in resumed.network.layers if isinstance(layer, BatchNorm)]
    theirs = [layer for layer in straight.network.layers if isinstance(layer, BatchNorm)]
    assert len(norms) == 2
    for mine, other in zip(norms, theirs, strict=True):
        assert np.array_equal(mine.running_mean, other.running_mean)
        assert np.array_equal(mine.running_var, other.running_var)
        assert np.array_equal(mine.weight, other.weight)
    from mnist_nn.saving.model_files import save_model

    save_model(tmp_path / "model.npz", resumed.network, {"dataset": "tiny"})
    loaded, _ = load_model(tmp_path / "model.npz")
    kept = [layer for layer in loaded.layers if isinstance(layer, BatchNorm)]
    for mine, saved in zip(norms, kept, strict=True):
        assert np.array_equal(mine.running_mean, saved.running_mean)
        assert np.array_equal(mine.running_var, saved.running_var)
    x = data.test.images[:7]
    assert np.array_equal(loaded.scores(x), resumed.network.scores(x))


def test_bn_trains_from_the_command_line_and_the_estimator(tmp_path, offline, capsys):
    from mnist_nn import MLPClassifier
    from mnist_nn.data.dataset import load_dataset

    argv = ["train", "--dataset", "digits", "--layers", "conv8x3 bn pool dense32 bn", "--epochs",
            "3", "--activation", "relu", "--loss", "cross_entropy", "--lr", "0.01"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path)]) == 0
    accuracy = float(capsys.readouterr().out.split("test accuracy: ")[1].split("%")[0])
    assert accuracy > 80
    digits = load_dataset("digits")
    model = MLPClassifier(layers="conv4x3 bn pool", activation="relu", loss="cross_entropy",
                          epochs=2, learning_rate=0.001)  # fmt: skip
    model.fit(digits.train.images, digits.train.labels)
    assert model.score(digits.test.images, digits.test.labels) > 0.5
