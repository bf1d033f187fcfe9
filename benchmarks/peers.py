"""The same seed network in other libraries, for `run.py`: PyTorch (CPU) and scikit-learn's MLP.

PyTorch is optional (`pip install -e '.[bench]'` brings it); scikit-learn comes with mnist-nn.
"""

import time
import warnings

import numpy as np


class TorchTrainer:
    """The seed network in PyTorch (CPU): autograd for the gradients, the same summed squared
    error, lr 0.01, batch 128, float32. `available()` is False when PyTorch is not installed."""

    @staticmethod
    def available() -> bool:
        try:
            import torch  # noqa: F401
        except ImportError:
            return False
        return True

    def __init__(self, X, Y, seed=0):
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        torch.set_num_threads(2)
        self.X, self.Y = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(Y)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(784, 128),
            torch.nn.Sigmoid(),
            torch.nn.Linear(128, 10),
            torch.nn.Sigmoid(),
        )
        for layer in (self.model[0], self.model[2]):
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01)

    def train_epoch(self):
        order = self.torch.randperm(len(self.X))
        for first in range(0, len(self.X), 128):
            batch = order[first : first + 128]
            self.optimizer.zero_grad(set_to_none=True)
            loss = 0.5 * ((self.model(self.X[batch]) - self.Y[batch]) ** 2).sum()
            loss.backward()
            self.optimizer.step()

    def accuracy(self, X_test, test_labels) -> float:
        with self.torch.no_grad():
            scores = self.model(self.torch.from_numpy(np.ascontiguousarray(X_test)))
        return float(np.mean(scores.argmax(dim=1).numpy() == test_labels))


def torch_stack(layers: str, classes: int = 10):
    """The network a `--layers` stack names, in PyTorch: each conv or dense layer followed by
    its batch norm when `bn` says so (running averages keeping 0.9, as ours: torch's momentum
    0.1), then ReLU; pool a 2x2 max pool; He-normal weights and zero biases, as ours."""
    import torch

    from mnist_nn.nn.stack import parse_stack

    words = parse_stack(layers)
    modules, channels, side, flat = [], 1, 28, None
    for word, following in zip(words, [*words[1:], None], strict=True):
        if word[0] == "conv":
            modules.append(torch.nn.Conv2d(channels, word[1], word[2]))
            channels, side = word[1], side - word[2] + 1
        elif word[0] == "dense":
            if flat is None:
                modules.append(torch.nn.Flatten())
                flat = channels * side * side
            modules.append(torch.nn.Linear(flat, word[1]))
            flat = word[1]
        elif word[0] == "bn":
            norm = torch.nn.BatchNorm2d if flat is None else torch.nn.BatchNorm1d
            modules.append(norm(channels if flat is None else flat, eps=1e-5, momentum=0.1))
        else:  # pool
            modules.append(torch.nn.MaxPool2d(2))
            side //= 2
        if word[0] != "pool" and (following is None or following[0] != "bn"):
            modules.append(torch.nn.ReLU())
    if flat is None:
        modules.append(torch.nn.Flatten())
        flat = channels * side * side
    model = torch.nn.Sequential(*modules, torch.nn.Linear(flat, classes))
    for module in model:
        if isinstance(module, torch.nn.Conv2d | torch.nn.Linear):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            torch.nn.init.zeros_(module.bias)
    return model


def sklearn_epochs(X, labels, X_test, test_labels, epochs, seed=0):
    """Seconds per epoch and test accuracy of scikit-learn's MLPClassifier with the seed's shape
    (784-128-10, logistic hidden units, plain SGD, batch 128). Its output stage is softmax with
    log-loss and its gradients are batch means (so lr 0.01 x 128), the closest it offers."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(128,),
        activation="logistic",
        solver="sgd",
        batch_size=128,
        learning_rate_init=1.28,
        momentum=0.0,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=seed,
        shuffle=True,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, labels)
    seconds = (time.perf_counter() - start) / epochs
    return [seconds] * epochs, float(model.score(X_test, test_labels))
