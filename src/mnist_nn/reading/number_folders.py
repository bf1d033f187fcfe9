"""Real written numbers for a line reader to learn from and be measured on: a folder laid out as
../shared/data/car-a is, `images/` and a `labels.csv` whose rows give `file,number` (other columns
are ignored; the number's digits, leading zeros kept).

Each image is read as every image here is (`images.read_image`: formats, sizes and the decode
budget checked first) and framed as a line (`framing.frame_line`); copies for training are drawn
slanted, stretched and turned a little, before framing, as other writers would have written them.
Folds: the numbers in a fixed shuffled order, cut into ten parts; fold k is held out of training
to choose on, never trained on.
"""

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_nn.data.framing import frame_line
from mnist_nn.data.lines import MAX_DIGITS
from mnist_nn.errors import UserError, shown
from mnist_nn.nn.stack import LINE_HEIGHT, LINE_WIDTH
from mnist_nn.reading.images import greys, read_image

FOLDS = 10
MAX_NUMBERS = 100_000  # rows of labels.csv read at most (each is an image to decode)
MAX_LABELS_BYTES = 16 << 20


def read_numbers_folder(folder) -> list[tuple[Path, str]]:
    """(image path, number) of every row of `folder`/labels.csv, checked: a UserError naming the
    first problem (no folder, no labels.csv, no file or number column, a number that is not 1 to
    MAX_DIGITS digits, an image that is not there)."""
    folder = Path(folder)
    labels = folder / "labels.csv"
    where = f"--numbers {folder}"
    if not folder.is_dir():
        raise UserError(f"{where}: no such folder (it holds images/ and labels.csv)")
    if not labels.is_file():
        raise UserError(f"{where}: no labels.csv in it (rows of file,number)")
    if labels.stat().st_size > MAX_LABELS_BYTES:
        raise UserError(f"{where}: labels.csv is over {MAX_LABELS_BYTES >> 20} MB")
    with open(labels, newline="", encoding="utf-8", errors="replace") as lines:
        rows = csv.DictReader(lines)
        if not {"file", "number"} <= set(rows.fieldnames or ()):
            raise UserError(f"{where}: labels.csv needs a header row with file and number")
        entries = []
        for row_number, row in enumerate(rows, start=2):
            if len(entries) == MAX_NUMBERS:
                raise UserError(f"{where}: over {MAX_NUMBERS:,} numbers in labels.csv")
            number, name = (row["number"] or "").strip(), (row["file"] or "").strip()
            if not (number.isascii() and number.isdigit() and len(number) <= MAX_DIGITS):
                raise UserError(f"{where}: labels.csv line {row_number}: {shown(number)} is not "
                                f"a number of 1 to {MAX_DIGITS} digits")  # fmt: skip
            path = folder / "images" / name
            if not name or Path(name).name != name or not path.is_file():
                raise UserError(f"{where}: labels.csv line {row_number}: no image "
                                f"{shown(name)} in images/")  # fmt: skip
            entries.append((path, number))
    if not entries:
        raise UserError(f"{where}: labels.csv lists no numbers")
    return entries


def fold_of(count: int, fold: int, folds: int = FOLDS) -> np.ndarray:
    """The indices of fold `fold` (0 to folds − 1) of `count` numbers: a fixed shuffle, cut."""
    return np.array_split(np.random.default_rng(0).permutation(count), folds)[fold]


def variant(picture: Image.Image, rng) -> Image.Image:
    """The number as it might have been written: slanted (±14°), wider or narrower (±15%) and
    turned (±4°), on its own paper's grey."""
    paper = int(np.median(np.asarray(picture)))
    width, height = picture.size
    slant, stretch = rng.uniform(-0.25, 0.25), rng.uniform(0.85, 1.15)
    room = height // 2  # a slant moves the top sideways by up to a quarter of the height
    size = (int(width * stretch) + 2 * room, height)
    # Pillow maps each output pixel back: x_in = x/stretch + slant·(y − h/2) − room/stretch
    shear = (1 / stretch, slant, -slant * height / 2 - room / stretch, 0, 1, 0)
    picture = picture.transform(size, Image.AFFINE, shear, Image.BILINEAR, fillcolor=paper)
    return picture.rotate(rng.uniform(-4, 4), Image.BILINEAR, expand=True, fillcolor=paper)


def framed_numbers(entries, copies: int = 0, rng=None, width: int = LINE_WIDTH):
    """The numbers of `entries` framed as lines: (N, 28·width) lines and (N, MAX_DIGITS) digits
    padded with −1; with `copies`, that many variants of each (for training) instead."""
    count = len(entries) * max(copies, 1)
    lines = np.zeros((count, LINE_HEIGHT * width), dtype=np.float32)
    targets = np.full((count, MAX_DIGITS), -1, dtype=np.int64)
    row = 0
    for path, number in entries:
        picture = Image.fromarray((greys(read_image(path, str(path))) * 255).astype(np.uint8))
        for _ in range(max(copies, 1)):
            drawn = variant(picture, rng) if copies else picture
            line = frame_line(np.asarray(drawn, dtype=np.float32) / 255, width)
            if line is not None:
                lines[row] = line.ravel()
            targets[row, : len(number)] = [int(digit) for digit in number]
            row += 1
    return lines, targets
