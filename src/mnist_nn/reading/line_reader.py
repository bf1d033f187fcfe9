"""Reading a line without cutting it: a line model (a stack ending in "columns", trained with
CTC) reads a picture of a number whole.

The steps: the ink found and the line framed as every line is (`framing.frame_line`: paper and
light flattened, ruled lines dropped, the ink scaled to the reader's 28 px and placed at the left
of its canvas; a line longer than the canvas is scaled down to fit); one pass of the network
gives each column position its probabilities of the ten digits and blank; the best path (each
column's likeliest class, repeats merged, blanks dropped) is the number (`nn.ctc.best_path`).
Each digit's box is its ink: the marks between it and its neighbours, found from where the
columns it fired on look (`stack.column_positions`); its confidence is the highest probability it
reached there, and below UNSURE_BELOW the digit is given as unsure, with its alternatives.
"""

import functools
from pathlib import Path

import numpy as np
from scipy import ndimage

from mnist_nn.data.framing import (
    box_around,
    find_digit,
    frame_like_mnist,
    framed_line,
    ink_on_black,
    line_pieces,
)
from mnist_nn.data.lines import MAX_DIGITS
from mnist_nn.errors import UserError
from mnist_nn.nn.ctc import best_path
from mnist_nn.nn.stack import LINE_HEIGHT, column_positions, reads_lines
from mnist_nn.reading.reader import (
    DIGIT,
    NOT_A_DIGIT,
    TOP,
    UNSURE,
    UNSURE_BELOW,
    Reading,
    mark_inside_a_loop,
)
from mnist_nn.reading.seams import check_marks, check_not_stacked

DIGITS = 10  # classes 0-9; the last, 10, is blank
# A line whose ink is longer than this for its height would be framed too small to read (its
# height scaled below half the reader's LINE_INK rows); CAR-A's amounts reach 7.5.
LONGEST = 10
# The line reader the package ships, the model.npz of `mnist-nn train --preset line --numbers
# ../shared/data/car-a --fold 0` (docs/reading-lines.md): numbers are read with it out of the
# box, whatever digit model is loaded (`predict --number --cut` cuts them instead).
SHIPPED_PATH = Path(__file__).with_name("line_reader.npz")
SHIPPED = "the shipped line reader"


class NoDigitRead(UserError):
    """Ink, but blank at every column: nothing the line reader knows as a digit."""


class LineReader:
    """A trained line model: a picture's greys -> its digits, each a Reading with its box."""

    reads_lines = True

    def __init__(self, network, what: str = "this model", name: str = "this line model"):
        layers = network.architecture.get("layers", "")
        if not reads_lines(layers):
            raise UserError(f"{what} reads single digits, not lines")
        self.network, self.name = network, name
        self.width = network.sizes[0] // LINE_HEIGHT
        self.stride, self.offset = column_positions(layers)

    def read_line(self, grey: np.ndarray) -> list[Reading]:
        """(h, w) greys in [0, 1] of a picture of a number -> its digits, left to right, each
        with its box (left, top, right, bottom) in the picture's pixels; [] if it is blank, a
        UserError if it reads no digit in the ink."""
        found = find_digit(ink_on_black(grey), line_pieces)
        if found is None:
            return []
        flat, mask = found
        # What is not one line of a number is refused as the cutter refuses it (`seams`).
        check_not_stacked(mask)
        check_marks(ndimage.label(mask, structure=np.ones((3, 3)))[1])
        rows, columns = box_around(mask)
        length = (columns.stop - columns.start) / (rows.stop - rows.start)
        if length > LONGEST:
            raise UserError(
                f"the writing is {length:.0f} times as long as it is high, more than one line "
                f"of at most {MAX_DIGITS} digits (at most {LONGEST} times); crop it to the number"
            )
        line, (left, top, step) = framed_line(flat, mask, self.width)
        if mark_inside_a_loop(mask):  # a face, a target: in no digit, in no number
            return [not_a_number(line, mask)]
        # (T, 11): one row per column position (the network's own rows for one line)
        probabilities = self.network.scores(line.reshape(1, -1))
        digits, spans = best_path(probabilities[None])[0]
        if not digits:
            raise NoDigitRead("the line reader found ink but read no digit in it (blank at "
                              "every column): is it a number?")  # fmt: skip
        readings, regions = [], self.regions(spans)
        for digit, (first, last), (x0, x1) in zip(digits, spans, regions, strict=True):
            peak = first + int(np.argmax(probabilities[first : last + 1, digit]))
            row = probabilities[peak, :DIGITS]
            order = np.argsort(-row, kind="stable")[:TOP]
            ranked = [(int(k), float(row[k])) for k in order]
            ranked[0] = (digit, float(probabilities[peak, digit]))  # best path's digit first
            ink = owned(line, x0, x1)
            box = ink_box(ink, x0, x1)
            verdict = DIGIT if ranked[0][1] >= UNSURE_BELOW else UNSURE
            pixels = frame_like_mnist(ink).ravel()  # the digit on its own, as the page shows it
            height, width = grey.shape
            in_picture = (round(min(max(left + box[0] * step, 0), width)),
                          round(min(max(top + box[1] * step, 0), height)),
                          round(min(max(left + box[2] * step, 0), width)),
                          round(min(max(top + box[3] * step, 0), height)))  # fmt: skip
            readings.append(Reading(verdict, ranked, 0.0, in_picture, pixels, row))
        return readings

    def regions(self, spans: list) -> list[tuple[int, int]]:
        """The framed line's pixel columns that belong to each digit: from half way to the
        previous digit to half way to the next, where the centres of the columns each fired on
        are (`column_positions`); the first and last digit reach as far out as half the spacing
        between digits (three strides for a digit alone). A column fires on some of its digit's
        columns only, often at one edge: the ink between the digits says where each is."""
        centres = [self.stride * (first + last) / 2 + self.offset for first, last in spans]
        spacing = np.median(np.diff(centres)) if len(centres) > 1 else 6 * self.stride
        bounds = [centres[0] - spacing / 2]
        bounds += [(a + b) / 2 for a, b in zip(centres[:-1], centres[1:], strict=True)]
        bounds.append(centres[-1] + spacing / 2)
        regions = []
        for (first, last), a, b in zip(spans, bounds[:-1], bounds[1:], strict=True):
            # ... and always the columns it fired on, however many
            a = min(a, self.stride * (first - 0.5) + self.offset)
            b = max(b, self.stride * (last + 0.5) + self.offset)
            regions.append((max(0, int(a)), min(self.width, int(np.ceil(b)))))
        return regions


def not_a_number(line: np.ndarray, mask: np.ndarray) -> Reading:
    """The reading of writing that is no number (a mark inside a closed loop: a face): one
    mark, "not a digit", boxed whole, as the cutter reads it."""
    rows, columns = box_around(mask)
    box = (columns.start, rows.start, columns.stop, rows.stop)
    pixels = frame_like_mnist(line).ravel()
    return Reading(NOT_A_DIGIT, [(0, 0.0)], 1.0, box, pixels, np.zeros(DIGITS))


def owned(line: np.ndarray, x0: int, x1: int) -> np.ndarray:
    """The ink of the framed line that belongs to the digit of columns x0 to x1: each separate
    mark whose middle lies there (whole, even beyond them), and of a mark that runs on into a
    neighbour (touching digits), only what lies there."""
    labels, count = ndimage.label(line > 0.2, structure=np.ones((3, 3)))
    mine = np.zeros(line.shape, dtype=bool)
    for piece, (_, columns) in enumerate(ndimage.find_objects(labels), start=1):
        if columns.stop - columns.start > 1.5 * (x1 - x0):  # digits run together: its share
            mine[:, x0:x1] |= labels[:, x0:x1] == piece
        elif x0 <= (columns.start + columns.stop) / 2 < x1:
            mine |= labels == piece
    return np.where(mine, line, 0)


def ink_box(ink: np.ndarray, x0: int, x1: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a digit's ink in the framed line (`owned`), in the line's
    pixels; its columns x0 to x1, the whole height, if it holds no ink."""
    rows, columns = np.flatnonzero(ink.max(axis=1) > 0.2), np.flatnonzero(ink.max(axis=0) > 0.2)
    if not len(rows):
        return x0, 0, x1, ink.shape[0]
    return columns[0], rows[0], columns[-1] + 1, rows[-1] + 1


@functools.cache
def shipped_line_reader() -> LineReader | None:
    """The line reader shipped with the package, or None where it is not (a source tree in
    which it has not been made yet)."""
    if not SHIPPED_PATH.is_file():
        return None
    from mnist_nn.saving.model_files import load_model

    network, _ = load_model(SHIPPED_PATH)
    return LineReader(network, str(SHIPPED_PATH), SHIPPED)


def number_reader(reader, cut: bool = False):
    """Who reads a written number for `reader`: a line model reads it itself; for a digit
    model, the shipped line reader does (the best reader here, docs/reading-lines.md), unless
    `cut` asks for the number cut into digits that the model reads (as where none is shipped)."""
    if getattr(reader, "reads_lines", False) or cut:
        return reader
    return shipped_line_reader() or reader
