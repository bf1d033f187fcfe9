"""Convolution and pooling: the layers of an image network, forward and backward side by side.

Shape key: N batch size, H×W an image, C channels in, F filters (channels out), k×k a kernel,
Ho×Wo the output. Images between these layers are (C, H, W, N): channels first, the batch last.
With the batch last, every step below copies or sums runs of Wo·N contiguous numbers at a time
(one image row of the whole batch) rather than runs of Wo: about 3x faster here than (C, N, H, W)
and 10x faster than (N, H, W, C). `Reshape` makes (1, 28, 28, N) of the (N, 784) rows the data
comes in, and `Flatten` makes the (N, C·H·W) rows a Dense layer takes of the last feature maps.

A convolution slides each of F small k×k×C filters over the image and takes, at every position,
the dot product of the filter with the patch under it (the cross-correlation every library calls
convolution). Written out position by position that is six nested loops; written as **im2col** it
is one matrix product: gather every k×k×C patch into a column of a matrix `cols`
(k·k·C, Ho·Wo·N), keep the filters as the columns of W (k·k·C, F), and
    forward    z = Wᵀ·cols + b                   (F, Ho·Wo·N), which is (F, Ho, Wo, N)
    backward   dW = cols·dzᵀ,  db = Σ dz,  dcols = W·dz,  dx = col2im(dcols)
which is exactly a Dense layer's math applied to every patch at once: the same W at every
position (weights shared across the image) is what makes it a convolution. im2col is one copy of
`sliding_window_view`'s windows (a view: no copy until then); row (i, j, c) of `cols` is channel
c of the image shifted by (i, j). col2im adds each offset's block of dcols back where it came
from (patches overlap, so it sums): k·k slice additions rather than np.add.at's slow scatter.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mnist_nn.nn.layers import Buffers, he_normal


class Conv2D:
    """F filters of k×k over C channels, stride 1, `padding` zeros around the image (k // 2
    keeps its size: "same"). Initialised as the activation after it asks (He for ReLU)."""

    def __init__(self, channels, filters, kernel, rng, padding=0, dtype="float32", init=he_normal):
        fan_in = kernel * kernel * channels
        # Each column is one filter, unrolled in the order of a column of `cols`: (k, k, C).
        self.weight = init(fan_in, filters, rng).astype(dtype)  # (k·k·C, F)
        self.bias = np.zeros(filters, dtype=dtype)  # (F,)
        self.dweight = np.zeros_like(self.weight)
        self.dbias = np.zeros_like(self.bias)
        self.channels, self.filters, self.kernel, self.padding = channels, filters, kernel, padding
        self.buffers = Buffers()

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        k, p = self.kernel, self.padding
        return height + 2 * p - k + 1, width + 2 * p - k + 1

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        c, h, w, n = x.shape  # (C, H, W, N)
        k, p = self.kernel, self.padding
        ho, wo = self.output_shape(h, w)
        self.input_shape = x.shape
        padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))) if p else x
        # im2col: every k×k window, as a view (C, Ho, Wo, N, k, k), copied once into `cols`
        # in the order (k, k, C, Ho, Wo, N): the offsets first, as W's rows are.
        windows = sliding_window_view(padded, (k, k), axis=(1, 2))
        cols = self.buffers.get("cols", k * k * c, ho * wo * n, x.dtype)
        np.copyto(cols.reshape(k, k, c, ho, wo, n), windows.transpose(4, 5, 0, 1, 2, 3))
        self.cols = cols  # (k·k·C, Ho·Wo·N), kept: dW = cols·dzᵀ
        z = self.buffers.get("z", self.filters, ho * wo * n, x.dtype)
        np.matmul(self.weight.T, cols, out=z)  # z = Wᵀ·cols  (F, Ho·Wo·N)
        z += self.bias[:, None]  # + b, the same at every position
        return z.reshape(self.filters, ho, wo, n)  # (F, Ho, Wo, N)

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        c, h, w, n = self.input_shape
        k, p = self.kernel, self.padding
        f, ho, wo, _ = dout.shape  # (F, Ho, Wo, N)
        dz = np.ascontiguousarray(dout).reshape(f, ho * wo * n)
        np.matmul(self.cols, dz.T, out=self.dweight)  # dW = cols·dzᵀ  (k·k·C, F)
        np.sum(dz, axis=1, out=self.dbias)  # db = Σ dz over batch and positions  (F,)
        if not input_gradient:
            return None  # the first layer: nothing below it learns
        dcols = self.buffers.get("dcols", k * k * c, ho * wo * n, dout.dtype)
        np.matmul(self.weight, dz, out=dcols)  # dcols = W·dz  (k·k·C, Ho·Wo·N)
        blocks = dcols.reshape(k, k, c, ho, wo, n)
        # col2im: each offset's block goes back where im2col took it from, overlaps summed.
        # (A kept buffer, zeroed: a new multi-megabyte array every batch costs page faults.)
        dpadded = self.buffers.get("dpadded", c, h + 2 * p, w + 2 * p, n, dout.dtype)
        dpadded.fill(0)
        for i in range(k):
            for j in range(k):
                dpadded[:, i : i + ho, j : j + wo] += blocks[i, j]
        return dpadded[:, p : p + h, p : p + w] if p else dpadded  # (C, H, W, N)

    def filters_as_images(self) -> np.ndarray:
        """(F, C, k, k): each filter as k×k images, one per input channel (for pictures)."""
        k, c = self.kernel, self.channels
        return self.weight.T.reshape(self.filters, k, k, c).transpose(0, 3, 1, 2)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.weight, self.dweight), (self.bias, self.dbias)]

    def __repr__(self) -> str:
        return f"Conv2D({self.channels} -> {self.filters}, {self.kernel}x{self.kernel})"


class MaxPool2D:
    """The largest value of each 2×2 block: half the height and width, a little tolerance of
    shifts. The gradient goes to the one input that was the largest (the first of equals, in
    reading order: a max's subgradient must pick one); an odd last row or column is dropped."""

    OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))  # the corners of a block, in reading order

    def __init__(self):
        self.buffers = Buffers()

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape  # (C, H, W, N)
        c, h, w, n = x.shape
        h2, w2 = h // 2 * 2, w // 2 * 2
        # The four corners of every block, as strided views: (C, H/2, W/2, N) each.
        self.corners = [x[:, i:h2:2, j:w2:2] for i, j in self.OFFSETS]
        out = self.buffers.get("out", c, h // 2, w // 2, n, x.dtype)
        np.maximum(self.corners[0], self.corners[1], out=out)
        np.maximum(out, self.corners[2], out=out)
        np.maximum(out, self.corners[3], out=out)
        self.out = out
        return out  # (C, H/2, W/2, N)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        h, w = self.input_shape[1:3]
        h2, w2 = h // 2 * 2, w // 2 * 2
        # Every input of a 2x2 block is written below (its share of the gradient, or 0); only
        # an odd last row or column, which no block covers, is zeroed here.
        dx = self.buffers.get("dx", *self.input_shape, dout.dtype)
        dx[:, h2:], dx[:, :, w2:] = 0, 0
        # Each block's gradient goes to the first corner (in reading order) equal to its max,
        # written straight into that corner's place in dx (dout times 1, or times 0).
        won = self.buffers.get("won", *dout.shape, bool)
        taken = self.buffers.get("taken", *dout.shape, bool)  # an earlier corner won
        taken.fill(False)
        for (i, j), corner in zip(self.OFFSETS, self.corners, strict=True):
            np.equal(corner, self.out, out=won)  # this corner is (one of) its block's max
            np.greater(won, taken, out=won)  # ... and no earlier corner was: won and not taken
            np.multiply(dout, won, out=dx[:, i:h2:2, j:w2:2])
            taken |= won
        return dx

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "MaxPool2D(2x2)"


class Flatten:
    """(C, H, W, N) feature maps -> (N, C·H·W) rows for a Dense layer; and back, for the
    gradient. (The first layer of an image network does the opposite: see `Reshape`.)"""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        return x.reshape(-1, x.shape[-1]).T  # a view: the Dense layer's product reads it as is

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(dout.T).reshape(self.input_shape)

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "Flatten()"


class Reshape:
    """(N, H·W) rows, as the data comes, -> (1, H, W, N): one channel of N images (a digit is
    28x28; a line of digits 28 high and as wide as the line)."""

    def __init__(self, height: int, width: int | None = None):
        self.height, self.width = height, width or height

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        return np.ascontiguousarray(x.T).reshape(1, self.height, self.width, len(x))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(-1, self.input_shape[0]).T

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"Reshape({self.height}x{self.width})"


class Columns:
    """(C, H, W, N) feature maps -> (N·W, K·C·H) rows: one row per column position of each image,
    the C·H features of the K columns centred on it (K = `context`, odd; zeros past the line's
    ends), so that a Dense layer reads every column alike (a line reader's output, one answer per
    column). With K > 1 that Dense layer is a convolution across the columns: each answer sees
    (K − 1)·stride more pixels of the line, its neighbours' shapes as well as its own (where one
    digit ends and the next begins). Rows go image by image, column by column: row n·W + w is
    column w of image n. Backward adds each window's gradient back onto the columns it copied."""

    def __init__(self, context: int = 1):
        self.context = context

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        channels, height, width, count = x.shape
        by_column = x.transpose(3, 2, 0, 1).reshape(count, width, channels * height)  # (N,W,F)
        if self.context == 1:
            return np.ascontiguousarray(by_column).reshape(count * width, -1)
        reach = self.context // 2
        padded = np.pad(by_column, ((0, 0), (reach, reach), (0, 0)))
        # window k of column w is column w − reach + k: K shifted views, side by side
        windows = [padded[:, k : k + width] for k in range(self.context)]
        return np.concatenate(windows, axis=2).reshape(count * width, -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        channels, height, width, count = self.input_shape
        features, reach = channels * height, self.context // 2
        windows = dout.reshape(count, width, self.context, features)
        padded = np.zeros((count, width + 2 * reach, features), dtype=dout.dtype)
        for k in range(self.context):  # column w − reach + k received window k of row w
            padded[:, k : k + width] += windows[:, :, k]
        by_column = padded[:, reach : reach + width].reshape(count, width, channels, height)
        return np.ascontiguousarray(by_column.transpose(2, 3, 1, 0))

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"Columns({self.context})" if self.context > 1 else "Columns()"
