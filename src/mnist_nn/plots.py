"""Pictures of a trained network's work. They read results; they never train.

matplotlib is imported inside each function, so commands that draw nothing start fast.
"""

import numpy as np


def _figure(**kwargs):
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    return Figure(**kwargs)


def save_predictions(path, images: np.ndarray, labels, predicted, title: str = "") -> None:
    """A row of digits (N, 784) with predicted and true labels; mistakes in red."""
    figure = _figure(figsize=(1.5 * len(images), 2.2), layout="constrained")
    axes = figure.subplots(1, len(images), squeeze=False)[0]
    for ax, image, label, guess in zip(axes, images, labels, predicted, strict=True):
        ax.imshow(image.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        right = guess == label
        ax.set_title(
            f"pred {guess}\ntrue {label}" + ("" if right else "  ✗"),
            color="black" if right else "red",
            fontsize=10,
        )
        ax.axis("off")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=100)


def save_comparison(path, rows: list[dict], metric: str = "val_accuracy") -> None:
    """Accuracy per epoch of each variant of an ablation run, one line each, on one figure."""
    figure = _figure(figsize=(8, 5), layout="constrained")
    ax = figure.subplots()
    for row in rows:
        epochs = [record["epoch"] for record in row["history"]]
        accuracies = [100 * record[metric] for record in row["history"]]
        ax.plot(epochs, accuracies, marker="o", markersize=3, label=row["name"])
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{metric.replace('_', ' ').replace('val', 'validation')} (%)")
    low = min(100 * record[metric] for row in rows for record in row["history"])
    ax.set_ylim(max(low, 80), 100)  # the interesting part: above 80%
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Each extension of the seed network, one at a time")
    figure.savefig(path, dpi=100)
