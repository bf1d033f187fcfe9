"""Reading a written number: its ink cut into digits, left to right, each framed like MNIST.

Shapes are (height, width) greys. The steps:
    1. the ink found as for one digit (`framing.find_digit`: paper and lighting flattened, Otsu's
       threshold, specks, shadows and ruled lines dropped);
    2. its connected pieces grouped into digits: pieces that share most of their columns are one
       digit (a 5's hat, a 4 or a 7 written in two strokes, an i-like 1's dot);
    3. groups wide enough to hold more than one digit (touching or overlapping neighbours) are
       cut by recognition: cuts are paths from top to bottom that cross the least ink (seams,
       which bend around a loop that leans over its neighbour), every way of cutting is framed
       and read, and the one whose pieces the network reads best as digits, and the detector
       finds most digit-like, wins (dynamic programming over the cuts), each digit more that it
       finds paying EXTRA_DIGIT; a cut that leaves a part much shorter than the line (the end
       of a 2's base) is not tried;
    4. every digit framed like MNIST (`framing.normalise_strokes`, `framing.frame_like_mnist`)
       and read (`reading.Reader`), with its box in the original image; where there are several
       digits, each is judged "not a digit" with the odds of a mark among digits (`in_a_number`).
scipy.ndimage does the pixel work; the rest is NumPy.
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy import ndimage

from mnist_nn.data.framing import (
    SPECK,
    find_digit,
    frame_like_mnist,
    ink_on_black,
    normalise_strokes,
)
from mnist_nn.errors import UserError
from mnist_nn.reading.reader import NOT_A_DIGIT, Reading, verdict_of

MAX_DIGITS = 12  # one line of a number: a price, a meter reading, a phone number
SHARED_COLUMNS = 0.5  # pieces sharing this share of the narrower one's columns are one digit
WIDEST_DIGIT = 1.4  # a digit is at most this many times as wide as the line is tall
MAX_CUTS = 8  # cuts tried in one group
SIDEWAYS = 0.1  # what a cut's path pays per column it drifts, against 1 per pixel of ink
SLIVER = 0.15  # pieces of a cut segment smaller than this share of its largest are slivers
MAX_PIECES = 8 * MAX_DIGITS  # separate pieces of ink looked at (several per digit at most)
# Among other digits, a mark is far more likely a digit than the detector's training mix says:
# its odds of "not a digit" are multiplied by this (Bayes' rule with another prior). Chosen on
# numbers written from MNIST's validation digits (see `in_a_number`).
AMONG_DIGITS = 0.03
SHORTEST = 0.55  # a cut-off part of a group shorter than this share of the line is not a digit
# Cutting one piece of ink needs evidence: every digit found in it costs this (in the log
# probabilities of `_score`, so prior odds of 1/e for each digit more), or a digit read
# confidently whole loses to two confident readings of its halves (a fat 8, a 1 with a foot).
# Chosen on numbers written from MNIST's validation digits: whole numbers read right went up
# with each model, apart by 1 to 3 points, touching by 1 to 1.5; 0.5 to 1.5 did alike, 2.5
# merged touching digits. (Charged for the digits of every piece, it merged neighbours.)
EXTRA_DIGIT = 1.0


@dataclass
class NumberReading:
    """The number, and each digit's reading (with its box in the original image)."""

    digits: list[Reading]

    @property
    def number(self) -> str:
        """The digits joined; "?" where a mark is not a digit."""
        return "".join("?" if d.verdict == NOT_A_DIGIT else str(d.label) for d in self.digits)

    def to_dict(self) -> dict:
        return {"number": self.number, "digits": [digit.to_dict() for digit in self.digits]}


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


def digit_groups(mask: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Step 2: (pieces labelled, groups of piece labels), groups ordered left to right."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count > MAX_PIECES:  # (grouping compares every pair: bounded before it starts)
        raise UserError(
            f"{count} separate marks: more than a number of {MAX_DIGITS} digits on one line; "
            "crop the image to one number"
        )
    spans = [(s[1].start, s[1].stop) for s in ndimage.find_objects(labels)]
    groups = [[i + 1] for i in range(count)]
    merged = True
    while merged:  # join groups sharing columns until none do
        merged = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                (a0, a1), (b0, b1) = _span(spans, groups[a]), _span(spans, groups[b])
                shared = min(a1, b1) - max(a0, b0)
                if shared >= SHARED_COLUMNS * min(a1 - a0, b1 - b0):
                    groups[a] += groups.pop(b)
                    merged = True
                    break
            if merged:
                break
    groups.sort(key=lambda group: sum(_span(spans, group)))  # by the middle of their columns
    return labels, groups


def _span(spans, group) -> tuple[int, int]:
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


def best_cuts(readings: dict, n: int) -> list[tuple[int, int]]:
    """Dynamic programming over the n bounds of a group (its left edge, the cuts, its right
    edge): the segments (i, j), between bound i and bound j, that cover the group and read best
    (`_score`, less EXTRA_DIGIT a segment); `readings` maps (i, j) to the segment's Reading
    (pairs missing were too wide or too short to be one digit)."""
    score, previous = np.full(n, -np.inf), np.zeros(n, dtype=int)
    score[0] = 0.0
    for j in range(1, n):
        for i in range(j):
            reading = readings.get((i, j))
            if reading is None or score[i] == -np.inf:
                continue
            value = _score([reading]) - EXTRA_DIGIT
            if score[i] + value > score[j]:
                score[j], previous[j] = score[i] + value, i
    segments, j = [], n - 1
    while j > 0:
        segments.append((previous[j], j))
        j = previous[j]
    return segments[::-1]


def segment(grey: np.ndarray, reader) -> list[Reading]:
    """Steps 1 to 4 on (h, w) greys: the digits' Readings, left to right, boxes in pixels of
    `grey`. No ink: no digits."""
    found = find_digit(ink_on_black(grey), number_pieces)
    if found is None:
        return []
    flat, mask = found
    labels, groups = digit_groups(mask)
    if len(groups) > 2 * MAX_DIGITS:
        raise UserError(
            f"{len(groups)} separate marks: more than a number of {MAX_DIGITS} digits on one "
            "line; crop the image to one number"
        )
    boxes = ndimage.find_objects(labels)
    heights = [_rows(boxes, group)[1] - _rows(boxes, group)[0] for group in groups]
    line_height = int(np.median([h for h in heights if h >= 0.5 * max(heights)]))
    spans = [(b[1].start, b[1].stop) for b in boxes]

    def read(run):  # the groups of `run`, read as one group (cut where that reads better)
        members = [piece for group in run for piece in group]
        (left, right), (top, bottom) = _span(spans, members), _rows(boxes, members)
        crop = (slice(top, bottom), slice(left, right))
        piece = np.isin(labels[crop], members)
        return read_group(flat[crop], mask[crop], piece, line_height, reader, (left, top))

    # Pieces of one digit that share few columns (a 7 whose stem was lifted off its bar) are
    # joined by recognition too: two neighbours that nearly touch are also read together, and
    # kept together where that reads better than apart.
    best = [(0.0, [])]
    for j, group in enumerate(groups, start=1):
        apart = read([group])
        candidates = [(best[j - 1][0] + _score(apart), best[j - 1][1] + apart)]
        if j >= 2:
            (_, previous_right), (next_left, _) = _span(spans, groups[j - 2]), _span(spans, group)
            if next_left - previous_right < 0.15 * line_height:
                together = read(groups[j - 2 : j])
                candidates.append((best[j - 2][0] + _score(together), best[j - 2][1] + together))
        best.append(max(candidates, key=lambda candidate: candidate[0]))
    digits = best[-1][1]
    if len(digits) > MAX_DIGITS:
        raise UserError(
            f"{len(digits)} digits found: more than a number of {MAX_DIGITS} on one line; crop "
            "the image to one number"
        )
    if len(digits) > 1 and reader.detector:  # (one mark alone is judged as a digit drawn alone)
        digits = [in_a_number(digit) for digit in digits]
    return digits


def _score(readings: list[Reading]) -> float:
    """How well a way of cutting reads: Σ log P(read as its digit)·P(a digit at all)."""
    return sum(
        np.log(max(r.probability, 1e-6)) + np.log(max(1 - r.not_digit, 1e-6)) for r in readings
    )


def _rows(boxes, group) -> tuple[int, int]:
    return min(boxes[i - 1][0].start for i in group), max(boxes[i - 1][0].stop for i in group)


def read_group(flat, ink, piece, line_height: int, reader, origin) -> list[Reading]:
    """One group of ink, `piece` among all the `ink` of its (h, w) crop, read as one digit or
    cut into several (step 3)."""
    height, width = piece.shape
    cuts = cut_paths(piece, line_height) if width > 0.6 * line_height else []
    bounds = [np.zeros(height, int), *cuts, np.full(height, width)]  # (h,) columns each
    columns = np.arange(width)[None, :]
    whole = (0, len(bounds) - 1)  # the whole group is always a candidate
    widest = max(WIDEST_DIGIT * line_height, 1)
    images, kept, parts = [], [], {}
    for j in range(1, len(bounds)):
        for i in range(j):
            part = piece & (columns >= bounds[i][:, None]) & (columns < bounds[j][:, None])
            rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
            if (i, j) != whole and (
                not len(rows)
                or cols[-1] + 1 - cols[0] > widest
                # A cut that leaves a short part (the end of a 2's base, a 7's bar) is not
                # between digits.
                or rows[-1] + 1 - rows[0] < SHORTEST * line_height
            ):
                continue
            image = frame_piece(flat, ink, part)
            if image is not None:
                images.append(image)
                kept.append((i, j))
                parts[i, j] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    if not images:
        return []
    readings = dict(zip(kept, reader.read(np.stack(images)), strict=True))
    chosen = best_cuts(readings, len(bounds)) if len(bounds) > 2 else [(0, 1)]
    result = []
    for i, j in chosen:
        reading = readings.get((i, j))
        if reading is None:
            continue
        left, top, right, bottom = parts[i, j]
        x0, y0 = origin
        reading.box = (x0 + left, y0 + top, x0 + right, y0 + bottom)
        result.append(reading)
    return result


def in_a_number(reading: Reading) -> Reading:
    """The verdict on a digit of a number: P(not a digit) again by Bayes' rule, with prior odds of
    "not a digit" AMONG_DIGITS times the detector's. Written numbers are digits; the detector
    learned from as many non-digits as digits. (Where to cut is chosen with the detector's own
    odds: they tell a digit from a pair or a piece of one, which is the question there.)"""
    from mnist_nn.reading.detector import load_detector

    odds = reading.not_digit / max(1 - reading.not_digit, 1e-9) * AMONG_DIGITS
    reading.not_digit = odds / (1 + odds)
    reading.verdict = verdict_of(reading.not_digit, reading.probability, load_detector()[1])
    return reading
