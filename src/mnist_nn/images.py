"""Your own images of digits: read safely, then framed like MNIST so the network sees what it
learned from.

Reading: only the formats listed below; the pixel count checked before decoding; large images
decoded at a working size; EXIF orientation applied; transparency composited on white. The
framing (ink separated from paper, cropped, strokes normalised, scaled into 20 px, centred by
mass in 28x28) is `framing.py`. A digit that was merely resized is off-centre, too thin or too
small, and mostly misread.
"""

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_nn.errors import UserError
from mnist_nn.framing import frame_digit
from mnist_nn.numbers import NumberReading, segment

# The image formats opened (those the README lists); anything else, say an EPS that Pillow would
# hand to Ghostscript, is refused before it is parsed.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
MAX_PIXELS = 40_000_000  # refused beyond this, before decoding (a small file can claim a lot)
WORKING_SIDE = 1024  # larger images are reduced on reading: no image costs more than a few MB


def greys(picture: Image.Image) -> np.ndarray:
    """Any Pillow image -> (h, w) greys in [0, 1]; transparent parts composited on white (a
    drawing on a transparent canvas)."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        picture = picture.convert("RGBA")
        white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, picture)
    return np.asarray(picture.convert("L"), dtype=np.float32) / 255


def read_image(source, name: str) -> Image.Image:
    """Open an image of an allowed format, check its size before decoding, and decode it at a
    working size (JPEG straight at a reduced scale; others reduced right after decoding)."""
    try:
        picture = Image.open(source, formats=FORMATS)
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise UserError(
            f"{name}: not an image of a format read here ({', '.join(FORMATS)})"
        ) from None
    with picture:
        width, height = picture.size
        if width * height > MAX_PIXELS:
            raise UserError(
                f"{name}: {width}x{height} pixels is over the limit of "
                f"{MAX_PIXELS // 1_000_000} megapixels; make it smaller first"
            )
        try:
            picture.draft("RGB", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at 1/2, 1/4, 1/8
            picture.load()
            factor = -(-max(picture.size) // WORKING_SIDE)  # the least that brings it within
            reduced = picture.reduce(factor) if factor > 1 else picture.copy()
            upright = ImageOps.exif_transpose(reduced)  # phone photos are often stored sideways
            # How many original pixels one working pixel spans, to give boxes in the original.
            upright.info["scale"] = max(width, height) / max(upright.size)
            return upright
        except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as error:
            raise UserError(f"{name}: a damaged or unreadable image ({error})") from None


def load_digit(source, name: str | None = None) -> np.ndarray:
    """An image of one digit (a path, or a file object such as an upload's bytes) -> (784,)
    float32 MNIST-style input (see `framing.py`). Problems are a UserError that starts with
    `name` (default: the path)."""
    name = name or str(source)
    framed = frame_digit(greys(read_image(source, name)))
    if framed is None:
        raise UserError(f"{name}: the image is blank (no ink found); draw or photograph a digit")
    return framed.reshape(-1)


def read_number(source, reader, name: str | None = None) -> NumberReading:
    """An image of a written number (a path or a file object) -> its digits, read by `reader`
    (a `reading.Reader`), each with its box in the original image's pixels."""
    name = name or str(source)
    picture = read_image(source, name)
    try:
        digits = segment(greys(picture), reader)
    except UserError as error:
        raise UserError(f"{name}: {error}") from None
    if not digits:
        raise UserError(f"{name}: the image is blank (no ink found); write or photograph a number")
    return _in_original_pixels(NumberReading(digits), picture)


def read_digit_and_number(source, reader, name: str) -> tuple[np.ndarray, NumberReading | None]:
    """One decode, both readings (the web page's): the image framed as one digit (784,), and
    read as a number (None when it cannot be: e.g. more marks than a number has)."""
    picture = read_image(source, name)
    grey = greys(picture)
    framed = frame_digit(grey)
    if framed is None:
        raise UserError(f"{name}: the image is blank (no ink found); draw or photograph a digit")
    try:
        digits = segment(grey, reader)
    except UserError:
        return framed.reshape(-1), None
    return framed.reshape(-1), _in_original_pixels(NumberReading(digits), picture)


def _in_original_pixels(number: NumberReading, picture: Image.Image) -> NumberReading:
    """Boxes found in the working-size image, given in the original image's pixels."""
    scale = picture.info.get("scale", 1.0)
    for digit in number.digits:
        digit.box = tuple(round(value * scale) for value in digit.box)
    return number
