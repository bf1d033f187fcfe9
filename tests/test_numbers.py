"""Reading a written number: ink grouped into digits, touching digits cut by recognition, boxes in
the original image, and the limits on what one image may ask."""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_nn.errors import UserError
from mnist_nn.reading.images import read_number
from mnist_nn.reading.reader import DIGIT, NOT_A_DIGIT, Reading
from mnist_nn.reading.seams import MAX_DIGITS, digit_groups
from mnist_nn.reading.written_number import best_cuts, segment


class SureOfEverything:
    """A stand-in reader: every framed piece is a digit 7, 90% sure. With it, the cutter has
    no reason to cut (each cut multiplies in another 90%), so only the grouping shows."""

    detector = False

    def read(self, images):
        return [Reading(DIGIT, [(7, 0.9)], 0.0, pixels=image) for image in images]


def drawing(strokes, size=(600, 200), width=12) -> np.ndarray:
    """Polylines drawn dark on white: (h, w) greys in [0, 1]."""
    picture = Image.new("L", size, 255)
    draw = ImageDraw.Draw(picture)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=width)
    return np.asarray(picture, dtype=np.float32) / 255


def as_png(grey: np.ndarray) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.fromarray((grey * 255).astype(np.uint8)).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def test_separate_marks_are_read_left_to_right_with_their_boxes():
    ones = [[(x, 40), (x, 160)] for x in (450, 100, 300)]  # drawn out of order
    digits = segment(drawing(ones), SureOfEverything())
    lefts = [digit.box[0] for digit in digits]
    assert len(digits) == 3 and lefts == sorted(lefts)
    for digit, x in zip(digits, (100, 300, 450), strict=True):
        left, top, right, bottom = digit.box
        assert left <= x <= right and top <= 45 and bottom >= 155


def test_pieces_sharing_their_columns_are_one_digit():
    five = [[(60, 40), (120, 40)], [(60, 70), (60, 100), (110, 110), (100, 160), (55, 160)]]
    dotted_one = [[(300, 70), (300, 160)], [(296, 40), (304, 40)]]  # an i-like 1: stem and dot
    grey = drawing([*five, *dotted_one])
    _, groups = digit_groups(grey < 0.5)
    assert [len(group) for group in groups] == [2, 2]
    assert len(segment(grey, SureOfEverything())) == 2


class ReadsPartsBetter(SureOfEverything):
    """A stand-in that reads any framed image filling the box both ways only 60% sure, and a
    narrow or flat one (a stroke, a bar) 100%: it would cut every digit into strokes."""

    def read(self, images):
        readings = []
        for image in images:
            ink = image.reshape(28, 28) > 0.3
            full = ink.any(axis=0).sum() > 10 and ink.any(axis=1).sum() > 10
            readings.append(Reading(DIGIT, [(7, 0.6 if full else 1.0)], 0.0, pixels=image))
        return readings


def test_a_cut_that_leaves_a_short_part_is_not_taken_between_two_digits():
    # An L: a stem and a long base, like a 2's base running on. The base alone reads "better",
    # but it is a fifth of the line tall: no digit of a number is that short.
    ell = [[(100, 40), (100, 160), (220, 160)]]
    digits = segment(drawing(ell), ReadsPartsBetter())
    assert len(digits) == 1


def test_a_piece_of_ink_is_cut_only_where_its_parts_read_clearly_better_than_it_whole():
    def read(probability):
        return Reading(DIGIT, [(8, probability)], 0.0)

    # Bounds 0 | 1 | 2: the whole (0, 2), or two parts (0, 1) and (1, 2).
    halves_as_sure = {(0, 2): read(0.98), (0, 1): read(0.995), (1, 2): read(0.995)}
    assert best_cuts(halves_as_sure, 3) == [(0, 2)]  # a fat 8, not 8 and 8
    whole_doubtful = {(0, 2): read(0.3), (0, 1): read(0.99), (1, 2): read(0.99)}
    assert best_cuts(whole_doubtful, 3) == [(0, 1), (1, 2)]  # two touching digits


class DoubtsEverything(SureOfEverything):
    """A stand-in whose detector finds every mark 90% likely not a digit."""

    detector = True

    def read(self, images):
        return [Reading(NOT_A_DIGIT, [(1, 0.99)], 0.9, pixels=image) for image in images]


def test_a_mark_among_digits_is_judged_with_the_odds_of_a_number_and_one_alone_is_not():
    three = segment(drawing([[(x, 40), (x, 160)] for x in (100, 300, 500)]), DoubtsEverything())
    assert [digit.verdict for digit in three] == [DIGIT] * 3
    assert all(digit.not_digit < 0.9 for digit in three)  # P(not a digit | among digits)
    (alone,) = segment(drawing([[(300, 40), (300, 160)]]), DoubtsEverything())
    assert alone.verdict == NOT_A_DIGIT and alone.not_digit == 0.9


def test_a_blank_image_has_no_digits_and_says_so_in_one_line():
    assert segment(np.ones((100, 300), dtype=np.float32), SureOfEverything()) == []
    with pytest.raises(UserError, match="blank"):
        read_number(as_png(np.ones((100, 300), np.float32)), SureOfEverything(), "x", cut=True)


def test_more_marks_than_a_number_has_is_one_line_not_a_long_wait():
    scrawl = [[(20 + 12 * i, 40), (20 + 12 * i, 160)] for i in range(100)]  # a 100-digit scrawl
    with pytest.raises(UserError, match=f"more than a number of {MAX_DIGITS} digits"):
        read_number(as_png(drawing(scrawl, (1300, 200), 4)), SureOfEverything(), "s", cut=True)


def test_boxes_are_given_in_the_pixels_of_the_original_image():
    grey = drawing([[(1000, 300), (1000, 900)], [(2000, 300), (2000, 900)]], (3000, 1200), 50)
    number = read_number(as_png(grey), SureOfEverything(), "big.png", cut=True)  # at 1024 px
    (left, top, right, bottom), _ = (digit.box for digit in number.digits)
    assert abs((left + right) / 2 - 1000) < 15 and abs(top - 300) < 40 and abs(bottom - 900) < 40


def test_pure_noise_and_a_12000_pixel_strip_are_answered_in_one_line():
    noise = np.random.default_rng(0).random((800, 800)).astype(np.float32)
    try:
        number = read_number(as_png(noise), SureOfEverything(), "noise.png", cut=True)
        assert len(number.digits) <= MAX_DIGITS
    except UserError as error:
        assert "\n" not in str(error)
    strip = drawing([[(x, 20), (x, 180)] for x in range(500, 12_000, 1000)], (12_000, 200), 30)
    number = read_number(as_png(strip), SureOfEverything(), "strip.png", cut=True)
    assert len(number.digits) == 12  # read at 1024 px wide: each still a mark of its own


# --- read by a trained network ----------------------------------------------------------------

NUMBERS = Path(os.environ.get("MNIST_NN_NUMBERS_DIR", "/nonexistent"))


@pytest.fixture(scope="module")
def seed_reader(mnist_dir):
    """The seed design trained on 55,000 MNIST digits, calibrated on the other 5,000."""
    from mnist_nn.config import TrainConfig
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.evaluate.calibration import calibrate
    from mnist_nn.reading.reader import Reader
    from mnist_nn.train.loop import train

    dataset = load_dataset("mnist", data_dir=mnist_dir, val_size=5000)
    network = train(TrainConfig(val_size=5000), dataset).network
    return Reader(network, calibrate(network, dataset)["temperature"]), dataset


@pytest.mark.slow
def test_generated_numbers_with_digits_apart_are_read_by_the_seed(seed_reader):
    from benchmarks.numbers import numbers_figures, render_number

    reader, dataset = seed_reader
    test, rng = dataset.test, np.random.default_rng(1)
    rows = rng.choice(len(test), (40, 4))
    files = [render_number(test.images[row].reshape(-1, 28, 28), "apart", rng) for row in rows]
    truths = ["".join(map(str, test.labels[row])) for row in rows]
    digits, whole = numbers_figures(reader, files, truths)
    assert digits >= 0.88 and whole >= 0.6  # measured: see benchmarks/numbers.md


@pytest.mark.slow
def test_the_real_numbers_of_the_development_set(seed_reader):
    from benchmarks.numbers import folder_entries, real_numbers

    if not (NUMBERS / "labels.csv").is_file():
        pytest.skip(
            "needs a set of real handwritten numbers (other writers' work, not shipped): set "
            "MNIST_NN_NUMBERS_DIR to a folder with the images and labels.csv (file, number)"
        )
    right, total, misses, _ = real_numbers(seed_reader[0], folder_entries(NUMBERS))
    # A development figure (the set was looked at): 22/37 measured (benchmarks/numbers.md), below
    # the 65% the seed should reach; this guards against worse.
    assert right / total >= 0.54, misses


def test_a_page_of_dots_is_refused_before_they_are_grouped():
    dots = [[(x, y), (x + 2, y)] for x in range(10, 790, 20) for y in range(10, 390, 20)]
    with pytest.raises(UserError, match="separate marks"):
        segment(drawing(dots, size=(800, 400), width=6), SureOfEverything())


def test_a_cut_bends_between_leaning_neighbours_where_no_straight_cut_is_clean():
    from mnist_nn.reading.seams import cut_paths

    # Two strokes leaning the same way, each over the other's columns (as in "//"): every
    # column holds ink, but a path along the slant between them crosses none.
    grey = drawing([[(60, 160), (120, 40)], [(100, 160), (160, 40)]], size=(220, 200), width=8)
    mask = grey < 0.5
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    group = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    assert group.any(axis=0).all()  # no clean straight cut
    paths = cut_paths(group, line_height=group.shape[0])
    columns = np.arange(group.shape[1])[None, :]
    clean = [path for path in paths if not group[np.arange(len(path)), path].any()]
    assert clean, "no path between the strokes"
    left = group & (columns < clean[0][:, None])
    labels, count = ndimage.label(group)
    assert np.array_equal(left, labels == labels[left][0]) and count == 2


def test_a_digit_of_a_number_is_framed_as_it_would_be_alone():
    from mnist_nn.data.framing import frame_digit

    # A soft-edged 3 (a pen's antialiased stroke): its faint edge pixels, outside the ink's
    # mask, are part of its strokes in a number as they are alone.
    three = [[(80, 50), (130, 45), (140, 90), (100, 105), (145, 130), (120, 160), (75, 150)]]
    grey = np.asarray(Image.fromarray((drawing(three) * 255).astype(np.uint8)).resize((300, 100)))
    grey = grey.astype(np.float32) / 255
    digits = segment(grey, SureOfEverything())
    assert len(digits) == 1
    np.testing.assert_allclose(digits[0].pixels, frame_digit(grey).reshape(-1), atol=1e-6)
