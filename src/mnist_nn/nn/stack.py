"""A network's shape, worked out from its settings before anything is built: the stack parser.

"conv8x5 pool conv16x5 pool dense128" is 8 filters of 5x5 (each followed by the activation; the
image shrinks by 4: 28 → 24), a 2x2 max pool (→ 12), 16 filters of 5x5 (→ 8), a pool (→ 4) and a
dense layer of 128 units; the output layer comes after. "bn" after a conv or dense layer
normalises its outputs before the activation (`batch_norm.py`): "conv8x5 bn pool". A line
reader's stack ends its image layers with "columns": it reads lines LINE_HEIGHT rows high, and
the layers after it (dense ones, the output) answer once per column position of the last maps
(`convolution.Columns`), as CTC needs: "conv32x3 pool conv64x3 pool conv128x3 conv128x3 columns".
"columns5" gives each answer the features of the 5 column positions around it: more of the line.
`plan_network` walks the layers once and says what each holds; the network's builder
(`network.build_network`), a model file's check (`saving.model_files`), the weight count and the
memory estimate (`train.memory`) all read that one plan. Plain Python, no NumPy: `mnist-nn --help`
checks settings without importing it.

Shape key: C channels, H×W an image, F filters, k×k a kernel, D inputs, C_out classes.
"""

import re
from dataclasses import dataclass

from mnist_nn.errors import shown

WORD = re.compile(
    r"conv(?P<filters>\d+)x(?P<kernel>\d+)|pool|bn|columns(?P<context>\d*)|dense(?P<units>\d+)"
)
MAX_WORDS, MAX_FILTERS, MAX_KERNEL, MAX_UNITS = 12, 256, 9, 8192
EXAMPLE = "conv8x5 pool conv16x5 pool dense128"
# A line reader's lines (`data.framing.frame_line`): as high as a digit, as wide as 8 digits apart.
LINE_HEIGHT, LINE_WIDTH = 28, 128
LINE_LOSS = "ctc"  # the loss of a stack that reads lines (`ctc.py`), and only of such a stack


def parse_stack(spec: str) -> list[tuple]:
    """The words of a stack, checked: [("conv", filters, kernel), ("pool",), ("dense", units)].
    A ValueError says what is wrong with it."""
    words = spec.split()
    if not words or len(words) > MAX_WORDS:
        raise ValueError(
            f"{len(words)} layers, where 1 to {MAX_WORDS} are allowed (e.g. {EXAMPLE})"
        )
    stack, dense_seen = [], False
    for word in words:
        match = WORD.fullmatch(word)
        if match is None:
            raise ValueError(
                f"{shown(word)} is not convFxK, pool, bn, columns[K] or denseN (e.g. {EXAMPLE})"
            )
        if word == "bn":  # batch normalization of the layer before, ahead of its activation
            if not stack or stack[-1][0] not in ("conv", "dense"):
                raise ValueError("bn follows a conv or dense layer: it normalises their outputs")
            stack.append(("bn",))
            continue
        if word.startswith("columns"):  # one row per column position from here on
            if dense_seen or not stack or any(kind == "columns" for kind, *_ in stack):
                raise ValueError("columns comes once, after the image layers, before any dense")
            context = int(match["context"] or 1)  # columnsK: each row sees K columns
            if not (1 <= context <= MAX_KERNEL and context % 2):
                raise ValueError(f"{shown(word)}: columnsK sees an odd K from 1 to {MAX_KERNEL}")
            stack.append(("columns", context))
            dense_seen = True  # no image layers after it
            continue
        if match["filters"]:
            filters, kernel = int(match["filters"]), int(match["kernel"])
            if dense_seen:
                raise ValueError(f"{shown(word)} after a dense layer: image layers come first")
            if not (1 <= filters <= MAX_FILTERS and 1 <= kernel <= MAX_KERNEL and kernel % 2):
                raise ValueError(
                    f"{shown(word)}: 1 to {MAX_FILTERS} filters of an odd size from 1 to "
                    f"{MAX_KERNEL}"
                )
            stack.append(("conv", filters, kernel))
        elif word == "pool":
            if dense_seen:
                raise ValueError("pool after a dense layer: image layers come first")
            stack.append(("pool",))
        else:
            units = int(match["units"])
            if not 1 <= units <= MAX_UNITS:
                raise ValueError(f"{shown(word)}: 1 to {MAX_UNITS} units")
            dense_seen = True
            stack.append(("dense", units))
    return stack


def stack_problem(value) -> str | None:
    """What is wrong with a --layers stack (None if nothing; empty is the --hidden layers)."""
    if not isinstance(value, str):
        return f"{shown(value)} is not text such as '{EXAMPLE}'"
    if not value.strip():
        return None
    try:
        if reads_lines(value):
            plan_network(LINE_HEIGHT * LINE_WIDTH, 11, layers=value)
        else:
            plan_network(784, 10, layers=value)
    except ValueError as error:
        return str(error)
    return None


def reads_lines(layers: str) -> bool:
    """Whether a stack reads lines (it has "columns": an answer per column), not single images."""
    return any(WORD.fullmatch(word) and word.startswith("columns") for word in layers.split())


def image_shape(inputs: int, layers: str) -> tuple[int, int]:
    """(height, width) of the images `inputs` values per example make for this stack: a line
    LINE_HEIGHT rows high for a line reader, else a square (784: 28x28)."""
    if not reads_lines(layers):
        side = image_side(inputs)
        return side, side
    if inputs % LINE_HEIGHT:
        raise ValueError(f"{inputs} values per example are not lines {LINE_HEIGHT} pixels high")
    return LINE_HEIGHT, inputs // LINE_HEIGHT


def column_positions(layers: str) -> tuple[int, float]:
    """Where a line reader's column t looks: (stride, offset) such that column t is centred on
    pixel column stride·t + offset of its input line. Walked back from the columns: a k×k
    convolution centres its output p on its input p + (k − 1)/2, a pool on 2p + 0.5."""
    stride, offset = 1, 0.0
    for word in reversed(parse_stack(layers)):
        if word[0] == "conv":
            offset += (word[2] - 1) / 2
        elif word[0] == "pool":
            stride, offset = 2 * stride, 2 * offset + 0.5
    return stride, offset


def image_side(inputs: int) -> int:
    """The side of the square images that `inputs` values per example make (784: 28)."""
    side = round(inputs**0.5)
    if side * side != inputs:
        raise ValueError(f"{inputs} values per example are not a square image (784 is 28x28)")
    return side


@dataclass(frozen=True)
class PlannedLayer:
    """One layer of a planned network: what it is, its input and output shape per example
    ((C, H, W) for images, (units,) for rows), and its parameters' shapes (none for a pool)."""

    kind: str  # "conv", "pool", "bn", "flatten", "columns", "dense" or "output"
    input_shape: tuple
    output_shape: tuple
    weight_shape: tuple | None = None  # conv: (k·k·C, F); dense: (n_in, n_out); bn: γ (F,)
    bias_shape: tuple | None = None

    @property
    def parameters(self) -> int:
        if self.weight_shape is None:
            return 0
        return size(self.weight_shape) + size(self.bias_shape)


def plan_network(inputs: int, classes: int, hidden_sizes=(), layers: str = "") -> list:
    """Every layer of the network the settings describe, in order, as PlannedLayers: with
    `layers`, that stack of image layers on images of `inputs` pixels (`image_shape`; no
    padding, as LeNet: a k×k convolution shrinks the image by k − 1, a pool halves it, the first
    dense layer flattens the maps); else Dense layers of `hidden_sizes`. The output layer comes
    last. After "columns" (a line reader) each shape is one column position's: the layers there
    run once per column. A ValueError if the image shrinks to nothing on the way."""
    planned, shape = [], (inputs,)
    words = [("dense", units) for units in hidden_sizes]
    if layers.strip():
        shape, words = (1, *image_shape(inputs, layers)), parse_stack(layers)
    for word in [*words, ("dense", classes)]:
        if word[0] == "columns":  # (C, H, W) maps -> W rows of K·C·H features
            shape_out = (word[1] * shape[0] * shape[1],)
            planned.append(PlannedLayer("columns", shape, shape_out))
            shape = shape_out
            continue
        if word[0] == "dense" and len(shape) == 3:  # the first dense layer flattens the maps
            planned.append(PlannedLayer("flatten", shape, (size(shape),)))
            shape = (size(shape),)
        if word[0] == "dense":
            units = word[1]
            planned.append(PlannedLayer("dense", shape, (units,), (shape[0], units), (units,)))
            shape = (units,)
        elif word[0] == "bn":  # γ and β for each channel, or each unit
            planned.append(PlannedLayer("bn", shape, shape, shape[:1], shape[:1]))
        elif word[0] == "conv":
            (channels, height, width), (_, filters, kernel) = shape, word
            if kernel > min(height, width):
                raise ValueError(f"conv{filters}x{kernel} on a {height}x{width} image: too small")
            out = (filters, height - kernel + 1, width - kernel + 1)
            weight = (kernel * kernel * channels, filters)
            planned.append(PlannedLayer("conv", shape, out, weight, (filters,)))
            shape = out
        else:
            channels, height, width = shape
            if height < 2 or width < 2:
                raise ValueError(f"pool on a {height}x{width} image: too small to halve")
            out = (channels, height // 2, width // 2)
            planned.append(PlannedLayer("pool", shape, out))
            shape = out
    last = planned[-1]
    planned[-1] = PlannedLayer("output", last.input_shape, last.output_shape,
                               last.weight_shape, last.bias_shape)  # fmt: skip
    return planned


def parameter_shapes(inputs: int, classes: int, hidden_sizes=(), layers: str = "") -> list:
    """(weight shape, bias shape) of each layer with parameters, first first: what a model
    file's arrays must be."""
    plan = plan_network(inputs, classes, hidden_sizes, layers)
    return [(layer.weight_shape, layer.bias_shape) for layer in plan if layer.weight_shape]


def count_weights(inputs: int, classes: int, hidden_sizes=(), layers: str = "") -> int:
    """The parameters (weights and biases) of the network: 101,770 for the seed's 784-128-10."""
    return sum(layer.parameters for layer in plan_network(inputs, classes, hidden_sizes, layers))


def size(shape: tuple) -> int:
    """The values one example holds in an array of `shape` (its product)."""
    total = 1
    for length in shape:
        total *= length
    return total
