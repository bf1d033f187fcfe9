"""The `mnist-nn` command: parse the arguments, call the library, print what happened.

No math lives here. Heavy imports (NumPy, matplotlib, scikit-learn) happen inside the commands so
that `mnist-nn --help` answers at once. A `UserError` is printed as one line, never a traceback.
"""

import argparse
import os
import sys
from pathlib import Path

from mnist_nn.cli import commands
from mnist_nn.cli.flags import cli_word, default_text, metavar, value_parser
from mnist_nn.config import SETTINGS, flag, settings
from mnist_nn.errors import TrainingInterrupted, UserError
from mnist_nn.presets import PRESETS, describe_presets


def _add_setting(parser: argparse.ArgumentParser, option) -> None:
    """A flag made from a TrainConfig field: its name, help text, limits and the seed's default.
    Its parsed default is None, so that a preset's value applies unless the flag is given."""
    meta = option.metadata
    keywords = {"metavar": metavar(option)}
    text = meta["help"]
    if meta["choices"] is not None:
        # %(choices)s is filled in only when help is shown: listing the names of the math
        # modules' tables imports NumPy, which `mnist-nn --help` should not wait for.
        keywords["choices"] = meta["choices"]
        text += "; one of %(choices)s"
    else:
        keywords["type"] = value_parser(option)
    if meta["max_count"]:
        keywords["nargs"] = "+"
    text += f" (default: {default_text(option)})"
    parser.add_argument(flag(option), dest=option.name, help=text, **keywords)


def _add_settings(parser: argparse.ArgumentParser, preset_help: str) -> None:
    """--preset and one flag per declared setting, laid over it."""
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="seed", help=f"{preset_help} (default: seed)"
    )
    for option in settings("cli").values():
        _add_setting(parser, option)


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    _add_settings(parser, "named configuration to start from; flags override it")
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
        help="also write confusion.png, mistakes.png, curves.png, weights.png, activations.png",
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


def _add_data_arguments(parser: argparse.ArgumentParser, own_data: bool = True) -> None:
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
    if not own_data:
        return
    parser.add_argument(
        "--data",
        type=Path,
        metavar="FILE",
        help="your own data instead: an .npz (x_train, y_train, optionally x_test, y_test) or a "
        "CSV with a header row and a `label` column",
    )


def _megabytes(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 64 <= int(text) <= 1 << 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of MB from 64 up")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 1 to 65535")
    return int(text)


def _add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_count,
        help="processes of the local pool (default: one per core; 1: in this process)",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://HOST:8786"
    )
    where.add_argument(
        "--dask-workers", type=_count, metavar="N", help="start a local Dask cluster of N workers"
    )


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 10,000")
    return int(text)


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
        help="write confusion, mistakes, curves, weights and activations pictures in this folder",
    )
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    _add_data_arguments(evaluate)
    evaluate.set_defaults(run=commands.command_evaluate)

    predict = subcommands.add_parser(
        "predict",
        help="read your own images of digits, or of written numbers",
        description="Read the digit in each image (or with --number, the number written on one "
        "line): any size, colour or grey, dark ink on light paper or the reverse. Each digit is "
        "framed like MNIST first (--save-input shows how). Scores are calibrated probabilities; "
        "an image that is not a digit is said to be so, and an answer below 50% is 'unsure'.",
    )
    predict.add_argument("model", type=Path, help="a model file written by `train` (model.npz)")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files")
    predict.add_argument("--json", action="store_true", help="print the answers as JSON")
    predict.add_argument(
        "--number",
        action="store_true",
        help="read a number of up to 12 digits written on one line: each digit with its box",
    )
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
        metavar="NAME",
        choices=SETTINGS["activation"].metadata["choices"],
        help="activations to check, of %(choices)s (default: all)",
    )
    gradcheck.add_argument(
        "--losses",
        nargs="+",
        metavar="NAME",
        choices=SETTINGS["loss"].metadata["choices"],
        help="losses to check, of %(choices)s (default: all)",
    )
    gradcheck.add_argument(
        "--dropout",
        type=value_parser(SETTINGS["dropout"]),
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
        "--epochs",
        type=value_parser(SETTINGS["epochs"]),
        default=15,
        help="epochs of every variant (default: 15)",
    )
    compare.add_argument(
        "--val-size",
        type=value_parser(SETTINGS["val_size"]),
        default=None,
        help="validation examples held out of the training set (default: 5000, or a fifth of "
        "a smaller training set, such as the digits fallback's)",
    )
    compare.add_argument(
        "--seed", type=value_parser(SETTINGS["seed"]), default=0, help="seed (default: 0)"
    )
    compare.add_argument(
        "--only",
        nargs="+",
        metavar="VARIANT",
        help="run only these variants (names as in the table)",
    )
    _add_data_arguments(compare, own_data=False)
    compare.add_argument("--out", type=Path, default=Path("."), help="output folder (default: .)")
    compare.set_defaults(run=commands.command_compare)

    serve = subcommands.add_parser(
        "serve",
        help="the draw-a-digit web page",
        description="Serve a page where you draw a digit and watch the network read it, and "
        "where you can train a network and watch it learn (it opens there when there is no "
        "model yet).",
    )
    serve.add_argument(
        "--model", type=Path, help="model file (default: ./model.npz, if there is one)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--memory-budget",
        type=_megabytes,
        default=2048,
        metavar="MB",
        help="memory a training run started from the page may hold besides its data; a run "
        "that would need more is refused before it starts (default: 2048)",
    )
    serve.add_argument(
        "--token",
        help="a secret every request must carry (?token= once in the page's address, or an "
        "Authorization: token header); default: none on localhost, a new random one printed at "
        "start for any other --host",
    )
    _add_data_arguments(serve, own_data=False)  # what the Train panel trains on
    serve.set_defaults(run=commands.command_serve)

    sweep = subcommands.add_parser(
        "sweep",
        help="many runs: a grid or random search over settings, times seeds, in parallel",
        description="Train every combination of the swept settings (laid over --preset and any "
        "flags) with each seed, on a local process pool or a Dask cluster; print mean ± std "
        "over seeds and write trials.jsonl, sweep.csv, sweep.json and sweep.png in --out. Run "
        "the same command again to continue an interrupted sweep.",
        epilog="example: mnist-nn sweep --grid learning_rate=0.003,0.01,0.03 "
        "hidden_sizes=64,128,256 --seeds 3 --epochs 5 (hidden_sizes=256+128: two layers)",
    )
    _add_settings(sweep, "named configuration every trial starts from")
    searches = sweep.add_mutually_exclusive_group(required=True)
    searches.add_argument(
        "--grid",
        nargs="+",
        metavar="NAME=V,V",
        help="settings and their values; every combination is a trial",
    )
    searches.add_argument(
        "--random",
        nargs="+",
        metavar="NAME=LOW:HIGH",
        help="settings and their ranges (or choices: NAME=A,B); --trials draws of them",
    )
    sweep.add_argument(
        "--trials", type=_count, default=10, help="draws of a --random search (default: 10)"
    )
    sweep.add_argument("--seeds", type=_count, default=3, help="seeds per combination (default: 3)")
    _add_executor_arguments(sweep)
    _add_data_arguments(sweep, own_data=False)
    sweep.add_argument(
        "--out", type=Path, default=Path("sweep"), help="results folder (default: ./sweep)"
    )
    sweep.set_defaults(run=commands.command_sweep)

    replicate = subcommands.add_parser(
        "replicate",
        help="rerun classic fully-connected MNIST results (LeCun 1998, Simard 2003, dropout)",
        description="Train each row's network as its paper describes it, with several seeds, "
        "on a local process pool or a Dask cluster, and print the paper's test error beside "
        "ours (mean ± std). Run the same command again to continue an interrupted run.",
    )
    replicate.add_argument("--rows", nargs="+", metavar="ROW", help="run only these rows")
    replicate.add_argument("--seeds", type=_count, default=3, help="seeds per row (default: 3)")
    replicate.add_argument(
        "--quick", action="store_true", help="one epoch per row: a first look, in minutes"
    )
    _add_executor_arguments(replicate)
    _add_data_arguments(replicate, own_data=False)
    replicate.add_argument(
        "--out", type=Path, default=Path("replicate"), help="results folder (default: ./replicate)"
    )
    replicate.set_defaults(run=commands.command_replicate)

    presets = subcommands.add_parser("presets", help="list the named configurations")
    presets.add_argument("--json", action="store_true", help="print them as JSON")
    presets.set_defaults(run=commands.command_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except TrainingInterrupted as error:
        print(error.worded(cli_word), file=sys.stderr)
        return 130
    except UserError as error:  # settings named as flags: --lr, not learning_rate
        print(f"error: {error.worded(cli_word)}", file=sys.stderr)
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
