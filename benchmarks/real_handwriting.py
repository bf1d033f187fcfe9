"""How well trained models read people's own images: MNIST's test digits given directly, the same
digits redrawn as user-like images (`user_images.py`), and the real-handwriting development set.

    python -m benchmarks.real_handwriting \\
        seed=model-seed.npz quick=model-quick.npz best=model-best.npz [--count 1000]

Writes benchmarks/handwriting.md. The handwriting figures are development figures: the framing was
built while looking at that set.
"""

import argparse
import csv
import io
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.user_images import render
from mnist_nn.data.dataset import load_dataset
from mnist_nn.reading.images import load_digit
from mnist_nn.saving.model_files import load_model

HERE = Path(__file__).resolve().parent
HANDWRITING = Path(os.environ.get("MNIST_NN_HANDWRITING_DIR", "/nonexistent"))  # not shipped


def generated(test, count: int, seed: int = 0) -> np.ndarray:
    """The first `count` test digits, redrawn and read back through `predict`'s framing."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [load_digit(io.BytesIO(render(test.images[i].reshape(28, 28), rng)[0]), name=f"#{i}")
         for i in range(count)]
    )  # fmt: skip


def handwriting() -> tuple[np.ndarray, np.ndarray] | None:
    if not (HANDWRITING / "labels.csv").is_file():
        return None
    with open(HANDWRITING / "labels.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    images = np.stack([load_digit(HANDWRITING / row["file"]) for row in rows])
    return images, np.array([int(row["label"]) for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="NAME=MODEL.npz")
    parser.add_argument("--count", type=int, default=1000, help="test digits redrawn")
    args = parser.parse_args()
    test = load_dataset("mnist").test
    start = time.perf_counter()
    redrawn = generated(test, args.count)
    print(f"redrew and framed {args.count} digits in {time.perf_counter() - start:.0f} s")
    real = handwriting()
    rows = []
    for name, path in (model.split("=", 1) for model in args.models):
        network, _ = load_model(path)
        labels = test.labels[: args.count]
        direct = np.mean(network.predict(test.images) == test.labels)
        same = np.mean(network.predict(test.images[: args.count]) == labels)
        drawn = np.mean(network.predict(redrawn) == labels)
        dev = "absent" if real is None else f"{np.mean(network.predict(real[0]) == real[1]):.1%}"
        rows.append(f"| {name} | {direct:.2%} | {same:.1%} | {drawn:.1%} | {dev} |")
        print(rows[-1], flush=True)
    lines = [
        "# Reading people's own images",
        "",
        f"Measured by `python -m benchmarks.real_handwriting` on {time.strftime('%Y-%m-%d')}. "
        f"MNIST: the 10,000 test digits as they are. Redrawn: the first {args.count:,} of them "
        "drawn as user-like images (tinted, grainy, unevenly lit paper, shadows, blue or black "
        "ink, thin pen or marker, small in a 3000x4000 photo, ruled lines, JPEG, EXIF-turned, "
        "transparent PNG; `benchmarks/user_images.py`), read through `predict`'s framing; beside "
        "them, the same digits given directly. Handwriting: the 91 real images of "
        "11 writers (a development set, other people's work, not shipped), a development figure.",
        "",
        "| model | MNIST test | the same digits, direct | redrawn | real handwriting (dev) |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    (HERE / "handwriting.md").write_text("\n".join(lines))
    print(f"wrote {HERE / 'handwriting.md'}")


if __name__ == "__main__":
    main()
