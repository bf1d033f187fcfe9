"""Hostile and damaged files: model files checked whole, data files (IDX, .npz, CSV) read within
their limits, a sweep's results file that a crash or an edit cannot make unreadable, and an
output folder that loses nothing already saved.
"""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_nn.cli.parser import main
from mnist_nn.errors import UserError

from helpers import InterruptedAfter, peak_megabytes, saved, written


@pytest.mark.slow
def test_a_gzip_bomb_in_the_data_folder_is_refused_in_bounded_memory(tmp_path):
    """A 1.5 MB .gz that inflates to 1.5 GB, named like MNIST's training images."""
    import struct
    import zlib

    from mnist_nn.data.sources import MNIST_FILES

    folder = tmp_path / "mnist"
    folder.mkdir()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"\x00\x00\x08\x03" + struct.pack(">III", 60000, 28, 28))]
    chunk = bytes(1 << 24)
    parts += [compressor.compress(chunk) for _ in range(90)] + [compressor.flush()]
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"".join(parts))
    for name, _ in list(MNIST_FILES.values())[1:]:
        (folder / name).write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x00")
    code = (
        "from mnist_nn.cli.parser import main; import sys; "
        f"sys.exit(main(['train', '--dataset', 'mnist', '--data-dir', {str(folder)!r}, "
        f"'--out', {str(tmp_path / 'out')!r}]))"
    )
    megabytes, exit_code, err = peak_megabytes(code)
    assert exit_code == 1 and "holds more than that" in err and err.strip().count("\n") == 0
    assert megabytes < 500


@pytest.mark.slow
def test_a_model_claiming_a_huge_network_or_a_zip_bomb_is_refused_in_bounded_memory(tmp_path):
    import json

    import numpy as np

    from mnist_nn.nn.network import build_network
    from mnist_nn.saving.model_files import save_model

    path = tmp_path / "model.npz"
    save_model(path, build_network([784, 16, 10], np.random.default_rng(0)), {"dataset": "mnist"})
    arrays = dict(np.load(path))
    metadata = json.loads(str(arrays["metadata"]))
    metadata["architecture"]["sizes"] = [784, 400000, 10]
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(tmp_path / "liar.npz", **arrays)
    zipped = tmp_path / "bomb.npz"
    with (
        zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("layer0.weight.npy", "w", force_zip64=True) as member,
    ):
        for _ in range(200):
            member.write(bytes(1 << 24))  # 3.4 GB of zeros, in a member a model does read
    for model, message in ((tmp_path / "liar.npz", "layer0.weight is shape (784, 16)"),
                           (zipped, "would take 3,355,443,200 bytes")):  # fmt: skip
        code = (
            "from mnist_nn.cli.parser import main; import sys; "
            f"sys.exit(main(['evaluate', {str(model)!r}, '--dataset', 'digits']))"
        )
        megabytes, exit_code, err = peak_megabytes(code)
        assert exit_code == 1 and message in err and megabytes < 500, err


@pytest.mark.parametrize(
    "metadata, message",
    [
        ("[" * 100_000 + "]" * 100_000, "no readable metadata"),
        ('{"format": "mnist-nn model", "format_version": 1, "test_accuracy": "high"}', "damaged"),
        ('{"format": "mnist-nn model", "format_version": 1, "history": {"a": 1}}', "damaged"),
    ],
    ids=["nested-100k-deep", "accuracy-text", "history-dict"],
)
def test_damaged_model_metadata_is_one_line(tmp_path, metadata, message, capsys):
    import numpy as np

    np.savez(tmp_path / "model.npz", metadata=np.array(metadata))
    assert main(["evaluate", str(tmp_path / "model.npz")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_model_of_other_inputs_is_refused_by_predict_and_serve(tmp_path, capsys):
    import numpy as np

    data = tmp_path / "blobs.npz"
    np.savez(data, x_train=np.random.default_rng(0).random((60, 10)), y_train=[0, 1] * 30)
    assert main(["train", "--data", str(data), "--epochs", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    (tmp_path / "one.png").write_bytes(b"")
    assert main(["predict", str(tmp_path / "model.npz"), str(tmp_path / "one.png")]) == 1
    assert "takes 10 values per example" in capsys.readouterr().err
    from mnist_nn.web.app import create_app

    with pytest.raises(UserError, match="takes 10 values per example"):
        create_app(tmp_path / "model.npz")


def test_an_unwritable_out_fails_before_training(tmp_path, offline, capsys, monkeypatch):
    assert main(["train", "--dataset", "digits", "--out", "/sys/mnist-nn-test"]) == 1
    err = capsys.readouterr()
    assert "epoch 1/" not in err.out and err.err.startswith("error:") and err.err.count("\n") == 1
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda folder: shutil._ntuple_diskusage(1, 1, 1000))
    assert main(["train", "--dataset", "digits", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr()
    assert "epoch 1/" not in err.out and "MB free; this run writes about" in err.err


def test_stale_temporary_files_are_swept_and_signals_wait_for_the_save(tmp_path, offline):
    import signal

    from mnist_nn.saving.files import signals_deferred

    (tmp_path / ".model.npz.tmp12345").write_bytes(b"half a model")
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert not list(tmp_path.glob(".*.tmp*"))
    order = []
    with pytest.raises(KeyboardInterrupt), signals_deferred():
        signal.raise_signal(signal.SIGINT)
        order.append("both files written")
    assert order == ["both files written"]  # Ctrl-C came after the block, not in its middle


def test_the_decoded_cache_is_verified_and_pruned(tmp_path, offline, fake_checksums):
    import numpy as np

    from mnist_nn.data import sources

    from helpers import FAKE, write_fake_mnist

    directory = write_fake_mnist(tmp_path / "m")
    sources.load_mnist_arrays(directory)
    decoded = offline.parent / "decoded"
    labels = next(decoded.glob("t10k-labels*.npy"))
    np.save(labels, np.zeros_like(FAKE["test_labels"]))  # a planted, wrong cache entry
    arrays, _ = sources.load_mnist_arrays(directory)
    np.testing.assert_array_equal(arrays["test_labels"], FAKE["test_labels"])  # not trusted
    (directory / "t10k-labels-idx1-ubyte.gz").touch()  # a newer file: a new cache entry...
    sources.load_mnist_arrays(directory)
    assert len(list(decoded.glob("t10k-labels*.npy"))) == 1  # ...and the old one is gone


@pytest.mark.slow
def test_unused_members_of_a_model_or_data_file_are_never_read(tmp_path):
    """A 2 MB file whose extra member inflates to 1.9 GB: the model and the data still load,
    in bounded memory, because only the arrays they hold are read."""
    import zipfile

    import numpy as np

    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path)]) == 0
    huge = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
    huge["shape"] = (475_000_000,)  # 1.9 GB of zeros, compressed to about 2 MB
    for name in ("model.npz", "data.npz"):
        path = tmp_path / name
        if name == "data.npz":
            rng = np.random.default_rng(0)
            np.savez(path, x_train=rng.random((40, 4)), y_train=np.arange(40) % 2)
        with (
            zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
            archive.open("unused.npy", "w", force_zip64=True) as member,
        ):
            np.lib.format.write_array_header_1_0(member, huge)
            zeros = bytes(1 << 24)
            for _ in range(475_000_000 * 4 // len(zeros)):
                member.write(zeros)
        assert path.stat().st_size < 5_000_000
    code = (
        "from mnist_nn.saving.model_files import load_model; from mnist_nn.data.own_data import "
        "read_data_file; import sys; "
        f"load_model({str(tmp_path / 'model.npz')!r}); "
        f"read_data_file({str(tmp_path / 'data.npz')!r})"
    )
    megabytes, exit_code, err = peak_megabytes(code)
    assert exit_code == 0, err
    assert megabytes < 500


@pytest.mark.parametrize(
    "content, message",
    [
        (b"label,a\n1,\xff\xfe\n2,3\n", "not UTF-8 text (byte 10); save the CSV as UTF-8"),
        (b"label,a\n1," + b"9" * 200_000 + b"\n2,3\n", "line 2: field larger than field limit"),
    ],
)
def test_csv_files_that_broke_the_reader_are_one_line(tmp_path, capsys, content, message):
    (tmp_path / "data.csv").write_bytes(content)
    assert main(["train", "--data", str(tmp_path / "data.csv"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_labels_are_checked_before_training_not_after(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    cases = {
        "bytes": np.array([b"cat", b"dog"] * 20),
        "dates": np.array(["2020-01-01", "2021-01-01"] * 20, dtype="datetime64[D]"),
        "many": np.arange(1001).repeat(2)[:2002],
    }
    for name, labels in cases.items():
        np.savez(tmp_path / f"{name}.npz", x_train=rng.random((len(labels), 4)), y_train=labels)
        argv = ["train", "--data", str(tmp_path / f"{name}.npz"), "--out", str(tmp_path / name)]
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and not (tmp_path / name / "model.npz").exists(), err
    assert "over the limit of 1,000 classes" in err  # the last: 1,001 distinct labels
    long_label = "9" * 5000  # more digits than Python turns into an int: kept as text
    (tmp_path / "long.csv").write_text(f"label,a\n{long_label},1\n2,3\n{long_label},2\n2,1\n")
    argv = ["train", "--data", str(tmp_path / "long.csv"), "--epochs", "1"]
    assert main([*argv, "--out", str(tmp_path / "long")]) == 0


def test_a_npz_with_a_negative_shape_is_damaged_in_one_line(tmp_path, capsys):
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 3)))
    with zipfile.ZipFile(tmp_path / "neg.npz", "w") as archive:
        archive.writestr("x_train.npy", buffer.getvalue().replace(b"(4, 3)", b"(-4, 3)"))
        archive.writestr("y_train.npy", buffer.getvalue())
    assert main(["train", "--data", str(tmp_path / "neg.npz"), "--out", str(tmp_path)]) == 1
    assert "impossible shape (-4, 3)" in capsys.readouterr().err


def a_model(tmp_path) -> tuple[Path, dict, dict]:
    """A small trained model file, its arrays and its metadata, to be damaged by a test."""
    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "1"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    path = tmp_path / "model.npz"
    with np.load(path) as stored:
        arrays = dict(stored)
    return path, arrays, json.loads(str(arrays["metadata"]))


WEIGHTS = ("layer0.weight", "layer1.weight")  # ReLU between them: huge ones overflow to inf


def rewritten(path, arrays, metadata) -> Path:
    np.savez(path, **{**arrays, "metadata": np.array(json.dumps(metadata))})
    return path


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m, a: m.update(class_names=["a", "b"]), "class_names must name each of its"),
        (lambda m, a: m.update(class_names={"0": "zero"}), "class_names must name each of its"),
        (lambda m, a: m.update(calibration={"temperature": float("nan")}), "NaN or infinity"),
        (lambda m, a: m["architecture"].update(dropout="lots"), "describes no network"),
        (lambda m, a: m["architecture"].update(layers="conv4x3", sizes=[30, 10]), "no network"),
        (lambda m, a: a.update({name: a[name] * 1e20 for name in WEIGHTS}), "not finite numbers"),
    ],
    ids=["short-class-names", "class-names-dict", "nan-metadata", "dropout-text",
         "conv-stack-on-30-inputs", "weights-overflowing"],
)  # fmt: skip
def test_a_crafted_model_file_is_refused_in_one_line_everywhere(tmp_path, capsys, damage, message):
    path, arrays, metadata = a_model(tmp_path)
    damage(metadata, arrays)
    rewritten(path, arrays, metadata)
    capsys.readouterr()
    (tmp_path / "digit.png").write_bytes(saved(written(300, 300), format="PNG").getvalue())
    for argv in (["evaluate", str(path), "--dataset", "digits"], ["predict", str(path),
                 str(tmp_path / "digit.png")], ["serve", "--model", str(path)]):  # fmt: skip
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)


def sweep_in(folder, executor):
    from mnist_nn.config import TrainConfig
    from mnist_nn.experiments.executors import DataSpec
    from mnist_nn.experiments.sweeps import run_sweep
    from mnist_nn.experiments.trials import grid_trials

    base = TrainConfig(epochs=1, hidden_sizes=(16,), learning_rate=0.05, val_size=287)
    trials = grid_trials({"learning_rate": [0.05, 0.1]}, seeds=[0, 1])
    spec = DataSpec("digits", None, 287)
    return run_sweep(base, trials, spec, folder, executor, ["learning_rate"], progress=False)


@pytest.mark.parametrize(
    "left_behind",
    [
        b'{"key": "half a li',
        b"[1, 2]\n",
        b'{"key": 3, "settings": {}, "seed": "x"}\n',
        b"\x00\xff\n",
    ],
    ids=["cut-short-line", "a-list", "wrong-types", "binary"],
)
def test_a_results_file_with_a_bad_line_reruns_twice_to_completion_keeping_every_trial(
    tmp_path, capsys, left_behind
):
    first = InterruptedAfter(limit=2)
    with pytest.raises(KeyboardInterrupt):
        sweep_in(tmp_path, first)
    with open(tmp_path / "trials.jsonl", "ab") as file:
        file.write(left_behind)
    second = InterruptedAfter(limit=1)
    with pytest.raises(KeyboardInterrupt):
        sweep_in(tmp_path, second)
    assert "set aside in" in capsys.readouterr().err
    third = InterruptedAfter()
    table = sweep_in(tmp_path, third)
    assert sum(line["seeds"] for line in table) == 4  # every trial, once
    ran = first.ran + second.ran + third.ran
    assert len(ran) == len(set(ran)) == 4  # each trial run once: the finished ones were kept
    assert left_behind.strip() in (tmp_path / "trials.set-aside.jsonl").read_bytes()
