"""Model files: weights in a NumPy `.npz`, described by a JSON metadata entry. Never pickle.

A file holds `layer{i}.weight` (I, O) and `layer{i}.bias` (O,) for each dense layer i, and
`metadata`: a JSON string (format version, layer sizes, activations, loss, dtype, dataset,
training configuration, final metrics, package version). Writes are atomic: a temporary file in
the same folder is renamed over the target, so an interrupted write never leaves half a model.
"""

import json
import os
from pathlib import Path

import numpy as np

from mnist_nn import __version__
from mnist_nn.network import Network

FORMAT_VERSION = 1


def describe(network: Network) -> dict:
    """The architecture part of a model's metadata."""
    return {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "sizes": network.sizes,
        "layers": [repr(layer) for layer in network.layers],
        "loss": network.loss.name,
        "dtype": str(network.dense_layers()[0].weight.dtype),
    }


def atomic_write(path, write) -> None:
    """Call `write(file)` on a temporary file next to `path`, then rename it into place."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(temporary, "wb") as file:
            write(file)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def save_model(path, network: Network, metadata: dict) -> None:
    """Write the network's weights and `metadata` (plus its architecture) to `path` atomically."""
    arrays = {}
    for i, layer in enumerate(network.dense_layers()):
        arrays[f"layer{i}.weight"] = layer.weight
        arrays[f"layer{i}.bias"] = layer.bias
    arrays["metadata"] = np.array(json.dumps({**describe(network), **metadata}))
    atomic_write(path, lambda file: np.savez(file, **arrays))


def save_json(path, data: dict) -> None:
    """Write `data` as indented JSON to `path` atomically."""
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda file: file.write(text.encode()))
