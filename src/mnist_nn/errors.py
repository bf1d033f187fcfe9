"""The exception for mistakes a user can fix (a missing file, a bad value, a diverging run).

The command line prints its message as a single line, without a traceback; anything else that goes
wrong is a bug and keeps its traceback.

A message that names a training setting names it through `named("learning_rate", 0.1)`, so
that each door words it its own way: `--lr 0.1` on the command line, `learning_rate=0.1` on the
web page and in Python, scikit-learn's name (`hidden_layer_sizes`) for the estimator. `str(error)`
is the Python wording; `error.worded("cli")` is the command line's.
"""

import re

# A setting inside a message: ⟦name⟧ or ⟦name=value⟧, replaced by each door's wording.
MARK = re.compile(r"⟦(\w+)(?:=([^⟧]*))?⟧")


def named(name: str, value=None) -> str:
    """A setting named inside a message, with its value if given: named("val_size", "N")."""
    if value is None:
        return f"⟦{name}⟧"
    text = " ".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
    return f"⟦{name}={text}⟧"


def worded(template: str, door: str = "python") -> str:
    """`template` with each setting as `door` writes it: "cli", "python" (also the web's) or
    "estimator"."""
    from mnist_nn.config import SCIKIT_LEARN_NAMES, SETTINGS, flag

    def word(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        if door == "cli" and name in SETTINGS:
            written = flag(SETTINGS[name])
            return written if value is None else f"{written} {value}"
        if door == "estimator":
            name = SCIKIT_LEARN_NAMES.get(name, name)
        if value is None:
            return name
        return f"{name}=({', '.join(value.split())})" if " " in value else f"{name}={value}"

    return MARK.sub(word, template)


class UserError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""

    def __init__(self, message: str = ""):
        self.template = message
        super().__init__(worded(message) if "⟦" in message else message)

    def worded(self, door: str) -> str:
        """The message as `door` ("cli", "python", "estimator") names the settings."""
        return worded(self.template, door) if "⟦" in self.template else str(self)


class TrainingInterrupted(UserError):
    """Ctrl-C stopped a training run after saving a checkpoint; the message says how to resume."""
