"""Model files: a faithful round trip, and a clear refusal of anything broken or hostile."""

import json
import pickle

import numpy as np
import pytest

from mnist_nn.errors import UserError
from mnist_nn.nn.network import build_network
from mnist_nn.saving.model_files import FORMAT_VERSION, load_model, read_arrays, save_model


@pytest.fixture
def network():
    return build_network(
        [784, 32, 16, 10],
        np.random.default_rng(0),
        activation="relu",
        loss="cross_entropy",
        dropout=0.2,
    )


@pytest.fixture
def model_file(tmp_path, network):
    path = tmp_path / "model.npz"
    save_model(path, network, {"dataset": "mnist", "test_accuracy": 0.9, "config": {"seed": 0}})
    return path


def test_round_trip_predicts_identically(model_file, network):
    loaded, metadata = load_model(model_file)
    x = np.random.default_rng(1).random((50, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.scores(x), network.scores(x))
    assert metadata["architecture"]["sizes"] == [784, 32, 16, 10]
    assert metadata["format_version"] == FORMAT_VERSION and metadata["dataset"] == "mnist"
    assert metadata["dtype"] == "float32" and "centre of mass" in metadata["input"]
    assert repr(loaded) == repr(network)


def test_no_temporary_file_is_left_behind(model_file):
    assert [p.name for p in model_file.parent.iterdir()] == ["model.npz"]


def rewrite(path, **changes):
    arrays = read_arrays(path)
    arrays.update(changes)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def metadata_with(path, **changes):
    metadata = json.loads(str(read_arrays(path)["metadata"]))
    metadata.update(changes)
    return np.array(json.dumps(metadata))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:500]), "damaged or truncated"),
        (lambda p: p.write_text("weights, honestly"), "not a model file"),
        (lambda p: p.write_bytes(pickle.dumps({"weights": [1, 2]})), "not a model file"),
        (
            lambda p: rewrite(p, **{"layer0.weight": np.zeros((784, 31), np.float32)}),
            r"layer0.weight is shape \(784, 31\), the metadata says \(784, 32\)",
        ),
        (
            lambda p: rewrite(p, **{"layer1.bias": np.full(16, np.nan, np.float32)}),
            "layer1.bias is not finite float32",
        ),
        (
            lambda p: rewrite(p, **{"layer2.weight": np.zeros((16, 10), np.float64)}),
            "layer2.weight is not finite float32",
        ),
        (
            lambda p: rewrite(p, **{"layer1.bias": np.array([{"run": "code"}], dtype=object)}),
            "refused, it holds pickled Python objects",
        ),
        (
            lambda p: rewrite(p, metadata=metadata_with(p, format_version=99)),
            "format version 99 is not one this mnist-nn",
        ),
        (lambda p: rewrite(p, metadata=np.array("{not json")), "no readable metadata"),
        (
            lambda p: rewrite(p, metadata=metadata_with(p, format="something else")),
            "not an mnist-nn model",
        ),
        (
            lambda p: rewrite(p, metadata=metadata_with(p, architecture={"sizes": [784, -3]})),
            "describes no network",
        ),
    ],
    ids=[
        "truncated",
        "text",
        "pickle-file",
        "shape",
        "nan",
        "dtype",
        "pickle-inside",
        "version",
        "bad-json",
        "foreign",
        "bad-sizes",
    ],
)
def test_broken_and_hostile_files_are_refused_in_one_line(model_file, damage, message):
    damage(model_file)
    with pytest.raises(UserError, match=message) as error:
        load_model(model_file)
    assert "\n" not in str(error.value) and str(model_file) in str(error.value)


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(UserError, match="no such model file; train one first"):
        load_model(tmp_path / "nothing.npz")
