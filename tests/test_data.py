"""Finding, downloading, verifying and shaping the data."""

import gzip
import hashlib

import numpy as np
import pytest

from mnist_nn import data
from mnist_nn.errors import UserError
from mnist_nn.idx import idx_bytes

rng = np.random.default_rng(0)
FAKE = {
    "train_images": rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8),
    "train_labels": rng.integers(0, 10, size=50, dtype=np.uint8),
    "test_images": rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
    "test_labels": rng.integers(0, 10, size=20, dtype=np.uint8),
}


@pytest.fixture
def fake_checksums(monkeypatch):
    """Make the small FAKE arrays pass as MNIST: their names, their checksums."""
    files = {
        key: (name, hashlib.sha256(idx_bytes(FAKE[key])).hexdigest())
        for key, (name, _) in data.MNIST_FILES.items()
    }
    monkeypatch.setattr(data, "MNIST_FILES", files)
    return files


def write_fake_mnist(directory, compress=True, only=None):
    directory.mkdir(parents=True, exist_ok=True)
    for key, (name, _) in data.MNIST_FILES.items():
        if only is None or key in only:
            raw = idx_bytes(FAKE[key])
            suffix = ".gz" if compress else ""
            (directory / f"{name}{suffix}").write_bytes(gzip.compress(raw) if compress else raw)
    return directory


def test_one_hot():
    np.testing.assert_array_equal(data.one_hot(np.array([5, 0]))[0], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    assert data.one_hot(np.array([3]), dtype="float64").dtype == np.float64


def test_source_order_data_dir_then_env_then_cache(tmp_path, offline, monkeypatch, fake_checksums):
    flag_dir = write_fake_mnist(tmp_path / "flag")
    env_dir = write_fake_mnist(tmp_path / "env", compress=False)
    write_fake_mnist(offline)  # the cache
    monkeypatch.setenv("MNIST_DATA_DIR", str(env_dir))
    assert data.locate_mnist(flag_dir)[0] == flag_dir
    assert data.locate_mnist(None)[0] == env_dir
    monkeypatch.delenv("MNIST_DATA_DIR")
    assert data.locate_mnist(None)[0] == offline
    assert data.locate_mnist(tmp_path / "empty")[0] == offline  # an empty --data-dir falls through


def test_a_folder_with_only_some_files_is_an_error(tmp_path, offline, fake_checksums):
    partial = write_fake_mnist(tmp_path / "partial", only={"train_images", "train_labels"})
    with pytest.raises(UserError, match="holds only some MNIST files .*t10k-images-idx3-ubyte"):
        data.locate_mnist(partial)


def test_nothing_found_lists_where_it_looked_and_how_to_fix(tmp_path, offline):
    with pytest.raises(data.MnistNotFound) as error:
        data.load_dataset("mnist", data_dir=tmp_path / "nowhere")
    message = str(error.value)
    for part in ["--data-dir", "nowhere: no such folder", "MNIST_DATA_DIR: not set", str(offline)]:
        assert part in message
    assert "set MNIST_DATA_DIR=" in message and "\n" not in message


def test_loads_scaled_pixels_and_labels(tmp_path, offline, fake_checksums):
    dataset = data.load_dataset(None, data_dir=write_fake_mnist(tmp_path / "m"))
    assert dataset.name == "mnist" and dataset.notice is None
    assert dataset.train.images.shape == (50, 784) and dataset.train.images.dtype == np.float32
    np.testing.assert_allclose(dataset.train.images * 255, FAKE["train_images"].reshape(50, 784))
    np.testing.assert_array_equal(dataset.test.labels, FAKE["test_labels"])
    assert data.load_dataset(None, tmp_path / "m", dtype="float64").test.images.dtype == np.float64


def test_validation_is_held_out_of_the_end_of_the_training_set(tmp_path, offline, fake_checksums):
    dataset = data.load_dataset("mnist", data_dir=write_fake_mnist(tmp_path / "m"), val_size=10)
    assert len(dataset.train) == 40 and len(dataset.validation) == 10 and len(dataset.test) == 20
    np.testing.assert_array_equal(dataset.validation.labels, FAKE["train_labels"][40:])
    with pytest.raises(UserError, match="--val-size 50 must be between 1 and 49"):
        data.load_dataset("mnist", data_dir=tmp_path / "m", val_size=50)


def test_a_corrupt_file_is_an_error_not_a_fallback(tmp_path, offline, fake_checksums):
    directory = write_fake_mnist(tmp_path / "m")
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(FAKE["test_labels"][:19]))
    )
    with pytest.raises(UserError, match="t10k-labels.*claims 19 labels|SHA-256 mismatch"):
        data.load_dataset(None, data_dir=directory)


def test_real_checksums_are_the_published_ones():
    published = data.Path(__file__).parents[2] / "shared/data/mnist/SHA256SUMS"
    if not published.exists():
        pytest.skip("../shared/data/mnist/SHA256SUMS is not beside this checkout")
    sums = dict(reversed(line.split()) for line in published.read_text().splitlines())
    assert {name: sha for name, sha in data.MNIST_FILES.values()} == sums


def test_falls_back_to_digits_with_a_notice(offline):
    dataset = data.load_dataset(None)
    assert dataset.name == "digits"
    assert "MNIST not found" in dataset.notice and "MNIST_DATA_DIR" in dataset.notice
    assert dataset.train.images.shape[1] == 784 and len(dataset.train) + len(dataset.test) == 1797
    assert dataset.train.images.min() >= 0 and dataset.train.images.max() <= 1


def test_digits_are_framed_like_mnist():
    arrays, _ = data.load_digits_arrays()
    images = arrays["train_images"].astype(np.float64) / 255
    assert images.shape[1:] == (28, 28)
    ink_rows = (images > 0.05).any(axis=2).sum(axis=1)
    ink_cols = (images > 0.05).any(axis=1).sum(axis=1)
    assert np.all(np.maximum(ink_rows, ink_cols) <= 21)  # fits a 20 px box (±1 px of blur)
    rows = np.arange(28)
    centre = (images.sum(axis=2) * rows).sum(axis=1) / images.sum(axis=(1, 2))
    assert np.all(np.abs(centre - 14) <= 1.0)  # centred by mass, where MNIST centres it


def test_explicit_mnist_never_falls_back(offline):
    with pytest.raises(data.MnistNotFound):
        data.load_dataset("mnist")


@pytest.fixture
def mirrors(tmp_path, monkeypatch):
    """Two local 'mirrors' reached through file:// URLs: one empty, one with good files."""
    monkeypatch.delenv("MNIST_NN_OFFLINE", raising=False)
    good = write_fake_mnist(tmp_path / "mirror")
    monkeypatch.setattr(
        data, "IDX_MIRRORS", ((tmp_path / "empty").as_uri() + "/", good.as_uri() + "/")
    )
    monkeypatch.setattr(data, "_download_from_openml", lambda directory: 1 / 0)
    return good


def test_download_tries_each_mirror_and_verifies(offline, fake_checksums, mirrors):
    dataset = data.load_dataset("mnist")
    assert dataset.source == str(offline)
    assert sorted(p.name for p in offline.iterdir()) == sorted(
        f"{name}.gz" for name, _ in fake_checksums.values()
    )
    np.testing.assert_array_equal(dataset.test.labels, FAKE["test_labels"])


def test_a_download_that_fails_its_checksum_is_not_kept(
    offline, fake_checksums, mirrors, monkeypatch
):
    name, _ = fake_checksums["train_labels"]
    monkeypatch.setitem(data.MNIST_FILES, "train_labels", (name, "f" * 64))
    with pytest.raises(data.MnistNotFound, match="SHA-256 mismatch.*OpenML mnist_784"):
        data.load_dataset("mnist")
    kept = sorted(p.name for p in offline.iterdir())
    assert f"{name}.gz" not in kept and not any(".tmp" in p for p in kept)
    assert "train-images-idx3-ubyte.gz" in kept  # what passed is kept for next time


def test_second_load_comes_from_the_decoded_cache(tmp_path, offline, fake_checksums, monkeypatch):
    directory = write_fake_mnist(tmp_path / "m")
    first = data.load_dataset("mnist", data_dir=directory)
    cached = sorted(p.name for p in (offline.parent / "decoded").iterdir())
    assert len(cached) == 4 and all(name.endswith(".npy") for name in cached)
    monkeypatch.setattr(data, "read_idx", lambda *a, **k: 1 / 0)  # no decoding allowed now
    second = data.load_dataset("mnist", data_dir=directory)
    np.testing.assert_array_equal(first.train.images, second.train.images)
    np.testing.assert_array_equal(first.test.labels, second.test.labels)


def test_a_changed_file_is_decoded_and_verified_again(tmp_path, offline, fake_checksums):
    directory = write_fake_mnist(tmp_path / "m")
    data.load_dataset("mnist", data_dir=directory)
    damaged = directory / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(gzip.compress(idx_bytes(FAKE["test_labels"][::-1])))
    with pytest.raises(UserError, match="SHA-256 mismatch"):
        data.load_dataset("mnist", data_dir=directory)
