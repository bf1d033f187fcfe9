"""Small things several test files use."""

import gzip
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from mnist_nn.data import sources
from mnist_nn.data.dataset import Dataset, Split
from mnist_nn.data.idx import idx_bytes

# SHA-256 of the seed run's 15-epoch weights (W1, b1, W2, b2 as float32 bytes), as `python main.py`
# wrote them before the training loop was rewritten around callbacks: the seed must never drift.
# One per OpenBLAS kernel: OpenBLAS picks its kernel by processor (or by OPENBLAS_CORETYPE), and
# each adds a matrix product's terms in its own order, so 7,000 steps later the last bits differ
# (the test accuracy, 95.62%, does not).
SEED_WEIGHTS_SHA256 = {
    "Haswell": "e0874fc0420c1bd1575f87835698bcfcddaa07937c0e48ab50f0ecddeed522e0",
    "SkylakeX": "a99f57297b84b979aadc20eb3c9c45016cf4a87d605e787c3c1b9274d480b81f",
}


def seed_weights_sha256() -> str:
    """The seed run's digest on the OpenBLAS kernel numpy runs on here (skips on another)."""
    import pytest
    from threadpoolctl import threadpool_info

    kernels = [i.get("architecture") for i in threadpool_info() if i["internal_api"] == "openblas"]
    kernel = kernels[0] if kernels else "(not OpenBLAS)"
    if kernel not in SEED_WEIGHTS_SHA256:
        pytest.skip(f"no digest of the seed's weights recorded for the {kernel} kernel")
    return SEED_WEIGHTS_SHA256[kernel]


def tiny_dataset(n_train=300, n_test=100, validation=False):
    """Two well separated blobs per digit: learnable in a few epochs."""
    rng = np.random.default_rng(0)
    centres = rng.random((10, 784)).astype(np.float32)

    def split(n):
        labels = rng.integers(0, 10, n)
        noise = 0.1 * rng.standard_normal((n, 784)).astype(np.float32)
        return Split(np.clip(centres[labels] + noise, 0, 1), labels)

    val = split(50) if validation else None
    return Dataset("tiny", "generated", split(n_train), split(n_test), val)


def weights(result):
    return [p.copy() for p, _ in result.network.parameters()]


_rng = np.random.default_rng(0)
FAKE = {  # a small stand-in for MNIST's four files (tests make it pass the checksums)
    "train_images": _rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8),
    "train_labels": _rng.integers(0, 10, size=50, dtype=np.uint8),
    "test_images": _rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
    "test_labels": _rng.integers(0, 10, size=20, dtype=np.uint8),
}


def write_fake_mnist(directory, compress=True, only=None):
    directory.mkdir(parents=True, exist_ok=True)
    for key, (name, _) in sources.MNIST_FILES.items():
        if only is None or key in only:
            raw = idx_bytes(FAKE[key])
            suffix = ".gz" if compress else ""
            (directory / f"{name}{suffix}").write_bytes(gzip.compress(raw) if compress else raw)
    return directory


def start_serve(folder, *flags, stdout, stderr, preexec_fn=None):
    """`mnist-nn serve` in `folder`, in its own process, on a free port, offline; returns once
    it answers: (the process, its address, its port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "mnist_nn", "serve", "--port", str(port), *flags],
        cwd=folder,
        stdout=stdout,
        stderr=stderr,
        preexec_fn=preexec_fn,
        env={**os.environ, "MNIST_NN_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/api/train", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    return server, base, port


def base_folder(served) -> Path:
    return served[2].parent


def peak_megabytes(code: str) -> tuple[float, int, str]:
    """Run Python `code` in a fresh process: (its peak resident memory in MB, exit code, stderr)."""
    measure = (
        "import resource, subprocess, sys; "
        "done = subprocess.run([sys.executable, '-c', sys.argv[1]], "
        "capture_output=True, text=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.returncode); "
        "print(done.stderr, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", measure, code], capture_output=True, text=True)
    megabytes, code_ = result.stdout.split()
    return float(megabytes), int(code_), result.stderr


def written(width=2400, height=900) -> Image.Image:
    """A grey picture of '170' written with a thick pen, dark on white."""
    picture = Image.new("L", (width, height), 255)
    pen = ImageDraw.Draw(picture)
    pen.line([(500, 150), (500, 750)], fill=0, width=60)
    pen.line([(1100, 150), (1500, 150)], fill=0, width=60)
    pen.line([(1500, 150), (1200, 750)], fill=0, width=60)
    pen.ellipse([(1800, 150), (2200, 750)], outline=0, width=60)
    return picture


def saved(picture: Image.Image, **options) -> io.BytesIO:
    buffer = io.BytesIO()
    picture.save(buffer, **options)
    buffer.seek(0)
    return buffer


class InterruptedAfter:
    """A sweep's executor that runs trials in this process and counts them; Ctrl-C after
    `limit` of them (None: never)."""

    name = "this process"

    def __init__(self, limit=None):
        self.limit, self.ran = limit, []

    def run(self, base, trials, spec):
        from mnist_nn.experiments.executors import run_trial

        for trial in trials:
            if self.limit is not None and len(self.ran) == self.limit:
                raise KeyboardInterrupt
            self.ran.append(trial.key)
            yield run_trial(base, trial, spec)

    def close(self):
        pass
