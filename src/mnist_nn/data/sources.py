"""Where the MNIST files come from: a folder, the cache, or a download; each file verified.

The first place holding all four files wins:
    1. `--data-dir DIR`           2. the environment variable MNIST_DATA_DIR
    3. the user cache, $XDG_CACHE_HOME/mnist-nn/mnist (default ~/.cache/mnist-nn/mnist)
    4. a download into that cache: the IDX mirrors below, then OpenML's `mnist_784` through
       scikit-learn (skipped when MNIST_NN_OFFLINE=1).
Every file is checked against the published SHA-256 of its decompressed bytes; decoded arrays are
kept as `.npy` files beside the cache, so a second run loads in milliseconds.
What the arrays become (splits, one-hot targets, the offline fallback) is `dataset.py`'s business.
"""

import hashlib
import os
import sys
import urllib.request
import warnings
from pathlib import Path

import numpy as np

from mnist_nn.data.idx import idx_bytes, idx_sha256, read_idx
from mnist_nn.errors import UserError
from mnist_nn.saving.files import atomic_write

# name of each canonical file -> SHA-256 of its decompressed bytes (as published; see SHA256SUMS).
MNIST_FILES = {
    "train_images": (
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train_labels": (
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "test_images": (
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
# Mirrors of the gzipped IDX files: the one torchvision uses, then the one TensorFlow uses.
IDX_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DOWNLOAD_TIMEOUT_SECONDS = 30
HOW_TO_GET_MNIST = (
    "set MNIST_DATA_DIR=/path/to/mnist or pass --data-dir DIR "
    "(a folder with the four MNIST IDX files, gzipped or not)"
)


class MnistNotFound(UserError):
    """MNIST is neither on this machine nor downloadable; `looked` says where it was sought."""

    def __init__(self, looked: list[str]):
        self.looked = looked
        super().__init__(f"MNIST not found (looked at: {'; '.join(looked)}); {HOW_TO_GET_MNIST}")


def cache_dir() -> Path:
    """Where downloads go: $XDG_CACHE_HOME/mnist-nn/mnist, by default ~/.cache/mnist-nn/mnist."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist-nn" / "mnist"


def _find_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def locate_mnist(data_dir=None) -> tuple[Path | None, list[str]]:
    """The first place holding all four MNIST files (or None), and a note of each place looked at.

    A folder named explicitly (`--data-dir`, MNIST_DATA_DIR) that holds only some of the files is
    an error: silently using another copy would hide the user's mistake.
    """
    places = []
    if data_dir is not None:
        places.append(("--data-dir", Path(data_dir)))
    env_dir = os.environ.get("MNIST_DATA_DIR")
    if env_dir:
        places.append(("MNIST_DATA_DIR", Path(env_dir)))
    looked = [] if env_dir else ["MNIST_DATA_DIR: not set"]
    places.append(("cache", cache_dir()))
    for label, directory in places:
        names = [name for name, _ in MNIST_FILES.values()]
        missing = [name for name in names if _find_file(directory, name) is None]
        if not missing:
            return directory, looked
        if label != "cache" and len(missing) < len(names):
            raise UserError(
                f"{label} {directory} holds only some MNIST files (missing: {', '.join(missing)}); "
                "put all four there"
            )
        state = "no such folder" if not directory.is_dir() else "no MNIST files there"
        looked.append(f"{label} {directory}: {state}")
    return None, looked


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _download_file(url: str, destination: Path, sha256: str) -> None:
    """Fetch `url` to `destination`; it appears there only once its checksum has passed."""
    from tqdm import tqdm

    _say(f"downloading {url}")
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
        total = int(response.headers.get("Content-Length") or 0) or None

        def copy(out):
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=destination.name,
                disable=not sys.stderr.isatty(),
            ) as progress:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    progress.update(len(chunk))

        atomic_write(destination, copy, check=lambda path: read_idx(path, expected_sha256=sha256))


def _download_from_openml(directory: Path) -> None:
    """OpenML's `mnist_784` (the same 70,000 images, first 60,000 the training set) as IDX files."""
    from sklearn.datasets import fetch_openml

    _say("downloading mnist_784 from OpenML through scikit-learn")
    with warnings.catch_warnings():  # its "retrying..." warnings; a failure is reported anyway
        warnings.simplefilter("ignore")
        bunch = fetch_openml(
            "mnist_784",
            version=1,
            as_frame=False,
            parser="liac-arff",
            data_home=directory.parent / "openml",
            n_retries=1,
            delay=0.5,
        )
    images = bunch.data.astype(np.uint8).reshape(-1, 28, 28)
    labels = bunch.target.astype(np.uint8)
    arrays = {
        "train_images": images[:60000],
        "train_labels": labels[:60000],
        "test_images": images[60000:],
        "test_labels": labels[60000:],
    }
    for key, (name, sha256) in MNIST_FILES.items():
        atomic_write(
            directory / name,
            lambda file, array=arrays[key]: file.write(idx_bytes(array)),
            check=lambda path, sha256=sha256: read_idx(path, expected_sha256=sha256),
        )


def download_mnist(directory: Path) -> None:
    """Download the missing MNIST files into `directory`, trying each mirror, then OpenML."""
    if os.environ.get("MNIST_NN_OFFLINE") == "1":
        raise MnistNotFound(["download: skipped (MNIST_NN_OFFLINE=1)"])
    directory.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in IDX_MIRRORS:
        try:
            for name, sha256 in MNIST_FILES.values():
                if _find_file(directory, name) is None:
                    _download_file(f"{mirror}{name}.gz", directory / f"{name}.gz", sha256)
            return
        except (OSError, UserError) as error:  # unreachable, timed out, or a bad file
            failures.append(f"{mirror}: {getattr(error, 'reason', error)}")
    try:
        _download_from_openml(directory)
    except Exception as error:  # noqa: BLE001 - any failure of the last mirror is reported, not raised
        failures.append(f"OpenML mnist_784: {getattr(error, 'reason', error)}")
        raise MnistNotFound(["download failed (" + "; ".join(failures) + ")"]) from None


def decoded_cache_path(source: Path) -> Path:
    """Where the decoded array of an IDX file is kept: named after the file's path, size and
    modification time, so a changed file is decoded (and verified) again."""
    stat = source.stat()
    identity = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    key = hashlib.sha256(identity).hexdigest()[:16]
    return cache_dir().parent / "decoded" / f"{source.name.split('.')[0]}-{key}.npy"


def read_verified(path: Path, sha256: str) -> np.ndarray:
    """An IDX file's verified array, through a cache of decoded `.npy` files.

    Gunzipping and parsing MNIST takes about a second; the cached array is memory-mapped
    instead, and checked against the same published SHA-256 (hashing it costs a tenth of that),
    so a damaged or planted cache file is never trusted. A cache that cannot be written (a
    read-only home) or read is simply not used; older entries for the same file are removed.
    """
    cached = decoded_cache_path(path)
    try:
        array = np.load(cached, mmap_mode="r", allow_pickle=False)
        if array.dtype == np.uint8 and idx_sha256(array) == sha256:
            return array
    except (OSError, ValueError):
        pass  # not cached yet, or damaged: decode again
    array = read_idx(path, expected_sha256=sha256)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, lambda file: np.save(file, array))
        for stale in cached.parent.glob(f"{cached.name.rsplit('-', 1)[0]}-*.npy"):
            if stale != cached:
                stale.unlink(missing_ok=True)  # the same file's earlier versions
    except (OSError, UserError):
        pass
    return array


def load_mnist_arrays(data_dir=None) -> tuple[dict[str, np.ndarray], str]:
    """The four verified MNIST arrays (uint8) and where they came from."""
    directory, looked = locate_mnist(data_dir)
    if directory is None:
        try:
            download_mnist(cache_dir())
            directory = cache_dir()
        except MnistNotFound as error:
            raise MnistNotFound(looked + error.looked) from None
    arrays = {
        key: read_verified(_find_file(directory, name), sha256)
        for key, (name, sha256) in MNIST_FILES.items()
    }
    return arrays, str(directory)
