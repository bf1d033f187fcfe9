"""Your own data: `mnist-nn train --data FILE` with an .npz or a CSV, checked in one line."""

import io
import json
import zipfile

import numpy as np
import pytest

from mnist_nn.cli.parser import main
from mnist_nn.data.own_data import read_data_file
from mnist_nn.errors import UserError

from helpers import tiny_dataset


def blobs(n=200, features=6, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    return rng.normal(size=(3, features))[labels] * 3 + rng.normal(size=(n, features)), labels


def test_an_npz_of_images_trains_tests_and_draws(tmp_path, capsys):
    data = tiny_dataset()
    images, labels = data.train.images.reshape(-1, 28, 28), data.train.labels
    np.savez(tmp_path / "mine.npz", x_train=images, y_train=labels,
             x_test=data.test.images, y_test=data.test.labels)  # fmt: skip
    argv = ["train", "--data", str(tmp_path / "mine.npz"), "--epochs", "3", "--lr", "0.05"]
    assert (
        main([*argv, "--hidden", "16", "--batch-size", "32", "--out", str(tmp_path / "out")]) == 0
    )
    out = capsys.readouterr().out
    assert "dataset: file:mine.npz (300 train, 100 test)" in out and "test accuracy:" in out
    assert (tmp_path / "out" / "predictions.png").exists()
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["dataset"] == "file:mine.npz" and metrics["test_accuracy"] > 0.8
    assert (
        main(
            ["evaluate", str(tmp_path / "out" / "model.npz"), "--data", str(tmp_path / "mine.npz")]
        )
        == 0
    )
    assert "accuracy" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "out" / "model.npz")]) == 1
    assert "give it again with --data FILE" in capsys.readouterr().err


def test_a_csv_with_word_labels_trains_without_a_test_set(tmp_path, capsys):
    x, y = blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    lines = ["a,b,label,c,d,e,f"] + [
        ",".join([f"{v:.4f}" for v in row[:2]] + [name] + [f"{v:.4f}" for v in row[2:]])
        for row, name in zip(x, names, strict=True)
    ]
    (tmp_path / "animals.csv").write_text("\n".join(lines) + "\n")
    argv = ["train", "--data", str(tmp_path / "animals.csv"), "--epochs", "5", "--val-size", "40"]
    argv += ["--loss", "cross_entropy", "--activation", "relu", "--lr", "0.001"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "(160 train, 40 validation, no test set)" in out and "6-128-3 relu" in out
    assert "no test set: no test accuracy" in out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["class_names"] == ["cat", "dog", "emu"]
    assert metrics["history"][-1]["val_accuracy"] > 0.8
    assert not (tmp_path / "out" / "predictions.png").exists()


def bomb(path):
    """A 2 GB array of zeros that zips to a few MB: its directory entry tells the truth."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (250_000_000,)})  # fmt: skip
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("x_train.npy", "w", force_zip64=True) as member,
    ):
        member.write(header.getvalue())
        chunk = bytes(1 << 24)
        for _ in range(2_000_000_000 // len(chunk)):
            member.write(chunk)


def liar(path):
    """A tiny member whose .npy header claims ten billion float64s."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10_000_000_000,)})  # fmt: skip
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", header.getvalue() + bytes(80))
        archive.writestr("y_train.npy", b"")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: np.savez(p, x=np.zeros((3, 4))), "no array x_train or y_train"),
        (lambda p: np.savez(p, x_train=np.zeros((3, 4)), y_train=np.zeros(2)), "same N > 0"),
        (
            lambda p: np.savez(p, x_train=np.full((3, 4), np.nan), y_train=[0, 1, 1]),
            "finite numbers",
        ),
        (lambda p: np.savez(p, x_train=np.zeros((3, 4)), y_train=[1, 1, 1]), "one class"),
        (
            lambda p: np.savez(
                p, x_train=np.zeros((3, 4)), y_train=[0, 1, 1], x_test=np.zeros((1, 4)), y_test=[7]
            ),  # fmt: skip
            r"labels never seen in y_train: \[7\]",
        ),
        (
            lambda p: np.savez(
                p, x_train=np.zeros((3, 4)), y_train=[0, 1, 1], x_test=np.zeros((1, 4))
            ),
            "come together",
        ),
        (lambda p: p.write_bytes(b"PK\x03\x04 not really"), "not a readable .npz"),
        (liar, "claims 80,000,000,000 bytes of data in a member of"),
    ],
)
def test_bad_data_files_are_one_line(tmp_path, make, message):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(UserError, match=message) as error:
        read_data_file(path)
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_a_decompression_bomb_is_refused_before_it_is_inflated(tmp_path):
    bomb(tmp_path / "bomb.npz")
    assert (tmp_path / "bomb.npz").stat().st_size < 5_000_000
    with pytest.raises(UserError, match="over the limit of 1,073,741,824"):
        read_data_file(tmp_path / "bomb.npz")
