"""What a training run does (`TrainConfig`) and named configurations of it (`PRESETS`).

`seed` is the original design and the default of every run. This module imports nothing heavy, so
`mnist-nn --help` can show the defaults quickly.
"""

from dataclasses import asdict, dataclass

# The names a configuration may use. The math modules hold the tables these name (ACTIVATIONS in
# layers.py, LOSSES in losses.py, make_optimizer and SCHEDULES in optimizers.py); a test checks
# they agree. Listed here so that `--help` needs no NumPy.
ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("mse", "cross_entropy")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
SCHEDULES = ("constant", "step", "cosine")
DTYPES = ("float32", "float64")
SHOWN_FIRST = ("hidden_sizes", "activation", "loss", "optimizer", "learning_rate")  # by describe()


@dataclass(frozen=True)
class TrainConfig:
    """What a training run does. The defaults are the seed design's."""

    epochs: int = 15  # passes over the training set
    batch_size: int = 128  # examples per gradient step (the last batch of an epoch may be smaller)
    learning_rate: float = 0.01  # multiplies the batch's summed gradient
    hidden_sizes: tuple[int, ...] = (128,)  # units of each hidden layer
    activation: str = "sigmoid"  # of the hidden layers: sigmoid, tanh or relu
    loss: str = "mse"  # mse (sigmoid outputs) or cross_entropy (softmax outputs)
    optimizer: str = "sgd"  # sgd, momentum, nesterov or adam
    momentum: float = 0.9  # velocity kept per step, for momentum and nesterov
    lr_schedule: str = "constant"  # constant, step (÷10 at 1/2 and 3/4) or cosine (down to 0)
    weight_decay: float = 0.0  # L2 penalty λ on weight matrices (0: none)
    max_norm: float = 0.0  # cap on each unit's incoming-weight norm (0: none)
    dropout: float = 0.0  # probability of dropping a hidden unit in training
    input_dropout: float = 0.0  # probability of dropping an input pixel in training
    augment_shift: float = 0.0  # random shift of training images, up to this many pixels
    augment_rotation: float = 0.0  # random rotation of training images, up to these degrees
    augment_scale: float = 0.0  # random scaling of training images, up to this fraction
    early_stopping: int = 0  # stop after this many epochs without a better validation accuracy
    seed: int = 0  # initial weights, shuffling, dropout, augmentation: same seed, same run
    dtype: str = "float32"  # float32 is twice as fast as float64 and as accurate here
    val_size: int = 0  # examples held out of the training set to validate on (0: none)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """The inverse of `to_dict` (after a trip through JSON, which turns tuples into lists)."""
        known = {key: value for key, value in values.items() if key in cls.__dataclass_fields__}
        if "hidden_sizes" in known:
            known["hidden_sizes"] = tuple(known["hidden_sizes"])
        return cls(**known)

    def describe(self) -> str:
        """One readable line: the architecture, then each setting that differs from the seed's."""
        layers = "-".join(map(str, (784, *self.hidden_sizes, 10)))
        seed = TrainConfig()
        changed = [
            f"{name}={value}"
            for name, value in self.to_dict().items()
            if name not in SHOWN_FIRST and value != getattr(seed, name)
        ]
        details = "the seed design" if self == seed else ", ".join(changed)
        return (
            f"{layers} {self.activation}, {self.loss}, {self.optimizer} lr {self.learning_rate}"
            + (f" ({details})" if details else "")
        )


PRESETS = {
    # The original design: 784-128-10, sigmoid, MSE, plain SGD, lr 0.01, 15 epochs, batch 128.
    "seed": TrainConfig(),
    # The best accuracy in about 10 s of training on 2 cores: wider ReLU layer, softmax +
    # cross-entropy, momentum, a cosine schedule. Chosen on a 5,000-example validation split
    # (98.4% there after 8 epochs).
    "quick": TrainConfig(
        epochs=8,
        hidden_sizes=(256,),
        activation="relu",
        loss="cross_entropy",
        optimizer="momentum",
        learning_rate=0.001,
        lr_schedule="cosine",
    ),
    # The best accuracy in at most 10 minutes of training on 2 cores: two wide ReLU layers with
    # dropout, trained on digits randomly shifted (±2 px), turned (±10°) and scaled (±10%).
    # Chosen on a 5,000-example validation split (99.3% there after 30 epochs).
    "best": TrainConfig(
        epochs=40,
        hidden_sizes=(800, 800),
        activation="relu",
        loss="cross_entropy",
        optimizer="momentum",
        learning_rate=0.001,
        lr_schedule="cosine",
        dropout=0.2,
        augment_shift=2.0,
        augment_rotation=10.0,
        augment_scale=0.1,
    ),
}


def describe_presets() -> str:
    """One line per preset, for `--help` and `mnist-nn presets`."""
    return "\n".join(f"{name}: {config.describe()}" for name, config in PRESETS.items())
