"""The README's pictures and experiments, drawn by the project's own code.

    python docs/experiments.py                 # every picture, into ./experiments
    python docs/experiments.py learning-rates  # just one (names: see PICTURES below)
    python docs/experiments.py --limit 5000    # on the first 5,000 training (and test) images
    python docs/experiments.py --out docs      # redraw the pictures the docs show

Each picture is one function: it trains with the library's Trainer where it needs to (MNIST as
`python main.py` finds it, else the offline digits) and draws with matplotlib.
"""

import argparse
import contextlib
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import Split, load_dataset
from mnist_nn.errors import UserError
from mnist_nn.train.callbacks import LambdaCallback
from mnist_nn.train.loop import Trainer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the benchmarks package, whose image generator draws one


def sigmoid(out: Path, dataset=None) -> str:
    """σ(z) and its slope σ'(z) = σ(z)(1 − σ(z)): almost flat beyond |z| > 5."""
    z = np.linspace(-10, 10, 400)
    a = 1 / (1 + np.exp(-z))
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    ax = figure.subplots()
    ax.plot(z, a, label="σ(z) = 1 / (1 + e^−z)", color="#2563eb")
    ax.plot(z, a * (1 - a), label="σ'(z) = σ(z)·(1 − σ(z)), at most 0.25", color="#b45309")
    for side in (-1, 1):
        ax.axvspan(5 * side, 10 * side, color="#9ca3af", alpha=0.25)
    ax.text(-9.6, 0.55, "saturated:\nσ' < 0.007,\nlearning stalls", fontsize=8)
    ax.text(5.4, 0.55, "saturated", fontsize=8)
    ax.set(xlabel="z", title="The sigmoid and its slope")
    # Below the axes: inside, the legend would cover the saturated regions' labels or a curve.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8, frameon=False)
    figure.savefig(out / "sigmoid.png", dpi=100)
    return f"σ'(0) = {0.25:.2f}, σ'(5) = {sigmoid_slope(5):.4f}, σ'(10) = {sigmoid_slope(10):.6f}"


def sigmoid_slope(z: float) -> float:
    a = 1 / (1 + np.exp(-z))
    return float(a * (1 - a))


def output_gradient(out: Path, dataset=None) -> str:
    """δ = dL/dz of one output against what it says, for MSE through a sigmoid (the seed's) and
    for softmax with cross-entropy, computed by the library's own loss and sigmoid layer: where
    the output is wrong (y = 0 but it says yes; y = 1 but it says no), MSE's δ vanishes."""
    from mnist_nn.nn.layers import Sigmoid
    from mnist_nn.nn.losses import MeanSquaredError, SoftmaxCrossEntropy

    z = np.linspace(-8, 8, 401)[:, None]  # one output's z, one row per value
    sigmoid = Sigmoid()
    a = sigmoid.forward(z.copy()).copy()
    # Cross-entropy: that output's logit beside nine others at 0, so p runs over (0, 1) too.
    logits = np.concatenate([z, np.zeros((len(z), 9))], axis=1)
    p = SoftmaxCrossEntropy().scores(logits)[:, :1]
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    figures = []
    for ax, y, title in ((axes[0], 0.0, "the answer is not this digit (y = 0)"),
                         (axes[1], 1.0, "the answer is this digit (y = 1)")):  # fmt: skip
        _, dL_da = MeanSquaredError()(a, np.full_like(a, y))
        mse = sigmoid.backward(dL_da.copy())  # δ = dL/da · σ'(z)
        targets = np.zeros_like(logits)
        targets[:, 0] = y
        cross_entropy = SoftmaxCrossEntropy()(logits, targets)[1][:, :1]  # δ = p − y
        ax.plot(a, np.abs(mse), color="#b45309", label="MSE through a sigmoid: |(a − y)·a(1 − a)|")
        ax.plot(p, np.abs(cross_entropy), color="#2563eb", label="softmax + cross-entropy: |p − y|")
        ax.set(xlabel="what the output says (a, or p)", title=title)
        ax.axvspan(*((0.9, 1.0) if y == 0 else (0.0, 0.1)), color="#fecaca", alpha=0.5)
        ax.legend(fontsize=8, loc="upper center")
        wrong = 0.99 if y == 0 else 0.01
        at = np.argmin(np.abs(a[:, 0] - wrong))
        at_p = np.argmin(np.abs(p[:, 0] - wrong))
        figures.append(f"y = {y:g}, output {wrong}: MSE {abs(mse[at, 0]):.4f}, "
                       f"cross-entropy {abs(cross_entropy[at_p, 0]):.2f}")  # fmt: skip
    axes[0].set_ylabel("|δ| = |dL/dz|: the size of the correction")
    figure.suptitle("The output's gradient against what it says (red: confidently wrong)")
    figure.savefig(out / "output_gradient.png", dpi=100)
    return "; ".join(figures)


def im2col(out: Path, dataset=None) -> str:
    """A convolution as one matrix product, by the library's Conv2D on a 6x6 image: every 3x3
    patch becomes a column of `cols`, and Wᵀ·cols gives every filter at every position at once."""

    from mnist_nn.nn.convolution import Conv2D

    image = np.zeros((6, 6), dtype=np.float64)
    image[1, 1:5], image[2:5, 4 - np.arange(3) // 2] = 1.0, 1.0  # a small 7
    conv = Conv2D(1, 2, 3, np.random.default_rng(0), dtype="float64")
    z = conv.forward(image.reshape(1, 6, 6, 1))  # (F, Ho, Wo, N) = (2, 4, 4, 1)
    cols, weights = conv.cols, conv.weight  # (9, 16) and (9, 2)
    row, column = 1, 2  # the patch drawn: output position (1, 2), column 1·4 + 2 of cols
    position = row * 4 + column
    figure = Figure(figsize=(12, 3.4), layout="constrained")
    axes = figure.subplots(1, 4, width_ratios=[1.1, 2.4, 1.2, 2.4])
    axes[0].imshow(image, cmap="gray")
    axes[0].add_patch(Rectangle((column - 0.5, row - 0.5), 3, 3, fill=False, color="#f59e0b", lw=2))
    axes[0].set_title("x (6x6), a 3x3 patch")
    axes[1].imshow(cols, cmap="gray")
    axes[1].add_patch(Rectangle((position - 0.5, -0.5), 1, 9, fill=False, color="#f59e0b", lw=2))
    axes[1].set_title("cols (9, 16): every patch a column")
    axes[2].imshow(weights.T, cmap="coolwarm")
    axes[2].set_title("Wᵀ (2, 9): a filter a row")
    axes[3].imshow(z.reshape(2, 16), cmap="coolwarm")
    axes[3].add_patch(Rectangle((position - 0.5, -0.5), 1, 2, fill=False, color="#f59e0b", lw=2))
    axes[3].set_title("z = Wᵀ·cols (2, 16): both 4x4 maps")
    for ax in axes:
        ax.set(xticks=[], yticks=[])
    figure.suptitle("im2col: a convolution as one matrix product (the orange column is the "
                    "orange patch, and its two outputs)")  # fmt: skip
    figure.savefig(out / "im2col.png", dpi=100)
    patch = image[row : row + 3, column : column + 3]
    same = np.allclose(z[:, row, column, 0], weights.T @ patch.reshape(9) + conv.bias)
    return (f"cols {cols.shape}, Wᵀ {weights.T.shape}, z {z.shape[:3]}; the patch's column "
            f"times Wᵀ is its two outputs: {same}")  # fmt: skip


def network(out: Path, dataset=None) -> str:
    """The seed network with the shape of every array of one forward pass."""
    figure = Figure(figsize=(9, 3), layout="constrained")
    ax = figure.subplots()
    ax.axis("off")
    ax.set(xlim=(0, 10), ylim=(0, 3))
    boxes = [
        (0.6, "X\n(N, 784)\n28x28 pixels", "#e5e7eb"),
        (3.6, "a1 = σ(X·W1 + b1)\n(N, 128)\nhidden units", "#dbeafe"),
        (6.9, "a2 = σ(a1·W2 + b2)\n(N, 10)\none per digit", "#dcfce7"),
    ]
    for x, text, colour in boxes:
        ax.add_patch(_box(x, colour))
        ax.text(x + 1.1, 1.5, text, ha="center", va="center", fontsize=9)
    for x, text in ((2.8, "W1 (784, 128)\nb1 (128,)"), (6.1, "W2 (128, 10)\nb2 (10,)")):
        ax.annotate("", xy=(x + 0.7, 1.5), xytext=(x - 0.5, 1.5), arrowprops={"arrowstyle": "->"})
        ax.text(x + 0.1, 2.2, text, ha="center", fontsize=8)
    ax.text(5, 0.15, "N images per mini-batch (128); rows are examples", ha="center", fontsize=8)
    figure.savefig(out / "network.png", dpi=100)
    return "784·128 + 128 + 128·10 + 10 = 101,770 parameters"


def backward(out: Path, dataset=None) -> str:
    """The seed's backward pass, right to left, with the shape of every array: the gradient
    flows back through the layers (top row) and leaves each layer's dW and db (bottom row)."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    ax = figure.subplots()
    ax.axis("off")
    ax.set(xlim=(0, 12.4), ylim=(0, 4.4))
    flow = [
        (9.9, "dL/da2 = a2 − y\n(N, 10)\nthe loss", "#fee2e2"),
        (7.4, "δ2 = dL/da2 · σ'(z2)\n(N, 10)\nσ'(z2) = a2(1 − a2)", "#dcfce7"),
        (4.9, "δ2·W2ᵀ = dL/da1\n(N, 128)\nsent back", "#dbeafe"),
        (2.4, "δ1 = (δ2·W2ᵀ)·σ'(z1)\n(N, 128)", "#dbeafe"),
    ]
    for x, text, colour in flow:
        ax.add_patch(_box(x - 1.1, colour, y=2.4, height=1.5, width=2.2))
        ax.text(x, 3.15, text, ha="center", va="center", fontsize=8.5)
    for start, end in zip(flow[:-1], flow[1:], strict=True):
        ax.annotate("", xy=(end[0] + 1.15, 3.15), xytext=(start[0] - 1.15, 3.15),
                    arrowprops={"arrowstyle": "->"})  # fmt: skip
    grads = [
        (7.4, "dL/dW2 = a1ᵀ·δ2  (128, 10)\ndL/db2 = Σ δ2  (10,)"),
        (2.4, "dL/dW1 = Xᵀ·δ1  (784, 128)\ndL/db1 = Σ δ1  (128,)"),
    ]
    for x, text in grads:
        ax.add_patch(_box(x - 1.5, "#fef3c7", y=0.45, height=1.1, width=3.0))
        ax.text(x, 1.0, text, ha="center", va="center", fontsize=8.5)
        ax.annotate("", xy=(x, 1.6), xytext=(x, 2.35), arrowprops={"arrowstyle": "->"})
    step = "then W −= lr·dL/dW, b −= lr·dL/db\n(sums over the N examples;\n"
    step += "δ = dL/dz: the design's dz negated)"
    ax.text(10.6, 1.0, step, ha="center", va="center", fontsize=8.5)
    ax.text(6.2, 4.2, "The backward pass of the seed network: right to left", ha="center",
            fontsize=10)  # fmt: skip
    figure.savefig(out / "backward.png", dpi=100)
    return (
        "dL/dW1 (784, 128) and dL/dW2 (128, 10): one gradient per weight, the weights' own shapes"
    )


def _box(x: float, colour: str, y: float = 0.7, height: float = 1.6, width: float = 2.2):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.05", color=colour)


def train_losses(config: TrainConfig, dataset) -> tuple[list[float], str]:
    """Every mini-batch's loss of a run, and how it ended (a run that stalls stops itself)."""
    trainer = Trainer(config, dataset.train.images.shape[1], dataset.classes)
    try:
        result = trainer.fit(dataset)
        ending = f"{100 * result.history[-1].get('val_accuracy', result.test_accuracy):.1f}%"
    except UserError:
        ending = "stopped: saturated"
    return trainer.state.batch_losses, ending


def learning_rates(out: Path, dataset) -> str:
    """The seed for one epoch at three learning rates, every mini-batch's loss."""
    figure = Figure(figsize=(8, 3.5), layout="constrained")
    ax = figure.subplots()
    endings = []
    for rate, colour in ((0.001, "#2563eb"), (0.01, "#16a34a"), (0.1, "#dc2626")):
        config = replace(TrainConfig(), epochs=1, learning_rate=rate, val_size=500)
        losses, ending = train_losses(config, dataset)
        ax.plot(losses, linewidth=0.8, color=colour, label=f"lr {rate}: {ending}")
        endings.append(f"lr {rate}: {ending}")
    ax.set(xlabel="mini-batch", ylabel="training loss (MSE)", yscale="log")
    ax.set_title("The seed's first epoch at three learning rates (held-out accuracy after it)")
    ax.legend(fontsize=8)
    figure.savefig(out / "learning_rates.png", dpi=100)
    return ", ".join(endings)


def saturation(out: Path, dataset) -> str:
    """Hidden and output activations after one epoch: the seed, and the seed with 1,000 units."""
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    axes = figure.subplots(1, 2)
    figures = []
    for ax, hidden, title in ((axes[0], 128, "--hidden 128 (the seed)"),
                              (axes[1], 1000, "--hidden 1000, same lr 0.01")):  # fmt: skip
        config = replace(TrainConfig(), epochs=1, hidden_sizes=(hidden,), val_size=500)
        trainer = Trainer(config, dataset.train.images.shape[1], dataset.classes)
        with contextlib.suppress(UserError):  # the wide one stalls: its activations are the point
            trainer.fit(dataset)
        scores, layers = trainer.network.explain(dataset.validation.images)
        near_zero = float(np.mean(scores < 0.01))
        figures.append(f"{hidden} units: {near_zero:.0%} of outputs below 0.01")
        bins = np.linspace(0, 1, 41)
        ax.hist(np.ravel(layers[0]), bins=bins, alpha=0.7, label="hidden a1", color="#2563eb")
        ax.hist(np.ravel(scores), bins=bins, alpha=0.7, label="outputs a2", color="#b45309")
        ax.set(yscale="log", xlabel="activation", title=title)
        ax.legend(fontsize=8)
    figure.suptitle("After one epoch: with 1,000 units every output sits at 0 (saturated)")
    figure.savefig(out / "saturation.png", dpi=100)
    return "; ".join(figures)


def losses(out: Path, dataset) -> str:
    """MSE (the seed's) against softmax cross-entropy, same network otherwise: held-out accuracy."""
    figure = Figure(figsize=(8, 3.5), layout="constrained")
    ax = figure.subplots()
    figures = []
    for loss, colour in (("mse", "#b45309"), ("cross_entropy", "#2563eb")):
        config = replace(TrainConfig(), epochs=5, loss=loss, val_size=500)
        result = Trainer(config, dataset.train.images.shape[1], dataset.classes).fit(dataset)
        accuracy = [100 * record["val_accuracy"] for record in result.history]
        ax.plot(range(1, len(accuracy) + 1), accuracy, marker="o", color=colour, label=loss)
        figures.append(f"{loss} {accuracy[-1]:.1f}%")
    ax.set(xlabel="epoch", ylabel="held-out accuracy (%)")
    ax.set_title("The seed with MSE and with cross-entropy")
    ax.legend()
    figure.savefig(out / "losses.png", dpi=100)
    return "held-out accuracy after 5 epochs: " + ", ".join(figures)


def hidden_spread(config: TrainConfig, dataset) -> tuple[list[np.ndarray], list[float]]:
    """After each epoch of a run: its hidden activations on the held-out images, and the
    held-out accuracy."""
    spreads = []

    def keep(trainer, record):
        spreads.append(trainer.network.explain(dataset.validation.images)[1][0].ravel())

    result = Trainer(config, dataset.train.images.shape[1], dataset.classes,
                     callbacks=[LambdaCallback(on_epoch_end=keep)]).fit(dataset)  # fmt: skip
    return spreads, [100 * record["val_accuracy"] for record in result.history]


def saturated_share(activations: np.ndarray) -> float:
    """The fraction of sigmoid activations within 0.01 of 0 or 1, where σ' = a(1 − a) < 0.01."""
    return float(np.mean((activations < 0.01) | (activations > 0.99)))


def batch_norm(out: Path, dataset) -> str:
    """The seed's hidden activations epoch by epoch, without and with a batch norm between its
    hidden layer and the sigmoid (same learning rate, 0.01); and what lr 0.05 does to each."""
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    figures = []
    runs = (("", "the seed"), ("dense128 bn", "with bn: --layers 'dense128 bn'"))
    for ax, (layers, title) in zip(axes, runs, strict=True):
        config = replace(TrainConfig(), layers=layers, val_size=500)
        spreads, accuracy = hidden_spread(config, dataset)
        epochs = range(1, len(spreads) + 1)
        bands = np.percentile(np.stack(spreads), [5, 25, 50, 75, 95], axis=1)
        ax.fill_between(epochs, bands[0], bands[4], color="#93c5fd", label="5th to 95th percentile")
        ax.fill_between(epochs, bands[1], bands[3], color="#2563eb", label="25th to 75th")
        ax.plot(epochs, bands[2], color="black", linewidth=1, label="median")
        shares = [100 * saturated_share(a) for a in spreads]
        twin = ax.twinx()
        twin.plot(epochs, shares, color="#dc2626", marker=".", label="% saturated (right)")
        twin.set(ylim=(0, 30), ylabel="% of activations within 0.01 of 0 or 1")
        ax.set(xlabel="epoch", ylim=(0, 1), title=f"{title}: {accuracy[-1]:.1f}% held out")
        ax.legend(fontsize=7, loc="upper left")
        twin.legend(fontsize=7, loc="upper right")
        _, ending = train_losses(replace(config, epochs=1, learning_rate=0.05), dataset)
        figures.append(f"{title}: {shares[-1]:.1f}% saturated after {len(shares)} epochs, "
                       f"{accuracy[-1]:.1f}% held out; lr 0.05: {ending}")  # fmt: skip
    axes[0].set_ylabel("hidden activation a1 (held-out images)")
    figure.suptitle("The seed's hidden sigmoids epoch by epoch, lr 0.01")
    figure.savefig(out / "batch_norm.png", dpi=100)
    return "; ".join(figures)


def framing(out: Path, dataset) -> str:
    """Four user-like photos of MNIST test digits (benchmarks/user_images.py) through each step of
    `predict`'s framing: the photo, the ink once paper and light are flattened, the digit's
    pieces, its strokes (thin ones redrawn at MNIST's width), and the 28x28 the network reads."""
    import io

    from benchmarks.user_images import render
    from mnist_nn.data import framing as steps
    from mnist_nn.reading.images import greys, read_image

    rng = np.random.default_rng(3)
    figure = Figure(figsize=(10, 8.4), layout="constrained")
    axes = figure.subplots(4, 5)
    titles = ["the photo", "paper and light flattened", "the digit's pieces",
              "thin strokes at MNIST's width", "what the network reads"]  # fmt: skip
    for row, index in enumerate((0, 2, 7, 21)):
        data, what = render(dataset.test.images[index].reshape(28, 28), rng)
        picture = read_image(io.BytesIO(data), what)
        flat, mask = steps.find_digit(steps.ink_on_black(greys(picture)))
        strokes, marker = steps.normalise_strokes(flat, mask)
        shown = [picture, flat, mask, strokes, steps.frame_like_mnist(strokes, marker)]
        for column, (ax, image) in enumerate(zip(axes[row], shown, strict=True)):
            ax.imshow(image, cmap=None if column == 0 else "gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(titles[column], fontsize=9)
        axes[row][0].set_ylabel(what.replace(" paper", "\npaper").replace(" page", ""), fontsize=7)
    figure.savefig(out / "framing.png", dpi=90)
    return "four test digits, photographed and framed again"


SHIFTS = (0, 1, 2, 3, 4)  # pixels
# Fully connected and convolutional, each without augmentation and with it (±2 px shifts).
SHIFT_PRESETS = ("quick", "cnn", "best", "cnn-best")
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # right, left, down, up


def shifted_images(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """(N, 784) digits moved `rows` down and `columns` right (negative: up, left); what moves out
    of the 28x28 frame is lost and blank paper comes in (MNIST's digits sit in the middle 20x20,
    so up to 4 px loses no ink)."""
    square = images.reshape(-1, 28, 28)
    moved = np.zeros_like(square)
    source = square[:, max(-rows, 0) : 28 - max(rows, 0), max(-columns, 0) : 28 - max(columns, 0)]
    moved[:, max(rows, 0) : 28 - max(-rows, 0), max(columns, 0) : 28 - max(-columns, 0)] = source
    return moved.reshape(len(images), -1)


def preset_models(dataset, names, models: dict, epochs: int | None) -> dict:
    """{name: network} for each preset name: its `--models` file if given, else that preset
    trained here (on the `--limit`ed data; `--epochs` shortens it, for a quick look)."""
    from mnist_nn.presets import PRESETS
    from mnist_nn.saving.model_files import load_model

    networks = {}
    for name in names:
        if name in models:
            networks[name] = load_model(models[name])[0]
            continue
        config = PRESETS[name] if epochs is None else replace(PRESETS[name], epochs=epochs)
        networks[name] = Trainer(config, dataset.train.images.shape[1]).fit(dataset).network
    return networks


def shifted(out: Path, dataset, models: dict | None = None, epochs: int | None = None) -> str:
    """Test digits moved 1 to 4 px (right, left, down and up, averaged), read by fully-connected
    and convolutional models trained on centred digits (quick, cnn) and on shifted ones too
    (best, cnn-best)."""
    test = dataset.test
    networks = preset_models(dataset, SHIFT_PRESETS, models or {}, epochs)
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    ax, examples = figure.subfigures(1, 2, width_ratios=(1.4, 1))
    ax = ax.subplots()
    figures = []
    colours = ("#f59e0b", "#60a5fa", "#b45309", "#1d4ed8")
    for (name, network), colour in zip(networks.items(), colours, strict=True):
        accuracy = []
        for shift in SHIFTS:
            directions = DIRECTIONS if shift else DIRECTIONS[:1]  # unmoved: one is enough
            moved = [shifted_images(test.images, shift * dr, shift * dc) for dr, dc in directions]
            correct = [np.mean(network.predict(images) == test.labels) for images in moved]
            accuracy.append(100 * float(np.mean(correct)))
        kind = "convolutional" if network.architecture.get("layers") else "fully connected"
        moved = ", trained on shifted digits" if name in ("best", "cnn-best") else ""
        ax.plot(SHIFTS, accuracy, marker="o", color=colour, label=f"{name} ({kind}{moved})")
        figures.append(f"{name}: " + ", ".join(f"{a:.1f}%" for a in accuracy))
    ax.set(xlabel="pixels moved", ylabel="test accuracy (%)", xticks=SHIFTS)
    ax.set_title("Test digits moved off centre", fontsize=10)
    ax.legend(fontsize=8)
    cells = examples.subplots(1, len(SHIFTS))
    for cell, shift in zip(cells, SHIFTS, strict=True):
        cell.imshow(shifted_images(test.images[:1], 0, shift).reshape(28, 28), cmap="gray")
        cell.set(xticks=[], yticks=[], title=f"{shift} px")
    figure.savefig(out / "shifted.png", dpi=100)
    return "test accuracy at 0-4 px: " + "; ".join(figures)


def filters(out: Path, dataset, models: dict | None = None, epochs: int | None = None) -> str:
    """The `cnn` model's first convolution: its filters, and what each makes of a test digit
    (its feature map: high where the digit has what the filter looks for)."""
    from mnist_nn.nn.convolution import Conv2D

    network = preset_models(dataset, ("cnn",), models or {}, epochs)["cnn"]
    conv = next(layer for layer in network.layers if isinstance(layer, Conv2D))
    kernels = conv.filters_as_images()[:, 0]  # (F, k, k): one input channel, the pixels
    digits = dataset.test.images[:2]
    maps = network.feature_maps(digits)  # (2, F, Ho, Wo)
    count = len(kernels)
    figure = Figure(figsize=(1.2 * count, 4.2), layout="constrained")
    axes = figure.subplots(3, count + 1, squeeze=False)
    for ax in axes.ravel():
        ax.set(xticks=[], yticks=[])
        ax.set_frame_on(False)
    axes[0][0].text(0.5, 0.5, "filters\n(red +, blue −)", ha="center", va="center", fontsize=8)
    for row, digit in ((1, 0), (2, 1)):
        axes[row][0].imshow(digits[digit].reshape(28, 28), cmap="gray_r")
    for f in range(count):
        limit = np.abs(kernels[f]).max()
        axes[0][f + 1].imshow(kernels[f], cmap="bwr", vmin=-limit, vmax=limit)
        axes[0][f + 1].set_title(f"filter {f + 1}", fontsize=8)
        for row, digit in ((1, 0), (2, 1)):
            limit = np.abs(maps[digit, f]).max() or 1.0
            axes[row][f + 1].imshow(maps[digit, f], cmap="bwr", vmin=-limit, vmax=limit)
    figure.suptitle("The first convolution's filters, and their feature maps of two test digits")
    figure.savefig(out / "filters.png", dpi=100)
    side = kernels.shape[-1]
    return f"{count} filters of {side}x{side}, maps of {maps.shape[2]}x{maps.shape[3]}"


def moving_map(out: Path, dataset, models: dict | None = None, epochs: int | None = None) -> str:
    """Why convolution helps with a digit off centre: a test digit and the same digit moved 4 px
    right, and one filter's feature map of each (the `cnn` model's first convolution). The map
    moves with the digit, unchanged: the same weights at every position."""
    network = preset_models(dataset, ("cnn",), models or {}, epochs)["cnn"]
    digit = dataset.test.images[:1]
    moved = shifted_images(digit, 0, 4)
    maps = network.feature_maps(np.concatenate([digit, moved]))  # (2, F, 24, 24)
    strongest = int(np.abs(maps[0]).sum(axis=(1, 2)).argmax())  # the filter that sees the most
    figure = Figure(figsize=(9, 4.4), layout="constrained")
    axes = figure.subplots(2, 3)
    limit = np.abs(maps[:, strongest]).max() or 1.0
    for row, (image, title) in enumerate(((digit, "a test digit"), (moved, "moved 4 px right"))):
        axes[row][0].imshow(image.reshape(28, 28), cmap="gray_r")
        axes[row][0].set_title(title, fontsize=9)
        axes[row][1].imshow(maps[row, strongest], cmap="bwr", vmin=-limit, vmax=limit)
        axes[row][1].set_title(f"filter {strongest + 1}'s feature map", fontsize=9)
    # the first map moved 4 columns right, beside the second: the same numbers
    carried = np.full(maps[0, strongest].shape, np.nan)  # blank where no map was before
    carried[:, 4:] = maps[0, strongest][:, :-4]
    axes[0][2].imshow(carried, cmap="bwr", vmin=-limit, vmax=limit)
    axes[0][2].set_title("the first map, moved 4 px", fontsize=9)
    difference = np.abs(maps[1, strongest] - carried)[:, 4:]  # where both maps see the digit
    axes[1][2].imshow(maps[1, strongest] - carried, cmap="bwr", vmin=-limit, vmax=limit)
    axes[1][2].set_title(f"their difference: at most {difference.max():.1e}", fontsize=9)
    for ax in axes.ravel():
        ax.set(xticks=[], yticks=[])
    figure.suptitle("A feature map moves with the digit: the same filter at every position")
    figure.savefig(out / "moving_map.png", dpi=100)
    return (
        f"filter {strongest + 1}: the moved digit's map is the map moved, to {difference.max():.1e}"
    )


def seams(out: Path, dataset, models: dict | None = None, epochs: int | None = None) -> str:
    """Two test digits written touching, the seams tried between them (paths of least ink, top
    to bottom, `reading.seams.cut_paths`), and how the number reader cut and read them with the
    `quick` model (`reading.written_number.segment`: the cut whose pieces read best)."""
    from scipy import ndimage

    from mnist_nn.reading.reader import Reader
    from mnist_nn.reading.seams import cut_paths
    from mnist_nn.reading.written_number import segment

    network = preset_models(dataset, ("quick",), models or {}, epochs)["quick"]
    first, second = (dataset.test.images[i].reshape(28, 28) for i in (1, 2))
    for offset in range(24, 8, -1):  # the second digit moved left until its ink meets the first's
        line = np.zeros((28, offset + 28))
        line[:, :28] = first
        line[:, offset:] = np.maximum(line[:, offset:], second)
        if ndimage.label(line > 0.5)[1] == 1:
            break
    scale = 4  # a photo's size, as people's images come
    ink = ndimage.zoom(line, scale, order=1)
    grey = (255 * (1 - np.clip(ink, 0, 1))).astype(np.uint8)  # dark ink on white paper
    mask = ink > 0.5
    paths = cut_paths(mask, line_height=28 * scale)
    digits = segment(grey, Reader.for_network(network))
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax in axes:
        ax.imshow(grey, cmap="gray")
        ax.set(xticks=[], yticks=[])
    for path in paths:
        axes[0].plot(path, np.arange(len(path)), color="#f59e0b", linewidth=1)
    axes[0].set_title(f"{len(paths)} seams tried: paths of least ink, top to bottom", fontsize=9)
    for digit in digits:
        left, top, right, bottom = digit.box
        axes[1].add_patch(Rectangle((left, top), right - left, bottom - top, fill=False,
                                    color="#2563eb", linewidth=2))  # fmt: skip
        axes[1].text(left, top - 4, f"{digit.label} ({digit.probability:.0%})", color="#2563eb")
    read = "".join(str(digit.label) for digit in digits)
    truth = "".join(str(dataset.test.labels[i]) for i in (1, 2))
    axes[1].set_title(f"cut where the pieces read best: {read} (written: {truth})", fontsize=9)
    figure.suptitle("Touching digits: where to cut")
    figure.savefig(out / "seams.png", dpi=100)
    return f"{len(paths)} seams tried; read as {read}, written {truth}, touching"


def shipped_reader():
    """The line reader the package ships (a UserError where it has not been made yet)."""
    from mnist_nn.reading.line_reader import SHIPPED_PATH, shipped_line_reader

    reader = shipped_line_reader()
    if reader is None:
        raise UserError(f"no line reader at {SHIPPED_PATH}: train one (docs/reading-lines.md)")
    return reader


def test_number(dataset, digits=(4, 1, 1, 7), separator=True):
    """A number written with MNIST test digits (`digits`: the first test digits of those
    labels), with a thousands separator and a closing dash as on a check, framed as the line
    reader frames every line: (28, 128) pixels, and the number."""
    from mnist_nn.data.framing import frame_line
    from mnist_nn.data.lines import EXTRAS, write_line

    picks = [int(np.flatnonzero(dataset.test.labels == digit)[0]) for digit in digits]
    extras = {**dict.fromkeys(EXTRAS, 0.0), "separator": float(separator), "dash": 1.0}
    line = write_line(dataset.test.images[picks].reshape(-1, 28, 28), np.array(digits),
                      np.random.default_rng(3), extras, spacing="apart")  # fmt: skip
    return frame_line(line, 128), "".join(map(str, digits))


def line_columns(out: Path, dataset) -> str:
    """What the shipped line reader says at each of its 26 column positions over a number
    written with MNIST test digits, a separator and a closing dash: each column's likeliest
    class and its probability, and the number the best path reads."""
    from mnist_nn.nn.ctc import best_path

    reader = shipped_reader()
    line, truth = test_number(dataset)
    probabilities = reader.network.scores(line.reshape(1, -1))  # (T, 11)
    digits, _ = best_path(probabilities[None])[0]
    centres = reader.stride * np.arange(len(probabilities)) + reader.offset
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[1.3, 1])
    top.imshow(line, cmap="gray", extent=(0, line.shape[1], line.shape[0], 0))
    top.set(yticks=[], title=f"the line as framed ({line.shape[0]}x{line.shape[1]}), written "
            f"{truth} with a separator and a closing dash")  # fmt: skip
    best = probabilities.argmax(axis=1)
    blank = best == probabilities.shape[1] - 1
    bottom.bar(centres, probabilities.max(axis=1), width=3.2,
               color=np.where(blank, "#cbd5e1", "#2563eb"))  # fmt: skip
    for centre, k, p in zip(centres, best, probabilities.max(axis=1), strict=True):
        bottom.text(centre, p + 0.03, "-" if k == 10 else str(k), ha="center", fontsize=9)
    read = "".join(map(str, digits))
    bottom.set(ylim=(0, 1.2), ylabel="probability", xlabel="pixel column of the line",
               title=f"each column's likeliest class (- is blank): the best path reads "
               f"{read}")  # fmt: skip
    figure.savefig(out / "line_columns.png", dpi=100)
    return f"read {read}, written {truth}; {int((~blank).sum())} of {len(blank)} columns not blank"


def ctc_lattice(out: Path, dataset) -> str:
    """CTC's lattice for the number of `line_columns`: rows are the positions of l' (a blank
    around every digit), columns the reader's column positions; each cell's shade is the share
    of all alignments that pass through it, α_t(s)·β_t(s) / p(l | x), by the library's CTC."""
    from mnist_nn.nn.ctc import CTC, log_add, log_softmax, with_blanks

    reader = shipped_reader()
    line, truth = test_number(dataset)
    logits = reader.network.forward(line.reshape(1, -1))  # (T, 11)
    log_y = log_softmax(logits[None].astype(np.float64))
    extended, skips, lengths = with_blanks([[int(d) for d in truth]], 10)
    log_y_at = log_y[np.arange(1)[:, None], :, extended].transpose(2, 0, 1)  # (T, 1, S)
    log_alpha = CTC.forward(log_y_at, skips, lengths)
    log_beta = CTC.backward(log_y_at, skips, lengths)
    log_p = log_add(log_alpha[-1, 0, -1], log_alpha[-1, 0, -2])
    share = np.exp(log_alpha[:, 0] + log_beta[:, 0] - log_p).T  # (S, T)
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    ax = figure.subplots()
    ax.imshow(share, cmap="Blues", aspect="auto", vmin=0, vmax=1)
    labels = ["-" if k == 10 else str(k) for k in extended[0]]
    ax.set(yticks=range(len(labels)), yticklabels=labels, xlabel="column position t",
           ylabel="position s of l'", title=f"all alignments of {truth} to the "
           f"{share.shape[1]} columns: the share that passes through each cell "
           f"(p(l|x) = {np.exp(log_p):.3f})")  # fmt: skip
    figure.savefig(out / "ctc_lattice.png", dpi=100)
    size = f"{len(labels)} positions x {share.shape[1]} columns"
    return f"p({truth} | line) = {np.exp(log_p):.3f}; {size}"


PICTURES = {
    "sigmoid": sigmoid,
    "network": network,
    "backward": backward,
    "learning-rates": learning_rates,
    "saturation": saturation,
    "losses": losses,
    "batch-norm": batch_norm,
    "output-gradient": output_gradient,
    "im2col": im2col,
    "framing": framing,
    "shifted": shifted,
    "filters": filters,
    "moving-map": moving_map,
    "seams": seams,
    "line-columns": line_columns,
    "ctc-lattice": ctc_lattice,
}


def limited(dataset, limit: int | None):
    """The first `limit` training images only, and at most as many test images (for a quick
    look, or a test)."""
    if not limit:
        return dataset
    train = Split(dataset.train.images[:limit], dataset.train.labels[:limit])
    test = Split(dataset.test.images[:limit], dataset.test.labels[:limit])
    return replace(dataset, train=train, test=test)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[[], *PICTURES], help="pictures to draw")
    parser.add_argument(
        "--limit", type=int, help="use only this many training images, and as many test images"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("experiments"),
        help="folder for the pictures (default: ./experiments; docs to redraw the docs' own)",
    )
    parser.add_argument(
        "--models",
        nargs="*",
        metavar="NAME=MODEL",
        help="shifted, filters, moving-map, seams: read with these model files (e.g. cnn=cnn.npz "
        "best=best.npz) "
        "instead of training those presets first (all four for shifted: about 25 minutes)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="shifted, filters, moving-map, seams: train each preset this many epochs",
    )
    args = parser.parse_args(argv)
    models = dict(given.split("=", 1) for given in args.models or [])
    dataset = limited(load_dataset(val_size=500), args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or PICTURES:
        picture = PICTURES[name]
        if picture in (shifted, filters, moving_map, seams):  # these read trained models
            figures = picture(args.out, dataset, models, args.epochs)
        else:
            figures = picture(args.out, dataset)  # what the picture shows, in numbers
        print(f"wrote {args.out / (name.replace('-', '_') + '.png')}: {figures}", flush=True)


if __name__ == "__main__":
    main()
