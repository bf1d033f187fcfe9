"""Model files: weights in a NumPy `.npz`, described by a JSON metadata entry. Never pickle.

A model file holds, for each dense layer i, `layer{i}.weight` (I, O) and `layer{i}.bias` (O,),
and `metadata`: a JSON string with the format version, the architecture (layer sizes, activation,
loss), dtype, the input normalisation, the training configuration, final metrics, the data's
checksums and the package version. Checkpoints add `checkpoint.*` entries to the same layout.
Writes are atomic (a temporary file renamed into place), so an interrupted write never leaves half
a file; loading reads with `allow_pickle=False` and checks everything before building a network.
"""

import io
import json
import math
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnist_nn.errors import UserError
from mnist_nn.nn.layers import ACTIVATIONS
from mnist_nn.nn.losses import LOSSES
from mnist_nn.nn.network import Network, build_network
from mnist_nn.nn.stack import LINE_LOSS, parameter_shapes, reads_lines, stack_problem
from mnist_nn.saving.files import PickledArray, atomic_write, read_npz
from mnist_nn.version import __version__

FORMAT = "mnist-nn model"
FORMAT_VERSION = 1
INPUT_NORMALISATION = (
    "28x28 greys flattened row by row to 784 values in [0, 1] (pixel / 255), white ink on black, "
    "the digit scaled into a 20x20 box and centred by its centre of mass (MNIST's framing)"
)
ZIP_MAGIC = b"PK\x03\x04"


def save_model(path, network: Network, metadata: dict, extra_arrays: dict | None = None) -> None:
    """Write the network's weights and `metadata` (plus its architecture) to `path` atomically."""
    write_model(network, metadata, extra_arrays, to=lambda write: atomic_write(path, write))


def model_bytes(network: Network, metadata: dict) -> bytes:
    """The model file `save_model` would write, as bytes (e.g. for a download)."""
    buffer = io.BytesIO()
    write_model(network, metadata, to=lambda write: write(buffer))
    return buffer.getvalue()


def write_model(network: Network, metadata: dict, extra_arrays=None, *, to) -> None:
    """Hand `to` a function that writes the model file's arrays into a file object."""
    arrays = dict(extra_arrays or {})
    if not all(np.all(np.isfinite(parameter)) for parameter, _ in network.parameters()):
        raise UserError(
            "the network's weights are not finite (NaN or infinity: the run diverged), so no "
            "model was written; train again with a smaller learning rate"
        )
    for i, layer in enumerate(network.weighted_layers()):  # dense, convolution, batch norm
        arrays[f"layer{i}.weight"] = layer.weight
        arrays[f"layer{i}.bias"] = layer.bias
        for name, array in statistics(layer).items():  # batch norm's running averages
            arrays[f"layer{i}.{name}"] = array
    metadata = finite_or_none(model_metadata(network, metadata))  # JSON has no NaN
    arrays["metadata"] = np.array(json.dumps(metadata, allow_nan=False))
    to(lambda file: np.savez(file, **arrays))


def statistics(layer) -> dict[str, np.ndarray]:
    """What a layer keeps besides its parameters (batch norm's running averages), by name."""
    return layer.statistics() if hasattr(layer, "statistics") else {}


def finite_or_none(value):
    """`value` with every NaN or infinity in it (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(item) for item in value]
    return value


def model_metadata(network: Network, record: dict) -> dict:
    """A model file's metadata: what the network is (format, architecture, float type, how its
    input is normalised) and a run's `record` (see `run_record`). What a loaded model carries."""
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "architecture": network.architecture,
        "layers": [repr(layer) for layer in network.layers],
        "dtype": str(network.dtype),
        "input": INPUT_NORMALISATION,
    }
    return {**description, **record}


# What a model file holds: its metadata, each layer's parameters, batch norm's running averages.
MODEL_ARRAY = re.compile(r"metadata|layer\d+\.(weight|bias|running_mean|running_var)")


def read_arrays(path, wanted=None) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (those `wanted(name)` accepts, when given; the others are not
    read), refusing anything that is not a plain NumPy archive."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such model file; train one first (python main.py writes one)")
    with open(path, "rb") as file:
        if file.read(4) != ZIP_MAGIC:
            raise UserError(f"{path}: not a model file (an mnist-nn model is a NumPy .npz archive)")
    try:
        return read_npz(path, wanted=wanted)
    except PickledArray:
        raise UserError(
            f"{path}: refused, it holds pickled Python objects (which can run code); "
            "mnist-nn model files never do"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise UserError(f"{path}: damaged or truncated model file ({error})") from None


class NonFinite(ValueError):
    """NaN or Infinity in a model file's JSON (Python reads them; no JSON answer can send them)."""


def _no_constant(name: str):
    raise NonFinite(name)


def _metadata(path, arrays: dict) -> dict:
    try:
        metadata = json.loads(str(arrays["metadata"]), parse_constant=_no_constant)
    except NonFinite:
        raise UserError(f"{path}: damaged metadata (NaN or infinity in it)") from None
    except (KeyError, ValueError, RecursionError):  # RecursionError: JSON nested 100,000 deep
        raise UserError(f"{path}: not an mnist-nn model (no readable metadata)") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise UserError(f"{path}: not an mnist-nn model (its metadata names no mnist-nn format)")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(
            f"{path}: model format version {version!r} is not one this mnist-nn "
            f"({__version__}) reads (version {FORMAT_VERSION}); use the mnist-nn that wrote it"
        )
    accuracy, history = metadata.get("test_accuracy"), metadata.get("history")
    number = isinstance(accuracy, int | float) and not isinstance(accuracy, bool)
    records = isinstance(history, list) and all(isinstance(record, dict) for record in history)
    if not (accuracy is None or number) or not (history is None or records):
        raise UserError(f"{path}: damaged metadata (test_accuracy or history of the wrong type)")
    return metadata


# The pixels of an image model's input: at most a line 28 high and 1,024 wide (or a square image
# of up to 169x169); a model file claiming more would have its first use allocate gigabytes.
MAX_IMAGE_INPUTS = 28 * 1024


def _checked_architecture(path, metadata: dict) -> dict:
    architecture = metadata.get("architecture")
    sizes = architecture.get("sizes") if isinstance(architecture, dict) else None
    valid = (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(isinstance(size, int) and not isinstance(size, bool) and size > 0 for size in sizes)
        and architecture.get("activation") in ACTIVATIONS
        and architecture.get("loss") in LOSSES
        and metadata.get("dtype") in ("float32", "float64")
        and all(_probability(architecture.get(name, 0.0)) for name in ("dropout", "input_dropout"))
        and (not architecture.get("layers") or stack_problem(architecture["layers"]) is None)
        # image layers' weights do not grow with the image: its size is capped here instead
        and (not architecture.get("layers") or sizes[0] <= MAX_IMAGE_INPUTS)
        and (architecture["loss"] == LINE_LOSS) == reads_lines(architecture.get("layers") or "")
    )
    if not valid:
        raise UserError(f"{path}: the model's metadata describes no network this version builds")
    names = metadata.get("class_names")
    if names is not None and not (
        isinstance(names, list)
        and len(names) == sizes[-1]
        and all(isinstance(name, str | int) and not isinstance(name, bool) for name in names)
    ):
        raise UserError(
            f"{path}: damaged metadata (class_names must name each of its {sizes[-1]} outputs)"
        )
    return architecture


def _probability(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1


def load_model(path) -> tuple[Network, dict]:
    """The network stored in `path` and its metadata; any problem is one clear UserError."""
    return model_from_arrays(path, read_arrays(path, MODEL_ARRAY.fullmatch))


def model_from_arrays(path, arrays: dict) -> tuple[Network, dict]:
    """The checked network and metadata in the arrays of a model file read from `path`.

    Every stored array is checked against the metadata before the network is built, so metadata
    that claims a huge network allocates nothing.
    """
    metadata = _metadata(path, arrays)
    architecture = _checked_architecture(path, metadata)
    sizes, dtype, stack = architecture["sizes"], metadata["dtype"], architecture.get("layers", "")
    try:
        shapes = parameter_shapes(sizes[0], sizes[-1], sizes[1:-1], stack)
    except ValueError as error:  # e.g. a stack of image layers for inputs of no square image
        raise UserError(f"{path}: the model's metadata describes no network: {error}") from None
    stored = {}
    for i, (weight_shape, bias_shape) in enumerate(shapes):
        for name, expected in (("weight", weight_shape), ("bias", bias_shape)):
            key = f"layer{i}.{name}"
            array = arrays.get(key)
            if array is None or array.shape != expected:
                found = "missing" if array is None else f"shape {array.shape}"
                raise UserError(f"{path}: {key} is {found}, the metadata says {expected}")
            if array.dtype != np.dtype(dtype) or not np.all(np.isfinite(array)):
                raise UserError(
                    f"{path}: {key} is not finite {dtype} (NaN, infinity or another type); "
                    "the model is damaged, train it again"
                )
            stored[key] = array
    network = build_network(
        sizes,
        np.random.default_rng(0),  # weights are replaced below; dropout is off in use
        dtype,
        activation=architecture["activation"],
        loss=architecture["loss"],
        dropout=architecture.get("dropout", 0.0),
        input_dropout=architecture.get("input_dropout", 0.0),
        layers=stack,
    )
    for i, layer in enumerate(network.weighted_layers()):
        layer.weight, layer.bias = stored[f"layer{i}.weight"], stored[f"layer{i}.bias"]
        for name, kept in statistics(layer).items():
            array = arrays.get(f"layer{i}.{name}")
            if array is None or array.shape != kept.shape or array.dtype != kept.dtype:
                raise UserError(f"{path}: layer{i}.{name} is missing or of the wrong shape")
            if not np.all(np.isfinite(array)) or (name == "running_var" and np.any(array < 0)):
                raise UserError(f"{path}: layer{i}.{name} is not finite; train the model again")
            setattr(layer, name, array)
    # Finite weights can still overflow into NaN on the way (a crafted or diverged file): try the
    # network on a blank and a full input before anyone reads with it.
    probe = np.stack([np.zeros(sizes[0]), np.ones(sizes[0])]).astype(dtype)
    with np.errstate(all="ignore"):
        finite = np.all(np.isfinite(network.logits(probe))) and np.all(
            np.isfinite(network.scores(probe))
        )
    if not finite:
        raise UserError(
            f"{path}: its outputs are not finite numbers (its weights overflow): the model is "
            "damaged, train it again"
        )
    return network, metadata


def describe_model(metadata: dict) -> str:
    """One line about a loaded model: architecture, dataset and its test accuracy."""
    architecture = metadata["architecture"]
    sizes = "-".join(map(str, architecture["sizes"]))
    if architecture.get("layers"):
        sizes = (
            f"{architecture['sizes'][0]} → {architecture['layers']} → {architecture['sizes'][-1]}"
        )
    accuracy = metadata.get("test_accuracy")
    shown = "" if accuracy is None or math.isnan(accuracy) else f", test accuracy {accuracy:.2%}"
    return (
        f"{sizes} {architecture['activation']}, {architecture['loss']} "
        f"(trained on {metadata.get('dataset', '?')}{shown})"
    )


def run_record(result, config, dataset, preset: str | None = None) -> dict:
    """What a training run leaves on record: `metrics.json`, and the metadata of its model file
    beside the architecture (the dataset and its checksums, the configuration, the per-epoch
    history, the test accuracy, the temperature that calibrates its scores)."""
    from mnist_nn.evaluate.calibration import calibrate

    return {
        "dataset": dataset.name,
        "data_source": dataset.source,
        "data_checksums": dataset.checksums,
        "class_names": dataset.class_names,
        "preset": preset,
        "config": config.to_dict(),
        "history": result.history,
        "batch_losses": [round(loss, 6) for loss in result.batch_losses],  # for curves.png
        "best_epoch": result.best_epoch,
        "test_accuracy": result.test_accuracy,
        "training_seconds": result.training_seconds,
        "calibration": calibrate(result.network, dataset),
    }
