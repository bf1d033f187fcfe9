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

    @staticmethod
    def by_feature(x: np.ndarray) -> np.ndarray:
        """(N, F) rows or (F, H, W, N) images -> (F, M): one row of values per feature (a view)."""
        return x.T if x.ndim == 2 else x.reshape(len(x), -1)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input_shape = x.shape
        values = self.by_feature(x)  # (F, M)
        if training:
            mean, var = values.mean(axis=1), values.var(axis=1)  # μ, σ²  (F,)
            count = values.shape[1]
            keep = self.momentum
            self.running_mean *= keep
            self.running_mean += (1 - keep) * mean
            self.running_var *= keep  # (the unbiased σ², as a population's is estimated)
            self.running_var += (1 - keep) * var * (count / max(count - 1, 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1 / np.sqrt(var + self.epsilon)  # 1 / √(σ² + ε)  (F,)
        self.xhat = (values - mean[:, None]) * self.inv_std[:, None]  # x̂  (F, M)
        y = self.weight[:, None] * self.xhat + self.bias[:, None]  # y = γ·x̂ + β  (F, M)
        return y.T if x.ndim == 2 else y.reshape(x.shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dy = self.by_feature(dout)  # (F, M)
        count = dy.shape[1]
        np.sum(dy, axis=1, out=self.dbias)  # dβ = Σ dy
        np.sum(dy * self.xhat, axis=1, out=self.dweight)  # dγ = Σ dy·x̂
        # dx = γ / (M·√(σ² + ε)) · (M·dy − Σ dy − x̂·Σ dy·x̂)
        scale = (self.weight * self.inv_std / count)[:, None]
        dx = scale * (count * dy - self.dbias[:, None] - self.xhat * self.dweight[:, None])
        return dx.T if len(self.input_shape) == 2 else dx.reshape(self.input_shape)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.weight, self.dweight), (self.bias, self.dbias)]

    def statistics(self) -> dict[str, np.ndarray]:
        """What it keeps besides its parameters, and a model file saves: the running averages."""
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def __repr__(self) -> str:
        return f"BatchNorm({len(self.weight)})"
