"""What the commands share: the arguments several take (the settings, the data, where trials
run), the configuration they describe, and the output folder.
"""

import argparse
import sys
from pathlib import Path

from mnist_nn.cli.flags import add_setting
from mnist_nn.config import SETTINGS, TrainConfig, settings, with_settings
from mnist_nn.errors import UserError, shown
from mnist_nn.presets import PRESETS


def config_from_arguments(args: argparse.Namespace) -> TrainConfig:
    """The preset named by --preset, with every flag the user gave laid over it, checked."""
    given = {
        name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None
    }
    return with_settings(PRESETS[args.preset], given)


def setting_choices(name: str):
    """The names a TrainConfig field may take (e.g. every activation)."""
    return SETTINGS[name].metadata["choices"]


def notice(text: str) -> None:
    """Say something important so that nobody misses it."""
    rule = "=" * 78
    print(f"{rule}\nNOTICE: {text}\n{rule}", file=sys.stderr, flush=True)


def prepare_out_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; name a folder for the outputs")
    out.mkdir(parents=True, exist_ok=True)
    return out


HELD_OUT = "5000, or a fifth of a smaller training set, such as the digits fallback's"


def add_settings(parser: argparse.ArgumentParser, preset_help: str, chooses: bool = False) -> None:
    """--preset and one flag per declared setting, laid over it. A command that `chooses`
    (a sweep) always holds examples out to choose on, so its --val-size says so."""
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="seed", help=f"{preset_help} (default: seed)"
    )
    for option in settings("cli").values():
        add_setting(parser, option, HELD_OUT if chooses and option.name == "val_size" else None)


def add_data_arguments(parser: argparse.ArgumentParser, own_data: bool = True) -> None:
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


def megabytes(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 64 <= int(text) <= 1 << 20:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number of MB from 64 up")
    return int(text)


def port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a port number from 1 to 65535")
    return int(text)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=count,
        help="processes of the local pool (default: one per core; 1: in this process)",
    )
    where.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="a Dask scheduler, e.g. tcp://HOST:8786",
    )
    where.add_argument(
        "--dask-workers", type=count, metavar="N", help="start a local Dask cluster of N workers"
    )


def scheduler_address(text: str) -> str:
    """--scheduler's value, checked before anything is loaded (the rule is the executors')."""
    from mnist_nn.experiments.executors import check_scheduler_address

    try:
        check_scheduler_address(text)
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number from 1 to 10,000")
    return int(text)
