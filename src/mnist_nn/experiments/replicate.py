"""Classic fully-connected MNIST results, rerun with this project's layers: each row a paper's
network and its published test error, with the settings that stand in for the paper's here.

The rows run as a sweep does (`sweeps.py`): every row times N seeds, on the executor chosen, each
finished trial kept, a rerun continuing where one stopped. Nothing is tuned on the test set: each
row's network and distortions are the paper's, its learning rate was chosen on a validation split
(below), and the test error is measured once per trial, at its end.
"""

from dataclasses import dataclass, field

from mnist_nn.experiments.results import render_table

LECUN = "LeCun et al. 1998, Gradient-based learning applied to document recognition, Fig. 9"
SIMARD = "Simard, Steinkraus and Platt 2003, Best practices for CNNs (ICDAR), Table 1"
SRIVASTAVA = "Srivastava et al. 2014, Dropout (JMLR 15), Table 2"

# LeCun et al.'s "distortions": random planar affine transformations (translation, scaling,
# squeezing, shearing). Ours: shift ±2 px, scale ±10%, shear ±10°, turn ±5° (no squeezing).
LECUN_DISTORTIONS = {
    "augment_shift": 2.0,
    "augment_scale": 0.1,
    "augment_shear": 10.0,
    "augment_rotation": 5.0,
}
# Simard et al.'s affine distortions (rotation, scaling, shear) and elastic ones (α 34, σ 4).
SIMARD_AFFINE = {"augment_rotation": 15.0, "augment_scale": 0.15, "augment_shear": 15.0}
SIMARD_ELASTIC = {"augment_elastic": 34.0}

# The networks of 1998: squashing units and mean squared error, trained by plain gradient descent
# (the seed's kind). LeCun et al.'s squashing function is a scaled tanh; here tanh hidden units
# and the seed's sigmoid outputs (its MSE is on sigmoids), 30 epochs with a cosine schedule.
MSE_NET = {"activation": "tanh", "loss": "mse", "optimizer": "sgd", "lr_schedule": "cosine"}
CE_NET = {"activation": "sigmoid", "loss": "cross_entropy", "optimizer": "sgd"}
DROPOUT_NET = {
    "loss": "cross_entropy",
    "optimizer": "momentum",
    "momentum": 0.95,
    "dropout": 0.5,
    "input_dropout": 0.2,
    "lr_schedule": "cosine",
}

# The papers' learning rates do not carry over (theirs are per example, with second-order
# scaling in LeCun's), so each network's rate was chosen before any row was run, by `mnist-nn
# sweep` on a validation split held out of the training set (docs/lab-notes.md has the sweep).
# A distorted row takes its network's rate.
RATES = {(300,): 0.01, (1000,): 0.01, (300, 100): 0.01, (500, 150): 0.005}
SIMARD_RATE = 0.01
DROPOUT_RATE = 0.0002


@dataclass(frozen=True)
class Row:
    name: str
    network: str  # as the paper names it
    source: str
    error: float  # the published test error, %
    settings: dict = field(default_factory=dict)  # laid over the seed design
    note: str = ""  # how our run differs from the paper's
    quick_epochs: int = 1


def settings_of(row: Row, quick: bool = False) -> dict:
    """The settings a row lays over the seed design (--quick: one epoch)."""
    return {**row.settings, "epochs": row.quick_epochs} if quick else dict(row.settings)


def markdown_table(rows: list[Row], table: list[dict], quick: bool = False) -> str:
    """Paper against ours, row by row: test error in %, ours the mean ± standard deviation over
    the seeds run, the difference, and how far it is in standard deviations."""
    ours = {line["label"]: line for line in table}
    header = ["row", "network", "paper, test error", "ours, test error", "difference",
              "what differs"]  # fmt: skip
    cells = []
    for row in rows:
        line, paper = ours.get(row.name), f"{row.error:.2f}%"
        if line is None or line["test_accuracy_mean"] is None:
            ours_text = "not run" if line is None else f"stopped learning ({line['stopped']} seeds)"
            cells.append([row.name, row.network, paper, ours_text, "", row.note])
            continue
        note = row.note
        if line["stopped"]:
            note += f"; {line['stopped']} of {line['seeds']} seeds stopped learning"
        error = 100 * (1 - line["test_accuracy_mean"])
        spread = 100 * line["test_accuracy_std"]
        difference = error - row.error
        away = f", {abs(difference) / spread:.1f} sd" if spread > 0 else ""
        measured = f"{error:.2f}% ± {spread:.2f} ({line['seeds'] - line['stopped']} seeds)"
        cells.append([row.name, row.network, paper, measured, f"{difference:+.2f}{away}", note])
    lines = [render_table(header, cells, markdown=True)]
    sources = sorted({row.source for row in rows})
    lines += ["", *(f"- {source}" for source in sources)]
    if quick:
        lines += ["", "Shortened to one epoch per row (--quick): a first look, not a replication."]
    return "\n".join(lines)


def lecun(name, hidden, error, distorted=False) -> Row:
    settings = {**MSE_NET, "hidden_sizes": hidden, "epochs": 30, "learning_rate": RATES[hidden]}
    units = "+".join(map(str, hidden))
    network = f"{len(hidden) + 1}-layer NN, {units} hidden units, MSE"
    note = "tanh hidden units, sigmoid outputs; batches of 128, 30 epochs, cosine schedule"
    if distorted:
        settings.update(LECUN_DISTORTIONS)
        network += " [distortions]"
        note += "; our affine distortions (no squeezing)"
    return Row(name, network, LECUN, error, settings, note)


def simard(name, error, distortion: dict, what: str) -> Row:
    settings = {**CE_NET, "hidden_sizes": (800,), "epochs": 30, "lr_schedule": "cosine",
                "learning_rate": SIMARD_RATE, **distortion}  # fmt: skip
    return Row(name, f"2-layer MLP, 800 hidden units, cross-entropy, {what}", SIMARD, error,
               settings, "sigmoid units; batches of 128, 30 epochs, cosine schedule")  # fmt: skip


def srivastava(name, activation, error, max_norm=0.0) -> Row:
    settings = {**DROPOUT_NET, "activation": activation, "hidden_sizes": (1024, 1024, 1024),
                "max_norm": max_norm, "epochs": 20, "learning_rate": DROPOUT_RATE}  # fmt: skip
    what = "Dropout NN + max-norm" if max_norm else "Dropout NN"
    return Row(name, f"{what}, {activation}, 3 layers of 1024 units", SRIVASTAVA, error,
               settings, "20 epochs (the paper: about 3,000), cosine schedule")  # fmt: skip


ROWS = [
    lecun("lecun-300", (300,), 4.7),
    lecun("lecun-300-distorted", (300,), 3.6, distorted=True),
    lecun("lecun-1000", (1000,), 4.5),
    lecun("lecun-1000-distorted", (1000,), 3.8, distorted=True),
    lecun("lecun-300-100", (300, 100), 3.05),
    lecun("lecun-300-100-distorted", (300, 100), 2.5, distorted=True),
    lecun("lecun-500-150", (500, 150), 2.95),
    lecun("lecun-500-150-distorted", (500, 150), 2.45, distorted=True),
    simard("simard-800", 1.6, {}, "no distortion"),
    simard("simard-800-affine", 1.1, SIMARD_AFFINE, "affine distortions"),
    simard("simard-800-elastic", 0.7, SIMARD_ELASTIC, "elastic distortions"),
    srivastava("srivastava-logistic", "sigmoid", 1.35),
    srivastava("srivastava-relu", "relu", 1.25),
    srivastava("srivastava-relu-maxnorm", "relu", 1.06, max_norm=3.0),
]
BY_NAME = {row.name: row for row in ROWS}
