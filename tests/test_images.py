"""Your own images, framed the MNIST way: polarity, alpha, crop, 20 px box, centre of mass."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_nn.errors import UserError
from mnist_nn.images import frame_like_mnist, ink_on_black, load_digit


def drawn_seven(size=(600, 400), box=(350, 50, 550, 350), ink=(20, 20, 20), paper="white"):
    """A thick dark 7 drawn off-centre on a large light canvas."""
    picture = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(picture)
    left, top, right, bottom = box
    draw.line([(left, top), (right, top), (left + 40, bottom)], fill=ink, width=24)
    return picture


def ink_box(image):
    rows = np.flatnonzero((image > 0.05).any(axis=1))
    cols = np.flatnonzero((image > 0.05).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def test_dark_digit_off_centre_on_a_white_canvas_becomes_mnist_style(tmp_path):
    path = tmp_path / "seven.png"
    drawn_seven().save(path)
    image = load_digit(path).reshape(28, 28)
    assert (
        image.dtype == np.float32 and image.min() >= 0 and image.max() == pytest.approx(1, abs=0.01)
    )
    assert image[0].max() == 0 and image[:, 0].max() == 0  # background is black, ink is white
    height, width = ink_box(image)
    assert max(height, width) in (20, 21)  # the longer side scaled to 20 px (±1 of blur)
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 0.6 and abs(col - 14) <= 0.6  # where MNIST puts it


@pytest.mark.parametrize("suffix", ["png", "jpg", "bmp", "gif", "tiff", "webp"])
def test_every_common_format_reads(tmp_path, suffix):
    path = tmp_path / f"seven.{suffix}"
    drawn_seven().save(path)
    assert load_digit(path).shape == (784,)


def test_light_on_dark_is_not_inverted_and_grey_paper_is_cleaned():
    light_on_dark = np.asarray(drawn_seven(ink=(255, 255, 255), paper="black").convert("L"))
    on_grey = drawn_seven(ink=(60, 60, 60), paper=(170, 170, 170))
    a = ink_on_black(Image.fromarray(light_on_dark))
    b = ink_on_black(on_grey)
    assert a[0, 0] == 0 and a.max() == 1
    assert b[0, 0] == 0 and b.max() == pytest.approx(1)


def test_transparent_drawing_is_composited_on_white(tmp_path):
    picture = Image.new("RGBA", (300, 300), (0, 0, 0, 0))  # transparent *black*
    ImageDraw.Draw(picture).ellipse((80, 60, 220, 240), outline=(0, 0, 0, 255), width=20)
    path = tmp_path / "zero.png"
    picture.save(path)
    image = load_digit(path).reshape(28, 28)
    assert image[0, 0] == 0 and image.max() > 0.9 and image[13:15, 13:15].max() < 0.2  # a ring


def test_blank_and_unreadable_files_give_one_clear_line(tmp_path):
    Image.new("L", (100, 100), 255).save(tmp_path / "blank.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UserError, match="blank.png: the image is blank"):
        load_digit(tmp_path / "blank.png")
    with pytest.raises(UserError, match="notes.png: not an image of a format read here"):
        load_digit(tmp_path / "notes.png")
    with pytest.raises(UserError, match="no such file"):
        load_digit(tmp_path / "missing.png")


def test_frame_keeps_aspect_ratio_of_a_thin_one():
    one = np.zeros((200, 200), dtype=np.float32)
    one[20:180, 95:105] = 1.0  # a tall thin stroke
    framed = frame_like_mnist(one)
    height, width = ink_box(framed)
    assert height == 20 and width <= 3
