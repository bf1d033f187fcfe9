"""The README's pictures and experiments, drawn by the project's own code.

    python docs/experiments.py                 # every picture, into docs/
    python docs/experiments.py learning-rates  # just one (names: see PICTURES below)
    python docs/experiments.py --limit 5000    # on the first 5,000 training images: quicker

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

from mnist_nn.config import TrainConfig
from mnist_nn.data import Split, load_dataset
from mnist_nn.errors import UserError
from mnist_nn.training import Trainer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the benchmarks package, whose image generator draws one


def sigmoid(out: Path, dataset=None) -> None:
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
    ax.legend(loc="center left", fontsize=8)
    figure.savefig(out / "sigmoid.png", dpi=100)


def network(out: Path, dataset=None) -> None:
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


def _box(x: float, colour: str):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, 0.7), 2.2, 1.6, boxstyle="round,pad=0.05", color=colour)


def train_losses(config: TrainConfig, dataset) -> tuple[list[float], str]:
    """Every mini-batch's loss of a run, and how it ended (a run that stalls stops itself)."""
    trainer = Trainer(config, dataset.train.images.shape[1], dataset.classes)
    try:
        result = trainer.fit(dataset)
        ending = f"{100 * result.history[-1].get('val_accuracy', result.test_accuracy):.1f}%"
    except UserError:
        ending = "stopped: saturated"
    return trainer.state.batch_losses, ending


def learning_rates(out: Path, dataset) -> None:
    """The seed for one epoch at three learning rates, every mini-batch's loss."""
    figure = Figure(figsize=(8, 3.5), layout="constrained")
    ax = figure.subplots()
    for rate, colour in ((0.001, "#2563eb"), (0.01, "#16a34a"), (0.1, "#dc2626")):
        config = replace(TrainConfig(), epochs=1, learning_rate=rate, val_size=500)
        losses, ending = train_losses(config, dataset)
        ax.plot(losses, linewidth=0.8, color=colour, label=f"lr {rate}: {ending}")
    ax.set(xlabel="mini-batch", ylabel="training loss (MSE)", yscale="log")
    ax.set_title("The seed's first epoch at three learning rates (held-out accuracy after it)")
    ax.legend(fontsize=8)
    figure.savefig(out / "learning_rates.png", dpi=100)


def saturation(out: Path, dataset) -> None:
    """Hidden and output activations after one epoch: the seed, and the seed with 1,000 units."""
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, hidden, title in ((axes[0], 128, "--hidden 128 (the seed)"),
                              (axes[1], 1000, "--hidden 1000, same lr 0.01")):  # fmt: skip
        config = replace(TrainConfig(), epochs=1, hidden_sizes=(hidden,), val_size=500)
        trainer = Trainer(config, dataset.train.images.shape[1], dataset.classes)
        with contextlib.suppress(UserError):  # the wide one stalls: its activations are the point
            trainer.fit(dataset)
        scores, layers = trainer.network.explain(dataset.validation.images)
        bins = np.linspace(0, 1, 41)
        ax.hist(np.ravel(layers[0]), bins=bins, alpha=0.7, label="hidden a1", color="#2563eb")
        ax.hist(np.ravel(scores), bins=bins, alpha=0.7, label="outputs a2", color="#b45309")
        ax.set(yscale="log", xlabel="activation", title=title)
        ax.legend(fontsize=8)
    figure.suptitle("After one epoch: with 1,000 units every output sits at 0 (saturated)")
    figure.savefig(out / "saturation.png", dpi=100)


def losses(out: Path, dataset) -> None:
    """MSE (the seed's) against softmax cross-entropy, same network otherwise: held-out accuracy."""
    figure = Figure(figsize=(8, 3.5), layout="constrained")
    ax = figure.subplots()
    for loss, colour in (("mse", "#b45309"), ("cross_entropy", "#2563eb")):
        config = replace(TrainConfig(), epochs=5, loss=loss, val_size=500)
        result = Trainer(config, dataset.train.images.shape[1], dataset.classes).fit(dataset)
        accuracy = [100 * record["val_accuracy"] for record in result.history]
        ax.plot(range(1, len(accuracy) + 1), accuracy, marker="o", color=colour, label=loss)
    ax.set(xlabel="epoch", ylabel="held-out accuracy (%)")
    ax.set_title("The seed with MSE and with cross-entropy")
    ax.legend()
    figure.savefig(out / "losses.png", dpi=100)


def framing(out: Path, dataset) -> None:
    """Four user-like photos of MNIST test digits (benchmarks/user_images.py) through each step of
    `predict`'s framing: the photo, the ink once paper and light are flattened, the digit's
    pieces, its strokes (thin ones redrawn at MNIST's width), and the 28x28 the network reads."""
    import io

    from benchmarks.user_images import render
    from mnist_nn import framing as steps
    from mnist_nn.images import greys, read_image

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


PICTURES = {
    "sigmoid": sigmoid,
    "network": network,
    "learning-rates": learning_rates,
    "saturation": saturation,
    "losses": losses,
    "framing": framing,
}


def limited(dataset, limit: int | None):
    """The first `limit` training images only (for a quick look, or a test)."""
    if not limit:
        return dataset
    train = Split(dataset.train.images[:limit], dataset.train.labels[:limit])
    return replace(dataset, train=train)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[[], *PICTURES], help="pictures to draw")
    parser.add_argument("--limit", type=int, help="use only this many training images")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the pictures")
    args = parser.parse_args(argv)
    dataset = limited(load_dataset(val_size=500), args.limit)
    for name in args.names or PICTURES:
        PICTURES[name](args.out, dataset)
        print(f"wrote {args.out / (name.replace('-', '_') + '.png')}")


if __name__ == "__main__":
    main()
