"""Your own data for `mnist-nn train --data FILE`: an `.npz` or a CSV, checked before training.

    .npz   arrays x_train (N, D) and y_train (N,), and optionally x_test, y_test; images may be
           (N, 28, 28), they are flattened. Values are used as they are (scale them yourself,
           e.g. to [0, 1] as MNIST's pixels are).
    .csv   a header row and one example per row: a `label` column, every other column a number.
           A CSV has no test set; hold out a validation split with --val-size.
Labels may be any values (numbers or words): the classes are the distinct training labels, in
sorted order, and are recorded with the model. Every problem (a missing array, mismatched
shapes, NaN, a test label never seen in training) is one line that says what to fix.
"""

import contextlib
import csv
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnist_nn.errors import UserError
from mnist_nn.saving.files import PickledArray, read_npz

MAX_CSV_BYTES = 256 << 20  # parsed rows take several times the file's size in memory
DATA_ARRAYS = ("x_train", "y_train", "x_test", "y_test")

MAX_CLASSES = 1000  # one-hot targets: 60,000 examples × 1,000 classes is 240 MB of float32


def read_data_file(path) -> tuple[dict[str, np.ndarray], list]:
    """The checked arrays x_train, y_train (and x_test, y_test) of `path`, labels as class
    indices, and the class names (the distinct training labels, sorted)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--data {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = _read_npz(path)
    elif suffix == ".csv":
        arrays = _read_csv(path)
    else:
        raise UserError(f"--data {path}: give an .npz (x_train, y_train, ...) or a .csv file")
    return _checked(path, arrays)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        arrays = read_npz(path, wanted=DATA_ARRAYS.__contains__)  # nothing else is read
    except PickledArray:
        raise UserError(f"--data {path}: refused, it holds pickled Python objects") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise UserError(f"--data {path}: not a readable .npz archive ({error})") from None
    missing = {"x_train", "y_train"} - set(arrays)
    if missing:
        raise UserError(
            f"--data {path}: no array {' or '.join(sorted(missing))} (it holds "
            f"{', '.join(sorted(arrays)) or 'nothing'}); save it with np.savez(FILE, "
            "x_train=..., y_train=..., x_test=..., y_test=...)"
        )
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise UserError(f"--data {path}: x_test and y_test come together, or neither")
    return arrays


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    if path.stat().st_size > MAX_CSV_BYTES:
        raise UserError(
            f"--data {path}: a CSV over {MAX_CSV_BYTES >> 20} MB; save big data as an .npz"
        )
    try:
        labels, features = _csv_rows(path)
    except UnicodeDecodeError as error:
        raise UserError(
            f"--data {path}: not UTF-8 text (byte {error.start}); save the CSV as UTF-8"
        ) from None
    if not labels:
        raise UserError(f"--data {path}: no examples below the header")
    y = np.array(labels)
    if all(label.lstrip("-").isascii() and label.lstrip("-").isdigit() for label in labels):
        # Numeric labels stay numbers (10 after 9), unless too long for int64: then words.
        with contextlib.suppress(OverflowError, ValueError):
            y = y.astype(np.int64)
    return {"x_train": np.array(features, dtype=np.float64), "y_train": y}


def _csv_rows(path: Path) -> tuple[list[str], list[list[float]]]:
    """The labels and feature rows of a CSV with a header naming a `label` column."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = csv.reader(file)
        number = 1
        try:
            header = next(rows, None)
            if not header or "label" not in header:
                raise UserError(f"--data {path}: the first row must name the columns, one `label`")
            label_column = header.index("label")
            labels, features = [], []
            for number, row in enumerate(rows, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise UserError(
                        f"--data {path}: line {number} has {len(row)} values, the header "
                        f"{len(header)}"
                    )
                labels.append(row[label_column].strip())
                try:
                    features.append([float(v) for i, v in enumerate(row) if i != label_column])
                except ValueError as error:
                    raise UserError(f"--data {path}: line {number}: {error}") from None
        except csv.Error as error:  # e.g. a field over the csv module's 131,072 characters
            raise UserError(f"--data {path}: line {number + 1}: {error}") from None
    return labels, features


def _checked(path: Path, arrays: dict) -> tuple[dict[str, np.ndarray], list]:
    """Shapes, finite numbers and labels checked; images flattened; labels -> class indices."""
    checked = {}
    for part in ("train", "test"):
        if f"x_{part}" not in arrays:
            continue
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim == 3:
            x = x.reshape(len(x), -1)  # (N, 28, 28) images -> (N, 784)
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or not len(x):
            raise UserError(
                f"--data {path}: x_{part} must be (N, features) and y_{part} (N,) with the same "
                f"N > 0; they are {x.shape} and {y.shape}"
            )
        if x.dtype.kind not in "biuf" or not np.all(np.isfinite(x)):
            raise UserError(f"--data {path}: x_{part} must hold finite numbers (no NaN or inf)")
        if y.dtype.kind not in "biuU" and not (y.dtype.kind == "f" and np.all(np.isfinite(y))):
            raise UserError(
                f"--data {path}: y_{part} holds {y.dtype} values; labels must be whole numbers, "
                "finite numbers or text"
            )
        checked[f"x_{part}"], checked[f"y_{part}"] = x, y
    classes = np.unique(checked["y_train"])
    if len(classes) > MAX_CLASSES:
        raise UserError(
            f"--data {path}: y_train has {len(classes):,} distinct labels, over the limit of "
            f"{MAX_CLASSES:,} classes (is the label column the right one?)"
        )
    if len(classes) < 2:
        raise UserError(f"--data {path}: y_train has one class ({classes[0]}); give two or more")
    if "x_test" in checked:
        if checked["x_test"].shape[1] != checked["x_train"].shape[1]:
            raise UserError(
                f"--data {path}: x_test has {checked['x_test'].shape[1]} features, x_train "
                f"{checked['x_train'].shape[1]}"
            )
        unseen = np.setdiff1d(checked["y_test"], classes)
        if len(unseen):
            raise UserError(
                f"--data {path}: y_test has labels never seen in y_train: {unseen[:5].tolist()}"
            )
    for part in ("train", "test"):
        if f"y_{part}" in checked:
            checked[f"y_{part}"] = np.searchsorted(classes, checked[f"y_{part}"])
    return checked, classes.tolist()
