"""The `mnist-nn` command: parse the arguments, call the library, print what happened.

No math lives here. Heavy imports (NumPy, matplotlib, scikit-learn) happen inside the commands so
that `mnist-nn --help` answers at once. A `UserError` is printed as one line, never a traceback.
"""

import argparse
import os
import sys
from pathlib import Path

from mnist_nn import commands
from mnist_nn.commands import config_from_arguments  # noqa: F401 - part of the CLI's API
from mnist_nn.errors import TrainingInterrupted, UserError
from mnist_nn.presets import (
    ACTIVATIONS,
    DTYPES,
    LOSSES,
    OPTIMIZERS,
    PRESETS,
    SCHEDULES,
    describe_presets,
)

SEED = PRESETS["seed"]


def _number(kind, minimum, inclusive: bool, what: str):
    """An argparse type: `kind` (int or float) that must be >= (or >) `minimum`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value != value or (value < minimum if inclusive else value <= minimum):  # NaN too
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    return parse


positive_int = _number(int, 0, inclusive=False, what="a positive whole number")
non_negative_int = _number(int, 0, inclusive=True, what="zero or a positive whole number")
positive_float = _number(float, 0.0, inclusive=False, what="a positive number")


fraction = _number(float, 0.0, inclusive=True, what="zero or a positive number")


def _probability(text: str) -> float:
    value = fraction(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability below 1")
    return value


# (flag, TrainConfig field, argparse keywords, help). Defaults are None so that a preset's values
# apply unless a flag overrides them; the help shows the seed's value.
TRAIN_FLAGS = [
    ("--epochs", "epochs", {"type": positive_int}, "passes over the training set"),
    ("--batch-size", "batch_size", {"type": positive_int}, "examples per gradient step"),
    ("--lr", "learning_rate", {"type": positive_float}, "learning rate"),
    (
        "--hidden",
        "hidden_sizes",
        {"type": positive_int, "nargs": "+", "metavar": "UNITS"},
        "units of each hidden layer, e.g. --hidden 512 256",
    ),
    (
        "--activation",
        "activation",
        {"choices": ACTIVATIONS},
        "activation of the hidden layers",
    ),
    (
        "--loss",
        "loss",
        {"choices": LOSSES},
        "mse (sigmoid outputs, the seed's) or cross_entropy (softmax outputs)",
    ),
    ("--optimizer", "optimizer", {"choices": OPTIMIZERS}, "how parameters are updated"),
    ("--momentum", "momentum", {"type": _probability}, "velocity kept per step (momentum)"),
    (
        "--lr-schedule",
        "lr_schedule",
        {"choices": SCHEDULES},
        "learning rate over the run: constant, step (/10 at 1/2 and 3/4) or cosine (down to 0)",
    ),
    ("--weight-decay", "weight_decay", {"type": fraction}, "L2 penalty on the weights"),
    (
        "--max-norm",
        "max_norm",
        {"type": fraction},
        "cap on the norm of each unit's incoming weights (0: none)",
    ),
    ("--dropout", "dropout", {"type": _probability}, "probability of dropping a hidden unit"),
    (
        "--input-dropout",
        "input_dropout",
        {"type": _probability},
        "probability of dropping an input pixel",
    ),
    (
        "--augment-shift",
        "augment_shift",
        {"type": fraction},
        "shift training images randomly by up to this many pixels",
    ),
    (
        "--augment-rotation",
        "augment_rotation",
        {"type": fraction},
        "rotate training images randomly by up to this many degrees",
    ),
    (
        "--augment-scale",
        "augment_scale",
        {"type": _probability},
        "scale training images randomly by up to this fraction",
    ),
    (
        "--early-stopping",
        "early_stopping",
        {"type": non_negative_int, "metavar": "PATIENCE"},
        "stop after this many epochs without a better validation accuracy, keeping the best "
        "weights (needs --val-size)",
    ),
    (
        "--seed",
        "seed",
        {"type": non_negative_int},
        "random seed of weights, shuffling, dropout and augmentation; same seed, same run",
    ),
    ("--dtype", "dtype", {"choices": DTYPES}, "float type"),
    (
        "--val-size",
        "val_size",
        {"type": non_negative_int},
        "examples held out of the training set for validation; per-epoch accuracy is then "
        "measured on them instead of the test set",
    ),
]


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="seed",
        help="named configuration to start from; flags override it (default: seed)",
    )
    for flag, name, keywords, text in TRAIN_FLAGS:
        default = getattr(SEED, name)
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        parser.add_argument(flag, dest=name, help=f"{text} (default: {shown})", **keywords)
    _add_data_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="folder for predictions.png, metrics.json and model.npz (default: .)",
    )
    parser.add_argument(
        "--plots",
        action="store_true",
        help="also write confusion.png, mistakes.png, curves.png and weights.png",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        metavar="DIR",
        help="save a checkpoint there after every epoch and on Ctrl-C",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --checkpoint-dir (same flags as the first run)",
    )


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        choices=["mnist", "digits"],
        help="mnist, or scikit-learn's small offline digits (default: mnist, falling back to "
        "digits with a notice when MNIST cannot be found or downloaded)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the four MNIST IDX files (default: $MNIST_DATA_DIR, then the cache "
        "~/.cache/mnist-nn/mnist, then a download)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-nn",
        description="A neural network from scratch in NumPy that reads handwritten digits.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = subcommands.add_parser(
        "train",
        help="train a network on MNIST (the seed design unless told otherwise)",
        description="Train a network, print each epoch, and write predictions.png, metrics.json "
        "and model.npz.",
        epilog="presets:\n" + describe_presets(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_train_arguments(train)
    train.set_defaults(run=commands.command_train)

    evaluate = subcommands.add_parser(
        "evaluate",
        help="test a saved model: accuracy, per-digit scores, confusion matrix, pictures",
        description="Evaluate MODEL on the test set of the dataset it was trained on.",
    )
    evaluate.add_argument("model", type=Path, help="a model file written by `train` (model.npz)")
    evaluate.add_argument(
        "--out",
        type=Path,
        help="write confusion.png, mistakes.png, curves.png and weights.png in this folder",
    )
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    _add_data_arguments(evaluate)
    evaluate.set_defaults(run=commands.command_evaluate)

    predict = subcommands.add_parser(
        "predict",
        help="read your own images of digits",
        description="Predict the digit in each image: any size, colour or grey, dark ink on "
        "light paper or the reverse. Each is framed like MNIST first (--save-input shows how).",
    )
    predict.add_argument("model", type=Path, help="a model file written by `train` (model.npz)")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files")
    predict.add_argument("--json", action="store_true", help="print the answers as JSON")
    predict.add_argument(
        "--save-input",
        type=Path,
        metavar="DIR",
        help="save the 28x28 image the network received for each file",
    )
    predict.set_defaults(run=commands.command_predict)

    gradcheck = subcommands.add_parser(
        "gradcheck",
        help="check backpropagation against numerical gradients",
        description="For a small network of each activation and loss, print the relative error "
        "between each parameter's backprop gradient and its central-difference estimate.",
    )
    gradcheck.add_argument(
        "--activations",
        nargs="+",
        choices=ACTIVATIONS,
        default=list(ACTIVATIONS),
        help="activations to check (default: all)",
    )
    gradcheck.add_argument(
        "--losses",
        nargs="+",
        choices=LOSSES,
        default=list(LOSSES),
        help="losses to check (default: both)",
    )
    gradcheck.add_argument(
        "--dropout",
        type=_probability,
        default=0.0,
        help="dropout rate in the networks checked, with a fixed mask (default: 0)",
    )
    gradcheck.set_defaults(run=commands.command_gradcheck)

    compare = subcommands.add_parser(
        "compare",
        help="the ablation report: each extension switched on alone, then all, then `best`",
        description="Train the seed and each extension of it with the same seed and epochs; "
        "print a table and write compare.md, compare.png and compare.json.",
    )
    compare.add_argument(
        "--epochs", type=positive_int, default=15, help="epochs of every variant (default: 15)"
    )
    compare.add_argument(
        "--val-size",
        type=positive_int,
        default=5000,
        help="validation examples held out of the training set (default: 5000)",
    )
    compare.add_argument("--seed", type=non_negative_int, default=0, help="seed (default: 0)")
    compare.add_argument(
        "--only",
        nargs="+",
        metavar="VARIANT",
        help="run only these variants (names as in the table)",
    )
    _add_data_arguments(compare)
    compare.add_argument("--out", type=Path, default=Path("."), help="output folder (default: .)")
    compare.set_defaults(run=commands.command_compare)

    serve = subcommands.add_parser(
        "serve",
        help="the draw-a-digit web page",
        description="Serve a page where you draw a digit and watch the network read it.",
    )
    serve.add_argument("--model", type=Path, help="model file (default: ./model.npz)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only)",
    )
    serve.add_argument("--port", type=positive_int, default=8000, help="port (default: 8000)")
    serve.set_defaults(run=commands.command_serve)

    presets = subcommands.add_parser("presets", help="list the named configurations")
    presets.add_argument("--json", action="store_true", help="print them as JSON")
    presets.set_defaults(run=commands.command_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except TrainingInterrupted as error:
        print(str(error), file=sys.stderr)
        return 130
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mnist-nn presets | head -1`: the reader has gone, so be quiet
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - flushed at exit, into nothing
        return 0
    except OSError as error:  # the machine's, not ours: permissions, a full disk, a busy port
        print(f"error: {error}", file=sys.stderr)
        return 1
