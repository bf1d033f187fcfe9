"""The lines the line reader learns from: numbers written with MNIST's digits, labelled with
their digits only, whatever else the line carries."""

import numpy as np

from mnist_nn.data.lines import EXTRAS, HEIGHT, MAX_DIGITS, make_lines
from mnist_nn.nn.ctc import columns_needed

from helpers import tiny_dataset


def digits():
    """Small stand-ins for MNIST's digits: each label's own block of ink, 20 px tall."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 200)
    images = np.zeros((200, 28, 28), dtype=np.float32)
    for image, label in zip(images, labels, strict=True):
        image[4:24, 10 : 12 + label % 6] = 1.0  # wider for some labels, as real digits differ
    return images.reshape(200, 784), labels


def test_lines_are_rows_of_the_canvas_with_their_digits_as_padded_targets():
    images, labels = digits()
    lines, targets = make_lines(images, labels, 50, np.random.default_rng(1), width=96)
    assert lines.shape == (50, HEIGHT * 96) and lines.dtype == np.float32
    assert lines.min() >= 0 and lines.max() <= 1 and targets.shape == (50, MAX_DIGITS)
    lengths = (targets >= 0).sum(axis=1)
    assert lengths.min() >= 1 and lengths.max() <= MAX_DIGITS
    for row, length in zip(targets, lengths, strict=True):
        assert np.all(row[length:] == -1) and set(row[:length]) <= set(labels)
        assert columns_needed(row[:length]) <= 96 // 4  # CTC can align it after two pools


def test_the_same_seed_writes_the_same_lines():
    images, labels = digits()
    first = make_lines(images, labels, 20, np.random.default_rng(5))
    second = make_lines(images, labels, 20, np.random.default_rng(5))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_separators_dashes_lines_and_patterns_add_ink_but_never_digits():
    images, labels = digits()
    plain = dict.fromkeys(EXTRAS, 0.0)
    marks = ("separator", "dash", "underline", "pattern", "flagged_ones", "crossed_sevens")
    dressed = {**plain, **dict.fromkeys(marks, 1.0)}  # (pens, shades and sizes change ink)
    bare, bare_targets = make_lines(images, labels, 30, np.random.default_rng(2), digits=(4, 6),
                                    extras=plain, spacing="apart")  # fmt: skip
    full, full_targets = make_lines(images, labels, 30, np.random.default_rng(2), digits=(4, 6),
                                    extras=dressed, spacing="apart")  # fmt: skip
    assert np.array_equal(bare_targets, full_targets)  # the labels are the digits only
    assert full.sum() > bare.sum()  # (framed: a longer line is scaled down, so not by much)


def test_a_line_too_long_for_the_canvas_is_scaled_down_whole():
    images, labels = digits()
    lines, targets = make_lines(images, labels, 10, np.random.default_rng(3), width=48,
                                digits=(8, 8), spacing="apart")  # fmt: skip
    ink = lines.reshape(10, HEIGHT, 48).max(axis=1) > 0.1  # (lines, columns) with ink
    assert np.all((targets >= 0).sum(axis=1) == 8)
    assert ink[:, :12].any(axis=1).all() and ink[:, -12:].any(axis=1).all()  # both ends kept


def test_lines_written_with_mnist_like_digits():
    dataset = tiny_dataset()
    lines, targets = make_lines(dataset.train.images, dataset.train.labels, 5,
                                np.random.default_rng(4))  # fmt: skip
    assert np.isfinite(lines).all() and (targets[:, 0] >= 0).all()


def test_a_fine_pen_writes_thinner_strokes_and_a_marker_fatter_ones_than_mnists():
    from mnist_nn.data.framing import stroke_width
    from mnist_nn.data.lines import with_pen

    line = np.zeros((HEIGHT, 60), dtype=np.float32)
    line[4:24, 10:13] = line[4:24, 30:33] = 1.0  # two upright strokes 3 px wide, as MNIST's
    plain = dict.fromkeys(EXTRAS, 0.0)

    def width(pen: str) -> float:
        drawn = with_pen(line, {**plain, pen: 1.0}, np.random.default_rng(0))
        return stroke_width(drawn, drawn > 0.3)

    assert width("thin_pen") < 2 < 3 < width("fat_pen")
    assert np.array_equal(with_pen(line, plain, np.random.default_rng(0)), line)


def digit_blocks(line: np.ndarray) -> list[np.ndarray]:
    """A framed line's digits written apart: the ink of each run of inked columns."""
    columns = np.flatnonzero((line > 0.05).any(axis=0))
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    return [line[:, run] for run in runs]


def test_a_hasty_hand_writes_digits_of_many_heights_and_a_faded_line_of_many_shades():
    images, labels = digits()  # every digit block 20 px tall and fully inked
    plain = dict.fromkeys(EXTRAS, 0.0)
    for name in ("uneven", "faded", None):
        extras = {**plain, name: 1.0} if name else plain
        lines, _ = make_lines(images, labels, 20, np.random.default_rng(4), digits=(5, 5),
                              extras=extras, spacing="wide")  # fmt: skip
        spreads = []
        for line in lines.reshape(20, HEIGHT, -1):
            blocks = digit_blocks(line)
            if name == "faded":
                values = [block.max() for block in blocks]
            else:
                values = [(block > 0.05).sum(axis=0).max() for block in blocks]
            spreads.append(max(values) / min(values))
        spread = np.median(spreads)
        assert spread > 1.25 if name else spread < 1.2, (name, spread)  # measured: 1.15 plain
