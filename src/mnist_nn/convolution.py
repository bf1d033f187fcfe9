"""Convolution and pooling: the layers of an image network, forward and backward side by side.

Shape key: N batch size, C channels in, F filters (channels out), H×W an image, k×k a kernel,
Ho×Wo the output. Images are (N, C, H, W), as in every framework; a Flatten layer turns the last
feature maps into the (N, C·H·W) rows a Dense layer takes.

A convolution slides each of F small k×k×C filters over the image and takes, at every position,
the dot product of the filter with the patch under it (the cross-correlation every library calls
convolution). Written out position by position that is six nested loops; written as **im2col** it
is one matrix product: copy every k×k×C patch into a row of a matrix `cols` (N·Ho·Wo, C·k·k),
keep the filters as the columns of W (C·k·k, F), and
    forward    z = cols·W + b                          (N·Ho·Wo, F), then back to (N, F, Ho, Wo)
    backward   dW = colsᵀ·dz,  db = Σ dz,  dcols = dz·Wᵀ, and dx = col2im(dcols)
which is exactly a Dense layer's math applied to every patch at once: the same W at every
position (weights shared across the image) is what makes it a convolution. col2im adds each
patch's gradient back where the patch came from; patches overlap, so it sums (k·k slice additions,
one per kernel offset, rather than np.add.at's slow scatter).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mnist_nn.layers import Buffers, he_normal


class Conv2D:
    """F filters of k×k over C channels, stride 1, `padding` zeros around the image (k // 2
    keeps its size: "same"). He-initialised, as the ReLU after it needs."""

    def __init__(self, channels: int, filters: int, kernel: int, rng, padding=0, dtype="float32"):
        fan_in = channels * kernel * kernel
        # Each column is one filter, unrolled in the order of a patch row of `cols`: (C, k, k).
        self.weight = he_normal(fan_in, filters, rng).astype(dtype)  # (C·k·k, F)
        self.bias = np.zeros(filters, dtype=dtype)  # (F,)
        self.dweight = np.zeros_like(self.weight)
        self.dbias = np.zeros_like(self.bias)
        self.channels, self.filters, self.kernel, self.padding = channels, filters, kernel, padding
        self.buffers = Buffers()

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        k, p = self.kernel, self.padding
        return height + 2 * p - k + 1, width + 2 * p - k + 1

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n, c, h, w = x.shape  # (N, C, H, W)
        k, p = self.kernel, self.padding
        ho, wo = self.output_shape(h, w)
        self.input_shape = x.shape
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        # Every k×k patch, as a view: (N, C, Ho, Wo, k, k); then copied into rows (im2col).
        windows = sliding_window_view(padded, (k, k), axis=(2, 3))
        cols = self.buffers.get("cols", n * ho * wo, c * k * k, x.dtype)
        np.copyto(cols.reshape(n, ho, wo, c, k, k), windows.transpose(0, 2, 3, 1, 4, 5))
        self.cols = cols  # (N·Ho·Wo, C·k·k), kept: dW = colsᵀ·dz
        z = self.buffers.get("z", n * ho * wo, self.filters, x.dtype)
        np.matmul(cols, self.weight, out=z)  # z = cols·W  (N·Ho·Wo, F)
        z += self.bias  # + b, the same for every position
        return z.reshape(n, ho, wo, self.filters).transpose(0, 3, 1, 2)  # (N, F, Ho, Wo)

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        n, c, h, w = self.input_shape
        k, p = self.kernel, self.padding
        _, f, ho, wo = dout.shape  # (N, F, Ho, Wo)
        dz = dout.transpose(0, 2, 3, 1).reshape(n * ho * wo, f)  # one row per position
        np.matmul(self.cols.T, dz, out=self.dweight)  # dW = colsᵀ·dz  (C·k·k, F)
        np.sum(dz, axis=0, out=self.dbias)  # db = Σ dz over batch and positions  (F,)
        if not input_gradient:
            return None  # the first layer: nothing below it learns
        dcols = (dz @ self.weight.T).reshape(n, ho, wo, c, k, k)  # dcols = dz·Wᵀ
        # col2im: each patch's gradient goes back where the patch was, overlaps summed; one
        # slice addition per kernel offset (i, j) covers every position at once.
        dpadded = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=dout.dtype)
        for i in range(k):
            for j in range(k):
                dpadded[:, :, i : i + ho, j : j + wo] += dcols[:, :, :, :, i, j].transpose(
                    0, 3, 1, 2
                )
        return dpadded[:, :, p : p + h, p : p + w] if p else dpadded  # (N, C, H, W)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.weight, self.dweight), (self.bias, self.dbias)]

    def __repr__(self) -> str:
        return f"Conv2D({self.channels} -> {self.filters}, {self.kernel}x{self.kernel})"


class MaxPool2D:
    """The largest value of each 2×2 block: half the height and width, a little shift-tolerance.
    The gradient goes to the one input that was the largest (the first of equals, as a
    max's subgradient must pick one); an odd last row or column is dropped."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n, c, h, w = x.shape
        self.input_shape = x.shape
        blocks = x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
        blocks = blocks.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
        self.chosen = blocks.argmax(axis=-1)[..., None]  # which of the 4: (N, C, H/2, W/2, 1)
        return np.take_along_axis(blocks, self.chosen, axis=-1)[..., 0]  # (N, C, H/2, W/2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        n, c, h, w = self.input_shape
        dblocks = np.zeros((*dout.shape, 4), dtype=dout.dtype)
        np.put_along_axis(dblocks, self.chosen, dout[..., None], axis=-1)  # to the max only
        dblocks = dblocks.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
        dx = np.zeros(self.input_shape, dtype=dout.dtype)
        dx[:, :, : h // 2 * 2, : w // 2 * 2] = dblocks.reshape(n, c, h // 2 * 2, w // 2 * 2)
        return dx

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "MaxPool2D(2x2)"


class Flatten:
    """(N, C, H, W) feature maps -> (N, C·H·W) rows for a Dense layer; and back, for the
    gradient. (The first layer of an image network does the opposite: see `Reshape`.)"""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.input_shape)

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "Flatten()"


class Reshape:
    """(N, 784) rows, as the data comes, -> (N, 1, 28, 28) images for the first convolution."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        return x.reshape(len(x), *self.shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.input_shape)

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"Reshape({self.shape})"
