"""Finding, downloading and verifying the MNIST files, and the decoded cache."""

import gzip
import os

import numpy as np
import pytest

from mnist_nn.data import dataset as data
from mnist_nn.data import sources
from mnist_nn.data.idx import idx_bytes
from mnist_nn.errors import UserError

from helpers import FAKE, write_fake_mnist


def test_source_order_data_dir_then_env_then_cache(tmp_path, offline, monkeypatch, fake_checksums):
    flag_dir = write_fake_mnist(tmp_path / "flag")
    env_dir = write_fake_mnist(tmp_path / "env", compress=False)
    write_fake_mnist(offline)  # the cache
    monkeypatch.setenv("MNIST_DATA_DIR", str(env_dir))
    assert sources.locate_mnist(flag_dir)[0] == flag_dir
    assert sources.locate_mnist(None)[0] == env_dir
    monkeypatch.delenv("MNIST_DATA_DIR")
    assert sources.locate_mnist(None)[0] == offline
    assert (
        sources.locate_mnist(tmp_path / "empty")[0] == offline
    )  # an empty --data-dir falls through


def test_a_folder_with_only_some_files_is_an_error(tmp_path, offline, fake_checksums):
    partial = write_fake_mnist(tmp_path / "partial", only={"train_images", "train_labels"})
    with pytest.raises(UserError, match="holds only some MNIST files .*t10k-images-idx3-ubyte"):
        sources.locate_mnist(partial)


def test_nothing_found_lists_where_it_looked_and_how_to_fix(tmp_path, offline):
    with pytest.raises(sources.MnistNotFound) as error:
        data.load_dataset("mnist", data_dir=tmp_path / "nowhere")
    message = str(error.value)
    for part in ["--data-dir", "nowhere: no such folder", "MNIST_DATA_DIR: not set", str(offline)]:
        assert part in message
    assert "set MNIST_DATA_DIR=" in message and "\n" not in message


def test_a_corrupt_file_is_an_error_not_a_fallback(tmp_path, offline, fake_checksums):
    directory = write_fake_mnist(tmp_path / "m")
    (directory / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(FAKE["test_labels"][:19]))
    )
    with pytest.raises(UserError, match="t10k-labels.*claims 19 labels|SHA-256 mismatch"):
        data.load_dataset(None, data_dir=directory)


def test_real_checksums_are_the_published_ones():
    published = sources.Path(os.environ.get("MNIST_DATA_DIR", "/nonexistent")) / "SHA256SUMS"
    if not published.exists():
        pytest.skip("no published SHA256SUMS beside the MNIST files of MNIST_DATA_DIR")
    sums = dict(reversed(line.split()) for line in published.read_text().splitlines())
    assert {name: sha for name, sha in sources.MNIST_FILES.values()} == sums


@pytest.fixture
def mirrors(tmp_path, monkeypatch):
    """Two local 'mirrors' reached through file:// URLs: one empty, one with good files."""
    monkeypatch.delenv("MNIST_NN_OFFLINE", raising=False)
    good = write_fake_mnist(tmp_path / "mirror")
    monkeypatch.setattr(
        sources, "IDX_MIRRORS", ((tmp_path / "empty").as_uri() + "/", good.as_uri() + "/")
    )
    monkeypatch.setattr(sources, "_download_from_openml", lambda directory: 1 / 0)
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
    monkeypatch.setitem(sources.MNIST_FILES, "train_labels", (name, "f" * 64))
    with pytest.raises(sources.MnistNotFound, match="SHA-256 mismatch.*OpenML mnist_784"):
        data.load_dataset("mnist")
    kept = sorted(p.name for p in offline.iterdir())
    assert f"{name}.gz" not in kept and not any(".tmp" in p for p in kept)
    assert "train-images-idx3-ubyte.gz" in kept  # what passed is kept for next time


def test_second_load_comes_from_the_decoded_cache(tmp_path, offline, fake_checksums, monkeypatch):
    directory = write_fake_mnist(tmp_path / "m")
    first = data.load_dataset("mnist", data_dir=directory)
    cached = sorted(p.name for p in (offline.parent / "decoded").iterdir())
    assert len(cached) == 4 and all(name.endswith(".npy") for name in cached)
    monkeypatch.setattr(sources, "read_idx", lambda *a, **k: 1 / 0)  # no decoding allowed now
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
