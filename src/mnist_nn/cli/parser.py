"""The `mnist-nn` command: parse the arguments, call the library, print what happened.

No math lives here. Heavy imports (NumPy, matplotlib, scikit-learn) happen inside the commands so
that `mnist-nn --help` answers at once. A `UserError` is printed as one line, never a traceback.
"""

import argparse
import os
import re
import sys

from mnist_nn.cli import evaluate, experiments, predict, serve, train
from mnist_nn.cli.flags import cli_word
from mnist_nn.errors import TrainingInterrupted, UserError


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose one-line errors quote no value at length (argparse echoes a
    wrong choice whole: a 5,000-character one would fill the screen)."""

    def error(self, message: str):
        super().error(re.sub(r"'([^']{40})[^']+'", lambda quoted: f"'{quoted[1]}…'", message))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mnist-nn",
        description="A neural network from scratch in NumPy that reads handwritten digits.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in (
        train.add_train,
        evaluate.add_evaluate,
        predict.add_predict,
        train.add_gradcheck,
        experiments.add_compare,
        serve.add_serve,
        experiments.add_sweep,
        experiments.add_replicate,
        train.add_presets,
    ):  # each command's arguments are beside the command, in its module
        add_command(subcommands)
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
