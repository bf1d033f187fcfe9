"""What a sweep runs, and the one way any experiment runs a configuration.

A trial is a few settings laid over a base configuration (a preset and any flags) and a seed:
every combination of a grid, or draws from random ranges, times the seeds. `measure` trains one
configuration through the one training loop and gives the row every experiment reports: the
held-out accuracy, the test accuracy (once, at the end), the seconds of training, the epochs.
"""

import itertools
import json
import math
from dataclasses import dataclass, field

import numpy as np

from mnist_nn.config import TrainConfig, check, flag, kind, settings, with_settings
from mnist_nn.errors import UserError, shown

MAX_TRIALS = 10_000
LAYER_SEPARATOR = "+"  # hidden_sizes=128,256+128: one layer of 128, or two of 256 and 128


def measure(config: TrainConfig, dataset) -> dict:
    """Train `config` on `dataset` through the one training loop: its held-out (validation)
    accuracy after the last epoch, its test accuracy, seconds of training, epochs and history."""
    from mnist_nn.train.loop import train

    result = train(config, dataset)
    return {
        "val_accuracy": result.history[-1].get("val_accuracy"),
        "test_accuracy": result.test_accuracy,
        "seconds": result.training_seconds,
        "epochs": len(result.history),
        "history": result.history,
    }


@dataclass(frozen=True)
class Trial:
    settings: tuple  # ((name, value), ...): the swept settings of this trial, in sweep order
    seed: int
    label: str = ""  # a name for its settings (a row of `replicate`), if they have one

    @property
    def key(self) -> str:
        """The trial's identity in the results file: its label, settings and seed."""
        identity = {"label": self.label} if self.label else {}
        identity.update(settings=dict(self.settings), seed=self.seed)
        return json.dumps(identity, default=list)


def setting_named(name: str):
    """The declared setting `name` (learning_rate, or its flag's spelling: lr, learning-rate)."""
    wanted = name.strip().lstrip("-").replace("-", "_")
    for option in settings("cli").values():
        if wanted in (option.name, flag(option).lstrip("-").replace("-", "_")):
            return option
    names = ", ".join(sorted(settings("cli")))
    raise UserError(f"{shown(name)} is not a setting (sweepable settings: {names})")


def parse_value(option, text: str):
    """One value of a setting as the command line would take it, checked against its limits."""
    text = text.strip()
    convert = kind(option)
    try:
        if option.metadata["max_count"]:
            value = tuple(int(part) for part in text.split(LAYER_SEPARATOR))
        else:
            value = convert(text)
    except ValueError:
        raise UserError(f"{option.name}={shown(text)}: not a value of {option.name}") from None
    problem = check(option, value)
    if problem:
        raise UserError(f"{option.name}={text}: {problem}")
    return value


def parse_grid(pairs: list[str]) -> dict[str, list]:
    """["learning_rate=0.003,0.01", "hidden_sizes=64,128"] -> {name: [values]}, in order."""
    grid = {}
    for pair in pairs:
        name, equals, values = pair.partition("=")
        if not equals or not values.strip():
            raise UserError(
                f"{shown(pair)}: write a setting and its values, e.g. learning_rate=0.01,0.1"
            )
        option = setting_named(name)
        if option.name in grid:
            raise UserError(f"{option.name} is swept twice")
        grid[option.name] = [parse_value(option, text) for text in values.split(",")]
    return grid


def grid_trials(grid: dict[str, list], seeds: list[int]) -> list[Trial]:
    """Every combination of the grid's values, times every seed (seeds innermost)."""
    names = list(grid)
    check_count(math.prod(len(values) for values in grid.values()) * len(seeds))  # before listing
    combinations = itertools.product(*(grid[name] for name in names))
    return [
        Trial(tuple(zip(names, values, strict=True)), seed)
        for values in combinations
        for seed in seeds
    ]


@dataclass
class Range:
    """A random search's range for one setting: low:high (log-uniform when it spans a factor of
    10 or more above zero, as learning rates should be drawn; whole numbers rounded), or a list
    of choices."""

    option: object
    low: float | None = None
    high: float | None = None
    choices: list = field(default_factory=list)

    def draw(self, rng: np.random.Generator):
        if self.choices:
            return self.choices[rng.integers(len(self.choices))]
        if self.low > 0 and self.high / self.low >= 10:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        if kind(self.option) is int:
            return round(value)
        return float(f"{value:.3g}")  # a readable value: 0.00347, not 0.0034712345


def parse_ranges(pairs: list[str]) -> dict[str, Range]:
    ranges = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not text.strip():
            raise UserError(f"{shown(pair)}: write a setting and a range or choices, e.g. "
                            "learning_rate=0.001:0.1 or activation=relu,tanh")  # fmt: skip
        option = setting_named(name)
        if ":" in text and not option.metadata["max_count"] and option.metadata["choices"] is None:
            low, high = (parse_value(option, part) for part in text.split(":", 1))
            if not low < high:
                raise UserError(f"{option.name}={text}: the range's low end must be below its high")
            ranges[option.name] = Range(option, low, high)
        else:
            ranges[option.name] = Range(
                option, choices=[parse_value(option, t) for t in text.split(",")]
            )
    return ranges


def random_trials(ranges: dict[str, Range], count: int, seeds: list[int], draw_seed: int):
    """`count` draws of every range, times every seed. The draws come from `draw_seed` (the
    sweep's --seed): the same command draws the same trials, so a rerun resumes the sweep."""
    check_count(count * len(seeds))
    rng = np.random.default_rng(draw_seed)
    trials = []
    for _ in range(count):
        drawn = tuple((name, ranges[name].draw(rng)) for name in ranges)
        trials += [Trial(drawn, seed) for seed in seeds]
    return trials


def check_count(count: int) -> None:
    if not 1 <= count <= MAX_TRIALS:
        raise UserError(f"{count:,} trials: a sweep runs 1 to {MAX_TRIALS:,}; sweep fewer values")


def trial_config(base: TrainConfig, trial: Trial) -> TrainConfig:
    return with_settings(base, {**dict(trial.settings), "seed": trial.seed})
