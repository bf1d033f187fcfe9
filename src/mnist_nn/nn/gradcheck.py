"""Check backpropagation against calculus: analytic gradients vs central differences.

For each parameter θ, the numerical gradient is (L(θ + ε) − L(θ − ε)) / 2ε, element by element,
where L is the loss's `objective` (the exact function whose gradient backprop computes). Both are
compared by relative error ‖analytic − numerical‖ / (‖analytic‖ + ‖numerical‖): in float64 a
correct backward pass gives about 1e-9, a wrong one about 1e-1. Use small networks: it costs two
forward passes per parameter element.
"""

import numpy as np

from mnist_nn.nn.layers import Dropout
from mnist_nn.nn.network import Network

TOLERANCE = 1e-6  # float64 central differences: right ≈ 1e-9, wrong ≈ 1e-1


def relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numerical)
    return 0.0 if denominator == 0 else float(np.linalg.norm(analytic - numerical) / denominator)


def numerical_gradient(objective, parameter: np.ndarray, epsilon: float = 1e-6) -> np.ndarray:
    """dL/dθ by central differences, nudging each element of `parameter` in place."""
    gradient = np.zeros_like(parameter)
    for index in np.ndindex(parameter.shape):
        saved = parameter[index]
        parameter[index] = saved + epsilon
        above = objective()
        parameter[index] = saved - epsilon
        below = objective()
        parameter[index] = saved
        gradient[index] = (above - below) / (2 * epsilon)
    return gradient


def check_network(network: Network, x: np.ndarray, targets: np.ndarray) -> list[tuple[str, float]]:
    """(name, relative error) for every parameter of `network` on the batch (x, targets).

    Layers that draw random numbers in training (dropout) must hold a fixed mask here, so the
    same function is differentiated on every call.
    """

    def objective() -> float:
        return network.loss.objective(network.forward(x, training=True), targets)

    _, doutput = network.loss(network.forward(x, training=True), targets)
    network.backward(doutput)  # each layer now holds its analytic gradients
    dropouts = [layer for layer in network.layers if isinstance(layer, Dropout)]
    for layer in dropouts:
        layer.frozen = True  # the masks just drawn stay for every nudge
    try:
        errors = []
        for i, layer in enumerate(network.dense_layers(), start=1):
            pairs = zip((f"W{i}", f"b{i}"), layer.parameters(), strict=True)  # the math's names
            for name, (parameter, gradient) in pairs:
                numerical = numerical_gradient(objective, parameter)
                errors.append((name, relative_error(gradient, numerical)))
    finally:
        for layer in dropouts:
            layer.frozen = False
    return errors


def check_combinations(activations, losses, dropout: float = 0.0, seed: int = 0):
    """For a small float64 network [12, 7, 5, 10] of each activation and loss:
    ((activation, loss), [(parameter name, relative error), ...])."""
    from mnist_nn.nn.losses import one_hot
    from mnist_nn.nn.network import build_network

    results = []
    for activation in activations:
        for loss in losses:
            rng = np.random.default_rng(seed)
            network = build_network(
                [12, 7, 5, 10], rng, "float64", activation, loss, dropout=dropout
            )
            x = rng.random((8, 12))
            targets = one_hot(rng.integers(0, 10, 8), dtype="float64")
            results.append(((activation, loss), check_network(network, x, targets)))
    return results


def check_layer(layer, x: np.ndarray, rng, training: bool = False) -> list[tuple[str, float]]:
    """(name, relative error) for each parameter of one layer and for its input gradient,
    against the objective Σ dout·layer(x) for a fixed random dout (any layer, alone; `training`:
    as in a training step, e.g. batch norm with the batch's own statistics)."""
    dout = rng.standard_normal(layer.forward(x, training).shape)
    dx = layer.backward(dout)

    def objective() -> float:
        return float(np.sum(dout * layer.forward(x, training)))

    errors = [
        (name, relative_error(gradient, numerical_gradient(objective, parameter)))
        for name, (parameter, gradient) in zip(("W", "b"), layer.parameters(), strict=False)
    ]
    return [*errors, ("dx", relative_error(dx, numerical_gradient(objective, x)))]


def check_image_layers(seed: int = 0):
    """The convolution (with and without padding), the pooling layer, batch normalization and a
    line reader's columns with context, each alone on a small float64 batch: 2 images of 2
    channels, 6x5 (and, for batch norm of a dense layer, 8 rows of 5 units; for the columns,
    3x5): ((layer, "alone"), [(name, error), ...]). Batch norm is
    checked as it trains: through the batch's own mean and variance."""
    from mnist_nn.nn.batch_norm import BatchNorm
    from mnist_nn.nn.convolution import Columns, Conv2D, MaxPool2D

    rng = np.random.default_rng(seed)
    layers = {
        "conv3x3": (Conv2D(2, 3, 3, rng, dtype="float64"), (2, 6, 5, 2)),
        "conv3x3+p": (Conv2D(2, 3, 3, rng, padding=1, dtype="float64"), (2, 6, 5, 2)),
        "maxpool": (MaxPool2D(), (2, 6, 5, 2)),
        "bn (conv)": (BatchNorm(2, "float64"), (2, 6, 5, 2)),
        "bn (dense)": (BatchNorm(5, "float64"), (8, 5)),
        "columns3": (Columns(3), (2, 3, 5, 2)),  # a line reader's columns, 3 to each answer
    }
    results = []
    for name, (layer, shape) in layers.items():
        if isinstance(layer, BatchNorm):  # a γ and β other than 1 and 0, to be checked
            layer.weight[:], layer.bias[:] = rng.normal(1, 0.5, len(layer.weight)), rng.random()
        x = rng.standard_normal(shape) * 2 + 1
        training = isinstance(layer, BatchNorm)
        results.append(((name, "(alone)"), check_layer(layer, x, rng, training)))
    return results


def check_ctc(seed: int = 0):
    """The line reader's loss, CTC, on 3 random lines of 9 columns over 11 classes (ten digits and
    the blank), reading numbers of 1, 3 and 4 digits (one with a repeat): dL/dz of every column's
    logits, as the other losses' are checked."""
    from mnist_nn.nn.ctc import CTC

    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((3, 9, 11))
    numbers = [[7], [1, 1, 2], [3, 0, 5, 9]]
    _, gradient = CTC()(logits, numbers)
    numerical = numerical_gradient(lambda: CTC()(logits, numbers)[0], logits)
    return [(("columns", "ctc"), [("dz", relative_error(gradient, numerical))])]


def report(results) -> tuple[list[str], bool]:
    """The lines `mnist-nn gradcheck` prints for `check_combinations`'s results, and whether every
    gradient agrees with its numerical estimate."""
    lines = [
        "Checking backpropagation against calculus. For each activation and loss, a small float64",
        "network 12-7-5-10 (two hidden layers) gets a batch of 8 random inputs; for every weight",
        "matrix W and bias b, each element is nudged by ε = 1e-6 both ways to estimate",
        "dL/dθ ≈ (L(θ + ε) − L(θ − ε)) / 2ε, and that is compared with backprop's gradient by",
        "relative error ‖backprop − estimate‖ / (‖backprop‖ + ‖estimate‖). Right: about 1e-9;",
        f"a bug (a sign, a missing σ'): about 1e-1. Below {TOLERANCE:g} counts as agreeing.",
        "The image layers (convolution, max pooling) and batch norm are checked alone, on 2",
        "images of 2x6x5 (batch norm of dense units on 8 rows of 5): their W and b (batch norm's",
        "γ and β), and dx, the gradient they send back to the layer below. CTC, the line",
        "reader's loss, is checked on the logits of 3 lines of 9 columns.",
        "",
        f"{'activation':<10} {'loss':<14} {'parameter':<10} relative error",
    ]
    errors = [error for _, pairs in results for _, error in pairs]
    for (activation, loss), pairs in results:
        for name, error in pairs:
            verdict = "ok" if error < TOLERANCE else "WRONG"
            lines.append(f"{activation:<10} {loss:<14} {name:<10} {error:.1e}  {verdict}")
    worst = max(errors, default=0.0)
    if worst >= TOLERANCE:
        lines.append(
            f"some gradients disagree (largest relative error {worst:.1e}): backprop has a bug"
        )
        return lines, False
    lines.append(
        f"all {len(errors)} gradients agree (largest relative error {worst:.1e} < {TOLERANCE})"
    )
    return lines, True
