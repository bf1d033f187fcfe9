"""Batch normalization (Ioffe & Szegedy, 2015): each feature kept at a steady scale.

Shape key: N batch size, F features (a dense layer's units, or a convolution's channels), M the
values each feature has in a batch: N for dense rows (N, F); H·W·N for images (F, H, W, N), whose
channels are normalised over every position of every image of the batch.

In training, for each feature over its M values in the batch:
    μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ) / √(σ² + ε),  y = γ·x̂ + β
so the next layer sees inputs of mean β and spread γ whatever the weights below have become, and
the running averages of μ and σ² (momentum 0.9) are kept for reading, which uses them instead of
a batch's: y = γ·(x − μ_run) / √(σ²_run + ε) + β.

Backward, through the batch's statistics too (every x moves μ and σ²), gradients summed over the
batch as every layer's here:
    dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ / (M·√(σ² + ε)) · (M·dy − Σ dy − x̂·Σ dy·x̂)
"""

import numpy as np

from mnist_nn.nn.layers import Buffers


class BatchNorm:
    """Normalises each of `features` features over the batch, then scales by γ (`weight`) and
    shifts by β (`bias`), both learned; in a stack it sits between a layer and its activation."""

    def __init__(self, features: int, dtype="float32", momentum=0.9, epsilon=1e-5):
        self.weight = np.ones(features, dtype=dtype)  # γ  (F,)
        self.bias = np.zeros(features, dtype=dtype)  # β  (F,)
        self.dweight = np.zeros_like(self.weight)
        self.dbias = np.zeros_like(self.bias)
        self.running_mean = np.zeros(features, dtype=dtype)  # μ_run  (F,)
        self.running_var = np.ones(features, dtype=dtype)  # σ²_run  (F,)
        self.momentum, self.epsilon = momentum, epsilon
        self.buffers = Buffers()  # x̂, y and dx, reused from step to step

    @staticmethod
    def by_feature(x: np.ndarray) -> np.ndarray:
        """(N, F) rows or (F, H, W, N) images -> (F, M): one row of values per feature (a view)."""
        return x.T if x.ndim == 2 else x.reshape(len(x), -1)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        values = self.by_feature(x)  # (F, M)
        features, count = values.shape
        xhat = self.buffers.get("xhat", features, count, x.dtype)
        if training:
            mean = values.mean(axis=1)  # μ  (F,)
            np.subtract(values, mean[:, None], out=xhat)  # x − μ
            var = np.einsum("fm,fm->f", xhat, xhat) / count  # σ² = mean((x − μ)²)  (F,)
            keep = self.momentum
            self.running_mean *= keep
            self.running_mean += (1 - keep) * mean
            self.running_var *= keep  # (the unbiased σ², as a population's is estimated)
            self.running_var += (1 - keep) * var * (count / max(count - 1, 1))
        else:
            var = self.running_var
            np.subtract(values, self.running_mean[:, None], out=xhat)
        self.inv_std = (1 / np.sqrt(var + self.epsilon)).astype(x.dtype)  # 1 / √(σ² + ε)  (F,)
        xhat *= self.inv_std[:, None]  # x̂ = (x − μ) / √(σ² + ε)  (F, M)
        self.xhat = xhat
        y = self.buffers.get("y", features, count, x.dtype)
        np.multiply(xhat, self.weight[:, None], out=y)  # y = γ·x̂ ...
        y += self.bias[:, None]  # ... + β
        return y.T if x.ndim == 2 else y.reshape(x.shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dy = self.by_feature(dout)  # (F, M)
        features, count = dy.shape
        np.sum(dy, axis=1, out=self.dbias)  # dβ = Σ dy
        np.einsum("fm,fm->f", dy, self.xhat, out=self.dweight)  # dγ = Σ dy·x̂
        # dx = γ / (M·√(σ² + ε)) · (M·dy − Σ dy − x̂·Σ dy·x̂), in place in one (F, M) array:
        dx = self.buffers.get("dx", features, count, dout.dtype)
        np.multiply(self.xhat, self.dweight[:, None], out=dx)  # x̂·Σ dy·x̂
        dx += self.dbias[:, None]  # + Σ dy
        dx *= -1 / count
        dx += dy  # dy − (Σ dy + x̂·Σ dy·x̂) / M
        dx *= (self.weight * self.inv_std)[:, None]  # · γ / √(σ² + ε)
        return dx.T if len(self.input_shape) == 2 else dx.reshape(self.input_shape)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.weight, self.dweight), (self.bias, self.dbias)]

    def statistics(self) -> dict[str, np.ndarray]:
        """What it keeps besides its parameters, and a model file saves: the running averages."""
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def __repr__(self) -> str:
        return f"BatchNorm({len(self.weight)})"
