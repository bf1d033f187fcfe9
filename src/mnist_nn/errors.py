"""The exception for mistakes a user can fix (a missing file, a bad value, a diverging run).

The command line prints its message as a single line, without a traceback; anything else that goes
wrong is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""


class TrainingInterrupted(UserError):
    """Ctrl-C stopped a training run after saving a checkpoint; the message says how to resume."""
