"""The baseline: the seed design's equations transcribed into NumPy as plainly as possible.

This is what a first implementation looks like (a new array for every intermediate result, the
whole training set reshuffled by copying it each epoch). It is here to be measured against, not
used.
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1 - x)


def init(rng, dtype=np.float32):
    limit1, limit2 = np.sqrt(6 / (784 + 128)), np.sqrt(6 / (128 + 10))
    return {
        "W1": rng.uniform(-limit1, limit1, (784, 128)).astype(dtype),
        "b1": np.zeros(128, dtype),
        "W2": rng.uniform(-limit2, limit2, (128, 10)).astype(dtype),
        "b2": np.zeros(10, dtype),
    }


def train_epoch(params, X, y, rng, learning_rate=0.01, batch_size=128):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    for start in range(0, len(X), batch_size):
        X_batch, y_batch = X[start : start + batch_size], y[start : start + batch_size]
        z1 = np.dot(X_batch, W1) + b1
        a1 = sigmoid(z1)
        z2 = np.dot(a1, W2) + b2
        a2 = sigmoid(z2)
        error = y_batch - a2
        dz2 = error * sigmoid_derivative(a2)
        dW2 = np.dot(a1.T, dz2)
        db2 = np.sum(dz2, axis=0)
        dz1 = np.dot(dz2, W2.T) * sigmoid_derivative(a1)
        dW1 = np.dot(X_batch.T, dz1)
        db1 = np.sum(dz1, axis=0)
        W2 += learning_rate * dW2
        b2 += learning_rate * db2
        W1 += learning_rate * dW1
        b1 += learning_rate * db1


def accuracy(params, X, labels):
    a1 = sigmoid(X @ params["W1"] + params["b1"])
    return float(np.mean((a1 @ params["W2"] + params["b2"]).argmax(axis=1) == labels))
