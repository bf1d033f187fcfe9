"""A reference point: the seed equations as one flat NumPy loop with every array preallocated.

No classes, no loss or optimizer objects, no bookkeeping beyond the loss: the same NumPy calls
mnist-nn makes, with nothing around them. Its time above the matrix-product floor is what NumPy's
element-wise calls and the batch gather cost on their own; mnist-nn's time above *it* is what our
layers, optimizer and training loop cost. Measured, never used.
"""

import numpy as np

from benchmarks.plain_numpy import init


class LeanTrainer:
    def __init__(self, rng, batch_size=128, learning_rate=0.01):
        self.params = init(rng)
        self.rng = rng
        self.batch_size = batch_size
        self.learning_rate = np.float32(learning_rate)
        b = batch_size
        self.buffers = {
            name: np.empty(shape, np.float32)
            for name, shape in {
                "x": (b, 784), "y": (b, 10), "a1": (b, 128), "a2": (b, 10),
                "dz2": (b, 10), "dz1": (b, 128), "slope2": (b, 10), "slope1": (b, 128),
                "dW1": (784, 128), "db1": (128,), "dW2": (128, 10), "db2": (10,),
            }.items()
        }  # fmt: skip

    def train_epoch(self, X, Y, gather=True):
        """One epoch in shuffled batches; `gather=False` takes the batches in order, as contiguous
        slices (no shuffle, no gather), to show what gathering them costs."""
        W1, b1, W2, b2 = (self.params[name] for name in ("W1", "b1", "W2", "b2"))
        buf, lr = self.buffers, self.learning_rate
        order = self.rng.permutation(len(X))
        for start in range(0, len(X), self.batch_size):
            if gather:
                batch = order[start : start + self.batch_size]
                n = len(batch)
                x = np.take(X, batch, axis=0, out=buf["x"][:n], mode="clip")
                y = np.take(Y, batch, axis=0, out=buf["y"][:n], mode="clip")
            else:
                x, y = X[start : start + self.batch_size], Y[start : start + self.batch_size]
                n = len(x)
            a1, a2 = buf["a1"][:n], buf["a2"][:n]
            for a, inputs, W, b in ((a1, x, W1, b1), (a2, a1, W2, b2)):
                np.matmul(inputs, W, out=a)  # z = inputs·W + b, then a = 1 / (1 + e^-z)
                a += b
                np.negative(a, out=a)
                np.exp(a, out=a)
                a += 1
                np.divide(1, a, out=a)
            dz2 = np.subtract(a2, y, out=buf["dz2"][:n])  # a2 − y = −error
            float(np.vdot(dz2, dz2))  # the loss, as reported
            slope = np.subtract(1, a2, out=buf["slope2"][:n])
            slope *= a2
            dz2 *= slope  # dz2 = −error·σ'(a2)
            np.matmul(a1.T, dz2, out=buf["dW2"])
            np.sum(dz2, axis=0, out=buf["db2"])
            dz1 = np.matmul(dz2, W2.T, out=buf["dz1"][:n])
            slope = np.subtract(1, a1, out=buf["slope1"][:n])
            slope *= a1
            dz1 *= slope  # dz1 = (dz2·W2ᵀ)·σ'(a1)
            np.matmul(x.T, dz1, out=buf["dW1"])
            np.sum(dz1, axis=0, out=buf["db1"])
            for parameter, name in ((W1, "dW1"), (b1, "db1"), (W2, "dW2"), (b2, "db2")):
                step = buf[name]
                step *= lr
                parameter -= step  # W += lr·dW with the sign of the seed's error turned
