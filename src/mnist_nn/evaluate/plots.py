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


def plot_comparison(rows: list[dict], path=None):
    """Final validation and test accuracy of each variant of an ablation run, as bars."""
    figure = _figure(figsize=(8, 0.5 * len(rows) + 1.8), layout="constrained")
    ax = figure.subplots()
    positions = np.arange(len(rows))[::-1]  # the first variant on top
    validation = [100 * row["val_accuracy"] for row in rows]
    test = [100 * row["test_accuracy"] for row in rows]
    ax.barh(positions + 0.2, validation, height=0.4, label="validation", color="#2563eb")
    ax.barh(positions - 0.2, test, height=0.4, label="test (measured once)", color="#f59e0b")
    for offset, values in ((0.2, validation), (-0.2, test)):
        for y, value in zip(positions, values, strict=True):
            ax.text(value + 0.05, y + offset, f"{value:.2f}%", va="center", fontsize=7.5)
    ax.set_yticks(positions, [row["name"] for row in rows])
    low = min(validation + test)
    # The differences live in the last points; room on the right for the numbers.
    ax.set_xlim(max(0, np.floor(low) - 1), 100.8)
    ax.set_xlabel("accuracy (%)")
    # Below the axes, where it can cover no bar.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
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
    bar = figure.colorbar(shown, ax=ax, label="test images in the cell (log scale)")
    counts = [c for c in (1, 10, 100, 1000) if c <= max(confusion.max(), 1)]
    bar.set_ticks(np.log1p(counts), labels=[str(c) for c in counts])
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


def plot_curves(history: list[dict], batch_losses=None, path=None):
    """Training loss (every mini-batch, when given, and per epoch) and accuracies per epoch."""
    figure = _figure(figsize=(10, 4), layout="constrained")
    loss_ax, accuracy_ax = figure.subplots(1, 2)
    epochs = [record["epoch"] for record in history]
    if batch_losses:  # a faint line of every step: what the per-epoch averages hide
        steps = np.arange(1, len(batch_losses) + 1) * len(epochs) / len(batch_losses)
        loss_ax.plot(steps, batch_losses, linewidth=0.5, alpha=0.5, label="each mini-batch")
    loss_ax.plot(epochs, [r["train_loss"] for r in history], marker="o", label="epoch average")
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Loss", yscale="log")
    loss_ax.legend()
    for key, label in (
        ("train_accuracy", "training (running average over the epoch)"),
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


def saturation_words(hidden: np.ndarray, activation: str) -> str:
    """What the spread of hidden activations (N, H) says, for this run: the share of sigmoid or
    tanh values where the slope is under 0.01 (saturated), or of ReLU units off (slope 0, but
    on for other images)."""
    values = np.ravel(hidden)
    if activation == "relu":
        return f"{np.mean(values == 0):.0%} of ReLU values are 0 (off for that image)"
    if activation == "tanh":  # tanh' = 1 − a² < 0.01 beyond |a| > 0.995
        return f"{np.mean(np.abs(values) > 0.995):.1%} saturated (|a| > 0.995, slope < 0.01)"
    saturated = np.mean((values < 0.0101) | (values > 0.9899))  # σ' = a(1 − a) < 0.01
    return f"{saturated:.1%} saturated (a within 0.01 of 0 or 1, slope < 0.01)"


def plot_activations(hidden: np.ndarray, title: str = "", path=None, activation="sigmoid"):
    """A histogram of hidden activations (N, H) over many images, titled with what it says for
    this run (`saturation_words`): sigmoid units near 0 or 1 are saturated (their slope
    σ'(z) = a(1 − a) is then about 0, and they stop learning)."""
    figure = _figure(figsize=(7, 3.5), layout="constrained")
    ax = figure.subplots()
    ax.hist(np.ravel(hidden), bins=50, color="#2563eb")
    ax.set(xlabel="activation of a hidden unit", ylabel="how often (log scale)", yscale="log")
    ax.set_title(title or f"Hidden activations over {len(hidden):,} test images\n"
                 f"{saturation_words(hidden, activation)}", fontsize=10)  # fmt: skip
    return _finish(figure, path)


def plot_first_layer_weights(weight: np.ndarray, count: int = 64, path=None):
    """What the first hidden units look for: each unit's 784 incoming weights as a 28x28 image,
    each scaled to its own largest |w|. `weight` is (784, H); or a first convolution's (k·k, F)
    filters, each a k×k image."""
    side = round(weight.shape[0] ** 0.5)
    what = "hidden units" if side == 28 else f"{side}x{side} filters of the first convolution"
    count = min(count, weight.shape[1])
    columns = int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    figure = _figure(figsize=(1.1 * columns + 1.2, 1.1 * rows + 0.8), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for unit, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if unit < count:
            unit_weights = weight[:, unit].reshape(side, side)
            limit = np.abs(unit_weights).max() or 1.0
            shown = ax.imshow(unit_weights / limit, cmap="coolwarm", vmin=-1, vmax=1)
    bar = figure.colorbar(shown, ax=axes, shrink=0.6)
    bar.set_ticks([-1, 0, 1], labels=["inhibits", "0", "excites"])
    bar.set_label("weight, relative to the unit's largest")
    figure.suptitle(
        f"Incoming weights of the first {count} {what}: red pixels excite a unit, "
        "blue ones inhibit it",
        fontsize=10,
    )
    return _finish(figure, path)


def plot_reliability(scores, calibrated, labels, path=None):
    """Reliability diagram: in each confidence bin, how often the answers were right, for the
    network's own scores and for its calibrated probabilities. On the diagonal, a score of 80%
    is right 80% of the time."""
    from mnist_nn.evaluate.calibration import expected_calibration_error, reliability

    figure = _figure(figsize=(5.2, 4.6), layout="constrained")
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="#9ca3af", linestyle="--", label="perfectly calibrated")
    for probabilities, name, colour in ((scores, "the network's own scores", "#f59e0b"),
                                        (calibrated, "calibrated", "#2563eb")):  # fmt: skip
        confidence, accuracy, counts = reliability(probabilities, labels)
        filled = counts > 0
        ece = expected_calibration_error(probabilities, labels)
        ax.plot(confidence[filled], accuracy[filled], marker="o", color=colour,
                label=f"{name} (ECE {ece:.2%})")  # fmt: skip
    ax.set_xlabel("confidence of the answer (top score)")
    ax.set_ylabel("share of answers that were right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Do the scores mean what they say?", fontsize=10)
    return _finish(figure, path)


def save_evaluation_pictures(out, network, history, split, results, batch_losses=None):
    """confusion.png, mistakes.png, weights.png, curves.png, activations.png and
    reliability.png of a model on `split`; returns their names."""
    from mnist_nn.evaluate.metrics import most_confident_mistakes

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
    plot_first_layer_weights(network.weighted_layers()[0].weight, path=out / "weights.png")
    if history:
        plot_curves(history, batch_losses, path=out / "curves.png")
        written.append("curves.png")
    _, hidden = network.explain(split.images[:2000])
    if hidden:
        activation = network.architecture.get("activation", "sigmoid")
        plot_activations(hidden[0], path=out / "activations.png", activation=activation)
        written.append("activations.png")
    calibration = results.get("calibration")
    if calibration is not None:
        plot_reliability(scores, calibration["calibrated"], split.labels,
                         path=out / "reliability.png")  # fmt: skip
        written.append("reliability.png")
    return written


def plot_sweep(table: list[dict], names: list[str], path=None):
    """A sweep's held-out accuracy against its first swept setting, one line per value of the
    others, with error bars of one standard deviation over the seeds."""
    figure = _figure(figsize=(7, 4), layout="constrained")
    ax = figure.subplots()
    x_name, others = names[0], names[1:]

    def shown(value):
        return " ".join(map(str, value)) if isinstance(value, list) else value

    x_values = list(dict.fromkeys(shown(line[x_name]) for line in table))
    numeric = all(isinstance(v, int | float) for v in x_values)
    lines = {}
    for line in table:
        label = ", ".join(f"{name} {shown(line[name])}" for name in others) or "held-out"
        lines.setdefault(label, []).append(line)
    for label, group in lines.items():
        group = sorted(group, key=lambda line: x_values.index(shown(line[x_name])))
        group = [line for line in group if line["val_accuracy_mean"] is not None]  # not stopped
        xs = [shown(line[x_name]) if numeric else x_values.index(shown(line[x_name]))
              for line in group]  # fmt: skip
        means = [100 * line["val_accuracy_mean"] for line in group]
        stds = [100 * line["val_accuracy_std"] for line in group]
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=label)
        for x, mean, line in zip(xs, means, group, strict=True):
            if line.get("verdict") == "chosen":  # the row to choose, on the held-out column
                ax.scatter([x], [mean], s=220, facecolors="none", edgecolors="#dc2626",
                           linewidths=2, zorder=3, label="chosen")  # fmt: skip
    if numeric and min(x_values) > 0 and max(x_values) / min(x_values) >= 10:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(range(len(x_values)), [str(v) for v in x_values])
    seeds = max(line["seeds"] for line in table)
    ax.set(xlabel=x_name, ylabel="held-out accuracy (%)")
    ax.set_title(f"Mean over {seeds} seed{'s' if seeds > 1 else ''} (bars: one standard deviation)")
    ax.legend(fontsize=8)
    return _finish(figure, path)
