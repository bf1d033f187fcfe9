"""Lines of digits for the line reader to learn from: numbers written with MNIST's digits the way
people write them, at the height the reader reads (28 px, a digit's own height).

Each line is a number of one to `MAX_DIGITS` digits, written with digits of one split (training
lines from training digits, validation lines from validation digits): one pen (MNIST's, a fine
pen or a marker) and one slant per line, digits a little up or down, a little larger or smaller
(or, in a hasty hand, of any size at any height), some fainter than others, apart (or far
apart), touching or overlapping their neighbours. And what real numbers carry that their labels
leave out: thousands separators (. , '), a closing mark (- .- = /), an underline, a faint
printed pattern behind; 1s written with a flag, 7s crossed. The label is the digits only. Each
line is then framed as a photo of a real number is (`framing.frame_line`: ink cropped, ruled
lines dropped, scaled to the reader's height, at the left of its canvas), so that both look
alike to the reader.

Shape key: N lines, H = 28 rows, W the canvas width; lines are rows of H·W values (as digits are
rows of 784), targets (N, MAX_DIGITS) digits padded with −1.
"""

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from mnist_nn.data.dataset import Dataset, Split
from mnist_nn.data.framing import frame_line
from mnist_nn.nn.stack import LINE_HEIGHT, LINE_WIDTH

HEIGHT = LINE_HEIGHT  # a line's height as written: MNIST's digits, whose ink is about 20 px tall
MAX_DIGITS = 8
SPACINGS = {"apart": (2, 8), "wide": (8, 20), "touching": (-3, 0), "overlapping": (-7, -3)}  # px
WIDE_DIGITS = 6  # numbers written far apart have at most this many digits
# How often a line carries each thing its label leaves out.
# No box round the number: the framing drops its top and bottom as ruled lines, and its sides,
# upright strokes at both ends, teach that a plain 1 beginning or ending a number is no digit
# (a reader that learnt from them dropped most such 1s of other writers' numbers).
# A pen is fat (a marker), thin (a fine pen), or MNIST's own; a faded line's digits each have
# their own shade (light falling unevenly on a photo leaves some digits fainter than others);
# an uneven line's digits are of any size down to half the line's height, at any height in it
# (a hasty hand: a small 0 low beside tall neighbours).
EXTRAS = {"separator": 0.3, "dash": 0.35, "underline": 0.15, "pattern": 0.2,
          "flagged_ones": 0.3, "crossed_sevens": 0.3, "fat_pen": 0.25, "thin_pen": 0.2,
          "faded": 0.2, "uneven": 0.15}  # fmt: skip


def ink_columns(digit: np.ndarray) -> np.ndarray:
    """A (28, 28) digit cut to the columns its ink covers."""
    columns = np.flatnonzero(digit.max(axis=0) > 0.1)
    return digit[:, columns[0] : columns[-1] + 1] if len(columns) else digit[:, 12:16]


def resized(image: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((max(width, 1), height), Image.BILINEAR))


def stroke(canvas: np.ndarray, start: tuple, end: tuple, thickness: float = 1.5) -> None:
    """A straight pen stroke from `start` to `end` ((row, column), floats), drawn into `canvas`."""
    rows, columns = np.mgrid[: canvas.shape[0], : canvas.shape[1]]
    (r0, c0), (r1, c1) = start, end
    length = max(np.hypot(r1 - r0, c1 - c0), 1e-6)
    # the distance of every pixel to the segment, through its projection onto it
    t = np.clip(((rows - r0) * (r1 - r0) + (columns - c0) * (c1 - c0)) / length**2, 0, 1)
    distance = np.hypot(rows - (r0 + t * (r1 - r0)), columns - (c0 + t * (c1 - c0)))
    np.maximum(canvas, np.clip(thickness - distance, 0, 1), out=canvas)


def dressed(digit: np.ndarray, label: int, extras: dict, rng) -> np.ndarray:
    """A digit as some people write it: a 1 with a flag, a 7 with a bar through its stem."""
    digit = digit.copy()
    rows = np.flatnonzero(digit.max(axis=1) > 0.1)
    columns = np.flatnonzero(digit.max(axis=0) > 0.1)
    if not len(rows):
        return digit
    top, bottom, left, right = rows[0], rows[-1], columns[0], columns[-1]
    if label == 1 and rng.random() < extras["flagged_ones"]:
        head = (top + 1.0, (left + right) / 2 + 1)  # the stem's top, then down to the left
        stroke(digit, head, (top + rng.uniform(4, 7), head[1] - rng.uniform(4, 7)))
    if label == 7 and rng.random() < extras["crossed_sevens"]:
        middle = (top + bottom) / 2
        stroke(digit, (middle, left + 1.0), (middle, right - 1.0))
    return digit


def write_line(digits: np.ndarray, labels: np.ndarray, rng, extras: dict = EXTRAS,
               spacing: str | None = None) -> np.ndarray:  # fmt: skip
    """(k, 28, 28) digits written as one line: a (28, w) image, w as wide as the writing."""
    spacing = spacing or rng.choice(list(SPACINGS))
    if spacing == "wide" and len(digits) > WIDE_DIGITS:
        spacing = "apart"  # more would shrink to a few pixels high to fit the reader's line
    scale = rng.uniform(0.8, 1.05)
    faded, uneven = rng.random() < extras["faded"], rng.random() < extras["uneven"]
    pieces = []
    for digit, label in zip(digits, labels, strict=True):
        piece = ink_columns(dressed(digit, int(label), extras, rng))
        if faded:
            piece = piece * rng.uniform(0.5, 1.0)
        size = rng.uniform(0.55 if uneven else 0.9, 1.1) * scale
        height = max(8, round(HEIGHT * size))
        piece = resized(piece, height, round(piece.shape[1] * size))
        if uneven:  # anywhere from the top of the line to its foot
            room = HEIGHT - height  # (negative for a digit taller than the line: centred)
            shift = int(rng.integers(0, room + 1)) if room > 0 else room // 2
        else:  # a little up or down
            shift = int(rng.integers(-2, 3)) + (HEIGHT - height) // 2
        column = np.zeros((HEIGHT, piece.shape[1]), dtype=np.float32)
        top, bottom = max(shift, 0), min(shift + height, HEIGHT)
        column[top:bottom] = piece[top - shift : bottom - shift]
        pieces.append(column)
    low, high = SPACINGS[spacing]
    gaps = [max(int(rng.integers(low, high + 1)), -min(a.shape[1], b.shape[1]) // 2)
            for a, b in zip(pieces[:-1], pieces[1:], strict=False)]  # fmt: skip
    separator_after = separators(len(pieces), extras, rng)
    gaps = [gap + (4 if i in separator_after else 0) for i, gap in enumerate(gaps)]
    margin = 14  # room for a closing mark
    width = sum(p.shape[1] for p in pieces) + sum(gaps) + 2 * margin
    line = np.zeros((HEIGHT, width), dtype=np.float32)
    left, ends = margin, []
    for i, piece in enumerate(pieces):
        region = line[:, left : left + piece.shape[1]]
        np.maximum(region, piece, out=region)  # touching neighbours overlap here
        ends.append(left + piece.shape[1])
        left += piece.shape[1] + (gaps[i] if i < len(gaps) else 0)
    for i in separator_after:  # a dot, a comma or an apostrophe, in the gap after digit i
        column, kind = ends[i] + 1.5, rng.choice([".", ",", "'"])
        if kind == "'":
            stroke(line, (5.0, column + 1), (8.0, column), 1.2)
        else:
            stroke(line, (21.0, column), (21.5, column), 1.5)
            if kind == ",":
                stroke(line, (22.0, column), (25.0, column - 1.5), 1.1)
    if rng.random() < extras["dash"]:  # a closing mark: 1500 —, 1500.-, 1500 =, 1500 /
        closing(line, ends[-1], rng)
    if rng.random() < extras["underline"]:
        row = rng.uniform(24.5, 26.5)
        stroke(line, (row, margin / 2), (row + rng.uniform(-1, 1), width - margin / 2), 1.0)
    line = with_pen(line, extras, rng)
    lean = np.tan(np.radians(rng.uniform(-12, 12)))  # the writing's slant
    shear = (1, lean, -lean * HEIGHT / 2, 0, 1, 0)
    line = np.asarray(
        Image.fromarray(line).transform(line.shape[::-1], Image.AFFINE, shear, Image.BILINEAR)
    )
    if rng.random() < extras["pattern"]:  # a check's faint printed background
        rows, columns = np.mgrid[:HEIGHT, :width]
        waves = np.sin(columns / rng.uniform(2, 5) + np.sin(rows / rng.uniform(3, 6)) * 3)
        line = np.maximum(line, rng.uniform(0.1, 0.3) * (waves > 0.6))
    return line


def with_pen(line: np.ndarray, extras: dict, rng) -> np.ndarray:
    """The line redrawn with another pen than MNIST's (strokes about 2.6 px wide): a marker's
    strokes 1 or 2 px fatter, or a fine pen's, its skeleton with soft edges (about 1.5 px)."""
    pen = rng.random()
    if pen < extras["fat_pen"]:
        size = int(rng.integers(2, 4))
        return ndimage.grey_dilation(line, size=(size, size))
    if pen < extras["fat_pen"] + extras["thin_pen"]:
        skeleton = skeletonize(line > 0.4).astype(np.float32)
        fine = ndimage.gaussian_filter(skeleton, sigma=0.6)
        return fine * (line.max() / max(float(fine.max()), 1e-6))
    return line


def closing(line: np.ndarray, end: int, rng) -> None:
    """A mark after the last digit (at column `end`) that closes an amount on a check: a dash,
    a dot and a dash, two dashes, or a slash."""
    kind, left = rng.choice(["-", ".-", "=", "/"]), end + 2.0
    if kind == ".-":
        stroke(line, (21.0, left), (21.5, left), 1.5)
        left += 3.0
    if kind == "/":
        stroke(line, (20.0, left), (8.0, left + rng.uniform(3, 5)), 1.2)
        return
    rows = [rng.uniform(12, 16)] if kind != "=" else [rng.uniform(10, 12), rng.uniform(15, 17)]
    for row in rows:
        stroke(line, (row, left), (row, left + rng.uniform(4, 7)), 1.3)


def separators(count: int, extras: dict, rng) -> set[int]:
    """After which digits a thousands separator goes (every third from the right), if any."""
    if count < 4 or rng.random() >= extras["separator"]:
        return set()
    return {i for i in range(count - 1) if (count - 1 - i) % 3 == 0}


def make_lines(images: np.ndarray, labels: np.ndarray, count: int, rng, width: int = LINE_WIDTH,
               digits: tuple = (1, MAX_DIGITS), extras: dict = EXTRAS,
               spacing: str | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """`count` lines written with the (N, 784) digits `images` (labelled `labels`): (count, 28·W)
    lines in [0, 1], and (count, MAX_DIGITS) targets padded with −1."""
    lines = np.zeros((count, HEIGHT * width), dtype=np.float32)
    targets = np.full((count, MAX_DIGITS), -1, dtype=np.int16)
    squares = images.reshape(-1, 28, 28)
    # Which digits each line holds is drawn first: the same seed gives the same numbers whatever
    # the lines carry besides.
    counts = rng.integers(digits[0], digits[1] + 1, count)
    chosen = [rng.integers(0, len(images), k) for k in counts]
    for n, picks in enumerate(chosen):
        # framed as every line is, a real number's too: ink cropped, scaled, ruled lines dropped
        framed = frame_line(write_line(squares[picks], labels[picks], rng, extras, spacing), width)
        if framed is not None:
            lines[n] = framed.ravel()
        targets[n, : len(picks)] = labels[picks]
    return lines, targets


HELD_OUT_LINES = 2_000  # validation lines, and test lines, at most (no more than training lines)
VALIDATION_DIGITS = 5_000  # MNIST's last training digits, which write the validation lines


def real_copies(real: int, generated: int) -> int:
    """Variants of each of `real` real numbers that make them half the training lines."""
    return max(1, -(-generated // real))


def line_dataset(arrays: dict, dtype: str, count: int, seed: int = 0,
                 real=None, held_out=None) -> Dataset:  # fmt: skip
    """A line reader's Dataset from the MNIST `arrays`: `count` training lines written with
    MNIST's training digits but the last 5,000, validation lines with those 5,000, test lines
    with MNIST's test digits (never seen in training). `real` (lines, targets) of real numbers
    join the training lines; `held_out` real numbers, if given, are the validation split."""
    rng, held_out_lines = np.random.default_rng(seed), min(HELD_OUT_LINES, count)
    images = arrays["train_images"].reshape(len(arrays["train_images"]), -1) / np.float32(255)
    labels = arrays["train_labels"].astype(np.int64)
    cut = len(images) - VALIDATION_DIGITS
    train = Split(*make_lines(images[:cut], labels[:cut], count, rng))
    validation = Split(*make_lines(images[cut:], labels[cut:], held_out_lines, rng))
    test_images = arrays["test_images"].reshape(len(arrays["test_images"]), -1) / np.float32(255)
    test = Split(*make_lines(test_images, arrays["test_labels"].astype(np.int64),
                             held_out_lines, rng))  # fmt: skip
    if real is not None:
        train = Split(np.concatenate([train.images, real[0]]),
                      np.concatenate([train.labels, real[1]]))  # fmt: skip
    if held_out is not None:
        validation = Split(*held_out)
    as_dtype = [Split(split.images.astype(dtype, copy=False), split.labels.astype(np.int64))
                for split in (train, test, validation)]  # fmt: skip
    return Dataset("lines", "numbers written with MNIST's digits", *as_dtype, classes=11)
