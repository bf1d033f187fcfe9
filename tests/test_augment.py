"""Augmentation: moves digits as asked, seeded, and leaves them alone when asked for nothing."""

import numpy as np
import pytest

from mnist_nn.data.augment import augment


class FixedDraws:
    """Stands in for a Generator: every uniform draw returns the given values."""

    def __init__(self, shift=(0.0, 0.0), angle=0.0, scale=1.0):
        self.values = {"shift": np.array([shift]), "angle": angle, "scale": scale}

    def uniform(self, low, high, size):
        if size == (1, 2):
            return self.values["shift"]
        key = "angle" if low == -high and low != 0 or (low, high) == (0, 0) else "scale"
        return np.full(size, self.values[key])


def dot_image(row, col):
    image = np.zeros((28, 28), dtype=np.float32)
    image[row, col] = 1.0
    return image.reshape(1, 784)


def test_whole_pixel_shift_moves_the_digit_exactly():
    out = augment(dot_image(10, 10), FixedDraws(shift=(1.0, -2.0)), max_shift=2).reshape(28, 28)
    assert out[11, 8] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_half_pixel_shift_interpolates():
    out = augment(dot_image(10, 10), FixedDraws(shift=(0.0, 0.5)), max_shift=2).reshape(28, 28)
    np.testing.assert_allclose(out[10, 10:12], [0.5, 0.5])


def test_rotation_by_90_degrees_about_the_centre():
    draws = FixedDraws(angle=90.0)  # degrees, as drawn
    out = augment(dot_image(0, 13), draws, max_shift=0, max_rotation=90).reshape(28, 28)
    ((row, col),) = np.argwhere(out > 0.4)
    assert (row, col) in {(13, 27), (13, 0), (14, 27), (14, 0)}  # top edge goes to a side edge


def test_no_augmentation_is_the_identity():
    images = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    out = augment(images, np.random.default_rng(0), max_shift=0)
    np.testing.assert_allclose(out, images, atol=1e-6)
    assert out.dtype == np.float32


def test_seeded_and_sized_like_the_batch():
    images = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    a = augment(images, np.random.default_rng(1), 2, 10, 0.1)
    b = augment(images, np.random.default_rng(1), 2, 10, 0.1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (64, 784) and a.min() >= 0 and a.max() <= 1
    assert not np.allclose(a, images)


def test_shear_elastic_and_thickness_change_digits_but_keep_them_digits():
    from mnist_nn.data.augment import augment

    images = np.zeros((4, 28, 28), dtype=np.float32)
    images[:, 6:22, 12:16] = 1.0  # an upright bar
    flat = images.reshape(4, -1)
    slanted = augment(flat, np.random.default_rng(0), 0, max_shear=30).reshape(4, 28, 28)
    top_cols = np.nonzero(slanted[0, 7])[0].mean()
    bottom_cols = np.nonzero(slanted[0, 20])[0].mean()
    assert abs(top_cols - bottom_cols) > 2  # the bar leans
    wobbly = augment(flat, np.random.default_rng(0), 0, elastic=34)
    assert not np.allclose(wobbly, flat) and abs(wobbly.sum() - flat.sum()) < 0.15 * flat.sum()
    changed = augment(flat, np.random.default_rng(0), 0, thickness=1.0).reshape(4, 28, 28)
    widths = [(changed[i, 14] > 0.5).sum() for i in range(4)]
    assert set(widths) <= {3, 5} and len(set(widths)) >= 1  # one pixel thinner or thicker


def test_augmentations_left_at_zero_draw_no_random_numbers():
    from mnist_nn.data.augment import augment

    flat = np.random.default_rng(1).random((8, 784), dtype=np.float32)
    plain, extended = np.random.default_rng(5), np.random.default_rng(5)
    augment(flat, plain, 2.0, 10.0, 0.1)
    augment(flat, extended, 2.0, 10.0, 0.1, max_shear=0, elastic=0, thickness=0)
    assert plain.random() == extended.random()  # the `best` preset's runs are unchanged


def test_a_line_is_moved_as_a_line_not_as_a_28x28_square():
    """A line reader's lines (28x128) are augmented in their own shape: a dot near the right end
    moves by the drawn shift, and a slant turns about the line's middle row."""
    line = np.zeros((28, 128), dtype=np.float32)
    line[10, 120] = 1.0
    moved = augment(line.reshape(1, -1), FixedDraws(shift=(1.0, -2.0)), max_shift=2,
                    shape=(28, 128)).reshape(28, 128)  # fmt: skip
    assert moved[11, 118] == pytest.approx(1.0) and moved.sum() == pytest.approx(1.0)
    bar = np.zeros((28, 128), dtype=np.float32)
    bar[:, 60] = 1.0
    slanted = augment(bar.reshape(1, -1), np.random.default_rng(0), 0, max_shear=20,
                      shape=(28, 128)).reshape(28, 128)  # fmt: skip
    middle, top, bottom = (np.argmax(slanted[row]) for row in (13, 0, 27))
    assert abs(middle - 60) <= 1 and top != bottom
