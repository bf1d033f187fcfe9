"""Shared fixtures: real MNIST when MNIST_DATA_DIR points at it, and an offline, empty world."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def main_py() -> Path:
    """The project's `main.py`."""
    return Path(__file__).resolve().parents[1] / "main.py"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder of the real MNIST files; tests that need it skip, saying why, when it is unset."""
    value = os.environ.get("MNIST_DATA_DIR")
    if not value:
        pytest.skip("real MNIST needed: set MNIST_DATA_DIR=../shared/data/mnist (CI does)")
    directory = Path(value).resolve()
    if not directory.is_dir():
        pytest.skip(f"MNIST_DATA_DIR={value} is not a folder")
    return directory


@pytest.fixture
def offline(tmp_path, monkeypatch) -> Path:
    """No MNIST anywhere, no downloads: an empty cache, MNIST_DATA_DIR unset. Returns the cache."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_NN_OFFLINE", "1")
    return tmp_path / "cache" / "mnist-nn" / "mnist"
