"""Layers: each a forward pass and, right below it, its backward pass.

Shape key: N batch size, I inputs of a layer, O outputs of a layer (D = 784 pixels, H hidden units,
C = 10 classes in the network). Rows are examples: x is (N, I), W is (I, O), b is (O,).

`forward(x)` remembers what `backward` needs; `backward(dout)` takes dL/d(output) (N, O) and
returns dL/d(input) (N, I), storing the gradients of the layer's own parameters. Gradients are
*sums* over the batch, as in the seed design (dW = xᵀ·dz, db = Σ dz).
"""

import numpy as np


class Dense:
    """Fully connected: z = x·W + b."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        self.weight = weight  # (I, O)
        self.bias = bias  # (O,)
        self.dweight = np.zeros_like(weight)
        self.dbias = np.zeros_like(bias)

    @classmethod
    def glorot(cls, n_in: int, n_out: int, rng: np.random.Generator, dtype="float32"):
        """Xavier/Glorot uniform initialisation: W ~ U(-a, a), a = sqrt(6 / (n_in + n_out)).

        It keeps the variance of activations and gradients roughly equal from layer to layer, which
        suits sigmoid and tanh; biases start at zero.
        """
        limit = np.sqrt(6.0 / (n_in + n_out))
        weight = rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype)
        return cls(weight, np.zeros(n_out, dtype=dtype))

    @classmethod
    def he(cls, n_in: int, n_out: int, rng: np.random.Generator, dtype="float32"):
        """He initialisation: W ~ N(0, 2 / n_in). ReLU zeroes half its inputs on average, so the
        weights need twice Glorot's variance to keep activations from shrinking layer by layer.
        """
        weight = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)).astype(dtype)
        return cls(weight, np.zeros(n_out, dtype=dtype))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x  # (N, I), kept for dW = xᵀ·dz
        return x @ self.weight + self.bias  # z = x·W + b  (N, O)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.dweight = self.x.T @ dout  # dW = xᵀ·dz  (I, O)
        self.dbias = dout.sum(axis=0)  # db = Σ dz over the batch  (O,)
        return dout @ self.weight.T  # dx = dz·Wᵀ  (N, I)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(parameter, gradient) pairs, for the optimizer."""
        return [(self.weight, self.dweight), (self.bias, self.dbias)]

    def __repr__(self) -> str:
        n_in, n_out = self.weight.shape
        return f"Dense({n_in} -> {n_out})"


class Sigmoid:
    """a = σ(z) = 1 / (1 + e^(-z)), squashing any number into (0, 1)."""

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        with np.errstate(over="ignore"):  # e^(-z) overflows to inf for z < -88: σ is then 0, right
            self.a = 1.0 / (1.0 + np.exp(-z))
        return self.a

    def backward(self, dout: np.ndarray) -> np.ndarray:
        # σ'(z) = σ(z)·(1 − σ(z)) = a·(1 − a): the seed's sigmoid_derivative(a), from the output.
        return dout * (self.a * (1.0 - self.a))

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "Sigmoid()"


class Tanh:
    """a = tanh(z), in (−1, 1): a sigmoid centred on zero, so the next layer's inputs are too."""

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        self.a = np.tanh(z)
        return self.a

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1.0 - self.a * self.a)  # tanh'(z) = 1 − a²

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return "Tanh()"


class ReLU:
    """a = max(0, z): cheap, and its gradient does not vanish for large z as a sigmoid's does."""

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        self.active = z > 0  # (N, O) where the unit passes its input through
        return np.maximum(z, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.active  # ReLU'(z) = 1 where z > 0, else 0

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

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training:
            return x  # evaluation: every unit, no scaling (already done in training)
        if not self.frozen:
            keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate  # (N, I)
            self.mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self.mask  # the same units are dropped on the way back

    def parameters(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}
