"""Turn a picture of a digit into what MNIST looks like, so the network sees what it learned from.

MNIST's recipe (LeCun et al.): white ink on black, the digit scaled so its longer side is 20 px
(keeping its aspect ratio), pasted into a 28x28 field so that its centre of mass sits in the middle.
A digit that was merely resized is off-centre, too thin or too small, and mostly misread.
Shapes here are (height, width) greys in [0, 1] with ink bright (1) and background dark (0).
Pillow reads and resizes the images; the framing is a few lines of NumPy below.
"""

import numpy as np
from PIL import Image, UnidentifiedImageError

from mnist_nn.errors import UserError

FIELD = 28  # MNIST images are 28x28
BOX = 20  # ...with the digit scaled to fit a 20x20 box inside
# The image formats opened (those the README lists); anything else, say an EPS that Pillow would
# hand to Ghostscript, is refused before it is parsed.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
MAX_PIXELS = 40_000_000  # refused beyond this, before decoding (a small file can claim a lot)
WORKING_SIDE = 1024  # larger images are reduced on reading: no image costs more than a few MB


def ink_bounding_box(grey: np.ndarray, threshold: float = 0.05) -> tuple[slice, slice] | None:
    """Rows and columns that hold ink (values above `threshold`), or None for a blank image."""
    rows = np.flatnonzero((grey > threshold).any(axis=1))
    cols = np.flatnonzero((grey > threshold).any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def frame_like_mnist(grey: np.ndarray) -> np.ndarray:
    """A (h, w) grey image (ink bright, in [0, 1]) -> a (28, 28) MNIST-style image in [0, 1].

    Crop to the ink, scale the longer side to 20 px, then place it so that the centre of mass lands
    on the middle of the 28x28 field (clipped so no ink falls off the edge). A blank image has no
    ink to frame and comes back all black.
    """
    box = ink_bounding_box(grey)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    if box is None:
        return field
    ink = grey[box].astype(np.float32)
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow wants (w, h)
    digit = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.BILINEAR))
    digit = np.clip(digit, 0.0, 1.0)
    # Centre of mass (row, col) of the scaled digit, weighted by ink.
    total = digit.sum()
    rows, cols = np.indices(digit.shape)
    centre_row, centre_col = (rows * digit).sum() / total, (cols * digit).sum() / total
    middle = FIELD / 2  # MNIST's digits have their centre of mass at pixel (14, 14)
    top = int(np.clip(round(middle - centre_row), 0, FIELD - digit.shape[0]))
    left = int(np.clip(round(middle - centre_col), 0, FIELD - digit.shape[1]))
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field


def ink_on_black(picture: Image.Image) -> np.ndarray:
    """Any Pillow image -> (h, w) greys in [0, 1], ink bright on a black background.

    Transparent parts are composited on white (a drawing on a transparent canvas). Which side is
    ink is decided by the border: a light border means dark ink on light paper, so it is inverted.
    The background's own grey (paper in a photo is rarely white) is subtracted and the contrast
    stretched, so the ink spans [0, 1] like MNIST's strokes.
    """
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        picture = picture.convert("RGBA")
        white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, picture)
    grey = np.asarray(picture.convert("L"), dtype=np.float32) / 255  # (h, w)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 0.5:
        grey = 1.0 - grey  # dark on light -> light on dark
        border = 1.0 - border
    background = float(np.median(border))
    ink = grey - background
    peak = float(ink.max())
    if peak < 0.1:  # nothing stands out from the background
        return np.zeros_like(grey)
    return np.clip(ink / peak, 0.0, 1.0)


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
            factor = max(picture.size) // WORKING_SIDE
            return picture.reduce(factor) if factor > 1 else picture.copy()
        except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as error:
            raise UserError(f"{name}: a damaged or unreadable image ({error})") from None


def load_digit(source, name: str | None = None) -> np.ndarray:
    """An image of one digit (a path, or a file object such as an upload's bytes) -> (784,)
    float32 MNIST-style input. Problems are a UserError that starts with `name` (default: the
    path)."""
    name = name or str(source)
    grey = ink_on_black(read_image(source, name))
    if ink_bounding_box(grey) is None:
        raise UserError(f"{name}: the image is blank (no ink found); draw or photograph a digit")
    return frame_like_mnist(grey).reshape(-1)
