"""What a training run does (`TrainConfig`) and named configurations of it (`PRESETS`).

`seed` is the original design and the default of every run. This module imports nothing heavy, so
`mnist-nn --help` can show the defaults quickly.
"""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TrainConfig:
    """What a training run does. The defaults are the seed design's."""

    epochs: int = 15  # passes over the training set
    batch_size: int = 128  # examples per gradient step (the last batch of an epoch may be smaller)
    learning_rate: float = 0.01  # multiplies the batch's summed gradient
    hidden_sizes: tuple[int, ...] = (128,)  # units of each hidden layer
    seed: int = 0  # initial weights and shuffling; the same seed gives the same run
    dtype: str = "float32"  # float32 is twice as fast as float64 and as accurate here
    val_size: int = 0  # examples held out of the training set to validate on (0: none)

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    # The original design: 784-128-10, sigmoid, MSE, plain SGD, lr 0.01, 15 epochs, batch 128.
    "seed": TrainConfig(),
}


def describe_presets() -> str:
    """One line per preset, for `--help` and `mnist-nn presets`."""
    lines = []
    for name, config in PRESETS.items():
        settings = ", ".join(f"{key}={value}" for key, value in config.to_dict().items())
        lines.append(f"{name}: {settings}")
    return "\n".join(lines)
