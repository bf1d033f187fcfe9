"""From a picture of a digit to what MNIST looks like: the steps MNIST itself was made with.

Shapes are (height, width) greys in [0, 1]. Each step in one line:
    1. ink bright on black: the border tells which side is paper (a light border: dark ink);
    2. lighting and paper flattened: the background is estimated at a scale wider than any stroke
       (a grey opening) and subtracted, so shadows, gradients and tinted paper go to 0;
    3. ink separated from paper by a threshold chosen from the image itself (Otsu's);
    4. the digit's connected pieces kept: specks, and marks touching the border (paper edges,
       shadows, ruled lines) dropped, unless the digit itself touches it;
    5. strokes brought to MNIST's width (about 2.6 px once the digit fills 20 px): a hairline on a
       big photo is thickened and a marker thinned, by redrawing its skeleton;
    6. MNIST's recipe: the longer side scaled to 20 px, the centre of mass put at (14, 14) of 28x28.
scikit-image does the pixel work (opening, Otsu, labelling, skeleton, dilation); the arithmetic
between the steps is NumPy.
"""

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import disk, skeletonize

FIELD = 28  # MNIST images are 28x28
BOX = 20  # ...with the digit scaled to fit a 20x20 box inside
MNIST_STROKE = 2.6  # median stroke width of MNIST digits, in pixels of the 28x28 field
SPECK = 0.05  # pieces smaller than this share of the largest piece are dirt, not digit


def ink_on_black(grey: np.ndarray) -> np.ndarray:
    """Step 1: greys (paper either side) -> ink bright on black."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if np.median(border) > 0.5 else grey


def flatten_background(ink: np.ndarray) -> np.ndarray:
    """Step 2: subtract the background, estimated by a grey opening wider than any stroke (it
    removes bright strokes and keeps slow changes of light), then stretch to [0, 1]."""
    width = max(3, round(max(ink.shape) / 6)) | 1  # strokes are far thinner than a sixth
    smooth = ndimage.gaussian_filter(ink, sigma=1.0)  # else the paper's grain biases the opening
    background = ndimage.grey_opening(smooth, size=(width, width))
    background = ndimage.uniform_filter(background, size=width)  # no blocky edges
    flat = np.clip(ink - background, 0.0, None)
    # The strongest ink, measured where strokes are (smoothed: single bright specks of grain
    # do not count), becomes 1: a few thin strokes in a big photo are a tiny share of its pixels.
    peak = ndimage.gaussian_filter(flat, sigma=1.0).max()
    return np.clip(flat / peak, 0.0, 1.0) if peak > 0 else flat


def ink_mask(flat: np.ndarray) -> np.ndarray | None:
    """Steps 3 and 4: the pixels of the digit, or None when there is nothing that stands out."""
    smooth = ndimage.gaussian_filter(flat, sigma=1.0)  # grain averages out, strokes do not
    if smooth.max() - np.median(smooth) < 0.1:
        return None
    mask = smooth > max(threshold_otsu(smooth), 0.1)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))  # diagonal pixels connect
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]  # (count,)
    pieces = np.flatnonzero(sizes >= SPECK * sizes.max()) + 1
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    inside = [piece for piece in pieces if piece not in edge]
    if inside and sizes[np.array(inside) - 1].sum() >= 0.2 * sizes.max():
        pieces = inside  # marks on the border are paper edges, shadows or lines: not the digit
    return np.isin(labels, pieces)


def stroke_width(mask: np.ndarray) -> float:
    """Average stroke width in pixels: the ink's area over the length of its skeleton."""
    length = skeletonize(mask).sum()
    return mask.sum() / length if length else 0.0


def normalise_strokes(flat: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Step 5: the digit cropped, its strokes at MNIST's width once scaled into the 20 px box.
    Strokes near that width keep their own shading; others are redrawn from the skeleton."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    mask, ink = mask[crop], flat[crop] * ndimage.binary_dilation(mask[crop], iterations=2)
    scale = BOX / max(mask.shape)  # crop pixels -> pixels of the 20 px box
    width = stroke_width(mask) * scale
    if 0.6 * MNIST_STROKE <= width <= 1.6 * MNIST_STROKE:
        return ink
    radius = max(0.5, MNIST_STROKE / scale / 2 - 0.5)
    pad = int(np.ceil(radius)) + 1  # room for the thickened strokes
    skeleton = np.pad(skeletonize(mask), pad)
    redrawn = ndimage.binary_dilation(skeleton, structure=disk(round(radius))).astype(np.float32)
    return ndimage.gaussian_filter(redrawn, sigma=0.35 / scale)  # MNIST's soft edges


def frame_like_mnist(grey: np.ndarray) -> np.ndarray:
    """Step 6: a (h, w) grey image (ink bright, in [0, 1]) -> a (28, 28) MNIST-style image.

    Crop to the ink, scale the longer side to 20 px, then place it so that the centre of mass lands
    on the middle of the 28x28 field (clipped so no ink falls off the edge). A blank image has no
    ink to frame and comes back all black.
    """
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    rows, cols = (
        np.flatnonzero((grey > 0.05).any(axis=1)),
        np.flatnonzero((grey > 0.05).any(axis=0)),
    )
    if rows.size == 0:
        return field
    ink = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
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
    return field


def frame_digit(grey: np.ndarray) -> np.ndarray | None:
    """All six steps: a picture's greys -> (28, 28) MNIST-style input, or None if blank."""
    flat = flatten_background(ink_on_black(grey))
    mask = ink_mask(flat)
    if mask is None:
        return None
    return frame_like_mnist(normalise_strokes(flat, mask))
