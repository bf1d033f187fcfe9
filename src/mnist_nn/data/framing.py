"""From a picture of a digit to what MNIST looks like: the steps MNIST itself was made with.

Shapes are (height, width) greys in [0, 1]. Each step in one line:
    1. ink bright on black: the border tells which side is paper (a light border: dark ink);
    2. lighting and paper flattened: the background is estimated at a scale wider than any stroke
       (a grey opening) and subtracted, so shadows, gradients and tinted paper go to 0. Done twice:
       a sixth of the image first, then at a scale set by what that found: narrower for thin
       strokes (a shadow over the digit goes too), wider for a digit that fills the image (a
       fat marker's strokes are not taken for background and hollowed out);
    3. ink separated from paper by a threshold chosen from the image itself (Otsu's), keeping
       only marks that somewhere reach half the strongest ink (faint shading is not ink);
    4. the digit's connected pieces kept: specks, horizontal lines longer than the digit is tall
       (ruled paper), and marks touching the border (paper edges, shadows) dropped, unless the
       digit itself touches it;
    5. thin strokes brought to MNIST's width (about 2.6 px once the digit fills 20 px): a hairline
       on a big photo is redrawn from its skeleton. A marker keeps its strokes (redrawing them
       thinner cannot reopen the loops it closed, and measured, it lost more digits than it
       saved) unless they would fill the box;
    6. MNIST's recipe: the longer side scaled to 20 px, the centre of mass put at (14, 14) of 28x28;
       a marker's strokes are then thinned gently, by squaring: it dims the partly covered pixels
       along their edges and keeps the digit's shape.
scipy.ndimage and scikit-image do the pixel work (opening, Otsu's threshold, hysteresis, labelling,
skeleton, dilation); the arithmetic between the steps is NumPy.
"""

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold, threshold_otsu
from skimage.morphology import skeletonize

FIELD = 28  # MNIST images are 28x28
BOX = 20  # ...with the digit scaled to fit a 20x20 box inside
# Median stroke width of MNIST digits, in pixels of the 28x28 field: their area (> 0.5) over
# their skeleton's length (2.8 when the soft edges count by their grey, as `stroke_width` does).
MNIST_STROKE = 2.6
FAT = 1.6  # strokes over this many times MNIST's width are a marker's...
THICKEST = 4.0  # ...and kept up to this many times; fatter ones would fill the box
LINE_INK = 24  # a line's ink is scaled to this many rows of the reader's 28
# Columns left dark before a line's first mark, and after its last at least: the line reader's
# columns see 12.5 px either side of their centres, the first at x = 12.5, the last at width − 15.5.
LINE_MARGIN, LINE_END = 2, 8
SPECK = 0.05  # pieces smaller than this share of the largest piece are dirt, not digit
# A mark along a line's border, as long as the picture, that fills this much of its box or more
# is the page's edge (a band); one that fills less than FRAME is a table's frame of thin lines.
BAND, FRAME = 0.6, 0.15


def border(image: np.ndarray) -> np.ndarray:
    """The pixels along the image's four edges: mostly paper, even in a tight crop."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def ink_on_black(grey: np.ndarray) -> np.ndarray:
    """Step 1: greys (paper either side) -> ink bright on black."""
    return 1.0 - grey if np.median(border(grey)) > 0.5 else grey


def flatten_background(ink: np.ndarray, width: float = 0.0) -> np.ndarray:
    """Step 2: subtract the background, estimated by a grey opening `width` pixels wide (default:
    a sixth of the longer side), then stretch to [0, 1]. The opening removes bright things
    narrower than `width` (strokes) and keeps slow changes of light, so it must be wider than
    any stroke."""
    width = max(3, round(width or max(ink.shape) / 6)) | 1
    smooth = ndimage.gaussian_filter(ink, sigma=1.0)  # else the paper's grain biases the opening
    background = ndimage.grey_opening(smooth, size=(width, width))
    background = ndimage.uniform_filter(background, size=width)  # no blocky edges
    flat = np.clip(ink - background, 0.0, None)
    # The strongest ink, measured where strokes are (smoothed: single bright specks of grain
    # do not count), becomes 1: a few thin strokes in a big photo are a tiny share of its pixels.
    peak = ndimage.gaussian_filter(flat, sigma=1.0).max()
    return np.clip(flat / peak, 0.0, 1.0) if peak > 0 else flat


def ink_mask(flat: np.ndarray, pieces=None) -> np.ndarray | None:
    """Steps 3 and 4: the pixels of the digit, or None when there is nothing that stands out.
    `pieces` chooses which marks to keep (default `digit_pieces`; a number keeps others)."""
    smooth = ndimage.gaussian_filter(flat, sigma=1.0)  # grain averages out, strokes do not
    if smooth.max() - np.median(border(smooth)) < 0.1:  # (a digit may cover most of a crop)
        return None
    low = max(threshold_otsu(smooth), 0.1)
    # Hysteresis: a mark above Otsu's threshold is kept only where it reaches half the strongest
    # ink somewhere; what is left of a shadow is above the threshold but never that bright.
    mask = apply_hysteresis_threshold(smooth, low, max(low, 0.5 * smooth.max()))
    mask &= ~ruled_lines(mask)
    return (pieces or digit_pieces)(mask)


def digit_pieces(mask: np.ndarray) -> np.ndarray | None:
    """Step 4 for one digit: its pieces, without specks and (unless the digit touches it) marks on
    the border."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))  # diagonal pixels connect
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]  # (count,)
    pieces = np.flatnonzero(sizes >= SPECK * sizes.max()) + 1
    edge = np.unique(border(labels))
    inside = [piece for piece in pieces if piece not in edge]
    if inside and sizes[np.array(inside) - 1].sum() >= 0.2 * sizes.max():
        pieces = inside  # marks on the border are paper edges, shadows or lines: not the digit
    return np.isin(labels, pieces)


def ruled_lines(mask: np.ndarray) -> np.ndarray:
    """The pixels of horizontal lines longer than 1.5 times the height of the ink (a line adds
    only its thickness to that height, and no digit has a stroke that long): an opening with a
    horizontal bar of that length."""
    length = round(1.5 * mask.any(axis=1).sum())
    if not 0 < length < mask.shape[1]:
        return np.zeros_like(mask)
    bars = ndimage.minimum_filter1d(mask.view(np.uint8), length, axis=1)
    return ndimage.maximum_filter1d(bars, length, axis=1).view(bool)


def stroke_width(ink: np.ndarray, mask: np.ndarray) -> float:
    """Average stroke width in pixels: the amount of ink (its grey values summed, so a blurred
    edge counts for what it holds, whatever the threshold) over the length of its skeleton."""
    length = skeletonize(mask).sum()
    return ink.sum() / length if length else 0.0


def normalise_strokes(flat: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, bool]:
    """Step 5: the digit cropped; strokes too thin (or far too fat) for MNIST's width once scaled
    into the 20 px box are redrawn from their skeleton at that width, others keep their shading.
    Returns the strokes and whether they are a marker's (kept, but fatter than MNIST's)."""
    crop = box_around(mask)
    mask, ink = mask[crop], flat[crop] * ndimage.binary_dilation(mask[crop], iterations=2)
    scale = BOX / max(mask.shape)  # crop pixels -> pixels of the 20 px box
    width = stroke_width(ink, mask) * scale
    if 0.6 * MNIST_STROKE <= width <= THICKEST * MNIST_STROKE:
        return ink, width > FAT * MNIST_STROKE
    radius = max(0.5, MNIST_STROKE / scale / 2 - 0.5)
    pad = int(np.ceil(radius)) + 1  # room for the thickened strokes
    skeleton = np.pad(skeletonize(mask), pad)
    # The skeleton grown by a disk of that radius: every pixel within `radius` of it. Measured by
    # the distance transform, which costs the same whatever the radius (a dilation by a disk 50
    # px wide takes seconds).
    near = ndimage.distance_transform_edt(~skeleton) <= round(radius)
    redrawn = near.astype(np.float32)
    return ndimage.gaussian_filter(redrawn, sigma=0.35 / scale), False  # MNIST's soft edges


def frame_like_mnist(grey: np.ndarray, marker: bool = False) -> np.ndarray:
    """Step 6: a (h, w) grey image (ink bright, in [0, 1]) -> a (28, 28) MNIST-style image.

    Crop to the ink, scale the longer side to 20 px, then place it so that the centre of mass lands
    on the middle of the 28x28 field (clipped so no ink falls off the edge). A blank image has no
    ink to frame and comes back all black. `marker`: the strokes are fatter than MNIST's, so the
    field is squared, which dims the partly covered pixels along their edges (a thinning that,
    unlike redrawing, keeps the digit's shape; on validation images it lifted the seed model's
    reading of marker digits from 90% to 92%).
    """
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    if not (grey > 0.05).any():
        return field
    ink = grey[box_around(grey > 0.05)].astype(np.float32)
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow wants (w, h)
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR  # area average
    digit = np.clip(np.asarray(Image.fromarray(ink).resize(size, resample)), 0.0, 1.0)
    digit = digit / max(digit.max(), 1e-6)  # the strongest ink is white, as in MNIST
    total = digit.sum()
    rows, cols = np.indices(digit.shape)
    centre_row, centre_col = (rows * digit).sum() / total, (cols * digit).sum() / total
    middle = FIELD / 2  # MNIST's digits have their centre of mass at pixel (14, 14)
    top = int(np.clip(round(middle - centre_row), 0, FIELD - digit.shape[0]))
    left = int(np.clip(round(middle - centre_col), 0, FIELD - digit.shape[1]))
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field**2 if marker else field


def find_digit(ink: np.ndarray, pieces=None) -> tuple[np.ndarray, np.ndarray] | None:
    """Steps 2 to 4: ink bright on black -> (flattened ink, the digit's pixels), or None if blank.

    The first flattening, a sixth of the image wide, tells how wide the strokes are and how big
    the digit is; a second one is then sized to them:
    - thin strokes (a pen in a big photo): 8 stroke widths, far narrower, so that a shadow falling
      right over the digit goes too (what an opening leaves of a smooth shadow shrinks with the
      square of its width);
    - a digit that fills the image, with strokes maybe wider than a sixth of it (a marker): 0.6
      of the digit's size, so that its strokes are not taken for background and hollowed out.
    """
    first = flatten_background(ink)
    mask = ink_mask(first, pieces)
    if mask is None:
        return None
    side = max(ink.shape)
    rows, cols = box_around(mask)
    digit = max(rows.stop - rows.start, cols.stop - cols.start)
    # Twice the median distance to paper along the skeleton, not `stroke_width`: the mask may
    # still hold a shadow's remains, whose ink mass would count as a fat stroke.
    stroke = 2 * np.median(ndimage.distance_transform_edt(mask)[skeletonize(mask)])
    if 12 * stroke < side / 6:
        width = 8 * stroke
    elif 0.6 * digit > 1.2 * side / 6:
        width = min(0.6 * digit, side / 2)
    else:
        return first, mask
    flat = flatten_background(ink, width)
    found = ink_mask(flat, pieces)
    return (first, mask) if found is None else (flat, found)


def frame_digit(grey: np.ndarray) -> np.ndarray | None:
    """All six steps: a picture's greys -> (28, 28) MNIST-style input, or None if blank."""
    found = find_digit(ink_on_black(grey))
    return None if found is None else frame_found(*found)


def frame_found(flat: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Steps 5 and 6 on what `find_digit` found: strokes normalised, framed in (28, 28)."""
    return frame_like_mnist(*normalise_strokes(flat, mask))


def line_pieces(mask: np.ndarray) -> np.ndarray | None:
    """Step 4 for a line: every mark but specks and the edges of the page. A number's marks all
    count (its separators and closing dashes too: the reader learns to pass over them), and its
    digits touch the crop's border often, so marks there stay; but a mark along the border, as
    long as the picture (90% of its longer side), is the page's edge or a table's frame when it
    fills its box (a band: 60% or more) or hardly any of it (thin lines round an empty box: under
    15%); digits run together across a tight crop fill a quarter to a third. A band goes whole;
    a frame loses its long straight lines, and what a writer's pen joined to them stays."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    edge = set(np.unique(border(labels)).tolist()) - {0}
    marks, frames = [], []
    for piece, (rows, columns) in enumerate(ndimage.find_objects(labels), start=1):
        extent = max(rows.stop - rows.start, columns.stop - columns.start)
        fill = sizes[piece - 1] / ((rows.stop - rows.start) * (columns.stop - columns.start))
        if piece not in edge or extent < 0.9 * max(mask.shape) or BAND > fill >= FRAME:
            marks.append(piece)
        elif fill < FRAME:
            frames.append(piece)
    kept = np.isin(labels, marks)
    if frames:
        frame = np.isin(labels, frames)
        kept |= frame & ~straight_lines(frame)
        labels, count = ndimage.label(kept, structure=np.ones((3, 3)))
        sizes = np.bincount(labels.ravel())[1:]
        marks = list(range(1, count + 1))
    if not marks:
        return None
    largest = sizes[np.array(marks) - 1].max()  # specks: against the writing, not the page
    return np.isin(labels, [piece for piece in marks if sizes[piece - 1] >= SPECK * largest])


def straight_lines(frame: np.ndarray) -> np.ndarray:
    """The pixels of a frame's straight lines: the columns (and rows) of the picture where the
    frame has ink along half its height (width) or more, a pixel either way counting (so that a
    line drawn a little aslant goes whole), and a pixel either side of them. No stroke of a digit
    written inside the frame is that long."""
    rows, columns = box_around(frame)
    lines = np.zeros_like(frame)
    for axis, length in ((0, rows.stop - rows.start), (1, columns.stop - columns.start)):
        near = ndimage.maximum_filter1d(frame.view(np.uint8), 3, axis=1 - axis)
        on_line = ndimage.binary_dilation(near.sum(axis=axis) >= length / 2)  # columns, rows
        lines |= frame & (on_line[None, :] if axis == 0 else on_line[:, None])
    return lines


def frame_line(grey: np.ndarray, width: int, height: int = FIELD, ink_height: int = LINE_INK):
    """A picture of a line of writing -> (height, width) ink bright on black, as a line reader
    reads it, or None if blank: steps 1 to 4 as for a digit (ruled lines dropped), then the ink's
    box scaled to `ink_height` rows (MNIST's digits stand about 20 px in 28), or less where the
    line would be wider than `width`, placed a margin from the left, centred top to bottom."""
    found = find_digit(ink_on_black(grey), line_pieces)
    return None if found is None else framed_line(*found, width, height, ink_height)[0]


def framed_line(flat, mask, width: int, height: int = FIELD, ink_height: int = LINE_INK):
    """`frame_line` on what `find_digit` found: the framed line, and where it came from: (the
    picture's column and row at the framed line's (0, 0), picture pixels per framed pixel)."""
    box = box_around(mask)
    ink = (flat * ndimage.binary_dilation(mask, iterations=1))[box].astype(np.float32)
    margin = LINE_MARGIN
    scale = min(ink_height / ink.shape[0], (width - margin - LINE_END) / ink.shape[1])
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    line = np.clip(np.asarray(Image.fromarray(ink).resize(size, resample)), 0.0, 1.0)
    framed = np.zeros((height, width), dtype=np.float32)
    top = (height - size[1]) // 2
    framed[top : top + size[1], margin : margin + size[0]] = line / max(line.max(), 1e-6)
    return framed, (box[1].start - margin / scale, box[0].start - top / scale, 1 / scale)


def box_around(mask: np.ndarray) -> tuple[slice, slice]:
    """The rows and columns of the smallest box holding all of a (non-empty) mask's pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
