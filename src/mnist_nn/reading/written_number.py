"""Reading a written number: its ink cut into digits, left to right, each framed like MNIST.

Shapes are (height, width) greys. The steps:
    1. the ink found as for one digit (`framing.find_digit`: paper and lighting flattened, Otsu's
       threshold, specks, shadows and ruled lines dropped);
    2. its pieces grouped into digits, and the cuts of a wide group tried (`seams`);
    3. every way of cutting a group framed and read: the one whose pieces the network reads best
       as digits, and the detector finds most digit-like, wins (dynamic programming over the
       cuts, `best_cuts`), each digit more that it finds paying EXTRA_DIGIT; a cut that leaves a
       part much shorter than the line (the end of a 2's base) is not tried;
    4. every digit framed like MNIST and read (`reading.Reader`), with its box in the original
       image; where there are several digits, each is judged "not a digit" with the odds of a
       mark among digits (`in_a_number`).
How the constants below were chosen, on numbers written from MNIST's validation digits, is in
docs/models.md.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mnist_nn.data.framing import find_digit, ink_on_black
from mnist_nn.errors import UserError
from mnist_nn.reading.reader import NOT_A_DIGIT, Reading, mark_inside_a_loop, verdict_of
from mnist_nn.reading.seams import (
    MAX_DIGITS,
    check_not_stacked,
    cut_paths,
    digit_groups,
    frame_piece,
    number_pieces,
    span_of,
)

WIDEST_DIGIT = 1.4  # a digit is at most this many times as wide as the line is tall
# Among other digits, a mark is far more likely a digit than the detector's training mix says:
# its odds of "not a digit" are multiplied by this (Bayes' rule with another prior).
AMONG_DIGITS = 0.03
SHORTEST = 0.55  # a cut-off part of a group shorter than this share of the line is not a digit
# Cutting one piece of ink needs evidence: every digit found in it costs this, in the log
# probabilities of `_score` (prior odds of 1/e for each digit more); else a digit read
# confidently whole loses to two confident readings of its halves (a fat 8, a 1 with a foot).
EXTRA_DIGIT = 1.0


CUT_APART = "this model's digits, cut apart"  # the reader of `segment`, as answers name it


@dataclass
class NumberReading:
    """The number, and each digit's reading (with its box in the original image)."""

    digits: list[Reading]
    reader: str = CUT_APART  # which reader answered

    @property
    def number(self) -> str:
        """The digits joined; "?" where a mark is not a digit."""
        return "".join("?" if d.verdict == NOT_A_DIGIT else str(d.label) for d in self.digits)

    @property
    def is_number(self) -> bool:
        """Several digits rather than one: more than one mark, and not all cut from one piece of
        ink (somewhere two neighbours stand apart: an A cut in two reads as 1 and 1, touching)."""
        pairs = zip(self.digits, self.digits[1:], strict=False)
        return len(self.digits) > 1 and any(left.box[2] < right.box[0] for left, right in pairs)

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "is_number": self.is_number,
            "reader": self.reader,
            "digits": [digit.to_dict() for digit in self.digits],
        }


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
    check_not_stacked(mask)
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
        (left, right), (top, bottom) = span_of(spans, members), _rows(boxes, members)
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
            (_, previous_right), (next_left, _) = (
                span_of(spans, groups[j - 2]),
                span_of(spans, group),
            )
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
    # A mark inside another's loop (a face) is one mark, and not a digit: seen here at full size,
    # as framing at 28x28 may merge a mouth into the circle around it.
    enclosed = reader.detector and mark_inside_a_loop(piece)
    cuts = cut_paths(piece, line_height) if width > 0.6 * line_height and not enclosed else []
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
        if enclosed:
            reading.not_digit, reading.verdict = 1.0, NOT_A_DIGIT
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
