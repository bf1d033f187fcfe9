"""What a training run does: `TrainConfig`, each setting with its default, help text and limits.

A setting is described once, here: the command line's flags (`cli.py`), the README's flag table
(kept in step by a test) and the checks of settings that come from elsewhere (the web page, a
checkpoint) are all made from these fields. The defaults are the seed design's.
This module imports nothing heavy (no NumPy), so that `mnist-nn --help` answers at once.
"""

import importlib
import math
from dataclasses import asdict, dataclass, field, fields, replace

from mnist_nn.errors import UserError


class Table:
    """The names of one of the math modules' tables, e.g. layers.ACTIVATIONS, looked up when first
    needed: a new activation, loss or optimizer added to its table is a choice everywhere, and
    `mnist-nn --help` still does not import NumPy."""

    def __init__(self, module: str, table: str):
        self.module, self.table = module, table

    def names(self) -> tuple[str, ...]:
        return tuple(getattr(importlib.import_module(f"mnist_nn.{self.module}"), self.table))

    def __iter__(self):
        return iter(self.names())

    def __contains__(self, name) -> bool:
        return name in self.names()

    def __repr__(self) -> str:
        return f"Table({self.module}.{self.table})"


def setting(
    default,
    help: str,
    *,
    flag=None,
    low=None,
    high=None,
    open_low=False,
    open_high=False,
    choices=None,
    metavar=None,
    max_count=None,
):
    """A TrainConfig field: its default, its help text and what values it takes.

    Numbers lie in [low, high]; `open_low`/`open_high` leave an end out (a learning rate above 0, a
    probability below 1). `max_count` caps the length of a tuple (how many hidden layers).
    """
    limits = {"low": low, "high": high, "open_low": open_low, "open_high": open_high}
    metadata = {"help": help, "flag": flag, "choices": choices, "metavar": metavar, **limits}
    return field(default=default, metadata={**metadata, "max_count": max_count})


@dataclass(frozen=True)
class TrainConfig:
    """What a training run does. The defaults are the seed design's."""

    epochs: int = setting(15, "passes over the training set", low=1, high=1000)
    batch_size: int = setting(
        128,
        "examples per gradient step (the last batch of an epoch may be smaller)",
        low=1,
        high=65536,
    )
    learning_rate: float = setting(
        0.01,
        "learning rate: it multiplies the gradient summed over the batch",
        flag="--lr",
        low=0,
        open_low=True,
        high=1000,
    )
    hidden_sizes: tuple[int, ...] = setting(
        (128,),
        "units of each hidden layer, e.g. --hidden 512 256",
        flag="--hidden",
        low=1,
        high=8192,
        max_count=8,
        metavar="UNITS",
    )
    activation: str = setting(
        "sigmoid", "activation of the hidden layers", choices=Table("layers", "ACTIVATIONS")
    )
    loss: str = setting(
        "mse",
        "mse (sigmoid outputs, the seed's) or cross_entropy (softmax outputs)",
        choices=Table("losses", "LOSSES"),
    )
    optimizer: str = setting(
        "sgd", "how parameters are updated", choices=Table("optimizers", "OPTIMIZERS")
    )
    momentum: float = setting(
        0.9, "velocity kept per step (momentum, nesterov)", low=0, high=1, open_high=True
    )
    lr_schedule: str = setting(
        "constant",
        "learning rate over the run: constant, step (/10 at 1/2 and 3/4) or cosine (down to 0)",
        choices=Table("optimizers", "SCHEDULES"),
    )
    weight_decay: float = setting(0.0, "L2 penalty λ on the weight matrices", low=0, high=1)
    max_norm: float = setting(
        0.0, "cap on the norm of each unit's incoming weights (0: none)", low=0, high=1000
    )
    dropout: float = setting(
        0.0, "probability of dropping a hidden unit in training", low=0, high=1, open_high=True
    )
    input_dropout: float = setting(
        0.0, "probability of dropping an input pixel in training", low=0, high=1, open_high=True
    )
    augment_shift: float = setting(
        0.0, "shift training images randomly by up to this many pixels", low=0, high=14
    )
    augment_rotation: float = setting(
        0.0, "rotate training images randomly by up to this many degrees", low=0, high=180
    )
    augment_scale: float = setting(
        0.0,
        "scale training images randomly by up to this fraction",
        low=0,
        high=1,
        open_high=True,
    )
    augment_shear: float = setting(
        0.0, "slant training images randomly by up to this many degrees", low=0, high=45
    )
    augment_elastic: float = setting(
        0.0,
        "strength of an elastic distortion of training images (Simard et al.'s alpha: 34 "
        "wobbles strokes by about 1.5 px)",
        low=0,
        high=100,
    )
    augment_thickness: float = setting(
        0.0,
        "probability of making a training image's strokes a pixel thicker or thinner",
        low=0,
        high=1,
    )
    early_stopping: int = setting(
        0,
        "stop after this many epochs without a better validation accuracy, keeping the best "
        "weights (needs --val-size; 0: never)",
        low=0,
        high=1000,
        metavar="PATIENCE",
    )
    seed: int = setting(
        0,
        "random seed of weights, shuffling, dropout and augmentation; same seed, same run",
        low=0,
        high=2**32 - 1,
    )
    dtype: str = setting(
        "float32", "float type (float32 is twice as fast)", choices=("float32", "float64")
    )
    val_size: int = setting(
        0,
        "examples held out of the training set for validation; per-epoch accuracy is then "
        "measured on them instead of the test set",
        low=0,
        high=10**7,
    )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """The inverse of `to_dict` (after a trip through JSON, which turns tuples into lists)."""
        known = {key: value for key, value in values.items() if key in cls.__dataclass_fields__}
        if isinstance(known.get("hidden_sizes"), list):
            known["hidden_sizes"] = tuple(known["hidden_sizes"])
        return cls(**known)

    def validated(self) -> "TrainConfig":
        """This config, if every setting is within its limits; else a UserError naming the first
        one that is not (for settings that did not come through the command line's checks)."""
        for option in fields(self):
            problem = check(option, getattr(self, option.name))
            if problem:
                raise UserError(f"{option.name}: {problem}")
        sizes = (784, *self.hidden_sizes, 10)
        weights = sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
        if weights > MAX_WEIGHTS:
            raise UserError(
                f"hidden_sizes {' '.join(map(str, self.hidden_sizes))}: {weights:,} weights, "
                f"over the limit of {MAX_WEIGHTS:,} (with their gradients and optimizer state they "
                "would not fit in memory); choose fewer or smaller layers"
            )
        return self

    def changes_from(self, other: "TrainConfig") -> list[str]:
        """Each setting that differs from `other`'s, as name=value."""
        return [
            f"{name}={value}"
            for name, value in self.to_dict().items()
            if value != getattr(other, name)
        ]

    def describe(self, inputs: int = 784, classes: int = 10) -> str:
        """One readable line: the architecture, then each setting that differs from the seed's."""
        layers = "-".join(map(str, (inputs, *self.hidden_sizes, classes)))
        seed = TrainConfig()
        changed = [
            change for change in self.changes_from(seed) if change.split("=")[0] not in SHOWN_FIRST
        ]
        details = "the seed design" if self == seed else ", ".join(changed)
        return (
            f"{layers} {self.activation}, {self.loss}, {self.optimizer} lr {self.learning_rate}"
            + (f" ({details})" if details else "")
        )


MAX_WEIGHTS = 100_000_000  # 400 MB of float32 weights, about 1.6 GB with gradients and Adam's state
SHOWN_FIRST = ("hidden_sizes", "activation", "loss", "optimizer", "learning_rate")  # by describe()


def setting_value(name: str, value):
    """A value for setting `name` as the config holds it: a list of hidden sizes as a tuple, and a
    whole number given for a float setting as a float (JSON sends 1 for 1.0)."""
    option = TrainConfig.__dataclass_fields__[name]
    if isinstance(value, list) and option.metadata["max_count"]:
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool) and option.type is float:
        return float(value)
    return value


def with_settings(base: TrainConfig, given: dict) -> TrainConfig:
    """`base` (a preset) with the settings in `given` laid over it, checked (a UserError if not)."""
    values = {name: setting_value(name, value) for name, value in given.items()}
    return replace(base, **values).validated()


def flag(option) -> str:
    """The command-line flag of a TrainConfig field: --batch-size for batch_size, unless named."""
    return option.metadata["flag"] or "--" + option.name.replace("_", "-")


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
    return " ".join(map(str, default)) if isinstance(default, tuple) else str(default)


def flag_table() -> str:
    """The README's table of training flags, made from the fields (a test keeps them equal;
    `python -m mnist_nn.config` prints it)."""
    rows = ["| flag | default | meaning |", "|---|---|---|"]
    for option in fields(TrainConfig):
        meta, shown = option.metadata, metavar(option)
        usage = f"{flag(option)} {shown}" + (f" [{shown} ...]" if meta["max_count"] else "")
        if meta["choices"] is not None:
            values = "one of " + ", ".join(f"`{name}`" for name in meta["choices"])
        else:
            values = describe_limits(option)
        rows.append(f"| `{usage}` | {default_text(option)} | {meta['help']}; {values} |")
    return "\n".join(rows)


def kind(option) -> type:
    """int, float or str: the type of the field's value (of each value, for a tuple)."""
    return int if option.type == tuple[int, ...] else option.type


def describe_limits(option) -> str:
    """What values a numeric field takes, in words: "a whole number from 1 to 1,000"."""
    meta = option.metadata
    number = "a whole number" if kind(option) is int else "a number"
    low, high = f"{meta['low']:,}", f"{meta['high']:,}"
    if not (meta["open_low"] or meta["open_high"]):
        return f"{number} from {low} to {high}"
    low = f"above {low}" if meta["open_low"] else f"at least {low}"
    high = f"below {high}" if meta["open_high"] else f"at most {high}"
    return f"{number} {low} and {high}"


def check(option, value) -> str | None:
    """Why `value` is not acceptable for the field `option` (None if it is)."""
    meta = option.metadata
    if meta["choices"] is not None:
        choices = tuple(meta["choices"])
        return None if value in choices else f"{value!r} is not one of {', '.join(choices)}"
    values = value if isinstance(value, tuple) else (value,)
    if meta["max_count"] is not None and not 1 <= len(values) <= meta["max_count"]:
        return f"{len(values)} values, where 1 to {meta['max_count']} are allowed"
    for item in values:
        wanted = kind(option)
        numeric = isinstance(item, int | float) and not isinstance(item, bool)
        if not numeric or (wanted is int and not isinstance(item, int)):
            return f"{item!r} is not {describe_limits(option)}"
        low, high = meta["low"], meta["high"]
        below = item <= low if meta["open_low"] else item < low
        above = item >= high if meta["open_high"] else item > high
        if math.isnan(item) or below or above:
            return f"{item!r} is not {describe_limits(option)}"
    return None


if __name__ == "__main__":
    print(flag_table())
