"""Convolution and pooling: shapes, padding, im2col and col2im against plain loops, pooling ties,
and every gradient against calculus."""

from types import SimpleNamespace

import numpy as np
import pytest

from mnist_nn.convolution import Conv2D, Flatten, MaxPool2D, Reshape
from mnist_nn.gradcheck import TOLERANCE, check_image_layers, check_layer


def slow_convolution(x, weight, bias, kernel, padding):
    """The definition, six loops deep: out[n, f, i, j] = Σ_c,a,b x[n, c, i+a, j+b]·w[f, c, a, b]."""
    n, c, h, w = x.shape
    filters = weight.reshape(c, kernel, kernel, -1)  # the layer's (C·k·k, F), unrolled
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1
    out = np.zeros((n, filters.shape[-1], ho, wo))
    for image in range(n):
        for f in range(filters.shape[-1]):
            for i in range(ho):
                for j in range(wo):
                    patch = padded[image, :, i : i + kernel, j : j + kernel]
                    out[image, f, i, j] = np.sum(patch * filters[..., f]) + bias[f]
    return out


def slow_col2im(dcols, shape, kernel, padding):
    """Each patch's gradient added back where the patch was, one position at a time."""
    n, c, h, w = shape
    dpadded = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    ho, wo = dcols.shape[1:3]
    for image in range(n):
        for i in range(ho):
            for j in range(wo):
                dpadded[image, :, i : i + kernel, j : j + kernel] += dcols[image, i, j]
    return dpadded[:, :, padding : padding + h, padding : padding + w]


@pytest.mark.parametrize("kernel, padding", [(3, 0), (3, 1), (5, 0), (5, 2), (1, 0)])
def test_forward_is_the_definition_and_the_shapes_follow_the_padding(kernel, padding):
    rng = np.random.default_rng(kernel + padding)
    conv = Conv2D(3, 4, kernel, rng, padding=padding, dtype="float64")
    conv.bias[:] = rng.standard_normal(4)
    x = rng.random((2, 3, 9, 7))
    out = conv.forward(x)
    assert out.shape == (2, 4, 9 + 2 * padding - kernel + 1, 7 + 2 * padding - kernel + 1)
    np.testing.assert_allclose(out, slow_convolution(x, conv.weight, conv.bias, kernel, padding))
    if padding == kernel // 2:
        assert out.shape[2:] == x.shape[2:]  # "same": the image keeps its size


@pytest.mark.parametrize("kernel, padding", [(3, 0), (3, 1), (5, 2)])
def test_col2im_sums_overlapping_patches_as_a_loop_does(kernel, padding):
    rng = np.random.default_rng(0)
    conv = Conv2D(2, 3, kernel, rng, padding=padding, dtype="float64")
    x = rng.random((2, 2, 8, 6))
    dout = rng.standard_normal(conv.forward(x).shape)
    dx = conv.backward(dout)
    n, f, ho, wo = dout.shape
    dcols = (dout.transpose(0, 2, 3, 1).reshape(-1, f) @ conv.weight.T).reshape(
        n, ho, wo, 2, kernel, kernel
    )
    np.testing.assert_allclose(dx, slow_col2im(dcols, x.shape, kernel, padding))


def test_max_pooling_halves_the_image_and_sends_the_gradient_to_one_of_equal_maxima():
    x = np.array([[[[1.0, 5.0, 2.0, 2.0, 9.0],
                    [3.0, 4.0, 2.0, 2.0, 9.0],
                    [0.0, 0.0, 7.0, 1.0, 9.0]]]])  # fmt: skip
    pool = MaxPool2D()
    np.testing.assert_array_equal(pool.forward(x), [[[[5.0, 2.0]]]])  # odd row, column dropped
    dx = pool.backward(np.array([[[[10.0, 20.0]]]]))
    expected = np.zeros_like(x)
    expected[0, 0, 0, 1] = 10.0  # the 5
    expected[0, 0, 0, 2] = 20.0  # the first of four equal 2s, only
    np.testing.assert_array_equal(dx, expected)
    assert dx.sum() == 30.0  # nothing lost, nothing doubled


def test_flatten_and_reshape_are_each_others_inverse():
    x = np.arange(2 * 784, dtype=np.float64).reshape(2, 784)
    images = Reshape((1, 28, 28)).forward(x)
    assert images.shape == (2, 1, 28, 28)
    flatten = Flatten()
    np.testing.assert_array_equal(flatten.forward(images), x)
    assert flatten.backward(x).shape == (2, 1, 28, 28)


def test_every_gradient_of_the_image_layers_agrees_with_calculus():
    results = check_image_layers()
    assert [name for (name, _), _ in results] == ["conv3x3", "conv3x3+p", "maxpool"]
    for (name, _), pairs in results:
        for parameter, error in pairs:
            assert error < TOLERANCE, f"{name} {parameter}: {error:.1e}"


def test_a_conv_pool_stack_backpropagates_through_every_layer():
    rng = np.random.default_rng(1)
    conv = Conv2D(1, 2, 3, rng, padding=1, dtype="float64")
    x = rng.random((2, 1, 6, 6))

    pool, flatten = MaxPool2D(), Flatten()
    stack = SimpleNamespace(  # conv → pool → flatten, checked as one layer
        forward=lambda x, training=False: flatten.forward(pool.forward(conv.forward(x))),
        backward=lambda d: conv.backward(pool.backward(flatten.backward(d))),
        parameters=conv.parameters,
    )
    for name, error in check_layer(stack, x, rng):
        assert error < TOLERANCE, f"{name}: {error:.1e}"
