"""Pictures of a trained network's work. They read results; they never train.

Each `plot_*` function draws one picture and writes it to `path` (a PNG), or, given no path,
returns the matplotlib Figure (a notebook shows it). matplotlib is imported inside each
function, so commands that draw nothing start fast.
"""

import numpy as np


def _figure(**kwargs):
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    return Figure(**kwargs)


def _finish(figure, path):
    """Write the figure to `path`; with no path, hand it back (for a notebook to show)."""
    if path is None:
        return figure
    figure.savefig(path, dpi=100)
    return None


def plot_predictions(images: np.ndarray, labels, predicted, title: str = "", path=None):
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
    return _finish(figure, path)


def plot_comparison(rows: list[dict], metric: str = "val_accuracy", path=None):
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
    return _finish(figure, path)


def plot_confusion(confusion: np.ndarray, title: str = "", path=None):
    """The confusion matrix as a heat map, counts written in each cell."""
    confusion = np.asarray(confusion)
    figure = _figure(figsize=(6.5, 5.5), layout="constrained")
    ax = figure.subplots()
    # A log-like scale: the diagonal's thousands would otherwise wash out the mistakes.
    shown = ax.imshow(np.log1p(confusion), cmap="Blues")
    for (true, predicted), count in np.ndenumerate(confusion):
        if count:
            bright = np.log1p(count) > 0.6 * np.log1p(confusion.max())
            ax.text(
                predicted,
                true,
                str(count),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if bright else "black",
            )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title or "Confusion matrix")
    figure.colorbar(shown, ax=ax, label="log(1 + count)")
    return _finish(figure, path)


def plot_mistakes(images, labels, predicted, confidence, columns: int = 8, path=None):
    """A gallery of mistakes (N, 784): true label, predicted label and the confidence of it."""
    rows = max(1, -(-len(images) // columns))
    figure = _figure(figsize=(1.4 * columns, 1.7 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    shown = zip(axes[: len(images)], images, labels, predicted, confidence, strict=True)
    for ax, image, label, guess, sure in shown:
        ax.imshow(image.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"true {label} · pred {guess}\n{sure:.0%} sure", fontsize=8, color="red")
    figure.suptitle("Most confident mistakes", fontsize=10)
    return _finish(figure, path)


def plot_curves(history: list[dict], path=None):
    """Training loss and accuracies per epoch, from a run's stored history."""
    figure = _figure(figsize=(10, 4), layout="constrained")
    loss_ax, accuracy_ax = figure.subplots(1, 2)
    epochs = [record["epoch"] for record in history]
    loss_ax.plot(epochs, [record["train_loss"] for record in history], marker="o", markersize=3)
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Loss")
    for key, label in (
        ("train_accuracy", "training"),
        ("val_accuracy", "validation"),
        ("test_accuracy", "test"),
    ):
        if key in history[0]:
            values = [100 * record[key] for record in history]
            accuracy_ax.plot(epochs, values, marker="o", markersize=3, label=label)
    accuracy_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    accuracy_ax.legend()
    for ax in (loss_ax, accuracy_ax):
        ax.grid(alpha=0.3)
    return _finish(figure, path)


def plot_first_layer_weights(weight: np.ndarray, count: int = 64, path=None):
    """What the first hidden units look for: each unit's 784 incoming weights as a 28x28 image
    (red: pixels that excite it, blue: pixels that inhibit it). `weight` is (784, H)."""
    count = min(count, weight.shape[1])
    columns = int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    figure = _figure(figsize=(1.1 * columns, 1.1 * rows + 0.4), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for unit, ax in enumerate(axes):
        ax.axis("off")
        if unit < count:
            unit_weights = weight[:, unit].reshape(28, 28)
            limit = np.abs(unit_weights).max() or 1.0
            ax.imshow(unit_weights, cmap="coolwarm", vmin=-limit, vmax=limit)
    figure.suptitle(f"Incoming weights of the first {count} hidden units", fontsize=10)
    return _finish(figure, path)


def save_evaluation_pictures(out, network, history, split, results) -> list[str]:
    """confusion.png, mistakes.png, curves.png and weights.png of a model on `split`."""
    from mnist_nn.evaluation import most_confident_mistakes

    scores, predicted = results["scores"], results["predicted"]
    plot_confusion(
        results["confusion"],
        f"Confusion matrix · accuracy {results['accuracy']:.2%}",
        path=out / "confusion.png",
    )
    wrong = most_confident_mistakes(scores, split.labels)
    plot_mistakes(
        split.images[wrong],
        split.labels[wrong],
        predicted[wrong],
        scores[wrong, predicted[wrong]],
        path=out / "mistakes.png",
    )
    written = ["confusion.png", "mistakes.png", "weights.png"]
    plot_first_layer_weights(network.dense_layers()[0].weight, path=out / "weights.png")
    if history:
        plot_curves(history, path=out / "curves.png")
        written.append("curves.png")
    return written
