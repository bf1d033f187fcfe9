"""Shared fixtures: real MNIST wherever `python main.py` would find it, and an offline world."""

import hashlib
import subprocess
from pathlib import Path

import pytest


def pytest_collection_modifyitems(items):
    """Each test that uses the real MNIST files is marked `mnist` (`-m "not mnist"`: the rest)."""
    for item in items:
        if "mnist_dir" in item.fixturenames:
            item.add_marker(pytest.mark.mnist)


@pytest.fixture(scope="session")
def main_py() -> Path:
    """The project's `main.py`."""
    return Path(__file__).resolve().parents[1] / "main.py"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder of the real MNIST files, found as `python main.py` finds them ($MNIST_DATA_DIR,
    then the download cache), without downloading; tests that need it skip, saying how to get it."""
    from mnist_nn.data.sources import locate_mnist

    directory, looked = locate_mnist()
    if directory is None:
        pytest.skip(
            "needs the real MNIST files: run `python main.py` once (it downloads them), or set "
            f"MNIST_DATA_DIR to a folder that holds them (looked at: {'; '.join(looked)})"
        )
    return directory.resolve()


@pytest.fixture
def offline(tmp_path, monkeypatch) -> Path:
    """No MNIST anywhere, no downloads: an empty cache, MNIST_DATA_DIR unset. Returns the cache."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_NN_OFFLINE", "1")
    return tmp_path / "cache" / "mnist-nn" / "mnist"


@pytest.fixture
def fake_checksums(monkeypatch):
    """Make the small FAKE arrays of helpers.py pass as MNIST: their names, their checksums."""
    from mnist_nn.data import sources
    from mnist_nn.data.idx import idx_bytes

    from helpers import FAKE

    files = {
        key: (name, hashlib.sha256(idx_bytes(FAKE[key])).hexdigest())
        for key, (name, _) in sources.MNIST_FILES.items()
    }
    monkeypatch.setattr(sources, "MNIST_FILES", files)
    return files


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`mnist-nn serve` of a digits model, in its own process; yields (address, port, log
    path, process id)."""
    folder = tmp_path_factory.mktemp("serve")
    from mnist_nn.cli.parser import main

    from helpers import start_serve

    argv = ["train", "--dataset", "digits", "--preset", "quick", "--epochs", "2"]
    assert main([*argv, "--out", str(folder)]) == 0
    log = folder / "serve.log"
    with open(log, "wb") as output:
        server, base, port = start_serve(folder, stdout=output, stderr=subprocess.STDOUT)
    yield base, port, log, server.pid
    server.terminate()
    server.wait(timeout=10)
