"""Named training configurations (`PRESETS`): `seed` is the original design and the default.

Like `config.py`, this imports nothing heavy, so `mnist-nn --help` can list them quickly.
"""

from mnist_nn.config import TrainConfig

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
    # dropout, trained on digits randomly shifted (±2 px), turned (±10°), scaled (±10%) and
    # slanted (±10°), as handwriting leans. Chosen on a 5,000-example validation split: 99.52%
    # there after 80 epochs, against 99.36% without the slant and 99.22% after 40 epochs.
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
    # pool, then 128 units), 37,610 parameters. Chosen on a 5,000-example validation split
    # among runs of at most 60 s here: 99.06% there after 7 epochs with Adam at 0.004 and a
    # cosine schedule. Eight epochs gave 99.12% (99.18% with seed 1) but took 61-65 s of
    # training on all 60,000 images; also tried for 8 epochs: 99.08% at 0.002, 99.00% with
    # momentum, 99.02% with dropout 0.25; for 6: 98.74% with batches of 64 and 99.02% with 12
    # and 24 filters.
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
    # dropout, and the `best` preset's augmentation. Chosen on a 5,000-example validation
    # split: 99.56% there after 40 epochs, against 99.52% with Adam at 0.001 and dropout 0.5.
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
}


def describe_presets() -> str:
    """One line per preset, for `--help` and `mnist-nn presets`."""
    return "\n".join(f"{name}: {config.describe()}" for name, config in PRESETS.items())
