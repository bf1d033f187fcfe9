"""Layers: each a forward pass and, right below it, its backward pass.

Shape key: N batch size, I inputs of a layer, O outputs of a layer (D = 784 pixels, H hidden units,
C = 10 classes in the network). Rows are examples: x is (N, I), W is (I, O), b is (O,).

`forward(x)` remembers what `backward` needs; `backward(dout)` takes dL/d(output) (N, O) and
returns dL/d(input) (N, I), storing the gradients of the layer's own parameters. Gradients are
*sums* over the batch, as in the seed design (dW = xᵀ·dz, db = Σ dz).

Speed without obscurity: a layer never changes its inputs, and writes its outputs into arrays it
keeps and reuses (`out=`), so a training step allocates nothing. Each output stays valid until the
layer's next call, which is all a forward-then-backward step needs.
"""

from typing import Protocol

import numpy as np


class Layer(Protocol):
    """What every layer of a `Network` does (a new layer needs these three, nothing else).

    forward(x, training)  (N, I) -> (N, O); remembers what backward needs. `training` is True
                          inside a training step (dropout drops only then).
    backward(dout)        dL/d(output) (N, O) -> dL/d(input) (N, I); a layer with parameters
                          stores their gradients on the way.
    parameters()          [(parameter, gradient), ...] for the optimizer; [] if it has none.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray: ...

    def backward(self, dout: np.ndarray) -> np.ndarray: ...

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]: ...


class Buffers:
    """A layer's reusable output arrays: `get(name, rows, columns, dtype)` returns the first `rows`
    rows of an array kept between calls (grown when a larger batch comes). Images work the same
    way: `get(name, N, C, H, W, dtype)`."""

    def __init__(self):
        self.arrays = {}

    def __getstate__(self) -> dict:
        return {"arrays": {}}  # scratch space: a pickled or copied layer makes its own

    def get(self, name: str, rows: int, *shape_and_dtype) -> np.ndarray:
        """(rows, ...) of `dtype` (the last argument): a view of the kept array, valid until the
        next `get`."""
        *shape, dtype = shape_and_dtype
        array = self.arrays.get(name)
        if (
            array is None
            or len(array) < rows
            or array.shape[1:] != tuple(shape)
            or array.dtype != dtype
        ):
            array = self.arrays[name] = np.empty((rows, *shape), dtype=dtype)
        return array[:rows]


def glorot_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """Xavier/Glorot uniform initialisation: W ~ U(-a, a), a = sqrt(6 / (n_in + n_out)).

    It keeps the variance of activations and gradients roughly equal from layer to layer, which
    suits sigmoid and tanh (and the seed design asks for it).
    """
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def he_normal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """He initialisation: W ~ N(0, 2 / n_in). ReLU zeroes half its inputs on average, so the
    weights need twice Glorot's variance to keep activations from shrinking layer by layer."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


class Dense:
    """Fully connected: z = x·W + b."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        self.weight = weight  # (I, O)
        self.bias = bias  # (O,)
        self.dweight = np.zeros_like(weight)  # gradients, overwritten by every backward
        self.dbias = np.zeros_like(bias)
        self.buffers = Buffers()

    @classmethod
    def initialised(cls, n_in: int, n_out: int, rng, dtype="float32", init=None):
        """A new layer: weights from `init` (Glorot unless told otherwise), biases at zero."""
        weight = (init or glorot_uniform)(n_in, n_out, rng).astype(dtype)
        return cls(weight, np.zeros(n_out, dtype=dtype))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x  # (N, I), kept for dW = xᵀ·dz
        z = self.buffers.get("z", len(x), self.weight.shape[1], self.weight.dtype)
        np.matmul(x, self.weight, out=z)  # z = x·W  (N, O)
        z += self.bias  # ... + b
        return z

    def backward(self, dout: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        np.matmul(self.x.T, dout, out=self.dweight)  # dW = xᵀ·dz  (I, O)
        np.sum(dout, axis=0, out=self.dbias)  # db = Σ dz over the batch  (O,)
        if not input_gradient:
            return None  # the first layer: nothing below it learns, so dL/dX is not needed
        dx = self.buffers.get("dx", len(dout), self.weight.shape[0], dout.dtype)
        return np.matmul(dout, self.weight.T, out=dx)  # dx = dz·Wᵀ  (N, I)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(parameter, gradient) pairs, for the optimizer."""
        return [(self.weight, self.dweight), (self.bias, self.dbias)]

    def __repr__(self) -> str:
        n_in, n_out = self.weight.shape
        return f"Dense({n_in} -> {n_out})"


class Sigmoid:
    """a = σ(z) = 1 / (1 + e^(-z)), squashing any number into (0, 1)."""

    weight_init = staticmethod(glorot_uniform)  # for the Dense layer feeding it
    # Never decreasing: max(σ(a), σ(b)) = σ(max(a, b)), so a max pool may come before it.
    monotonic = True

    def __init__(self):
        self.buffers = Buffers()

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        a = self.buffers.get("a", *z.shape, z.dtype)
        # a = 1 / (1 + e^(-z)), one step at a time in place; e^(-z) overflows to inf for z < -88,
        # and then σ is 1/inf = 0, which is right.
        np.negative(z, out=a)
        with np.errstate(over="ignore"):
            np.exp(a, out=a)
        a += 1.0
        np.divide(1.0, a, out=a)
        self.a = a  # kept: the derivative is written from the output
        return a

    def backward(self, dout: np.ndarray) -> np.ndarray:
        # σ'(z) = σ(z)·(1 − σ(z)) = a·(1 − a): the seed's sigmoid_derivative(a), from the output.
        dz = self.buffers.get("dz", *dout.shape, dout.dtype)
        np.subtract(1.0, self.a, out=dz)
        dz *= self.a  # a·(1 − a)
        dz *= dout  # dz = dout·σ'(z)
        return dz

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "Sigmoid()"


class Tanh:
    """a = tanh(z), in (−1, 1): a sigmoid centred on zero, so the next layer's inputs are too."""

    weight_init = staticmethod(glorot_uniform)
    monotonic = True

    def __init__(self):
        self.buffers = Buffers()

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        self.a = np.tanh(z, out=self.buffers.get("a", *z.shape, z.dtype))
        return self.a

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dz = self.buffers.get("dz", *dout.shape, dout.dtype)
        np.multiply(self.a, self.a, out=dz)
        np.subtract(1.0, dz, out=dz)  # tanh'(z) = 1 − a²
        dz *= dout
        return dz

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "Tanh()"


class ReLU:
    """a = max(0, z): cheap, and its gradient does not vanish for large z as a sigmoid's does."""

    weight_init = staticmethod(he_normal)
    monotonic = True

    def __init__(self):
        self.buffers = Buffers()

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        self.a = np.maximum(z, 0, out=self.buffers.get("a", *z.shape, z.dtype))
        return self.a

    def backward(self, dout: np.ndarray) -> np.ndarray:
        # ReLU'(z) = 1 where z > 0, else 0; a > 0 exactly where z > 0, so a is the mask.
        dz = self.buffers.get("dz", *dout.shape, dout.dtype)
        np.multiply(dout, self.a > 0, out=dz)
        return dz

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "ReLU()"


class Dropout:
    """Inverted dropout: in training, zero each input with probability `rate` and scale the kept
    ones by 1/(1 − rate), so the expected value is unchanged and evaluation needs no rescaling.

    Each step trains a random thinned network, so units cannot rely on particular others: a strong
    regulariser for wide layers. `frozen` reuses the last mask (for gradient checks).
    """

    def __init__(self, rate: float, rng: np.random.Generator):
        self.rate = rate
        self.rng = rng
        self.mask = None
        self.frozen = False
        self.buffers = Buffers()

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training:
            return x  # evaluation: every unit, no scaling (already done in training)
        if not self.frozen:
            mask = self.buffers.get("mask", *x.shape, x.dtype)  # (N, I)
            self.rng.random(out=mask, dtype=mask.dtype)  # uniform in [0, 1)
            np.greater_equal(mask, self.rate, out=mask)  # 1 keeps a unit, 0 drops it
            mask *= 1.0 / (1.0 - self.rate)
            self.mask = mask
        return np.multiply(x, self.mask, out=self.buffers.get("out", *x.shape, x.dtype))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = self.buffers.get("dx", *dout.shape, dout.dtype)
        return np.multiply(dout, self.mask, out=dx)  # the same units are dropped on the way back

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


# The hidden activations by name: `--activation`'s choices come from this table.
ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}
