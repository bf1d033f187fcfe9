"""Losses: how wrong the network's output is, and the gradient that backpropagation starts from.

Shape key: N batch size, C = 10 classes. `output` and `targets` (one-hot) are (N, C).
`loss(output, targets)` returns (the number reported to the user, dL/d(output)). As in the seed
design, the gradient is of a *sum* over the batch, not a mean, so the learning rate multiplies
the summed gradient. Like a layer's output, the gradient may live in an array the loss reuses:
valid until its next call.
"""

import numpy as np

from mnist_nn.nn.ctc import ColumnCTC
from mnist_nn.nn.layers import Buffers, Sigmoid


def one_hot(labels: np.ndarray, num_classes: int = 10, dtype="float32") -> np.ndarray:
    """The targets y a loss compares with: digits (N,) -> one-hot rows (N, C),
    5 -> [0,0,0,0,0,1,0,0,0,0]."""
    return np.eye(num_classes, dtype=dtype)[labels]


class Classification:
    """What a loss that gives one class per example says about its labels and outputs."""

    @staticmethod
    def targets(labels: np.ndarray, classes: int, dtype) -> np.ndarray:
        """(N,) labels -> (N, C) one-hot targets y."""
        return one_hot(labels, classes, dtype)

    @staticmethod
    def read(output: np.ndarray, count: int) -> np.ndarray:
        """(N, C) outputs or scores -> (N,) the class each example is read as."""
        return output.argmax(axis=1)


class MeanSquaredError(Classification):
    """The seed's loss: squared distance between the sigmoid outputs a2 and the one-hot targets y.

    Reported: the mean of (y − a2)² over examples and classes (comparable across batch sizes).
    Gradient: of L = ½·Σ(y − a2)², which is dL/da2 = a2 − y = −error. So the seed's update
    W += lr·(a1ᵀ·dz2) with error = y − a2 is exactly gradient descent W −= lr·dL/dW.
    """

    name = "mse"
    output_activation = Sigmoid  # the seed's a2 = σ(z2): the network ends in a sigmoid

    def __init__(self):
        self.buffers = Buffers()

    def __call__(self, output: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        # dL/da2 = a2 − y = −error, the seed's error = y − a2 with its sign turned (exactly).
        gradient = self.buffers.get("gradient", *output.shape, output.dtype)
        np.subtract(output, targets, out=gradient)  # (N, C)
        mean_square = float(np.vdot(gradient, gradient)) / gradient.size  # mean of (y − a2)²
        return mean_square, gradient

    @staticmethod
    def objective(output: np.ndarray, targets: np.ndarray) -> float:
        """The function whose gradient `__call__` returns: L = ½·Σ(y − a2)² (for gradchecks)."""
        return 0.5 * float(np.sum((targets - output) ** 2))

    @staticmethod
    def scores(output: np.ndarray) -> np.ndarray:
        """The ten sigmoid outputs as they are: each in (0, 1), each the network's own yes/no for
        its digit, not probabilities that sum to 1. Shown honestly, a saturated network whose
        outputs are all near 0 says so (scaling them to sum to 1 would make it look sure)."""
        return output

    def __repr__(self) -> str:
        return "MeanSquaredError()"


class SoftmaxCrossEntropy(Classification):
    """Softmax on the last layer's outputs (logits z), then cross-entropy with the one-hot targets.

    p = softmax(z), L = −Σ y·log p. Fused, the gradient is simply dL/dz = p − y: the softmax's
    Jacobian and the log's 1/p cancel. Unlike MSE through a sigmoid, it does not vanish when the
    network is confidently wrong, which is why it learns faster.
    Reported: the mean of −Σ_c y·log p per example. Gradient: of the sum over the batch.
    """

    name = "cross_entropy"
    output_activation = None  # the network ends in logits z; the softmax is fused in here

    @staticmethod
    def log_probabilities(logits: np.ndarray) -> np.ndarray:
        # log-sum-exp: subtracting each row's maximum leaves softmax unchanged and keeps exp() from
        # overflowing; the largest term becomes e^0 = 1, so the log's argument is at least 1.
        shifted = logits - logits.max(axis=1, keepdims=True)  # (N, C)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def __call__(self, logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        log_p = self.log_probabilities(logits)  # (N, C)
        loss = -float(np.sum(targets * log_p)) / len(logits)
        return loss, np.exp(log_p) - targets  # dL/dz = p − y

    def objective(self, logits: np.ndarray, targets: np.ndarray) -> float:
        """L = −Σ y·log softmax(z) over the batch: the function whose gradient is returned."""
        return -float(np.sum(targets * self.log_probabilities(logits)))

    def scores(self, logits: np.ndarray) -> np.ndarray:
        """Class probabilities, each row summing to 1."""
        return np.exp(self.log_probabilities(logits))

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


# The losses by name: `--loss`'s choices come from this table. Each loss declares the layer that
# ends the network (`output_activation`, None for raw outputs) and gives (loss, dL/d(output)).
# A line reader's loss, CTC (`ctc.py`), reads one row per column position of each line.
LOSSES = {"mse": MeanSquaredError, "cross_entropy": SoftmaxCrossEntropy, "ctc": ColumnCTC}
