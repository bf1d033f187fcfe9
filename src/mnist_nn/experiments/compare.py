"""The ablation report: each extension of the design switched on alone, then all together, then
the `cnn` preset's small convolutional network and the `best` preset.

Every variant starts from the seed configuration and trains with the same seed, epochs and data:
`--val-size` examples are held out of the training set, so the validation accuracy is what a
choice may be judged by; the test accuracy is shown beside it, measured once at the end.
"""

from dataclasses import dataclass, replace
from pathlib import Path

from mnist_nn.config import TrainConfig
from mnist_nn.experiments.results import render_table
from mnist_nn.experiments.trials import measure
from mnist_nn.presets import PRESETS


@dataclass
class Variant:
    name: str
    what: str  # what changes from the seed
    config: TrainConfig


def variants(epochs: int, val_size: int, seed: int = 0) -> list[Variant]:
    base = replace(PRESETS["seed"], epochs=epochs, val_size=val_size, seed=seed)
    all_together = replace(
        base,
        activation="relu",
        hidden_sizes=(128, 128),
        dropout=0.2,
        loss="cross_entropy",
        optimizer="momentum",
        learning_rate=0.001,
    )
    best = replace(PRESETS["best"], epochs=epochs, val_size=val_size, seed=seed)
    conv = replace(PRESETS["cnn"], epochs=epochs, val_size=val_size, seed=seed)
    return [
        Variant("seed", "the original design", base),
        Variant("relu", "ReLU hidden units (He init)", replace(base, activation="relu")),
        Variant("tanh", "tanh hidden units", replace(base, activation="tanh")),
        Variant(
            "two hidden", "a second hidden layer of 128", replace(base, hidden_sizes=(128, 128))
        ),
        Variant("dropout", "dropout 0.2 on the hidden layer", replace(base, dropout=0.2)),
        Variant("cross-entropy", "softmax + cross-entropy", replace(base, loss="cross_entropy")),
        # With MSE through sigmoids, momentum 0.9 saturates the units: 0.5 at lr 0.005 was
        # chosen on validation (docs/lab-notes.md).
        Variant(
            "momentum",
            "momentum 0.5, lr 0.005",
            replace(base, optimizer="momentum", momentum=0.5, learning_rate=0.005),
        ),
        Variant("all", "all of the above; momentum 0.9 at lr 0.001", all_together),
        Variant("convolution", "the `cnn` preset's configuration", conv),
        Variant("best", "the `best` preset's configuration", best),
    ]


def markdown_table(rows: list[dict]) -> str:
    header = ["variant", "what changes", "validation accuracy", "test accuracy", "training seconds"]
    cells = [
        [row["name"], row["what"], f"{row['val_accuracy']:.2%}", f"{row['test_accuracy']:.2%}",
         f"{row['seconds']:.1f}"]
        for row in rows
    ]  # fmt: skip
    return render_table(header, cells, markdown=True)


def run_comparison(dataset, chosen: list[Variant], on_row=None) -> list[dict]:
    """Train each variant on `dataset`; one row per variant, with its per-epoch history."""
    rows = []
    for variant in chosen:
        row = {"name": variant.name, "what": variant.what, "config": variant.config.to_dict()}
        row.update(measure(variant.config, dataset))
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def write_report(out: Path, dataset, rows: list[dict], epochs: int, val_size: int, seed: int):
    """compare.md (the table), compare.json (every number) and compare.png; their names."""
    from mnist_nn.evaluate.plots import plot_comparison
    from mnist_nn.saving.files import save_json

    (out / "compare.md").write_text(
        f"# Ablation: the design's extensions one at a time\n\n"
        f"{epochs} epochs, seed {seed}, {dataset.name}, {val_size} validation "
        f"examples held out of the training set.\n\n{markdown_table(rows)}\n"
    )
    save_json(out / "compare.json", {"dataset": dataset.name, "rows": rows})
    plot_comparison(rows, path=out / "compare.png")
    return ["compare.md", "compare.png", "compare.json"]
