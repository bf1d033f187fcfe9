"""Things people draw that are not digits: letters written as strokes, shapes, scribbles, random
strokes, pieces of digits, and two digits side by side given to the one-digit reader.

Each is drawn with a pen of random width on a white canvas (280x280, the page's pad, unless told),
wobbled, turned and stretched a little, as a person drawing would: `render(kind, rng)` returns the
canvas as (h, w) greys in [0, 1], ink dark on white. Letters that look like digits (O, I, l, S, Z,
B, G, T) and the circle (a 0) are left out: reading those as digits is not a mistake. The
detector of non-digits (`detector.py`) learns from these; its measurement uses other drawings.
"""

import numpy as np
from PIL import Image, ImageDraw

from mnist_nn.data.framing import box_around

CANVAS = 280

# Capital letters unlike any digit, as polylines in a unit box (x right, y down).
LETTERS = {
    "A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.8, 0), (0.2, 0), (0.2, 1), (0.8, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "F": [[(0.8, 0), (0.2, 0), (0.2, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "H": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.8, 1)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.2, 0.55), (0.8, 1)]],
    "M": [[(0.1, 1), (0.15, 0), (0.5, 0.6), (0.85, 0), (0.9, 1)]],
    "N": [[(0.2, 1), (0.2, 0), (0.8, 1), (0.8, 0)]],
    "R": [[(0.2, 1), (0.2, 0), (0.7, 0), (0.8, 0.25), (0.7, 0.5), (0.2, 0.5), (0.8, 1)]],
    "W": [[(0.05, 0), (0.3, 1), (0.5, 0.4), (0.7, 1), (0.95, 0)]],
    "X": [[(0.15, 0), (0.85, 1)], [(0.85, 0), (0.15, 1)]],
    "Y": [[(0.15, 0), (0.5, 0.5), (0.85, 0)], [(0.5, 0.5), (0.5, 1)]],
    "k": [[(0.25, 0), (0.25, 1)], [(0.75, 0.4), (0.25, 0.75), (0.75, 1)]],
}


def _circle(centre, radius, start=0.0, stop=2 * np.pi, points=40):
    angles = np.linspace(start, stop, points)
    return [(centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)) for a in angles]


SHAPES = {
    "triangle": [[(0.5, 0.05), (0.95, 0.9), (0.05, 0.9), (0.5, 0.05)]],
    "square": [[(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.1, 0.1)]],
    "plus": [[(0.5, 0.05), (0.5, 0.95)], [(0.05, 0.5), (0.95, 0.5)]],
    "hash": [
        [(0.35, 0), (0.3, 1)],
        [(0.7, 0), (0.65, 1)],
        [(0, 0.35), (1, 0.35)],
        [(0, 0.68), (1, 0.68)],
    ],  # fmt: skip
    "star": [[(0.5, 0), (0.79, 0.9), (0.02, 0.35), (0.98, 0.35), (0.21, 0.9), (0.5, 0)]],
    "arrow": [[(0.05, 0.5), (0.95, 0.5)], [(0.65, 0.2), (0.95, 0.5), (0.65, 0.8)]],
    "heart": [
        [
            (0.5, 0.95),
            (0.08, 0.45),
            (0.1, 0.15),
            (0.3, 0.05),
            (0.5, 0.25),
            (0.7, 0.05),
            (0.9, 0.15),
            (0.92, 0.45),
            (0.5, 0.95),
        ]
    ],  # fmt: skip
    "smiley": [
        _circle((0.5, 0.5), 0.45),
        _circle((0.5, 0.5), 0.25, 0.2 * np.pi, 0.8 * np.pi, 12),
        _circle((0.35, 0.35), 0.04, points=8),
        _circle((0.65, 0.35), 0.04, points=8),
    ],
    "spiral": [
        [
            (0.5 + r * np.cos(a) / 2, 0.5 + r * np.sin(a) / 2)
            for r, a in zip(np.linspace(0.05, 0.95, 60), np.linspace(0, 5 * np.pi, 60), strict=True)
        ]
    ],  # fmt: skip
    "check": [[(0.05, 0.55), (0.35, 0.9), (0.95, 0.05)]],
    "diamond": [[(0.5, 0), (0.95, 0.5), (0.5, 1), (0.05, 0.5), (0.5, 0)]],
}

KINDS = ("letter", "shape", "scribble", "strokes", "two digits", "piece of a digit")


def _scribble(rng) -> list:
    """A tangle: a long random walk that keeps turning back across itself (a short or gentle
    one would look like a 1, a 2 or a 5, and that is no mistake to read)."""
    steps = rng.integers(70, 130)
    angle = np.cumsum(rng.normal(0, 0.9, steps))
    xy = np.cumsum(np.stack([np.cos(angle), np.sin(angle)], axis=1), axis=0)
    xy = (xy - xy.min(axis=0)) / np.maximum(np.ptp(xy, axis=0), 1e-6)
    return [[tuple(point) for point in xy]]


def _strokes(rng) -> list:
    """Three to five straight or bent strokes thrown anywhere (one or two make a 1, a 4 or a 7
    too often to count as non-digits)."""
    return [[tuple(rng.random(2)) for _ in range(rng.integers(2, 4))]
            for _ in range(rng.integers(3, 6))]  # fmt: skip


def _draw(paths: list, rng, aspect: float = 1.0, size: int = CANVAS) -> np.ndarray:
    """Polylines in a unit box -> a (size, size) canvas, ink dark on white, as drawn by a hand."""
    height = rng.uniform(0.45, 0.75) * size
    width = height * aspect * rng.uniform(0.8, 1.2)
    angle = np.radians(rng.uniform(-12, 12))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = size / 2 + rng.uniform(-0.1, 0.1, 2) * size
    pen = max(1, round(rng.uniform(0.02, 0.08) * size))
    canvas = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(canvas)
    for path in paths:
        points = np.asarray(path, dtype=float) - 0.5
        if len(points) < 15:  # a hand's wobble (a scribble wobbles enough)
            points += rng.normal(0, 0.02, points.shape)
        points = (points * [width, height]) @ rotation.T + centre
        draw.line([tuple(p) for p in points], fill=0, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):  # round pen ends
            draw.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=0)
    return np.asarray(canvas, dtype=np.float32) / 255


def on_canvas(ink: np.ndarray, size: int = CANVAS) -> np.ndarray:
    """(h, w) ink bright on black (an MNIST digit, or a few) -> a (size, size) canvas, the ink
    dark on white, scaled to fill most of its width."""
    scale = 0.8 * size / max(ink.shape)
    shape = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    big = np.clip(np.asarray(Image.fromarray(ink.astype(np.float32)).resize(shape)), 0, 1)
    canvas = np.ones((size, size), dtype=np.float32)
    top, left = (size - big.shape[0]) // 2, (size - big.shape[1]) // 2
    canvas[top : top + big.shape[0], left : left + big.shape[1]] = 1 - big
    return canvas


def two_digits(first: np.ndarray, second: np.ndarray, rng, size: int = CANVAS) -> np.ndarray:
    """Two 28x28 MNIST digits side by side: a little apart, touching or overlapping (by at most
    half the narrower one), as a cutter of numbers may leave them; the gap is between their ink."""
    inks = [digit[:, box_around(digit > 0.05)[1]] for digit in (first, second)]
    narrower = min(ink.shape[1] for ink in inks)
    gap = max(int(rng.integers(-6, 5)), -(narrower // 2))
    pair = np.zeros((28, inks[0].shape[1] + gap + inks[1].shape[1]), dtype=np.float32)
    pair[:, : inks[0].shape[1]] = inks[0]
    region = pair[:, inks[0].shape[1] + gap :]
    np.maximum(region, inks[1], out=region)  # a negative gap: overlapping
    return on_canvas(pair, size)


def piece_of_a_digit(digit: np.ndarray, rng, size: int = CANVAS) -> np.ndarray:
    """The left or right 30-70% of a wide MNIST digit: what a wrong cut between touching digits
    leaves (a reader of numbers must not take it for a digit)."""
    columns = np.flatnonzero(digit.max(axis=0) > 0.3)
    left, right = columns[0], columns[-1] + 1
    cut = left + round(rng.uniform(0.3, 0.7) * (right - left))
    piece = digit.copy()
    if rng.random() < 0.5:
        piece[:, cut:] = 0
    else:
        piece[:, :cut] = 0
    return on_canvas(piece, size)


def render(kind: str, rng, digits=None, labels=None, size: int = CANVAS) -> np.ndarray:
    """One non-digit drawing of `kind` (one of KINDS). "two digits" and "piece of a digit" take
    MNIST `digits` (N, 784) and their `labels` to draw from (pieces: never of a 1, too narrow
    to cut)."""
    if kind == "letter":
        return _draw(LETTERS[rng.choice(sorted(LETTERS))], rng, 0.75, size)
    if kind == "shape":
        return _draw(SHAPES[rng.choice(sorted(SHAPES))], rng, 1.0, size)
    if kind == "scribble":
        return _draw(_scribble(rng), rng, 1.0, size)
    if kind == "strokes":
        return _draw(_strokes(rng), rng, 1.0, size)
    if kind == "two digits":
        first, second = rng.choice(len(digits), 2)
        return two_digits(digits[first].reshape(28, 28), digits[second].reshape(28, 28), rng, size)
    wide = np.flatnonzero(labels != 1)
    return piece_of_a_digit(digits[rng.choice(wide)].reshape(28, 28), rng, size)


def non_digit_set(count: int, seed: int, digits, labels, kinds=KINDS, size=CANVAS):
    """`count` drawings, the `kinds` in turn: (canvases, their kinds)."""
    rng = np.random.default_rng(seed)
    chosen = [kinds[i % len(kinds)] for i in range(count)]
    return [render(kind, rng, digits, labels, size) for kind in chosen], chosen
