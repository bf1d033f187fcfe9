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
            return ImageOps.exif_transpose(reduced)  # phone photos are often stored sideways
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
