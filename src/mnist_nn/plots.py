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
