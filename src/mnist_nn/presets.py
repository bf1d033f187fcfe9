"""Named training configurations (`PRESETS`): `seed` is the original design and the default.

Each other preset was chosen on a validation split held out of the training set, then trained on
all of it and tested once; docs/cli.md gives the figures each choice was made on. Like
`config.py`, this imports nothing heavy, so `mnist-nn --help` can list them quickly.
"""

from mnist_nn.config import TrainConfig

_PRESETS = {
    # The original design: 784-128-10, sigmoid, MSE, plain SGD, lr 0.01, 15 epochs, batch 128.
    "seed": TrainConfig(),
    # The best accuracy in about 10 s of training on 2 cores: wider ReLU layer, softmax +
    # cross-entropy, momentum, a cosine schedule.
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
    # dropout, trained on digits randomly shifted (±2 px), turned (±10°), scaled (±10%) and
    # slanted (±10°), as handwriting leans.
    "best": TrainConfig(
        epochs=80,
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
        augment_shear=10.0,
    ),
    # The next chapter, fast: LeNet's shape (two 5x5 convolutions, each followed by a 2x2 max
    # pool, then 128 units), 37,610 parameters, chosen among runs of at most a minute here.
    "cnn": TrainConfig(
        epochs=7,
        layers="conv8x5 pool conv16x5 pool dense128",
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.004,
        lr_schedule="cosine",
    ),
    # The next chapter's best in at most 20 minutes here: twice the filters, 256 units with
    # dropout, and the `best` preset's augmentation.
    "cnn-best": TrainConfig(
        epochs=40,
        layers="conv16x5 pool conv32x5 pool dense256",
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.002,
        lr_schedule="cosine",
        dropout=0.3,
        augment_shift=2.0,
        augment_rotation=10.0,
        augment_scale=0.1,
        augment_shear=10.0,
    ),
    # 99.5% in two minutes of training on 2 cores: cnn-best's filters with a batch norm after
    # each layer, so that a large Adam rate stays safe, taken up and down in one cycle, on digits
    # shifted by up to 2 px (docs/fast-training.md: the sweep it was chosen on).
    "fast": TrainConfig(
        epochs=7,
        layers="conv16x5 bn pool conv32x5 bn pool dense128 bn",
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.03,
        lr_schedule="onecycle",
        augment_shift=2.0,
    ),
    # A line reader (docs/reading-lines.md): four 3x3 convolutions with batch norm over a line
    # 28 px high, then an answer (ten digits or blank) per column position from the features of
    # the five columns around it, learnt with CTC from lines moved, slanted, thinned and
    # thickened a little each time they are seen.
    "line": TrainConfig(
        epochs=8,
        batch_size=64,
        layers="conv32x3 bn pool conv64x3 bn pool conv128x3 bn conv128x3 bn columns5 dense128",
        activation="relu",
        loss="ctc",
        optimizer="adam",
        learning_rate=0.003,
        augment_shift=1.5,
        augment_shear=10.0,
        augment_thickness=0.4,
        lr_schedule="onecycle",
    ),
}


def chosen_on_validation(name: str, config: TrainConfig) -> TrainConfig:
    """`config`, if it can never choose on the test set: a preset that stops early picks its
    epoch on held-out data, so it must hold some out of the training set."""
    if config.early_stopping and not config.val_size:
        raise ValueError(f"preset {name}: early stopping with no validation split would choose "
                         "its epoch on the test set; give it a val_size")  # fmt: skip
    return config


PRESETS = {name: chosen_on_validation(name, config) for name, config in _PRESETS.items()}


def describe_presets() -> str:
    """One line per preset, for `--help` and `mnist-nn presets`."""
    return "\n".join(f"{name}: {config.describe()}" for name, config in PRESETS.items())
