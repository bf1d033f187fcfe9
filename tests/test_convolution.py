"""Convolution and pooling: shapes, padding, im2col and col2im against plain loops, pooling ties,
and every gradient against calculus."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from mnist_nn.nn.convolution import Columns, Conv2D, Flatten, MaxPool2D, Reshape
from mnist_nn.nn.gradcheck import TOLERANCE, check_image_layers, check_layer
from mnist_nn.nn.stack import parse_stack, plan_network, reads_lines


def slow_convolution(x, weight, bias, kernel, padding):
    """The definition, loops deep: out[f, i, j, n] = Σ_a,b,c x[c, i+a, j+b, n]·w[a, b, c, f] + b."""
    c, h, w, n = x.shape
    filters = weight.reshape(kernel, kernel, c, -1)  # the layer's (k·k·C, F), unrolled
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    ho, wo = h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1
    out = np.zeros((filters.shape[-1], ho, wo, n))
    for image in range(n):
        for f in range(filters.shape[-1]):
            for i in range(ho):
                for j in range(wo):
                    patch = padded[:, i : i + kernel, j : j + kernel, image]  # (C, k, k)
                    out[f, i, j, image] = np.sum(patch.transpose(1, 2, 0) * filters[..., f])
                    out[f, i, j, image] += bias[f]
    return out


def slow_col2im(dcols, shape, kernel, padding):
    """Each patch's gradient (k, k, C) added back where the patch was, one position at a time.
    `dcols` is (k, k, C, Ho, Wo, N)."""
    c, h, w, n = shape
    dpadded = np.zeros((c, h + 2 * padding, w + 2 * padding, n))
    ho, wo = dcols.shape[3:5]
    for image in range(n):
        for i in range(ho):
            for j in range(wo):
                patch = dcols[:, :, :, i, j, image].transpose(2, 0, 1)  # (C, k, k)
                dpadded[:, i : i + kernel, j : j + kernel, image] += patch
    return dpadded[:, padding : padding + h, padding : padding + w]


@pytest.mark.parametrize("kernel, padding", [(3, 0), (3, 1), (5, 0), (5, 2), (1, 0)])
def test_forward_is_the_definition_and_the_shapes_follow_the_padding(kernel, padding):
    rng = np.random.default_rng(kernel + padding)
    conv = Conv2D(3, 4, kernel, rng, padding=padding, dtype="float64")
    conv.bias[:] = rng.standard_normal(4)
    x = rng.random((3, 9, 7, 2))  # (C, H, W, N)
    out = conv.forward(x)
    assert out.shape == (4, 9 + 2 * padding - kernel + 1, 7 + 2 * padding - kernel + 1, 2)
    np.testing.assert_allclose(out, slow_convolution(x, conv.weight, conv.bias, kernel, padding))
    if padding == kernel // 2:
        assert out.shape[1:3] == x.shape[1:3]  # "same": the image keeps its size


@pytest.mark.parametrize("kernel, padding", [(3, 0), (3, 1), (5, 2)])
def test_col2im_sums_overlapping_patches_as_a_loop_does(kernel, padding):
    rng = np.random.default_rng(0)
    conv = Conv2D(2, 3, kernel, rng, padding=padding, dtype="float64")
    x = rng.random((2, 8, 6, 2))
    dout = rng.standard_normal(conv.forward(x).shape)
    dx = conv.backward(dout)
    f, ho, wo, n = dout.shape
    dcols = (conv.weight @ dout.reshape(f, -1)).reshape(kernel, kernel, 2, ho, wo, n)
    np.testing.assert_allclose(dx, slow_col2im(dcols, x.shape, kernel, padding))


def test_max_pooling_halves_the_image_and_sends_the_gradient_to_one_of_equal_maxima():
    image = np.array([[1.0, 5.0, 2.0, 2.0, 9.0],
                      [3.0, 4.0, 2.0, 2.0, 9.0],
                      [0.0, 0.0, 7.0, 1.0, 9.0]])  # fmt: skip
    x = image[None, :, :, None]  # (C, H, W, N) = (1, 3, 5, 1)
    pool = MaxPool2D()
    np.testing.assert_array_equal(pool.forward(x)[0, :, :, 0], [[5.0, 2.0]])  # odd edge dropped
    dx = pool.backward(np.array([10.0, 20.0]).reshape(1, 1, 2, 1))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 0] = 10.0  # the 5
    expected[0, 0, 2, 0] = 20.0  # the first of four equal 2s, only
    np.testing.assert_array_equal(dx, expected)
    assert dx.sum() == 30.0  # nothing lost, nothing doubled


def test_flatten_and_reshape_are_each_others_inverse():
    x = np.arange(2 * 784, dtype=np.float64).reshape(2, 784)
    images = Reshape(28).forward(x)
    assert images.shape == (1, 28, 28, 2)  # one channel of two images, the batch last
    np.testing.assert_array_equal(images[0, :, :, 1], x[1].reshape(28, 28))
    flatten = Flatten()
    np.testing.assert_array_equal(flatten.forward(images), x)
    assert flatten.backward(x).shape == (1, 28, 28, 2)


def test_a_line_becomes_one_row_per_column_and_its_gradient_goes_back_in_place():
    """A line reader's maps (C, H, W, N) -> a row for each column of each line: row n·W + w holds
    column w of line n, its channels and heights; backward is the transpose of forward."""
    rng = np.random.default_rng(0)
    lines = Reshape(4, 6).forward(rng.normal(size=(3, 4 * 6)))  # 3 lines, 4 high, 6 wide
    maps = np.concatenate([lines, 2 * lines])  # two channels
    columns = Columns()
    rows = columns.forward(maps)
    assert rows.shape == (3 * 6, 2 * 4)
    np.testing.assert_array_equal(rows[2 * 6 + 5], maps[:, :, 5, 2].ravel())
    gradient = rng.normal(size=rows.shape)
    assert np.isclose(np.vdot(rows, gradient), np.vdot(maps, columns.backward(gradient)))


def test_columns_with_context_give_each_column_its_neighbours_and_zeros_past_the_ends():
    """columns3: row w holds columns w − 1, w and w + 1 of its line, side by side; the first and
    last rows see zeros past the line's ends; backward is the transpose of forward."""
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(2, 4, 6, 3))  # 2 channels, 4 high, 6 wide, 3 lines
    plain, rows = Columns().forward(maps), Columns(3).forward(maps)
    assert rows.shape == (3 * 6, 3 * 2 * 4)
    features = 2 * 4
    line, column = 1, 2
    row = rows[line * 6 + column]
    np.testing.assert_array_equal(row[:features], plain[line * 6 + column - 1])
    np.testing.assert_array_equal(row[features : 2 * features], plain[line * 6 + column])
    np.testing.assert_array_equal(row[2 * features :], plain[line * 6 + column + 1])
    assert not rows[0, :features].any() and not rows[5, 2 * features :].any()
    gradient = rng.normal(size=rows.shape)
    columns = Columns(3)
    columns.forward(maps)
    assert np.isclose(np.vdot(rows, gradient), np.vdot(maps, columns.backward(gradient)))


def test_a_columns_context_is_odd_and_widens_only_the_features():
    plan = plan_network(28 * 128, 11, layers="conv8x5 pool conv8x5 pool columns5")
    assert plan[-2].kind == "columns" and plan[-2].output_shape == (5 * 8 * 4,)
    assert reads_lines("conv8x5 pool columns5") and not reads_lines("conv8x5 pool dense5")
    for word in ("columns4", "columns0", "columns11"):
        with pytest.raises(ValueError, match="odd K"):
            parse_stack(f"conv8x5 pool {word}")


def test_every_gradient_of_the_image_layers_agrees_with_calculus():
    results = check_image_layers()
    names = ["conv3x3", "conv3x3+p", "maxpool", "bn (conv)", "bn (dense)", "columns3"]
    assert [name for (name, _), _ in results] == names
    for (name, _), pairs in results:
        for parameter, error in pairs:
            assert error < TOLERANCE, f"{name} {parameter}: {error:.1e}"


def test_a_conv_pool_stack_backpropagates_through_every_layer():
    rng = np.random.default_rng(1)
    conv = Conv2D(1, 2, 3, rng, padding=1, dtype="float64")
    x = rng.random((1, 6, 6, 2))

    pool, flatten = MaxPool2D(), Flatten()
    stack = SimpleNamespace(  # conv → pool → flatten, checked as one layer
        forward=lambda x, training=False: flatten.forward(pool.forward(conv.forward(x))),
        backward=lambda d: conv.backward(pool.backward(flatten.backward(d))),
        parameters=conv.parameters,
    )
    for name, error in check_layer(stack, x, rng):
        assert error < TOLERANCE, f"{name}: {error:.1e}"


def test_a_stack_of_words_builds_trains_saves_and_loads(tmp_path, offline):
    """`layers` through the one training loop, on the offline digits (8x8 images): the model
    file keeps the stack, and the loaded network reads exactly as the trained one."""
    from mnist_nn.config import TrainConfig
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.saving.model_files import load_model, save_model
    from mnist_nn.train.loop import train

    dataset = load_dataset("digits", val_size=200)
    config = TrainConfig(
        layers="conv8x3 pool dense32",
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.003,
        epochs=8,
        batch_size=32,
    )
    result = train(config.validated(), dataset)
    assert result.test_accuracy > 0.85  # chance is 0.1
    assert [type(layer).__name__ for layer in result.network.layers][:4] == [
        "Reshape",
        "Conv2D",
        "MaxPool2D",  # before the ReLU: see the next test
        "ReLU",
    ]
    save_model(tmp_path / "cnn.npz", result.network, {"dataset": "digits"})
    loaded, metadata = load_model(tmp_path / "cnn.npz")
    assert metadata["architecture"]["layers"] == "conv8x3 pool dense32"
    np.testing.assert_array_equal(
        loaded.scores(dataset.test.images), result.network.scores(dataset.test.images)
    )


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_pooling_before_the_activation_gives_the_same_numbers_and_gradients(activation):
    """`build_stack` puts a pool that follows a convolution before its activation (a quarter of
    the activation's work): for an activation that never decreases, max(σ(a), σ(b)) = σ(max(a, b)),
    so the outputs and every gradient are those of the order the words give."""
    from mnist_nn.nn.layers import ACTIVATIONS

    rng = np.random.default_rng(3)
    conv = Conv2D(1, 3, 3, rng, dtype="float64")
    x = rng.standard_normal((1, 8, 8, 4))
    x[:, :4, :4] = 0.0  # flat patches: equal maxima, the ties a blank background makes
    dout = rng.standard_normal((3, 3, 3, 4))

    def run(order):
        layers = {"conv": conv, "pool": MaxPool2D(), "act": ACTIVATIONS[activation]()}
        out = x
        for name in ["conv", *order]:
            out = layers[name].forward(out)
        gradient = dout
        for name in reversed(order):
            gradient = layers[name].backward(gradient)
        dx = conv.backward(gradient)
        return out, dx, conv.dweight.copy(), conv.dbias.copy()

    written, swapped = run(["act", "pool"]), run(["pool", "act"])
    for a, b in zip(written, swapped, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("conv8x4", "odd size"),
        ("dense64 conv8x3", "image layers come first"),
        ("pool pool pool pool pool", "too small to halve"),
        ("conv999x3", "1 to 256 filters"),
        ("linear12", "is not convFxK, pool, bn, columns[K] or denseN"),
    ],
)
def test_a_stack_that_cannot_be_built_is_refused_in_one_line(spec, message):
    from mnist_nn.config import TrainConfig
    from mnist_nn.errors import UserError

    with pytest.raises(UserError, match=re.escape(message)):
        TrainConfig(layers=spec).validated()


def test_image_layers_need_square_images():
    from mnist_nn.config import TrainConfig
    from mnist_nn.errors import UserError
    from mnist_nn.train.loop import Trainer

    with pytest.raises(UserError, match="30 values per example are not a square image"):
        Trainer(TrainConfig(layers="conv4x3"), inputs=30)


@pytest.mark.parametrize("preset, parameters", [("seed", 101_770), ("cnn", 37_610)])
def test_the_parameters_counted_before_building_are_the_networks_own(preset, parameters):
    """The README's comparison: the cnn preset has about a third of the seed's parameters."""
    from mnist_nn.nn.stack import count_weights
    from mnist_nn.presets import PRESETS
    from mnist_nn.train.loop import Trainer

    config = PRESETS[preset]
    network = Trainer(config).network
    assert sum(parameter.size for parameter, _ in network.parameters()) == parameters
    assert count_weights(784, 10, config.hidden_sizes, config.layers) == parameters
