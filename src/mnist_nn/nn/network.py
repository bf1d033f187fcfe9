"""The network: a stack of layers, a loss at the end, and the passes forward and back through it.

Shape key: N batch size, D = 784 pixels, H hidden units, C = 10 classes.
The seed network is Dense(784→128) → Sigmoid → Dense(128→10) → Sigmoid with mean squared error:
    forward   z1 = X·W1 + b1,  a1 = σ(z1),  z2 = a1·W2 + b2,  a2 = σ(z2)
    backward  the loss gives dL/da2; each layer turns dL/d(its output) into dL/d(its input),
              storing dW and db on the way (see `layers.py`).
"""

import threading

import numpy as np

from mnist_nn.nn.batch_norm import BatchNorm
from mnist_nn.nn.convolution import Columns, Conv2D, Flatten, MaxPool2D, Reshape
from mnist_nn.nn.layers import ACTIVATIONS, Dense, Dropout
from mnist_nn.nn.losses import LOSSES
from mnist_nn.nn.stack import image_shape, plan_network

EVALUATION_BATCH = 2048  # rows at a time when only reading them (Network.scores)
IMAGE_BATCH = 256  # images at a time through image layers, whose patches take 25-200 values a pixel


class Network:
    def __init__(self, layers: list, loss, architecture: dict | None = None):
        self.layers = layers
        self.loss = loss
        self.architecture = architecture or {}  # what build_network was given, to rebuild it
        self.lock = threading.Lock()
        # Below the first layer with weights nothing learns (an input dropout, a reshape).
        self.first_learning = next(i for i, layer in enumerate(layers) if layer.parameters())

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
        for layer in reversed(self.layers[self.first_learning + 1 :]):
            doutput = layer.backward(doutput)
        # Nothing below the first layer with weights learns: skip dL/dX, a third of its cost.
        self.layers[self.first_learning].backward(doutput, input_gradient=False)

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

    def run(self, x: np.ndarray, through=None, keep=None, batch_size=None, each=None):
        """(N, D) inputs through the layers up to index `through` (all if None), a batch at a time
        (2048 rows, or 256 images through image layers, whose patches take 25-200 values per
        pixel), under the lock: the layers' buffers serve one caller at a time (e.g. a web
        server's threads). `keep(output)` makes each batch's rows to return (default: the output);
        `each(index, output)` sees every layer's output on the way."""
        last = len(self.layers) - 1 if through is None else through
        image_layers = self.architecture.get("layers")
        batch_size = batch_size or (IMAGE_BATCH if image_layers else EVALUATION_BATCH)
        kept = []
        with self.lock:
            for start in range(0, len(x), batch_size):
                output = x[start : start + batch_size]
                for index, layer in enumerate(self.layers[: last + 1]):
                    output = layer.forward(output)
                    if each is not None:
                        each(index, output)
                # A copy: a layer's buffer is overwritten by the next batch.
                kept.append(np.array(output if keep is None else keep(output)))
        return np.concatenate(kept) if kept else np.zeros((0, self.sizes[-1]), self.dtype)

    def scores(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """(N, D) images -> (N, C) class scores (the loss's reading of the output)."""
        return self.run(x, keep=self.loss.scores, batch_size=batch_size)

    def explain(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(N, D) images -> their (N, C) scores and every hidden activation layer's output
        (copies, safe to keep): what the network "sees" on the way to its answer."""
        last_dense = max(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        activations, hidden = tuple(ACTIVATIONS.values()), {}

        def keep_hidden(index: int, output: np.ndarray) -> None:
            hidden_units = output.ndim == 2  # a dense layer's (image layers' maps are 4-D)
            if index < last_dense and hidden_units and isinstance(self.layers[index], activations):
                hidden.setdefault(index, []).append(output.copy())

        scores = self.run(x, keep=self.loss.scores, each=keep_hidden)
        return scores, [np.concatenate(batches) for _, batches in sorted(hidden.items())]

    def feature_maps(self, x: np.ndarray) -> np.ndarray | None:
        """(N, D) images -> what the first convolution makes of them, (N, F, Ho, Wo): one map
        per filter, high where the image has what that filter looks for (a copy, before the
        activation); None for a network without convolutions."""
        first = next((i for i, layer in enumerate(self.layers) if isinstance(layer, Conv2D)), None)
        if first is None:
            return None
        # (F, Ho, Wo, N) -> (N, F, Ho, Wo): examples first, as rows are
        return self.run(x, through=first, keep=lambda maps: maps.transpose(3, 0, 1, 2).copy())

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N, D) images -> (N, C) outputs z of the last dense layer (before any sigmoid or
        softmax), in float64: what calibration divides by its temperature."""
        last = max(i for i, layer in enumerate(self.layers) if isinstance(layer, Dense))
        return self.run(x, through=last, keep=lambda z: np.array(z, dtype=np.float64))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, D) images -> (N,) predicted digits (a line reader's: (N, T) digits, padded −1)."""
        return self.loss.read(self.scores(x), len(x))

    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    def weighted_layers(self) -> list:
        """The layers with parameters (dense, convolution, batch norm), first first."""
        return [layer for layer in self.layers if layer.parameters()]

    @property
    def dtype(self) -> np.dtype:
        return self.weighted_layers()[0].weight.dtype

    @property
    def sizes(self) -> list[int]:
        """Units per layer, inputs first: [784, 128, 10] for the seed; for a network with image
        layers, the inputs and the outputs: [784, 10]."""
        if self.architecture.get("layers"):
            return [self.architecture["sizes"][0], self.architecture["sizes"][-1]]
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
    layers: str = "",
) -> Network:
    """A network from inputs to outputs: `sizes` such as [784, 128, 10], or, with `layers` such
    as "conv8x5 pool dense128", that stack between sizes[0] (a square image) and sizes[-1].

    Each hidden layer is Dense → activation (→ Dropout), its weights initialised the way the
    activation asks (Glorot for sigmoid and tanh, He for ReLU); a convolution is followed by the
    activation too. The output stage is a Dense layer followed by whatever the loss declares: a
    Sigmoid for MSE (the seed's a2 = σ(z2)), nothing for cross-entropy (whose softmax lives in
    the loss).
    """
    hidden_activation, loss_function = ACTIVATIONS[activation], LOSSES[loss]()
    layers = " ".join(layers.split())  # only spaces: no image layers
    stack = [Dropout(input_dropout, rng)] if input_dropout else []
    if layers:
        image_layers, n_in = build_stack(layers, sizes[0], rng, dtype, hidden_activation, dropout)
        stack += image_layers
        sizes = [sizes[0], sizes[-1]]
    else:
        n_in = sizes[0]
        for n_out in sizes[1:-1]:
            dense = Dense.initialised(n_in, n_out, rng, dtype, hidden_activation.weight_init)
            stack += [dense, hidden_activation()]
            if dropout:
                stack.append(Dropout(dropout, rng))
            n_in = n_out
    stack.append(Dense.initialised(n_in, sizes[-1], rng, dtype))  # Glorot: sigmoid/softmax
    if loss_function.output_activation is not None:
        stack.append(loss_function.output_activation())
    architecture = {
        "sizes": list(sizes),
        "activation": activation,
        "loss": loss,
        "dropout": dropout,
        "input_dropout": input_dropout,
    }
    if layers:
        architecture["layers"] = layers
    return Network(stack, loss_function, architecture)


def build_stack(spec: str, inputs: int, rng, dtype, activation, dropout: float):
    """The layers a stack such as "conv8x5 pool conv16x5 pool dense128" names, from (N, inputs)
    rows to (N, units) rows, and that number of units (the output layer's inputs).

    (N, 784) rows become (1, 28, 28, N), one channel of N images; each convolution, followed by
    the activation, shrinks it by k − 1 (no padding, as LeNet: 28 → 24 for 5x5); each pool
    halves it; the first dense layer flattens the feature maps into rows. The shapes are
    `stack.plan_network`'s: worked out once, there.
    """
    plan = plan_network(inputs, 1, layers=spec)[:-1]  # the output layer is the caller's
    layers, init, pool_placed = [Reshape(*image_shape(inputs, spec))], activation.weight_init, False
    for planned, following in zip(plan, [*plan[1:], None], strict=True):
        normalised = following is not None and following.kind == "bn"  # its activation after
        if planned.kind == "conv":
            (channels, height, _), out_height = planned.input_shape, planned.output_shape[1]
            kernel = height - out_height + 1  # no padding: a k×k kernel shrinks it by k − 1
            layers.append(Conv2D(channels, planned.weight_shape[1], kernel, rng, 0, dtype, init))
            pool_placed = following.kind == "pool" and getattr(activation, "monotonic", False)
            if pool_placed:
                # conv → pool → activation: the same numbers as conv → activation → pool, as
                # max(σ(a), σ(b)) = σ(max(a, b)) for an activation that never decreases, and a
                # quarter of the activation's work.
                layers += [MaxPool2D(), activation()]
            elif not normalised:
                layers.append(activation())
        elif planned.kind == "bn":  # between the layer it normalises and that layer's activation
            layers.append(BatchNorm(planned.weight_shape[0], dtype))
            # bn → pool → activation, as after a conv (the note above): the statistics are still
            # those of every position, and the activation works on a quarter of them.
            pool_placed = (following is not None and following.kind == "pool"
                           and getattr(activation, "monotonic", False))  # fmt: skip
            if pool_placed:
                layers.append(MaxPool2D())
            layers.append(activation())
            if dropout and len(planned.input_shape) == 1:
                layers.append(Dropout(dropout, rng))
        elif planned.kind == "pool":
            if not pool_placed:
                layers.append(MaxPool2D())
            pool_placed = False
        elif planned.kind == "flatten":
            layers.append(Flatten())
        elif planned.kind == "columns":  # a line reader: the layers after it run per column
            channels, height, _ = planned.input_shape
            layers.append(Columns(planned.output_shape[0] // (channels * height)))
        else:
            n_in, units = planned.weight_shape
            layers.append(Dense.initialised(n_in, units, rng, dtype, init))
            if not normalised:
                layers.append(activation())
                if dropout:
                    layers.append(Dropout(dropout, rng))
    return layers, plan[-1].output_shape[0]
