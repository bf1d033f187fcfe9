"""Optimizers: how parameters move once backpropagation has given their gradients.

Each `step(pairs)` takes (parameter, gradient) pairs and updates every parameter in place.
"""


class SGD:
    """Plain (mini-batch) gradient descent, the seed's update: θ ← θ − lr·dL/dθ.

    With the seed's sign convention (dW = a1ᵀ·dz2 where dz2 uses error = y − a2) this is the
    design's W += lr·dW, written the usual way round.
    """

    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate

    def step(self, pairs) -> None:
        for parameter, gradient in pairs:
            parameter -= self.learning_rate * gradient

    def __repr__(self) -> str:
        return f"SGD(learning_rate={self.learning_rate})"
