"""The same seed network in other libraries, for `run.py`: PyTorch (CPU) and scikit-learn's MLP.

Each returns None when its library is not installed (`pip install -e '.[bench]'` brings PyTorch).
"""

import time
import warnings

import numpy as np


def torch_epochs(X, Y, labels, X_test, test_labels, epochs, seed=0):
    """Seconds of each epoch, and the test accuracy after them, of the seed network in PyTorch:
    autograd for the gradients, the same summed squared error, lr 0.01, batch 128, float32."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    X, Y = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(Y))
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.Sigmoid(), torch.nn.Linear(128, 10), torch.nn.Sigmoid()
    )
    for layer in (model[0], model[2]):
        torch.nn.init.xavier_uniform_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(X))
        for first in range(0, len(X), 128):
            batch = order[first : first + 128]
            optimizer.zero_grad(set_to_none=True)
            loss = 0.5 * ((model(X[batch]) - Y[batch]) ** 2).sum()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    with torch.no_grad():
        predicted = model(torch.from_numpy(np.ascontiguousarray(X_test))).argmax(dim=1).numpy()
    return seconds, float(np.mean(predicted == test_labels))


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
