"""The settings as the command line writes them: each setting's flag parsed and checked, its
value shown in help, the docs' table of flags, and a setting named inside a message (`--lr 0.1`).
Everything here is made from the declarations in `config`; nothing is declared here.
"""

import argparse

from mnist_nn.config import SETTINGS, Table, check, describe_limits, flag, kind, settings
from mnist_nn.errors import python_word, shown


def cli_word(name: str, value: str | None) -> str:
    """A setting named in a message as the command line spells it: --lr 0.1 (see errors.named)."""
    if name not in SETTINGS:
        return python_word(name, value)
    written = flag(SETTINGS[name])
    return written if value is None else f"{written} {value}"


def value_parser(option):
    """An argparse type for a TrainConfig field: the value, checked against the field's limits."""
    convert = kind(option)

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            number = "a whole number" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"{shown(text)} is not {number}") from None
        problem = check(option, (value,) if option.metadata["max_count"] else value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = convert.__name__  # argparse names the type in its "invalid value" message
    return parse


def metavar(option) -> str:
    """How the flag's value is shown in help: N (whole number), X (number), NAME (a choice)."""
    if option.metadata["metavar"]:
        return option.metadata["metavar"]
    return (
        "NAME" if option.metadata["choices"] is not None else {int: "N", float: "X"}[kind(option)]
    )


def default_text(option) -> str:
    """The field's default as typed on the command line: 128, or 512 256 for a tuple."""
    default = option.default
    if default == "":
        return "none"
    return " ".join(map(str, default)) if isinstance(default, tuple) else str(default)


def flag_table(options=None) -> str:
    """The docs' table of training flags, made from the fields (a test keeps them equal;
    `python -m mnist_nn.cli.flags` prints it)."""
    rows = ["| flag | default | meaning |", "|---|---|---|"]
    for option in settings("cli", options).values():
        meta, shown = option.metadata, metavar(option)
        usage = f"{flag(option)} {shown}" + (f" [{shown} ...]" if meta["max_count"] else "")
        choices = meta["choices"]
        if isinstance(choices, Table):  # grows with the math modules: named, not copied here
            values = (
                f"a name in [`nn.{choices.module}.{choices.table}`](../src/mnist_nn/nn/"
                f"{choices.module}.py) (`mnist-nn train --help` lists them)"
            )
        elif choices is not None:
            values = "one of " + ", ".join(f"`{name}`" for name in choices)
        elif meta["validate"] is not None:
            values = "text"
        else:
            values = describe_limits(option)
        rows.append(f"| `{usage}` | {default_text(option)} | {meta['help']}; {values} |")
    return "\n".join(rows)


def write_flag_table(reference) -> None:
    """Put the flag table into the docs page `reference` (docs/cli.md), between its markers."""
    text = reference.read_text()
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    reference.write_text(f"{text[:start]}{TABLE_START}\n{flag_table()}\n{text[end:]}")


TABLE_START, TABLE_END = "<!-- training flags -->", "<!-- end of flags -->"


if __name__ == "__main__":
    # `python -m mnist_nn.cli.flags` prints the docs' flag table; with --write (in a checkout) it
    # puts it into docs/cli.md, so a new setting's docs follow with one command.
    import sys
    from pathlib import Path

    if sys.argv[1:] == ["--write"]:
        write_flag_table(Path(__file__).resolve().parents[3] / "docs" / "cli.md")
    else:
        print(flag_table())


def add_setting(parser: argparse.ArgumentParser, option, default: str | None = None) -> None:
    """A flag made from a TrainConfig field: its name, help text, limits and the seed's default
    (or `default`, said in words, where the command applies another). Its parsed default is
    None, so that a preset's value applies unless the flag is given."""
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
    text += f" (default: {default or default_text(option)})"
    parser.add_argument(flag(option), dest=option.name, help=text, **keywords)
