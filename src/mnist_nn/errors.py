"""The exception for mistakes a user can fix (a missing file, a bad value, a diverging run).

The command line prints its message as a single line, without a traceback; anything else that goes
wrong is a bug and keeps its traceback.

A message that names a training setting names it through `named("learning_rate", 0.1)`, so
that each front end words it its own way: `--lr 0.1` on the command line (`cli.flags.cli_word`),
`learning_rate=0.1` on the web page and in Python (`python_word`, here), scikit-learn's name
(`hidden_layer_sizes`) for the estimator. `str(error)` is the Python wording;
`error.worded(word)` is any front end's. This module imports nothing of mnist_nn: the wording of
each front end lives with that front end.
"""

import re
from collections.abc import Callable

# A setting inside a message: ⟦name⟧ or ⟦name=value⟧, replaced by each front end's wording.
MARK = re.compile(r"⟦(\w+)(?:=([^⟧]*))?⟧")


def named(name: str, value=None) -> str:
    """A setting named inside a message, with its value if given: named("val_size", "N")."""
    if value is None:
        return f"⟦{name}⟧"
    text = " ".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
    return f"⟦{name}={text}⟧"


def shown(value, most: int = 40) -> str:
    """`value` as a message quotes it: its repr, cut to `most` characters with its length said
    (a 5,000-character value is not echoed back whole)."""
    text = repr(value)
    if len(text) <= most:
        return text
    return f"{text[: most - 1]}… ({len(str(value)):,} characters)"


def python_word(name: str, value: str | None) -> str:
    """A setting as Python and the web page write it: learning_rate=0.1, hidden_sizes=(64, 32)."""
    if value is None:
        return name
    return f"{name}=({', '.join(value.split())})" if " " in value else f"{name}={value}"


Word = Callable[[str, str | None], str]  # (setting's name, its value or None) -> its wording


def worded(template: str, word: Word = python_word) -> str:
    """`template` with each setting as `word` writes it."""
    return MARK.sub(lambda match: word(match.group(1), match.group(2)), template)


class UserError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""

    def __init__(self, message: str = ""):
        self.template = message
        super().__init__(worded(message) if "⟦" in message else message)

    def worded(self, word: Word) -> str:
        """The message with each setting named as `word` (a front end's) writes it."""
        return worded(self.template, word) if "⟦" in self.template else str(self)


class TrainingInterrupted(UserError):
    """Ctrl-C stopped a training run after saving a checkpoint; the message says how to resume."""
