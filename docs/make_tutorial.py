"""Write docs/tutorial.ipynb from the cells below and run it, keeping its outputs.

    python docs/make_tutorial.py

The notebook is generated so that its text and code stay in one reviewable file; CI runs the
notebook itself (tests/test_notebook.py) and fails on any error.
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

CELLS = [
    (
        "markdown",
        """# Backpropagation you can step through

This notebook walks through **one forward and one backward pass** of the seed design's network
with real numbers, each line of the design's math beside the library's own call, checks the
gradients against calculus, then trains the seed network on MNIST and switches on one extension
at a time. Everything here is the library's code: `mnist_nn.nn.layers`, `losses`, `optimizers`,
`training`. (Open it yourself with `pip install -e '.[notebook]'`, then
`jupyter lab docs/tutorial.ipynb`.)

The design, for a batch X (rows are examples):

    forward:   z1 = X·W1 + b1,  a1 = σ(z1),  z2 = a1·W2 + b2,  a2 = σ(z2)
    backward:  error = y − a2,  dz2 = error·σ'(a2),  dW2 = a1ᵀ·dz2,  db2 = Σ dz2,
               dz1 = (dz2·W2ᵀ)·σ'(a1),  dW1 = Xᵀ·dz1,  db1 = Σ dz1
    update:    W += lr·dW,  b += lr·db""",
    ),
    (
        "code",
        """%matplotlib inline
import numpy as np

from mnist_nn.nn.losses import one_hot
from mnist_nn.nn.network import build_network
from mnist_nn.nn.optimizers import SGD

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)
network = build_network([4, 3, 2], rng, dtype="float64")  # 4 inputs, 3 hidden, 2 outputs
dense1, sigmoid1, dense2, sigmoid2 = network.layers
print(network)

X = np.array([[0.0, 0.5, 1.0, 0.2], [0.9, 0.1, 0.0, 0.4]])  # two examples, 4 "pixels" each
y = one_hot(np.array([1, 0]), num_classes=2, dtype="float64")  # their classes, one-hot
W1, b1, W2, b2 = dense1.weight.copy(), dense1.bias.copy(), dense2.weight.copy(), dense2.bias.copy()
print("W1 =\\n", W1, "\\nW2 =\\n", W2)""",
    ),
    (
        "markdown",
        """## Forward

Each step twice: first the equation written in NumPy, then the library's layer doing it.
They agree to the last bit.""",
    ),
    (
        "code",
        """def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def show(equation, call, by_hand, by_library):
    assert np.allclose(by_hand, by_library, rtol=0, atol=1e-15), equation
    print(f"{equation:<24} {call}\\n{by_library}\\n")


z1, z1_lib = X @ W1 + b1, dense1.forward(X)
show("z1 = X·W1 + b1", "dense1.forward(X)", z1, z1_lib)
a1, a1_lib = sigmoid(z1), sigmoid1.forward(z1_lib)
show("a1 = σ(z1)", "sigmoid1.forward(z1)", a1, a1_lib)
z2, z2_lib = a1 @ W2 + b2, dense2.forward(a1_lib)
show("z2 = a1·W2 + b2", "dense2.forward(a1)", z2, z2_lib)
a2, a2_lib = sigmoid(z2), sigmoid2.forward(z2_lib)
show("a2 = σ(z2)", "sigmoid2.forward(z2)", a2, a2_lib)""",
    ),
    (
        "markdown",
        """## Backward

The design writes `error = y − a2` and *adds* `lr·dW`; the library passes the gradient of the
loss L = ½·Σ(y − a2)² instead, dL/da2 = a2 − y = −error, and *subtracts* `lr·dW`. Same
arithmetic, opposite sign at both ends, so every library gradient below is the negative of the
design's.""",
    ),
    (
        "code",
        """loss, dL_da2 = network.loss(a2_lib, y)
error = y - a2
show("error = y − a2", "−network.loss(a2, y)[1]", error, -dL_da2)
print(f"reported loss (mean of (y − a2)²) = {loss:.6f}\\n")

dz2, dz2_lib = error * a2 * (1 - a2), sigmoid2.backward(dL_da2)
show("dz2 = error·σ'(a2)", "−sigmoid2.backward(dL/da2)", dz2, -dz2_lib)
da1_lib = dense2.backward(dz2_lib)  # stores dense2.dweight and dense2.dbias
show("dW2 = a1ᵀ·dz2", "−dense2.dweight", a1.T @ dz2, -dense2.dweight)
show("db2 = Σ dz2", "−dense2.dbias", dz2.sum(axis=0), -dense2.dbias)
dz1, dz1_lib = (dz2 @ W2.T) * a1 * (1 - a1), sigmoid1.backward(da1_lib)
show("dz1 = (dz2·W2ᵀ)·σ'(a1)", "−sigmoid1.backward(dense2's dx)", dz1, -dz1_lib)
dense1.backward(dz1_lib)
show("dW1 = Xᵀ·dz1", "−dense1.dweight", X.T @ dz1, -dense1.dweight)
show("db1 = Σ dz1", "−dense1.dbias", dz1.sum(axis=0), -dense1.dbias)""",
    ),
    (
        "markdown",
        "## Update\n\n`W += lr·dW` in the design; `SGD.step` subtracts lr times the library's "
        "(negated) gradient: the same new weights.",
    ),
    (
        "code",
        """learning_rate = 0.5
SGD(learning_rate).step(network.parameters())
show("W2 + lr·dW2", "W2 after SGD.step", W2 + learning_rate * (a1.T @ dz2), dense2.weight)
show("W1 + lr·dW1", "W1 after SGD.step", W1 + learning_rate * (X.T @ dz1), dense1.weight)""",
    ),
    (
        "markdown",
        """## Check the gradients against calculus

For each weight θ, the numerical gradient (L(θ + ε) − L(θ − ε)) / 2ε should match backprop's.
The relative error is about 1e-9 when the math is right. Then we break the sigmoid's
derivative on purpose (σ' = a instead of a·(1 − a)) and watch the check catch it.""",
    ),
    (
        "code",
        """from mnist_nn.nn.gradcheck import check_network
from mnist_nn.nn.layers import Sigmoid

for name, error in check_network(network, X, y):
    print(f"{name:<14} relative error {error:.1e}")

correct_backward = Sigmoid.backward
Sigmoid.backward = lambda self, dout: dout * self.a  # wrong: σ'(z) is a·(1 − a), not a
try:
    print("\\nwith a broken sigmoid derivative:")
    for name, error in check_network(network, X, y):
        print(f"{name:<14} relative error {error:.1e}  {'ok' if error < 1e-6 else 'WRONG'}")
finally:
    Sigmoid.backward = correct_backward""",
    ),
    (
        "markdown",
        """## The seed network on MNIST

The same loop `python main.py` runs. MNIST is found as `python main.py` finds it
(`MNIST_DATA_DIR`, then the download cache); without it, scikit-learn's small `digits` set
stands in (framed as 28x28).""",
    ),
    (
        "code",
        """from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import load_dataset
from mnist_nn.evaluate.plots import plot_curves
from mnist_nn.train.loop import train

dataset = load_dataset()
print(dataset.name, len(dataset.train), "training images,", len(dataset.test), "test images")
seed = train(TrainConfig(), dataset)
print(f"test accuracy after {len(seed.history)} epochs: {seed.test_accuracy:.2%}")
plot_curves(seed.history)""",
    ),
    (
        "markdown",
        """Every mini-batch's loss (the History callback keeps them): most of the learning
happens in the first few hundred steps.""",
    ),
    (
        "code",
        """from matplotlib.figure import Figure

figure = Figure(figsize=(8, 3), layout="constrained")
ax = figure.subplots()
ax.plot(seed.batch_losses, linewidth=0.6)
ax.set(xlabel="mini-batch", ylabel="training loss (MSE)", yscale="log")
ax.set_title("The seed, batch by batch")
figure""",
    ),
    (
        "markdown",
        """## One convolution, forward and backward

The next chapter's layer, with real numbers: one 5x5 image, one 3x3 filter. Forward, the
filter slides over the image and takes a dot product with the patch under it at each of the
3x3 positions; the layer does all positions as one matrix product (im2col). Backward, each
position's gradient dz flows to the filter (dW = Σ over positions of patch·dz: the same filter
at every position, so its gradients add up) and back to the pixels under it (dx: each pixel
collects dz·w from every position whose patch covered it). Images in the layer are
(channels, height, width, batch).""",
    ),
    (
        "code",
        """from mnist_nn.nn.convolution import Conv2D

conv = Conv2D(channels=1, filters=1, kernel=3, rng=np.random.default_rng(1), dtype="float64")
image = np.random.default_rng(2).integers(0, 10, (5, 5)) / 10  # one 5x5 image
w = conv.weight.reshape(3, 3)  # the filter (W's one column, unrolled)
x = image[None, :, :, None]  # (C, H, W, N) = (1, 5, 5, 1)

z = np.array([[np.sum(image[i : i + 3, j : j + 3] * w) for j in range(3)] for i in range(3)])
show("z[i,j] = Σ patch·w + b", "conv.forward(x)", z + conv.bias, conv.forward(x)[0, :, :, 0])

dz = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]])  # a gradient from above
dx = conv.backward(dz[None, :, :, None])[0, :, :, 0]
dW = sum(image[i : i + 3, j : j + 3] * dz[i, j] for i in range(3) for j in range(3))
show("dW = Σ patch·dz", "conv.dweight", dW, conv.dweight.reshape(3, 3))
dx_by_hand = np.zeros((5, 5))
for i in range(3):
    for j in range(3):
        dx_by_hand[i : i + 3, j : j + 3] += dz[i, j] * w
show("dx: each patch += dz·w", "conv.backward(dz)", dx_by_hand, dx)""",
    ),
    (
        "markdown",
        """## One extension at a time

Each run starts from the seed and changes one thing, for 5 epochs, holding 5,000 training
images out for validation (choices are made there, never on the test set).""",
    ),
    (
        "code",
        """from dataclasses import replace

base = replace(TrainConfig(), epochs=5, val_size=5000 if dataset.name == "mnist" else 300)
held_out = load_dataset(dataset.name, val_size=base.val_size)
variants = {
    "seed": base,
    "ReLU": replace(base, activation="relu"),
    "tanh": replace(base, activation="tanh"),
    "cross-entropy": replace(base, loss="cross_entropy"),
    "momentum 0.5": replace(base, optimizer="momentum", momentum=0.5, learning_rate=0.005),
}
results = {}
for name, config in variants.items():
    result = train(config, held_out)
    results[name] = result
    print(f"{name:<14} validation {result.history[-1]['val_accuracy']:.2%}")

figure = Figure(figsize=(8, 3.5), layout="constrained")
ax = figure.subplots()
for name, result in results.items():
    ax.plot([100 * r["val_accuracy"] for r in result.history], marker="o", label=name)
ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="One change at a time")
ax.legend()
figure""",
    ),
    (
        "markdown",
        """Cross-entropy and ReLU help most, for the same reason: the seed's output gradient
(a2 − y)·a2·(1 − a2) almost vanishes when a sigmoid output is confidently wrong (0.0098 at
a2 = 0.99 for y = 0), while softmax with cross-entropy passes p − y (0.99) straight back.
Next: `mnist-nn compare` for the full ablation, and the README's "Add your own" to write an
activation or a loss of your own.""",
    ),
]


def build() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    notebook.cells = [make[kind](source) for kind, source in CELLS]
    return notebook


if __name__ == "__main__":
    notebook = build()
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute(cwd=str(HERE))
    nbformat.write(notebook, HERE / "tutorial.ipynb")
    print(f"wrote {HERE / 'tutorial.ipynb'}")
