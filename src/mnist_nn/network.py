"""The network: a stack of layers, a loss at the end, and the passes forward and back through it.

Shape key: N batch size, D = 784 pixels, H hidden units, C = 10 classes.
The seed network is Dense(784→128) → Sigmoid → Dense(128→10) → Sigmoid with mean squared error:
    forward   z1 = X·W1 + b1,  a1 = σ(z1),  z2 = a1·W2 + b2,  a2 = σ(z2)
    backward  the loss gives dL/da2; each layer turns dL/d(its output) into dL/d(its input),
              storing dW and db on the way (see `layers.py`).
"""

import threading

import numpy as np

from mnist_nn.layers import ACTIVATIONS, Dense, Dropout
from mnist_nn.losses import LOSSES


class Network:
    def __init__(self, layers: list, loss, architecture: dict | None = None):
        self.layers = layers
        self.loss = loss
        self.architecture = architecture or {}  # what build_network was given, to rebuild it
        self.lock = threading.Lock()
        # Below the first dense layer nothing learns (at most an input dropout).
        self.first_dense = next(i for i, layer in enumerate(layers) if isinstance(layer, Dense))

    def __getstate__(self) -> dict:
        # A lock cannot be pickled (scikit-learn pickles estimators): a copy gets a new one.
        return {key: value for key, value in self.__dict__.items() if key != "lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """(N, D) images -> (N, C) outputs of the last layer."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, doutput: np.ndarray) -> None:
        """From dL/d(output) back to the first layer; each layer stores its own gradients."""
        for layer in reversed(self.layers[self.first_dense + 1 :]):
            doutput = layer.backward(doutput)
        # Nothing below the first dense layer learns: skip dL/dX, a third of its backward cost.
        self.layers[self.first_dense].backward(doutput, input_gradient=False)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every (parameter, gradient) pair, first layer first."""
        return [pair for layer in self.layers for pair in layer.parameters()]

    def train_step(self, x: np.ndarray, targets: np.ndarray, optimizer) -> tuple[float, np.ndarray]:
        """One mini-batch: forward, loss, backward, update. Returns the loss and the outputs."""
        output = self.forward(x, training=True)
        loss, doutput = self.loss(output, targets)
        self.backward(doutput)
        optimizer.step(self.parameters())
        return loss, output

    def scores(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """(N, D) images -> (N, C) class scores (the loss's reading of the output), in batches."""
        scores = np.empty((len(x), self.sizes[-1]), dtype=self.dense_layers()[0].weight.dtype)
        with self.lock:  # the layers' buffers serve one caller at a time (e.g. a web server's)
            for start in range(0, len(x), batch_size):
                output = self.forward(x[start : start + batch_size])
                scores[start : start + batch_size] = self.loss.scores(output)
        return scores

    def explain(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(N, D) images -> their (N, C) scores and every hidden activation layer's output
        (copies, safe to keep): what the network "sees" on the way to its answer."""
        last_dense = max(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        hidden = []
        with self.lock:
            for i, layer in enumerate(self.layers):
                x = layer.forward(x)
                if i < last_dense and isinstance(layer, tuple(ACTIVATIONS.values())):
                    hidden.append(x.copy())
            scores = self.loss.scores(x).copy()
        return scores, hidden

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, D) images -> (N,) predicted digits."""
        return self.scores(x).argmax(axis=1)

    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def sizes(self) -> list[int]:
        """Units per layer, inputs first: [784, 128, 10] for the seed."""
        dense = self.dense_layers()
        return [dense[0].weight.shape[0]] + [layer.weight.shape[1] for layer in dense]

    def __repr__(self) -> str:
        return f"Network({' → '.join(map(repr, self.layers))}, loss={self.loss!r})"


def build_network(
    sizes: list[int],
    rng: np.random.Generator,
    dtype="float32",
    activation: str = "sigmoid",
    loss: str = "mse",
    dropout: float = 0.0,
    input_dropout: float = 0.0,
) -> Network:
    """A network from inputs to outputs: `sizes` such as [784, 128, 10].

    Each hidden layer is Dense → activation (→ Dropout), its weights initialised the way the
    activation asks (Glorot for sigmoid and tanh, He for ReLU). The output stage is a Dense layer
    followed by whatever the loss declares: a Sigmoid for MSE (the seed's a2 = σ(z2)), nothing for
    cross-entropy (whose softmax lives in the loss).
    """
    hidden_activation, loss_function = ACTIVATIONS[activation], LOSSES[loss]()
    layers = [Dropout(input_dropout, rng)] if input_dropout else []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        dense = Dense.initialised(n_in, n_out, rng, dtype, hidden_activation.weight_init)
        layers += [dense, hidden_activation()]
        if dropout:
            layers.append(Dropout(dropout, rng))
    layers.append(Dense.initialised(sizes[-2], sizes[-1], rng, dtype))  # Glorot: sigmoid/softmax
    if loss_function.output_activation is not None:
        layers.append(loss_function.output_activation())
    architecture = {
        "sizes": list(sizes),
        "activation": activation,
        "loss": loss,
        "dropout": dropout,
        "input_dropout": input_dropout,
    }
    return Network(layers, loss_function, architecture)
