"""Where to cut a written number: its ink's pieces, grouped into digits, and the cuts tried in a
group wide enough to hold several (touching or overlapping neighbours).

Shapes are (height, width) greys and masks. Pieces that share most of their columns are one digit
(a 5's hat, a 4 or a 7 written in two strokes, an i-like 1's dot). A cut is a seam: a path from
top to bottom that crosses the least ink, found by dynamic programming, bending around a loop
that leans over its neighbour. Which cuts to keep is `written_number`'s choice, by reading.
scipy.ndimage does the pixel work; the rest is NumPy.
"""

from itertools import pairwise

import numpy as np
from scipy import ndimage

from mnist_nn.data.framing import SPECK, frame_like_mnist, normalise_strokes
from mnist_nn.errors import UserError

MAX_DIGITS = 12  # one line of a number: a price, a meter reading, a phone number
SHARED_COLUMNS = 0.5  # pieces sharing this share of the narrower one's columns are one digit
MAX_CUTS = 8  # cuts tried in one group
SIDEWAYS = 0.1  # what a cut's path pays per column it drifts, against 1 per pixel of ink
SLIVER = 0.15  # pieces of a cut segment smaller than this share of its largest are slivers
# Marks one above another, each as tall as half the column is wide, in a column at least this
# many times as tall as it is wide: a number written downwards, not one digit (an 8 of two loops
# is about twice as tall as wide).
STACKED = 2.5
MAX_PIECES = 8 * MAX_DIGITS  # separate pieces of ink looked at (several per digit at most)


def number_pieces(mask: np.ndarray) -> np.ndarray | None:
    """Step 1's choice of marks for a number: digits may touch the image's edge (a tight crop),
    so only marks that touch it *and* run along it (table lines, dark borders, paper edges) go,
    then specks."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return None
    height, width = mask.shape
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = []
    for piece, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
        touches = rows.start == 0 or cols.start == 0 or rows.stop == height or cols.stop == width
        tall, wide = rows.stop - rows.start, cols.stop - cols.start
        spans = tall >= 0.9 * height or wide >= 0.9 * width
        # A line's ink is thin for its length: its pixels over its length, a small share of it.
        thin = sizes[piece] / max(tall, wide) < 0.12 * max(tall, wide)
        if not (touches and spans and thin):  # a table line, a dark border, a paper edge
            keep.append(piece)
    if not keep:
        return None
    largest = sizes[keep].max()
    return np.isin(labels, [piece for piece in keep if sizes[piece] >= SPECK * largest])


def check_marks(count: int) -> None:
    """Refuse a picture of more separate marks than any one line of a number has."""
    if count > MAX_PIECES:
        raise UserError(
            f"{count} separate marks: more than a number of {MAX_DIGITS} digits on one line; "
            "crop the image to one number"
        )


def digit_groups(mask: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Step 2: (pieces labelled, groups of piece labels), groups ordered left to right."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    check_marks(count)  # (grouping compares every pair: bounded before it starts)
    spans = [(s[1].start, s[1].stop) for s in ndimage.find_objects(labels)]
    groups = [[i + 1] for i in range(count)]
    merged = True
    while merged:  # join groups sharing columns until none do
        merged = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                (a0, a1), (b0, b1) = span_of(spans, groups[a]), span_of(spans, groups[b])
                shared = min(a1, b1) - max(a0, b0)
                if shared >= SHARED_COLUMNS * min(a1 - a0, b1 - b0):
                    groups[a] += groups.pop(b)
                    merged = True
                    break
            if merged:
                break
    groups.sort(key=lambda group: sum(span_of(spans, group)))  # by the middle of their columns
    return labels, groups


def span_of(spans, group) -> tuple[int, int]:
    """The columns (first, past the last) that the pieces of `group` span together."""
    return min(spans[i - 1][0] for i in group), max(spans[i - 1][1] for i in group)


def cut_paths(group: np.ndarray, line_height: int) -> list[np.ndarray]:
    """Step 3's candidates: paths from a group's top row to its bottom row, one column per row,
    each crossing as little ink as it can (a seam: it may drift one column a row, at a small
    cost, to pass around a loop or along a leaning gap where a straight cut would clip a digit).
    Returns up to MAX_CUTS paths ((h,) columns), left to right, through middle-row columns away
    from the group's edges and from each other by a sixth of the line's height.

    Dynamic programming twice, down and up: below[y, x] is the least ink of a path from the top
    row to (y, x), above[y, x] from the bottom row; the best path through (middle, x) costs
    below + above - ink there."""
    height, width = group.shape
    margin = max(2, line_height // 6)
    if width < 2 * margin + 1:
        return []
    ink = group.astype(np.float64)
    below, from_below = _least_ink(ink)
    above, from_above = _least_ink(ink[::-1])
    middle = height // 2
    through = below[middle] + above[height - 1 - middle] - ink[middle]
    order = np.argsort(through[margin : width - margin], kind="stable") + margin
    chosen = []
    for column in order:
        if all(abs(column - other) >= margin for other in chosen):
            chosen.append(int(column))
        if len(chosen) == MAX_CUTS:
            break
    paths = []
    for column in sorted(chosen):
        upper = _trace(from_below, middle, column)  # rows 0..middle
        lower = _trace(from_above, height - 1 - middle, column)[::-1]  # rows middle..h-1
        paths.append(np.concatenate([upper, lower[1:]]))
    # Paths may cross: each is kept right of the one before, so parts never share a pixel.
    for left, right in pairwise(paths):
        np.maximum(right, left, out=right)
    return paths


def _least_ink(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """total[y, x]: the least ink a path from row 0 to (y, x) crosses, moving at most one column
    a row (SIDEWAYS per column moved); step[y, x]: the column it came from, minus x."""
    height, width = ink.shape
    total, step = np.empty_like(ink), np.zeros(ink.shape, dtype=np.int8)
    total[0] = ink[0]
    for y in range(1, height):
        previous = total[y - 1]
        options = np.stack([
            np.r_[np.inf, previous[:-1]] + SIDEWAYS,  # from the column to the left
            previous,
            np.r_[previous[1:], np.inf] + SIDEWAYS,  # from the column to the right
        ])  # fmt: skip
        best = np.argmin(options, axis=0)
        step[y] = best - 1
        total[y] = options[best, np.arange(width)] + ink[y]
    return total, step


def _trace(step: np.ndarray, row: int, column: int) -> np.ndarray:
    """The columns of the path ending at (row, column), rows 0..row."""
    path = np.empty(row + 1, dtype=int)
    path[row] = column
    for y in range(row, 0, -1):
        path[y - 1] = path[y] + step[y, path[y]]
    return path


def frame_piece(flat: np.ndarray, ink: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """One digit's pixels `mask` among the ink of its (h, w) crop -> (784,) framed like MNIST.
    Other ink is zeroed, but not the faint edges of this digit's strokes, outside the mask:
    framed as a digit alone is (`normalise_strokes` measures the strokes with them)."""
    if mask.sum() < 4:
        return None
    # Slivers of a neighbour that a cut left behind are not part of this digit.
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = np.isin(labels, np.flatnonzero(sizes >= SLIVER * sizes.max()) + 1)
    strokes, marker = normalise_strokes(np.where(ink & ~mask, 0, flat), mask)
    return frame_like_mnist(strokes, marker).reshape(-1)


def stacked_marks(mask: np.ndarray) -> int:
    """How many marks of the ink `mask` stand one above another in a tall column, each a
    digit's size: 0 unless the column is at least STACKED times as tall as wide."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    boxes = ndimage.find_objects(labels)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    rows, columns = np.nonzero(mask)
    if count < 2 or np.ptp(rows) + 1 < STACKED * (np.ptp(columns) + 1):
        return 0
    width = np.ptp(columns) + 1
    marks = sorted(
        (box[0].start, box[0].stop)
        for box, size in zip(boxes, sizes, strict=True)
        if size >= 0.2 * sizes.max() and box[0].stop - box[0].start >= 0.5 * width
    )
    apart = sum(
        1 for (_, above), (below, _) in zip(marks, marks[1:], strict=False) if below >= above
    )
    return apart + 1 if apart else 0


def check_not_stacked(mask: np.ndarray) -> None:
    """A UserError if the marks of `mask` stand one above another (see `stacked_marks`)."""
    stacked = stacked_marks(mask)
    if stacked:
        raise UserError(
            f"{stacked} marks one above another: a number is read along one line (turn the "
            "image so that its digits run from left to right)"
        )
