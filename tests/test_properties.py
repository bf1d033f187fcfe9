"""Property-based probes (hypothesis): whatever a layer spec, a model file, a sweep's results file
or an image holds, the answer is a result or one UserError, never a traceback."""

import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from mnist_nn.cli.parser import main
from mnist_nn.errors import UserError

# Derandomized: CI sees the same examples every run (and a failure there is one to reproduce here).
QUICK = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WORDS = st.sampled_from(["conv8x5", "conv4x3", "conv300x3", "conv2x4", "pool", "dense16", "dense0",
                         "dense99999", "conv", "x", "é", "\t", " ", "conv1x9"])  # fmt: skip


@QUICK
@given(st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=15).map(" ".join)))
def test_any_layer_spec_is_a_network_or_one_line(spec):
    from mnist_nn.config import TrainConfig
    from mnist_nn.nn.stack import count_weights, stack_problem

    problem = stack_problem(spec)
    assert problem is None or "\n" not in problem
    try:
        config = TrainConfig(layers=spec).validated()
    except UserError as error:
        assert "\n" not in str(error)
        return
    assert problem is None
    if config.layers:
        assert count_weights(784, 10, layers=config.layers) > 0


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    argv = ["train", "--dataset", "digits", "--epochs", "1", "--hidden", "8", "--out", str(folder)]
    assert main(argv) == 0
    with np.load(folder / "model.npz") as stored:
        return dict(stored)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


@QUICK
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "architecture",
                "class_names",
                "dtype",
                "format_version",
                "history",
                "test_accuracy",
                "calibration",
                "config",
                "sizes",
            ]
        ),  # fmt: skip
        JSON_VALUES,
        max_size=3,
    ),
    array=st.sampled_from(["layer0.weight", "layer0.bias", "layer1.weight", None]),
    shape=st.lists(st.integers(0, 20), max_size=3),
    dtype=st.sampled_from(["float32", "float64", "int8", "bool"]),
)
def test_any_damaged_model_file_loads_or_is_refused_in_one_line(
    model_file, tmp_path_factory, changes, array, shape, dtype
):
    from mnist_nn.saving.model_files import load_model

    arrays = dict(model_file)
    metadata = json.loads(str(arrays["metadata"]))
    metadata.update(changes)
    arrays["metadata"] = np.array(json.dumps(metadata))
    if array is not None:
        arrays[array] = np.ones(shape, dtype=dtype)
    path = tmp_path_factory.mktemp("damaged") / "model.npz"
    np.savez(path, **arrays)
    try:
        network, _ = load_model(path)
    except UserError as error:
        assert "\n" not in str(error)
        return
    scores = network.scores(np.zeros((2, network.sizes[0]), dtype=network.dtype))
    assert np.all(np.isfinite(scores))


@QUICK
@given(lines=st.lists(st.binary(max_size=60) | JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                      max_size=4))  # fmt: skip
def test_any_lines_left_in_a_results_file_are_set_aside_and_the_trials_kept(
    tmp_path_factory, lines
):
    from mnist_nn.experiments.results import Results

    folder = tmp_path_factory.mktemp("sweep")
    description = {"base": {}, "data": {"name": "digits", "val_size": 0}, "swept": []}
    results = Results(folder, description)
    finished = {"key": "k", "label": "", "settings": {}, "seed": 0, "val_accuracy": 0.5,
                "test_accuracy": 0.5, "seconds": 1.0, "epochs": 1}  # fmt: skip
    results.append(finished)
    results.close()
    with open(folder / "trials.jsonl", "ab") as file:
        file.write(b"\n".join(line.replace(b"\n", b" ") for line in lines))
    again = Results(folder, description)
    assert [row["key"] for row in again.rows][:1] == ["k"]
    again.close()
    reread = Results(folder, description)  # a second rerun reads what the first left
    assert reread.rows == again.rows and reread.notices == []
    reread.close()


FORMATS = {"PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"], "GIF": ["L", "P"],
           "TIFF": ["1", "L", "RGB", "RGBA", "I;16", "F", "CMYK"], "BMP": ["1", "L", "P", "RGB"],
           "JPEG": ["L", "RGB", "CMYK"], "WEBP": ["RGB", "RGBA"]}  # fmt: skip


@QUICK
@given(
    kind=st.sampled_from([(form, mode) for form, modes in FORMATS.items() for mode in modes]),
    width=st.integers(1, 2500),
    height=st.integers(1, 1200),
    seed=st.integers(0, 2**16),
)
def test_an_image_of_any_mode_and_size_is_read_or_refused_in_one_line(kind, width, height, seed):
    from PIL import ImageDraw

    from mnist_nn.reading.images import WORKING_SIDE, greys, read_image

    form, mode = kind
    rng = np.random.default_rng(seed)
    grey = Image.new("L", (width, height), 255)  # a stroke or two of dark ink on white paper
    points = [tuple(point) for point in rng.random((3, 2)) * (width, height)]
    ImageDraw.Draw(grey).line(points, fill=0, width=max(1, min(width, height) // 12))
    picture = grey.convert(mode)
    buffer = io.BytesIO()
    try:
        picture.save(buffer, format=form)
    except (OSError, KeyError, ValueError):  # a mode this Pillow cannot write in that format
        assume(False)
    buffer.seek(0)
    try:
        values = greys(read_image(buffer, "the image"))
    except UserError as error:
        assert "\n" not in str(error)
        return
    assert values.dtype == np.float32 and max(values.shape) <= WORKING_SIDE
    assert values.min() >= 0 and values.max() <= 1
