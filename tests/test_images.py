"""Your own images, framed the MNIST way: polarity, lighting, ink, pieces, strokes, 20 px box,
centre of mass; and read safely (formats, EXIF orientation, transparency)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_nn.data.framing import (
    MNIST_STROKE,
    THICKEST,
    find_digit,
    flatten_background,
    frame_like_mnist,
    ink_on_black,
    normalise_strokes,
    stroke_width,
)
from mnist_nn.errors import UserError
from mnist_nn.reading.images import greys, load_digit, read_image


def drawn_seven(
    size=(600, 400), box=(350, 50, 550, 350), ink=(20, 20, 20), paper="white", width=24
):
    """A thick dark 7 drawn off-centre on a large light canvas."""
    picture = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(picture)
    left, top, right, bottom = box
    draw.line([(left, top), (right, top), (left + 40, bottom)], fill=ink, width=width)
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
    light_on_dark = drawn_seven(ink=(255, 255, 255), paper="black")
    on_grey = drawn_seven(ink=(60, 60, 60), paper=(170, 170, 170))
    a = flatten_background(ink_on_black(greys(light_on_dark)))
    b = flatten_background(ink_on_black(greys(on_grey)))
    assert a[0, 0] == 0 and a.max() == 1
    assert b[0, 0] == 0 and b.max() == pytest.approx(1)


def framed(picture: Image.Image, tmp_path, suffix="png", **save) -> np.ndarray:
    path = tmp_path / f"digit.{suffix}"
    picture.save(path, **save)
    return load_digit(path).reshape(28, 28)


def test_uneven_light_and_grainy_tinted_paper_do_not_shrink_the_digit(tmp_path):
    rng = np.random.default_rng(0)
    paper = 232 + 6 * rng.standard_normal((400, 600))  # grain, as on a phone photo of paper
    paper += np.linspace(-40, 20, 600)[None, :]  # light falling off to one side
    picture = np.asarray(drawn_seven().convert("L"), dtype=np.float64)
    photo = np.where(picture < 128, 40.0, paper).clip(0, 255).astype(np.uint8)
    image = framed(Image.fromarray(photo).convert("RGB"), tmp_path)
    assert max(ink_box(image)) in (20, 21)  # the 7 fills the box: the grain is not ink
    assert abs(centre_of_mass(image)[0] - 14) <= 1


def test_a_ruled_line_and_specks_are_dropped(tmp_path):
    # Strokes well inside MNIST's width (24 px here is at the edge where thin ones are redrawn)
    picture = drawn_seven(width=40)
    draw = ImageDraw.Draw(picture)
    draw.line([(0, 380), (600, 380)], fill=(90, 90, 200), width=3)  # a ruled line, edge to edge
    for x, y in ((30, 30), (500, 390), (60, 300)):
        draw.ellipse((x, y, x + 4, y + 4), fill=(0, 0, 0))  # specks of dirt
    clean = framed(drawn_seven(width=40), tmp_path)
    assert np.abs(framed(picture, tmp_path) - clean).max() < 0.1  # the same digit, no line


def test_a_ruled_line_through_the_digit_is_dropped(tmp_path):
    """The line now touches the digit, so both are one piece that touches the border: the line
    goes because it is longer than the digit is tall."""
    picture = drawn_seven(width=40)
    ImageDraw.Draw(picture).line([(0, 200), (600, 200)], fill=(90, 90, 200), width=3)
    clean = framed(drawn_seven(width=40), tmp_path)
    assert np.corrcoef(framed(picture, tmp_path).ravel(), clean.ravel())[0, 1] > 0.95


@pytest.mark.parametrize(
    ("pen", "lowest", "highest"),
    [(2, 0.6, 1.6), (70, 0.6, 1.6), (240, 1.0, THICKEST)],
    ids=["hairline", "felt pen", "marker"],
)
def test_strokes_come_out_at_mnist_width_unless_a_marker_keeps_its_own(
    tmp_path, pen, lowest, highest
):
    """Thin strokes are thickened to MNIST's width; a marker keeps its (fatter) strokes, as long
    as they would not fill the box."""
    picture = Image.new("L", (3000, 3000), 255)
    ImageDraw.Draw(picture).line([(900, 700), (1900, 700), (1100, 2300)], fill=0, width=pen)
    image = framed(picture, tmp_path)
    width = stroke_width(image, image > 0.5) / MNIST_STROKE
    assert lowest <= width <= highest


def test_a_marker_is_thinned_by_dimming_its_edges_not_redrawn(tmp_path):
    picture = Image.new("L", (3000, 3000), 255)
    ImageDraw.Draw(picture).line([(900, 700), (1900, 700), (1100, 2300)], fill=0, width=480)
    image = framed(picture, tmp_path)
    strokes, marker = normalise_strokes(
        *find_digit(ink_on_black(greys(read_image(tmp_path / "digit.png", "digit"))))
    )
    plain = frame_like_mnist(strokes)
    assert marker and np.array_equal(image, plain**2)
    assert np.array_equal(image > 0, plain > 0)  # the same pixels: the shape is kept...
    assert (image > 0.5).sum() < (plain > 0.5).sum()  # ...and the strokes look thinner


def test_a_blot_is_redrawn_as_its_skeleton_rather_than_filling_the_box(tmp_path):
    picture = Image.new("L", (3000, 3000), 255)
    ImageDraw.Draw(picture).ellipse((1000, 800, 2000, 2200), fill=0)
    image = framed(picture, tmp_path)
    assert (image > 0.5).mean() < 0.15  # the blot itself would light up about 30% of the field


def test_a_marker_filling_its_canvas_is_not_hollowed_out(tmp_path):
    """Strokes wider than a sixth of the image would be taken for background by the first, narrow
    flattening; the digit reads the same cropped tight or small on a big page."""

    def ring(size, offset):
        picture = Image.new("RGBA", size, (0, 0, 0, 0))  # a transparent drawing
        box = (offset[0], offset[1], offset[0] + 260, offset[1] + 360)
        ImageDraw.Draw(picture).ellipse(box, outline=(0, 0, 0, 255), width=90)
        return picture

    tight = framed(ring((300, 400), (20, 20)), tmp_path)
    roomy = framed(ring((1500, 1500), (600, 500)), tmp_path)
    lit_tight, lit_roomy = (tight > 0.5).sum(), (roomy > 0.5).sum()
    assert abs(lit_tight - lit_roomy) <= 0.1 * lit_roomy  # as much solid stroke either way
    assert tight[14, 14] == 0 and roomy[14, 14] == 0  # and the hole is empty


@pytest.mark.slow
def test_a_shadow_in_a_big_photo_is_not_taken_for_a_faint_digit(tmp_path):
    """A phone's soft shadow right over a thin digit: a first flattening leaves faint shading
    larger than the digit and joined to it; the second, sized to the strokes, removes it."""
    rows, cols = np.mgrid[0:4000, 0:3000]
    shadow = 1 - 0.35 * np.exp(-((np.hypot(rows - 1000, cols - 1950) / 1400) ** 2))
    clean = drawn_seven(size=(3000, 4000), box=(1800, 800, 2100, 1200), ink=(40, 50, 150), width=5)
    grain = np.random.default_rng(0).normal(0, 6, shadow.shape)
    photo = np.asarray(clean.convert("L"), dtype=np.float64) * 0.95 * shadow + grain
    shaded = framed(Image.fromarray(photo.clip(0, 255).astype(np.uint8)), tmp_path, "jpg")
    expected = framed(clean, tmp_path)
    assert np.corrcoef(shaded.ravel(), expected.ravel())[0, 1] > 0.9


def test_exif_orientation_is_applied(tmp_path):
    upright = framed(drawn_seven(), tmp_path, "jpg")
    sideways = drawn_seven().transpose(Image.Transpose.ROTATE_90)  # stored turned...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with the tag that says "turn me back" (rotate 90° clockwise)
    restored = framed(sideways, tmp_path, "jpg", exif=exif)
    assert np.corrcoef(upright.ravel(), restored.ravel())[0, 1] > 0.9


def test_a_28x28_drawing_keeps_its_strokes(tmp_path):
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[4:24, 13:16] = 255  # a one, 3 px wide, already MNIST-sized
    image = framed(Image.fromarray(digit), tmp_path)
    assert np.corrcoef(image.ravel(), digit.ravel() / 255)[0, 1] > 0.85


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
