"""The `mnist-nn` command: parse the arguments, call the library, print what happened.

No math lives here. Heavy imports (NumPy, matplotlib, scikit-learn) happen inside the commands so
that `mnist-nn --help` answers at once. A `UserError` is printed as one line, never a traceback.
"""

import argparse
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

from mnist_nn.errors import UserError
from mnist_nn.presets import PRESETS, TrainConfig, describe_presets

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


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are None so that a preset's values apply unless a flag overrides them.
    add = parser.add_argument
    add(
        "--preset",
        choices=sorted(PRESETS),
        default="seed",
        help="named configuration to start from; flags override it (default: seed)",
    )
    add(
        "--epochs", type=positive_int, help=f"passes over the training set (default: {SEED.epochs})"
    )
    add(
        "--batch-size",
        type=positive_int,
        help=f"examples per gradient step (default: {SEED.batch_size})",
    )
    add(
        "--lr",
        dest="learning_rate",
        type=positive_float,
        help=f"learning rate (default: {SEED.learning_rate})",
    )
    add(
        "--hidden",
        dest="hidden_sizes",
        type=positive_int,
        nargs="+",
        metavar="UNITS",
        help=f"units of each hidden layer (default: {' '.join(map(str, SEED.hidden_sizes))})",
    )
    add(
        "--seed",
        type=non_negative_int,
        help=f"random seed of weights and shuffling; same seed, same run (default: {SEED.seed})",
    )
    add("--dtype", choices=["float32", "float64"], help=f"float type (default: {SEED.dtype})")
    add(
        "--val-size",
        type=non_negative_int,
        help="examples held out of the training set for validation; per-epoch accuracy is then "
        f"measured on them instead of the test set (default: {SEED.val_size})",
    )
    add(
        "--dataset",
        choices=["mnist", "digits"],
        help="mnist, or scikit-learn's small offline digits (default: mnist, falling back to "
        "digits with a notice when MNIST cannot be found or downloaded)",
    )
    add(
        "--data-dir",
        type=Path,
        help="folder with the four MNIST IDX files (default: $MNIST_DATA_DIR, then the cache "
        "~/.cache/mnist-nn/mnist, then a download)",
    )
    add(
        "--out",
        type=Path,
        default=Path("."),
        help="folder for predictions.png, metrics.json and model.npz (default: .)",
    )


def config_from_arguments(args: argparse.Namespace) -> TrainConfig:
    """The preset named by --preset, with every flag the user gave laid over it."""
    given = {
        f.name: getattr(args, f.name)
        for f in fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }
    if "hidden_sizes" in given:
        given["hidden_sizes"] = tuple(given["hidden_sizes"])
    return replace(PRESETS[args.preset], **given)


def _notice(text: str) -> None:
    """Say something important so that nobody misses it."""
    rule = "=" * 78
    print(f"{rule}\nNOTICE: {text}\n{rule}", file=sys.stderr, flush=True)


def _print_epoch(record: dict, epochs: int) -> None:
    held_out = "val" if "val_accuracy" in record else "test"
    print(
        f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}"
        f"  loss {record['train_loss']:.4f}"
        f"  train acc {record['train_accuracy']:.2%}"
        f"  {held_out} acc {record[f'{held_out}_accuracy']:.2%}"
        f"  {record['seconds']:.2f} s",
        flush=True,
    )


def _prepare_out_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; name a folder for the outputs")
    out.mkdir(parents=True, exist_ok=True)
    return out


def command_train(args: argparse.Namespace) -> int:
    from mnist_nn.data import load_dataset
    from mnist_nn.persistence import save_json, save_model
    from mnist_nn.plots import save_predictions
    from mnist_nn.training import train

    config = config_from_arguments(args)
    out = _prepare_out_dir(args.out)
    dataset = load_dataset(args.dataset, args.data_dir, config.dtype, config.val_size)
    if dataset.notice:
        _notice(dataset.notice)
    held_out = f", {len(dataset.validation)} validation" if dataset.validation else ""
    print(
        f"dataset: {dataset.name} ({len(dataset.train)} train{held_out}, "
        f"{len(dataset.test)} test) from {dataset.source}"
    )
    print(f"preset {args.preset}: {config}")
    result = train(config, dataset, on_epoch=lambda record: _print_epoch(record, config.epochs))
    print(
        f"test accuracy: {result.test_accuracy:.2%} "
        f"({result.training_seconds:.1f} s of training, {dataset.name})"
    )

    metrics = {
        "dataset": dataset.name,
        "data_source": dataset.source,
        "preset": args.preset,
        "config": config.to_dict(),
        "history": result.history,
        "test_accuracy": result.test_accuracy,
        "training_seconds": result.training_seconds,
    }
    save_model(out / "model.npz", result.network, metrics)
    save_json(out / "metrics.json", metrics)
    shown = dataset.test.images[:10]
    save_predictions(
        out / "predictions.png",
        shown,
        dataset.test.labels[:10],
        result.network.predict(shown),
        title=f"{dataset.name} test digits · test accuracy {result.test_accuracy:.2%}",
    )
    print(f"wrote {out / 'predictions.png'}, {out / 'metrics.json'}, {out / 'model.npz'}")
    return 0


def command_presets(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps({name: c.to_dict() for name, c in PRESETS.items()}, indent=2))
    else:
        print(describe_presets())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-nn",
        description="A neural network from scratch in NumPy that reads handwritten digits.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a network on MNIST (the seed design unless told otherwise)",
        description="Train a network, print each epoch, and write predictions.png, metrics.json "
        "and model.npz.",
        epilog="presets:\n" + describe_presets(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_train_arguments(train)
    train.set_defaults(run=command_train)

    presets = commands.add_parser("presets", help="list the named configurations")
    presets.add_argument("--json", action="store_true", help="print them as JSON")
    presets.set_defaults(run=command_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
