"""Your own images of digits: read safely, then framed like MNIST so the network sees what it
learned from.

Reading: only the formats listed below; the pixel count checked before decoding; a JPEG decoded
straight at a reduced scale, other formats (which cannot be) decoded whole within a lower pixel
cap and then reduced to a working size; all decodes and readings under way at once in a process
share one memory budget (a decode or a reading waits for room); EXIF orientation applied;
transparency composited on white. The framing (ink separated from paper, cropped, strokes
normalised, scaled into 20 px, centred by mass in 28x28) is `framing.py`. A digit that was merely
resized is off-centre, too thin or too small, and mostly misread.
"""

import threading
import warnings
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_nn.data.framing import find_digit, frame_found, ink_on_black
from mnist_nn.errors import UserError
from mnist_nn.reading.line_reader import NoDigitRead, number_reader
from mnist_nn.reading.seams import check_not_stacked
from mnist_nn.reading.written_number import CUT_APART, NumberReading
from mnist_nn.reading.written_number import segment as cut_apart

# Pillow warns about what this module handles itself (sizes are checked before decoding; damaged
# EXIF is read past): its warnings would only leak to the user's terminal or a server's log.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")

# The image formats opened (those docs/limits.md lists); anything else, say an EPS that Pillow would
# hand to Ghostscript, is refused before it is parsed.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
MAX_PIXELS = 40_000_000  # a JPEG: refused beyond this, before decoding (it is decoded reduced)
MAX_FULL_PIXELS = 16_000_000  # other formats, decoded whole: 64 MB as RGBA
WORKING_SIDE = 1024  # images are reduced to this on reading: the framing works on a few MB
DECODE_BUDGET = 192 << 20  # bytes of decoding and reading under way at once, all requests together
# Framing and reading a working-size image (the greys, the framing's masks, the line reader's
# activations) allocates about this much, measured up to 1024x1024 (docs/limits.md).
READING_BYTES, READING_BYTES_PER_PIXEL = 8 << 20, 48


class DecodeBudget:
    """Bytes of image decoding and reading under way at once in this process: a decode or a
    reading that would go over waits until others finish (at most `total`, so a server's many
    uploads at once cost at most that much, not that much each)."""

    def __init__(self, total: int):
        self.total, self.used = total, 0
        self.condition = threading.Condition()

    @contextmanager
    def held(self, count: int):
        count = min(count, self.total)
        with self.condition:
            self.condition.wait_for(lambda: self.used + count <= self.total)
            self.used += count
        try:
            yield
        finally:
            give_back_freed_memory()
            with self.condition:
                self.used -= count
                self.condition.notify_all()


def give_back_freed_memory() -> None:
    """Return freed memory to the system now (glibc keeps what a thread freed for its next
    allocation: a server's many threads would each keep a decoded image's worth)."""
    if TRIM is not None:
        TRIM(0)


def _malloc_trim():
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        return None


TRIM = _malloc_trim()
decoding = DecodeBudget(DECODE_BUDGET)


def greys(picture: Image.Image) -> np.ndarray:
    """Any Pillow image -> (h, w) greys in [0, 1]. Transparent parts are paper: composited on
    white, or on black where what is opaque is light ink on a mostly clear canvas (white ink
    drawn on a transparent background would otherwise vanish into white paper)."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        picture = picture.convert("RGBA")
        opaque = np.asarray(picture.getchannel("A")) > 127
        ink = np.asarray(picture.convert("L"))[opaque]
        light_ink = opaque.mean() < 0.5 and ink.size and ink.mean() > 127
        paper = (0, 0, 0, 255) if light_ink else (255, 255, 255, 255)
        picture = Image.alpha_composite(Image.new("RGBA", picture.size, paper), picture)
    return np.asarray(picture.convert("L"), dtype=np.float32) / 255


PLAIN_MODES = ("L", "LA", "RGB", "RGBA")  # what reduce() and the framing take as they are


def plain(picture: Image.Image) -> Image.Image:
    """The decoded image in one of PLAIN_MODES: a palette (GIF, PNG) with its transparency as
    RGBA, 1-bit as grey, 16- and 32-bit grey scaled to 8 bits, CMYK and others as RGB."""
    mode = picture.mode
    if mode in PLAIN_MODES:
        return picture
    if mode.startswith(("I", "F")):  # 16-bit PNG and TIFF, 32-bit TIFF: values beyond 255
        values = np.asarray(picture, dtype=np.float32)
        brightest = float(values.max(initial=0))
        # The range the values were written in: 8 bits, 16 bits, or (floats) their own largest.
        top = next(scale for scale in (255.0, 65535.0, brightest) if brightest <= scale)
        return Image.fromarray(np.clip(values * (255 / top), 0, 255).astype(np.uint8), "L")
    if mode in ("P", "PA"):
        return picture.convert("RGBA" if mode == "PA" or "transparency" in picture.info else "RGB")
    return picture.convert("L" if mode == "1" else "RGB")


def progressive_bytes(picture: Image.Image, width: int, height: int) -> int:
    """What a progressive JPEG's decoder holds besides its output: every DCT coefficient of the
    whole image, 2 bytes each, at full size whatever the scale it is decoded at (a baseline JPEG
    is decoded a few rows at a time and holds next to nothing)."""
    if picture.format != "JPEG" or not picture.info.get("progressive"):
        return 0
    # Each component's share of the pixels: 1 for luma, 1/4 for 4:2:0 chroma, 1 for 4:4:4.
    sampling = [(h, v) for _, h, v, _ in getattr(picture, "layer", [])] or [(1, 1)] * 3
    most = max(h * v for h, v in sampling)
    return int(width * height * 2 * sum(h * v for h, v in sampling) / most)


def conversion_bytes(picture: Image.Image) -> int:
    """The bytes `plain` allocates for the decoded image: the converted copy, and for 16- and
    32-bit grey its values as float32 on the way."""
    pixels = picture.size[0] * picture.size[1]
    if picture.mode in PLAIN_MODES:
        return 0
    if picture.mode.startswith(("I", "F")):
        return pixels * (4 + 1)
    return pixels * 4


def read_image(source, name: str) -> Image.Image:
    """Open an image of an allowed format, check its size before decoding, and decode it at a
    working size (JPEG straight at a reduced scale; others reduced right after decoding), within
    the process's decode budget."""
    try:
        picture = Image.open(source, formats=FORMATS)
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except Image.DecompressionBombError:  # Pillow's own check of the header: far over ours
        claimed, limit = 2 * Image.MAX_IMAGE_PIXELS // 10**6, MAX_FULL_PIXELS // 10**6
        raise UserError(
            f"{name}: its header claims more than {claimed} megapixels, over the limit of "
            f"{limit} ({MAX_PIXELS // 10**6} for a JPEG); make it smaller first"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise UserError(
            f"{name}: not an image of a format read here ({', '.join(FORMATS)})"
        ) from None
    with picture:
        width, height = picture.size
        limit = MAX_PIXELS if picture.format == "JPEG" else MAX_FULL_PIXELS
        if width * height > limit:
            raise UserError(
                f"{name}: {width}x{height} pixels is over the limit of {limit // 1_000_000} "
                f"megapixels for {picture.format} (JPEG: {MAX_PIXELS // 1_000_000}); make it "
                "smaller first"
            )
        try:
            picture.draft("RGB", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at 1/2, 1/4, 1/8
            # Measured: decoding takes about twice the decoded pixels (RGBA: 4 bytes each), and
            # the reduced copy and its grey version a little more; a mode the framing does not
            # take is converted first.
            cost = picture.size[0] * picture.size[1] * (2 * len(picture.getbands()) + 1)
            cost += conversion_bytes(picture) + progressive_bytes(picture, width, height)
            if cost > decoding.total:
                progressive = bool(picture.info.get("progressive"))
                kind = "progressive JPEG" if progressive else picture.format
                raise UserError(
                    f"{name}: a {kind} of {width}x{height} pixels needs about {cost >> 20} MB to "
                    f"decode, over the limit of {decoding.total >> 20} MB; make it smaller first"
                    + (" (or save it as a baseline JPEG)" if progressive else "")
                )
            with decoding.held(cost):
                return _decoded(picture, width, height)
        except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as error:
            raise UserError(f"{name}: a damaged or unreadable image ({error})") from None


def _decoded(picture: Image.Image, width: int, height: int) -> Image.Image:
    """The decoded image reduced to the working size, upright; `info["scale"]` relates it to the
    original's pixels."""
    picture.load()
    decoded = plain(picture)
    factor = -(-max(decoded.size) // WORKING_SIDE)  # the least that brings it within
    reduced = decoded.reduce(factor) if factor > 1 else decoded.copy()
    try:
        upright = ImageOps.exif_transpose(reduced)  # phone photos are often stored sideways
    except Exception:  # noqa: BLE001 - damaged EXIF: the pixels are fine, read them as stored
        upright = reduced
    # How many original pixels one working pixel spans, to give boxes in the original.
    upright.info["scale"] = max(width, height) / max(upright.size)
    return upright


# A picture of strokes changes little from one pixel to the next except at their edges; noise
# jumps everywhere. Share of neighbouring pixels more than a quarter of the image's contrast
# apart: at most 0.15 in the real photos, scans and drawings measured, 0.37 and more in noise
# (docs/lab-notes.md).
NOISY = 0.25


def noise_share(grey: np.ndarray) -> float:
    """The share of neighbouring pixels (across and down) that differ by more than a quarter of
    the image's contrast: small for strokes on paper, large for noise."""
    low, high = np.percentile(grey, [0.5, 99.5])
    jump = 0.25 * max(high - low, 1e-3)
    across = np.mean(np.abs(np.diff(grey, axis=1)) > jump)
    down = np.mean(np.abs(np.diff(grey, axis=0)) > jump)
    return float((across + down) / 2)


def check_not_noise(grey: np.ndarray, name: str) -> None:
    """A UserError for an image that holds no strokes, only noise: neither a digit nor a number,
    whatever a network would answer (and no time spent looking for digits in it)."""
    if noise_share(grey) > NOISY:
        raise UserError(
            f"{name}: noise, not writing (its pixels jump from light to dark everywhere); "
            "photograph or scan a digit or a number"
        )


@contextmanager
def opened(source, name: str):
    """An image read (`read_image`) and made grey, not noise, with the process's budget held for
    the work on it (framing and reading allocate tens of MB: many uploads at once take turns
    rather than each taking that much): yields (the working-size picture, its greys)."""
    picture = read_image(source, name)
    width, height = picture.size
    with decoding.held(READING_BYTES + READING_BYTES_PER_PIXEL * width * height):
        grey = greys(picture)
        check_not_noise(grey, name)
        yield picture, grey


def framed_digit(grey: np.ndarray, name: str) -> np.ndarray:
    """(h, w) greys of one digit -> (784,) framed like MNIST; a UserError if blank, or if its
    marks stand one above another (a number written downwards is not one digit)."""
    found = find_digit(ink_on_black(grey))
    if found is None:
        raise UserError(f"{name}: the image is blank (no ink found); draw or photograph a digit")
    try:
        check_not_stacked(found[1])
    except UserError as error:
        raise UserError(f"{name}: {error}") from None
    return frame_found(*found).reshape(-1)


def load_digit(source, name: str | None = None) -> np.ndarray:
    """An image of one digit (a path, or a file object such as an upload's bytes) -> (784,)
    float32 MNIST-style input (see `framing.py`). Problems are a UserError that starts with
    `name` (default: the path)."""
    name = name or str(source)
    with opened(source, name) as (_, grey):
        return framed_digit(grey, name)


def read_number(source, reader, name: str | None = None, cut: bool = False) -> NumberReading:
    """An image of a written number (a path or a file object) -> its digits, each with its box
    in the original image's pixels: read by the reader `line_reader.number_reader` picks for
    `reader` (a `reading.Reader` or a `LineReader`; `cut`: cut into digits `reader` reads)."""
    name = name or str(source)
    with opened(source, name) as (picture, grey):
        try:
            number = number_digits(grey, reader, cut)
        except UserError as error:
            raise UserError(f"{name}: {error}") from None
    if not number.digits:
        raise UserError(f"{name}: the image is blank (no ink found); write or photograph a number")
    return _in_original_pixels(number, picture)


def read_digit_and_number(source, reader, name: str) -> tuple[np.ndarray, NumberReading | None]:
    """One decode, both readings (the web page's): the image framed as one digit (784,), and
    read as a number (None when it cannot be: e.g. more marks than a number has)."""
    with opened(source, name) as (picture, grey):
        framed = framed_digit(grey, name)
        try:
            number = number_digits(grey, reader)
        except UserError:
            return framed, None
    return framed, _in_original_pixels(number, picture)


def number_digits(grey: np.ndarray, reader, cut: bool = False) -> NumberReading:
    """A written number: read whole by the line reader `line_reader.number_reader` picks for
    `reader` (a line model, or the shipped one for a digit model), or cut apart and read digit by
    digit by a digit model's reader (`written_number.segment`): when `cut` asks for it, and
    when the line reader reads no digit in the ink (a digit model may still read what it was
    not taught)."""
    chosen = number_reader(reader, cut)
    if getattr(chosen, "reads_lines", False):
        try:
            return NumberReading(chosen.read_line(grey), chosen.name)
        except NoDigitRead:
            if chosen is reader:  # a line model given: no digit model to ask
                raise
            return NumberReading(
                cut_apart(grey, reader), f"{CUT_APART} (the line reader read none)"
            )
    return NumberReading(cut_apart(grey, reader))


def _in_original_pixels(number: NumberReading, picture: Image.Image) -> NumberReading:
    """Boxes found in the working-size image, given in the original image's pixels."""
    scale = picture.info.get("scale", 1.0)
    for digit in number.digits:
        digit.box = tuple(round(value * scale) for value in digit.box)
    return number
