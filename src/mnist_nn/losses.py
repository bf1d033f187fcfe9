"""Losses: how wrong the network's output is, and the gradient that backpropagation starts from.

Shape key: N batch size, C = 10 classes. `output` and `targets` (one-hot) are (N, C).
`loss(output, targets)` returns (the number reported to the user, dL/d(output)). As in the seed
design, the gradient is of a *sum* over the batch, not a mean, so the learning rate multiplies
the summed gradient.
"""

import numpy as np


class MeanSquaredError:
    """The seed's loss: squared distance between the sigmoid outputs a2 and the one-hot targets y.

    Reported: the mean of (y − a2)² over examples and classes (comparable across batch sizes).
    Gradient: of L = ½·Σ(y − a2)², which is dL/da2 = a2 − y = −error. So the seed's update
    W += lr·(a1ᵀ·dz2) with error = y − a2 is exactly gradient descent W −= lr·dL/dW.
    """

    name = "mse"

    def __call__(self, output: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        error = targets - output  # the seed's error = y − a2  (N, C)
        return float(np.mean(error * error)), -error  # dL/da2 = −error

    @staticmethod
    def objective(output: np.ndarray, targets: np.ndarray) -> float:
        """The function whose gradient `__call__` returns: L = ½·Σ(y − a2)² (for gradchecks)."""
        return 0.5 * float(np.sum((targets - output) ** 2))

    @staticmethod
    def scores(output: np.ndarray) -> np.ndarray:
        """Sigmoid outputs, each in (0, 1) on its own; the largest is the predicted digit."""
        return output

    def __repr__(self) -> str:
        return "MeanSquaredError()"
