"""How the shipped detector of non-digits (`reading.detector`) is made: its examples (MNIST digits,
redrawn digits and drawn non-digits, framed like a user's image), its training through the one
training loop, and its limit on P(not a digit), chosen on held-out images.

`python -m mnist_nn.reading.detector_training` makes `detector.npz`; docs/models.md says what it
turned away held out.
"""

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import Dataset, Split
from mnist_nn.data.framing import frame_digit
from mnist_nn.presets import PRESETS
from mnist_nn.reading.detector import DETECTOR_PATH, NAMES
from mnist_nn.reading.non_digits import KINDS, non_digit_set, on_canvas

HELD_OUT_DIGITS_TURNED_AWAY = 0.005
CANVAS = 112  # drawings for training are made small: framing costs grow with the pixels
# The cnn preset, trained longer, with dropout and small shifts: drawings vary more than MNIST,
# and convolutions see a scribble's loops and a pair's two shapes wherever they are.
CONFIG = replace(PRESETS["cnn"], epochs=10, dropout=0.2, augment_shift=1.0)


def framed(canvases: list) -> np.ndarray:
    """Canvases (ink dark on white) -> (N, 784) framed like MNIST (blank ones dropped), on every
    core: framing thousands of drawings is most of the detector's training time."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor() as pool:
        images = list(pool.map(frame_digit, canvases, chunksize=64))
    return np.stack([image.reshape(-1) for image in images if image is not None])


def redrawn(digits: np.ndarray, rng) -> np.ndarray:
    """MNIST digits drawn on a canvas, thicker or thinner, and framed back like a user's."""
    canvases = []
    for digit in digits:
        canvas = on_canvas(digit.reshape(28, 28), CANVAS)
        if rng.random() < 0.5:  # another pen: MNIST's strokes grown or thinned on the canvas
            ink = canvas < 0.5
            grown = ndimage.binary_dilation if rng.random() < 0.5 else ndimage.binary_erosion
            ink = grown(ink, iterations=int(rng.integers(1, 4))) | (ink & (canvas < 0.1))
            canvas = np.where(ink, 0.0, 1.0).astype(np.float32)
        canvases.append(canvas)
    return framed(canvases)


def detector_examples(digits: Split, count: int, seed: int) -> Split:
    """Examples for the detector: `count` framed non-digits (label 1), the same number of
    redrawn digits and twice as many MNIST digits as they are (label 0)."""
    rng = np.random.default_rng(seed)
    canvases, _ = non_digit_set(count, seed, digits.images, digits.labels, KINDS, CANVAS)
    negatives = framed(canvases)
    chosen = rng.choice(len(digits), min(len(digits), 3 * count), replace=False)
    positives = np.concatenate(
        [digits.images[chosen[count:]], redrawn(digits.images[chosen[:count]], rng)]
    )
    images = np.concatenate([positives, negatives]).astype(np.float32)
    labels = np.concatenate([np.zeros(len(positives), int), np.ones(len(negatives), int)])
    return Split(images, labels)


def limit_for(p_not_digit: np.ndarray) -> float:
    """The P(not a digit) above which an image is turned away: all but
    HELD_OUT_DIGITS_TURNED_AWAY of the held-out digits' values lie below it."""
    return float(np.quantile(p_not_digit, 1 - HELD_OUT_DIGITS_TURNED_AWAY))


def train_detector(mnist: Dataset, count: int = 16_000, config: TrainConfig = CONFIG):
    """Train the detector on MNIST's training split and drawings; choose its limit on the
    validation split and other drawings. Returns (network, metadata)."""
    from mnist_nn.train.loop import train

    train_split = detector_examples(mnist.train, count, seed=1)
    held_out = detector_examples(mnist.validation, max(600, count // 10), seed=2)
    data = Dataset("mnist digits and drawn non-digits", "mnist_nn.reading.detector", train_split,
                   held_out, classes=2, class_names=NAMES)  # fmt: skip
    result = train(config, data)
    p_not = result.network.scores(held_out.images)[:, 1]
    limit = limit_for(p_not[held_out.labels == 0])
    turned_away = float(np.mean(p_not[held_out.labels == 1] > limit))
    metadata = {
        "purpose": "is it a digit? (mnist_nn.reading.detector)",
        "class_names": NAMES,
        "limit": limit,
        "held_out": {
            "digits turned away": HELD_OUT_DIGITS_TURNED_AWAY,
            "non-digits turned away": turned_away,
        },
        "config": config.to_dict(),
        "test_accuracy": result.test_accuracy,
    }
    return result.network, metadata


def main() -> None:
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.saving.model_files import save_model

    parser = argparse.ArgumentParser(description="Train the shipped detector of non-digits.")
    parser.add_argument("--count", type=int, default=16_000, help="non-digit drawings")
    parser.add_argument("--out", type=Path, default=DETECTOR_PATH)
    args = parser.parse_args()
    start = time.perf_counter()
    network, metadata = train_detector(load_dataset("mnist", val_size=5000), args.count)
    save_model(args.out, network, metadata)
    print(
        f"limit {metadata['limit']:.3f}: held out, {metadata['held_out']} "
        f"({time.perf_counter() - start:.0f} s); wrote {args.out}"
    )


if __name__ == "__main__":
    main()
