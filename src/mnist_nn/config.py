"""What a training run does: `TrainConfig`, each setting with its default, help text and limits.

A setting is declared once, here: its type, default, limits, help, and the front ends it comes
through (the command line, the web page's Train panel, the scikit-learn estimator). Everything
else is made from these declarations by the front ends: the command line's flags and docs/cli.md
(`cli/flags.py`), the Train panel's form (`web/form.py`: the page builds its inputs from it) and
the web's caps, the estimator's parameters (`estimator.py`, through one rename map), and the
checks of settings that come from elsewhere (a checkpoint, a JSON body). The weight limit lives
here too (`check_weights`); the count itself is the math's (`nn/stack.py`). The defaults are the
seed design's. This module imports nothing heavy (no NumPy), so that `mnist-nn --help` answers at
once.
"""

import importlib
import math
from dataclasses import asdict, dataclass, field, fields, replace

from mnist_nn.errors import UserError, named, shown
from mnist_nn.nn.stack import LINE_LOSS, count_weights, reads_lines, stack_problem


class Table:
    """The names of one of the math modules' tables, e.g. layers.ACTIVATIONS, looked up when first
    needed: a new activation, loss or optimizer added to its table is a choice everywhere, and
    `mnist-nn --help` still does not import NumPy."""

    def __init__(self, module: str, table: str):
        self.module, self.table = module, table

    def names(self) -> tuple[str, ...]:
        return tuple(getattr(importlib.import_module(f"mnist_nn.nn.{self.module}"), self.table))

    def __iter__(self):
        return iter(self.names())

    def __contains__(self, name) -> bool:
        return name in self.names()

    def __repr__(self) -> str:
        return f"Table({self.module}.{self.table})"


FRONT_ENDS = ("cli", "web", "estimator")  # where a setting can be given


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
    label=None,
    web_high=None,
    web_max_count=None,
    live=False,
    front_ends=FRONT_ENDS,
    validate=None,
):
    """A TrainConfig field: its default, its help text and what values it takes.

    Numbers lie in [low, high]; `open_low`/`open_high` leave an end out (a learning rate above 0, a
    probability below 1). `max_count` caps the length of a tuple (how many hidden layers).
    `label` names it on the web page's form (default: from the name); `web_high` and
    `web_max_count` are tighter caps for a request to the web server, which anyone on the page
    can send; `live` settings may change while a run trains; `front_ends` are where it can be set.
    A text setting without choices is checked by `validate(value)`: None, or what is wrong.
    """
    limits = {"low": low, "high": high, "open_low": open_low, "open_high": open_high}
    metadata = {"help": help, "flag": flag, "choices": choices, "metavar": metavar, **limits}
    unknown = set(front_ends) - set(FRONT_ENDS)
    if unknown:
        raise ValueError(f"unknown front ends {sorted(unknown)}: choose among {FRONT_ENDS}")
    return field(
        default=default,
        metadata={
            **metadata,
            "max_count": max_count,
            "label": label,
            "web_high": web_high,
            "web_max_count": web_max_count,
            "live": live,
            "front_ends": tuple(front_ends),
            "validate": validate,
        },
    )


@dataclass(frozen=True)
class TrainConfig:
    """What a training run does. The defaults are the seed design's."""

    epochs: int = setting(15, "passes over the training set", low=1, high=1000, web_high=200)
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
        live=True,
    )
    hidden_sizes: tuple[int, ...] = setting(
        (128,),
        "units of each hidden layer, e.g. --hidden 512 256",
        flag="--hidden",
        low=1,
        high=8192,
        max_count=8,
        metavar="UNITS",
        label="Hidden layers",
        web_high=2048,
        web_max_count=4,
    )
    layers: str = setting(
        "",
        "image layers instead of --hidden, e.g. 'conv8x5 pool conv16x5 pool dense128': convFxK "
        "is F filters of KxK (the image shrinks by K-1), pool halves it, denseN is N units, "
        "each followed by the activation; bn after a conv or dense layer normalises its outputs "
        "over the batch first; columns ends a line reader's image layers (one answer per column "
        "position; columnsK: each answer sees K neighbouring columns) (empty: the dense "
        "--hidden layers)",
        metavar="STACK",
        label="Image layers",
        validate=lambda value: stack_problem(value),
    )
    activation: str = setting(
        "sigmoid", "activation of the hidden layers", choices=Table("layers", "ACTIVATIONS")
    )
    loss: str = setting(
        "mse",
        "mse (sigmoid outputs, the seed's), cross_entropy (softmax outputs) or ctc (a line "
        "reader's: a stack with columns)",
        choices=Table("losses", "LOSSES"),
    )
    optimizer: str = setting(
        "sgd", "how parameters are updated", choices=Table("optimizers", "OPTIMIZERS")
    )
    momentum: float = setting(
        0.9,
        "velocity kept per step (momentum, nesterov)",
        low=0,
        high=1,
        open_high=True,
        live=True,
    )
    lr_schedule: str = setting(
        "constant",
        "learning rate over the run: constant, step (/10 at 1/2 and 3/4), cosine (down to 0) or "
        "onecycle (up from 1/25 over the first 3/10 of the run, then down to 0)",
        choices=Table("optimizers", "SCHEDULES"),
        label="Schedule",
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
        0.0,
        "shift training images randomly by up to this many pixels",
        low=0,
        high=14,
        label="Shift (px)",
    )
    augment_rotation: float = setting(
        0.0,
        "rotate training images randomly by up to this many degrees",
        low=0,
        high=180,
        label="Rotation (°)",
    )
    augment_scale: float = setting(
        0.0,
        "scale training images randomly by up to this fraction",
        low=0,
        high=1,
        open_high=True,
        label="Scale (±)",
    )
    augment_shear: float = setting(
        0.0,
        "slant training images randomly by up to this many degrees",
        low=0,
        high=45,
        label="Shear (°)",
    )
    augment_elastic: float = setting(
        0.0,
        "strength of an elastic distortion of training images (Simard et al.'s alpha: 34 "
        "wobbles strokes by about 1.5 px)",
        low=0,
        high=100,
        label="Elastic (α)",
    )
    augment_thickness: float = setting(
        0.0,
        "probability of making a training image's strokes a pixel thicker or thinner",
        low=0,
        high=1,
        label="Thickness",
    )
    early_stopping: int = setting(
        0,
        "stop after this many epochs without a better validation accuracy, keeping the best "
        "weights (needs --val-size; 0: never)",
        low=0,
        high=1000,
        metavar="PATIENCE",
        label="Early stopping (patience)",
        front_ends=("cli", "web"),  # the estimator has scikit-learn's own: early_stopping=True, ...
    )
    seed: int = setting(
        0,
        "random seed of weights, shuffling, dropout and augmentation; same seed, same run",
        low=0,
        high=2**32 - 1,
    )
    dtype: str = setting(
        "float32",
        "float type (float32 is twice as fast)",
        choices=("float32", "float64"),
        label="Float type",
    )
    val_size: int = setting(
        0,
        "examples held out of the training set for validation; per-epoch accuracy is then "
        "measured on them instead of the test set",
        low=0,
        high=10**7,
        label="Validation images",
        front_ends=("cli", "web"),  # the estimator has scikit-learn's validation_fraction
    )

    def __post_init__(self):
        # A stack of layers is its words: "  conv8x5   pool " is "conv8x5 pool", and a stack of
        # only spaces or tabs is no stack at all (the fully-connected --hidden layers).
        if isinstance(self.layers, str):
            object.__setattr__(self, "layers", " ".join(self.layers.split()))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """The inverse of `to_dict` (after a trip through JSON, which turns tuples into lists)."""
        known = {key: value for key, value in values.items() if key in cls.__dataclass_fields__}
        if isinstance(known.get("hidden_sizes"), list):
            known["hidden_sizes"] = tuple(known["hidden_sizes"])
        return cls(**known)

    def validated(self, front_end: str = "cli") -> "TrainConfig":
        """This config, if every setting is within its limits (the tighter ones of the web page
        for the front end "web"), and a digit reader for the front ends that train only those
        (all but `train` on the command line, "cli"), a line reader not turned or scaled as it
        learns; else a UserError naming what is not."""
        for option in fields(self):
            problem = check(option, getattr(self, option.name), front_end)
            if problem:
                raise UserError(f"{named(option.name)}: {problem}")
        if front_end != "cli" and reads_lines(self.layers):  # they train on single digits
            raise UserError(
                f"a line reader ({named('layers')} with columns) learns from lines of digits: "
                "train it with `mnist-nn train --preset line`"
            )
        if reads_lines(self.layers) and (self.augment_rotation or self.augment_scale):
            # augment turns and scales about the image's middle: a 128 px line turned 10° moves its
            # first and last digits 11 px up or down, out of its 28 rows
            raise UserError(
                f"{named('augment_rotation')} and {named('augment_scale')} turn and scale about a "
                "line's middle and cut its first and last digits off: a line reader learns with "
                f"{named('augment_shift')}, {named('augment_shear')}, {named('augment_elastic')} "
                f"and {named('augment_thickness')}"
            )
        check_weights(self)
        return self

    def changes_from(self, other: "TrainConfig") -> list[str]:
        """Each setting that differs from `other`'s, as name=value."""
        return [
            f"{name}={value}"
            for name, value in self.to_dict().items()
            if value != getattr(other, name)
        ]

    def describe(self, inputs: int = 784, classes: int = 10, swept: tuple = ()) -> str:
        """One readable line: the architecture, then each setting that differs from the seed's;
        a setting a sweep varies (`swept`) is named as swept, not given a value it does not have."""
        layers = "-".join(map(str, (inputs, *self.hidden_sizes, classes)))
        if self.layers:
            layers = f"{inputs} → {self.layers} → {classes}"
        if {"hidden_sizes", "layers"} & set(swept):
            layers = f"{inputs} → (layers swept) → {classes}"
        first = [f"({name} swept)" if name in swept else getattr(self, name)
                 for name in ("activation", "loss", "optimizer")]  # fmt: skip
        rate = "lr swept" if "learning_rate" in swept else f"lr {self.learning_rate}"
        seed = TrainConfig()
        changed = [
            change
            for change in self.changes_from(seed)
            if change.split("=")[0] not in (*SHOWN_FIRST, *swept)
        ]
        details = "the seed design" if self == seed else ", ".join(changed)
        return f"{layers} {', '.join(first)} {rate}" + (f" ({details})" if details else "")


MAX_WEIGHTS = 100_000_000  # 400 MB of float32 weights, about 1.6 GB with gradients and Adam's state
SHOWN_FIRST = ("hidden_sizes", "layers", "activation", "loss", "optimizer", "learning_rate")


def check_weights(config: TrainConfig, inputs: int = 784, classes: int = 10) -> None:
    """A UserError if the network `config` describes, for `inputs` and `classes`, is not one
    that can be built or has more than MAX_WEIGHTS parameters (the count is `nn.stack`'s)."""
    if config.loss == LINE_LOSS and not reads_lines(config.layers):
        raise UserError(
            f"{named('loss', LINE_LOSS)} reads lines of digits, an answer per column: give "
            f"{named('layers')} a stack with columns (as the line preset's)"
        )
    if reads_lines(config.layers) and config.loss != LINE_LOSS:
        raise UserError(
            f"a {named('layers')} stack with columns answers once per column of a line: train "
            f"it with {named('loss', LINE_LOSS)}"
        )
    try:
        weights = count_weights(inputs, classes, config.hidden_sizes, config.layers)
    except ValueError as error:  # e.g. image layers for inputs that are not a square image
        raise UserError(f"{named('layers')}: {error}") from None
    if weights > MAX_WEIGHTS:
        shape = config.layers or "-".join(map(str, (inputs, *config.hidden_sizes, classes)))
        raise UserError(
            f"a {shape} network has {weights:,} weights, over the limit of {MAX_WEIGHTS:,} "
            "(with their gradients and optimizer state they would not fit in memory); choose "
            f"fewer or smaller {named('layers' if config.layers else 'hidden_sizes')}"
        )


def setting_value(name: str, value):
    """A value for setting `name` as the config holds it: a list of hidden sizes as a tuple, and a
    whole number given for a float setting as a float (JSON sends 1 for 1.0)."""
    option = TrainConfig.__dataclass_fields__[name]
    if isinstance(value, list) and option.metadata["max_count"]:
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool) and option.type is float:
        try:
            return float(value)
        except OverflowError:  # an integer of 400 digits: beyond any limit, as infinity is
            return math.inf
    return value


def with_settings(base: TrainConfig, given: dict, front_end: str = "cli") -> TrainConfig:
    """`base` (a preset) with the settings in `given` laid over it, checked against the limits
    of `front_end` (a UserError if not)."""
    values = {name: setting_value(name, value) for name, value in given.items()}
    return replace(base, **values).validated(front_end)


def settings(front_end: str | None = None, options=None) -> dict:
    """The declared settings, {name: field}, in their order; only those `front_end` takes if given.
    `options` stands in for the fields of TrainConfig (a test declares a new one this way)."""
    options = fields(TrainConfig) if options is None else options
    return {
        option.name: option
        for option in options
        if front_end is None or front_end in option.metadata["front_ends"]
    }


SETTINGS = settings()  # every setting by name


def high(option, front_end: str = "cli"):
    """The largest value the setting takes through `front_end` (the web page's cap if tighter)."""
    meta = option.metadata
    return meta["web_high"] if front_end == "web" and meta["web_high"] is not None else meta["high"]


def max_count(option, front_end: str = "cli"):
    """How many values a tuple setting takes through `front_end` (how many hidden layers)."""
    meta = option.metadata
    web = meta["web_max_count"]
    return web if front_end == "web" and web is not None else meta["max_count"]


def flag(option) -> str:
    """The command-line flag of a TrainConfig field: --batch-size for batch_size, unless named."""
    return option.metadata["flag"] or "--" + option.name.replace("_", "-")


def kind(option) -> type:
    """int, float or str: the type of the field's value (of each value, for a tuple)."""
    return int if option.type == tuple[int, ...] else option.type


def describe_limits(option, front_end: str = "cli") -> str:
    """What values a numeric field takes, in words: "a whole number from 1 to 1,000"."""
    meta = option.metadata
    number = "a whole number" if kind(option) is int else "a number"
    low, top = f"{meta['low']:,}", f"{high(option, front_end):,}"
    if not (meta["open_low"] or meta["open_high"]):
        return f"{number} from {low} to {top}"
    low = f"above {low}" if meta["open_low"] else f"at least {low}"
    top = f"below {top}" if meta["open_high"] else f"at most {top}"
    return f"{number} {low} and {top}"


def check(option, value, front_end: str = "cli") -> str | None:
    """Why `value` is not acceptable for the field `option` through `front_end` (None if it is)."""
    problem = _check(option, value, front_end)
    if problem and front_end == "web" and _check(option, value, "cli") is None:
        problem += " on the web page (the command line takes more)"
    return problem


def _check(option, value, front_end: str) -> str | None:
    meta = option.metadata
    if meta["validate"] is not None:
        return meta["validate"](value)
    if meta["choices"] is not None:
        choices = tuple(meta["choices"])
        return None if value in choices else f"{shown(value)} is not one of {', '.join(choices)}"
    values = value if isinstance(value, tuple) else (value,)
    most = max_count(option, front_end)
    if most is not None and not 1 <= len(values) <= most:
        return f"{len(values)} values, where 1 to {most} are allowed"
    for item in values:
        wanted = kind(option)
        numeric = isinstance(item, int | float) and not isinstance(item, bool)
        if not numeric or (wanted is int and not isinstance(item, int)):
            return f"{shown(item)} is not {describe_limits(option, front_end)}"
        low, top = meta["low"], high(option, front_end)
        below = item <= low if meta["open_low"] else item < low
        above = item >= top if meta["open_high"] else item > top
        if math.isnan(item) or below or above:
            return f"{shown(item)} is not {describe_limits(option, front_end)}"
    return None
