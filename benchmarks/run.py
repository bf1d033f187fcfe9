"""Measure mnist-nn's speed side by side with its peers; write benchmarks/results.md.

    MNIST_DATA_DIR=../shared/data/mnist python benchmarks/run.py [--repeats 5] [--skip-best]

Every figure is the median of several runs, on the same data, seed and batch size. Nothing here
asserts a time: it measures and reports. PyTorch appears when installed (`pip install -e
'.[bench]'`).
"""

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
import plain_numpy  # noqa: E402

from mnist_nn.data import load_dataset, one_hot  # noqa: E402
from mnist_nn.presets import PRESETS, TrainConfig  # noqa: E402
from mnist_nn.training import train  # noqa: E402


def median(values) -> float:
    return statistics.median(values)


def machine() -> list[str]:
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = [
        f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')}, "
        f"{info.get('num_threads')} threads)"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, BLAS: {', '.join(blas)}",
        f"- OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}",
    ]


def seed_epochs(dataset, epochs: int) -> tuple[list[float], float]:
    """Training seconds of each epoch of the seed preset (the first is a warm-up), accuracy."""
    result = train(TrainConfig(epochs=epochs), dataset)
    return [record["seconds"] for record in result.history][1:], result.test_accuracy


def matmul_floor(images: np.ndarray, repeats: int) -> float:
    """One epoch of the seed's five matrix products alone, into preallocated arrays: the time
    no implementation can beat with this BLAS (batches are contiguous slices: no gathering)."""
    rng = np.random.default_rng(0)
    w1 = rng.random((784, 128), dtype=np.float32)
    w2 = rng.random((128, 10), dtype=np.float32)
    z1, z2 = np.empty((128, 128), np.float32), np.empty((128, 10), np.float32)
    dz1, dw1, dw2 = np.empty((128, 128), np.float32), np.empty_like(w1), np.empty_like(w2)
    dz2 = rng.random((128, 10), dtype=np.float32)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for first in range(0, len(images), 128):
            x = images[first : first + 128]
            n = len(x)
            np.matmul(x, w1, out=z1[:n])  # X·W1
            np.matmul(z1[:n], w2, out=z2[:n])  # a1·W2
            np.matmul(dz2[:n], w2.T, out=dz1[:n])  # dz2·W2ᵀ
            np.matmul(x.T, dz1[:n], out=dw1)  # Xᵀ·dz1
            np.matmul(z1[:n].T, dz2[:n], out=dw2)  # a1ᵀ·dz2
        times.append(time.perf_counter() - start)
    return median(times)


def plain_epochs(dataset, repeats: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    params = plain_numpy.init(rng)
    targets = one_hot(dataset.train.labels)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        plain_numpy.train_epoch(params, dataset.train.images, targets, rng)
        times.append(time.perf_counter() - start)
    return median(times), plain_numpy.accuracy(params, dataset.test.images, dataset.test.labels)


def run_process(argv, cwd=None) -> tuple[float, int]:
    """Wall seconds and peak resident memory (MB) of a command.

    It runs under a small Python parent, because a child forked from this (large) process would
    count this process's memory as its own until it execs.
    """
    measure = (
        "import resource, subprocess, sys, time; start = time.perf_counter(); "
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "print(time.perf_counter() - start, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, *map(str, argv)], cwd=cwd, capture_output=True, text=True
    )
    seconds, megabytes, code = result.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(map(str, argv))} failed: {result.stderr}")
    return float(seconds), int(megabytes)


def data_loading(repeats: int) -> tuple[float, float]:
    """Seconds of a first load (gunzip, parse, verify, cache) and of a repeated one (cache)."""
    first, again = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["XDG_CACHE_HOME"] = cache
            start = time.perf_counter()
            load_dataset("mnist")
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            load_dataset("mnist")
            again.append(time.perf_counter() - start)
    del os.environ["XDG_CACHE_HOME"]
    return median(first), median(again)


def profile_seed(dataset) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(train, TrainConfig(epochs=2), dataset)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(10)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(lines[start : start + 11])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--skip-best", action="store_true", help="skip the best preset's epochs")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    if not os.environ.get("MNIST_DATA_DIR"):
        raise SystemExit("set MNIST_DATA_DIR to the folder of the MNIST files")

    dataset = load_dataset("mnist")
    train_images, test = dataset.train.images, dataset.test
    rows = []  # (what, figure, note)

    def report(what, figure, note=""):
        rows.append((what, figure, note))
        print(f"{what}: {figure} {note}", flush=True)

    ours, our_accuracy = seed_epochs(dataset, args.repeats + 1)
    our_epoch = median(ours)
    report("mnist-nn seed, training s/epoch", f"{our_epoch:.3f}", "(15-epoch accuracy below)")
    floor = matmul_floor(train_images, args.repeats)
    report(
        "matrix-product floor, s/epoch",
        f"{floor:.3f}",
        f"(ours / floor = {our_epoch / floor:.2f}x)",
    )
    plain, plain_accuracy = plain_epochs(dataset, args.repeats)
    report(
        "plain NumPy transcription, s/epoch",
        f"{plain:.3f}",
        f"(plain / ours = {plain / our_epoch:.2f}x)",
    )
    targets = one_hot(dataset.train.labels)
    torch_result = peers.torch_epochs(
        train_images, targets, dataset.train.labels, test.images, test.labels, args.repeats + 1
    )
    if torch_result is None:
        report("PyTorch CPU, s/epoch", "not installed", "(pip install -e '.[bench]')")
    else:
        import torch

        torch_epoch = median(torch_result[0][1:])
        report(
            f"PyTorch {torch.__version__} CPU, s/epoch",
            f"{torch_epoch:.3f}",
            f"(PyTorch / ours = {torch_epoch / our_epoch:.2f}x)",
        )
    sklearn_seconds, _ = peers.sklearn_epochs(
        train_images, dataset.train.labels, test.images, test.labels, 3
    )
    report(
        "scikit-learn MLPClassifier, s/epoch",
        f"{sklearn_seconds[0]:.3f}",
        f"(scikit-learn / ours = {sklearn_seconds[0] / our_epoch:.2f}x)",
    )

    with tempfile.TemporaryDirectory() as out:
        runs = [
            run_process([sys.executable, str(HERE.parent / "main.py"), "--out", out])
            for _ in range(max(1, args.repeats // 2))
        ]
    wall = median(seconds for seconds, _ in runs)
    report("python main.py, whole run (s)", f"{wall:.1f}", "(load, 15 epochs, pictures)")
    report("python main.py, peak memory (MB)", f"{max(rss for _, rss in runs)}", "(max RSS)")

    first_load, repeated_load = data_loading(args.repeats)
    report("data load, first (s)", f"{first_load:.3f}", "(gunzip, parse, verify SHA-256, cache)")
    report(
        "data load, repeated (s)",
        f"{repeated_load:.3f}",
        f"(memory-mapped cache: {first_load / repeated_load:.1f}x faster)",
    )

    from mnist_nn.network import build_network

    network = build_network([784, 128, 10], np.random.default_rng(0))
    network.scores(test.images)
    seconds = median(_timed(lambda: network.scores(test.images)) for _ in range(args.repeats))
    report(
        "inference, images/s", f"{len(test.images) / seconds:,.0f}", "(test set, batches of 2048)"
    )

    help_times = [
        run_process([sys.executable, "-m", "mnist_nn", "--help"])[0] for _ in range(args.repeats)
    ]
    bare = median(run_process([sys.executable, "-c", "pass"])[0] for _ in range(args.repeats))
    report(
        "mnist-nn --help start-up (s)",
        f"{median(help_times):.3f}",
        f"(a bare `python -c pass` takes {bare:.3f})",
    )

    if not args.skip_best:
        best = PRESETS["best"]
        result = train(TrainConfig(**{**best.to_dict(), "epochs": 3}), dataset)
        best_epoch = median(record["seconds"] for record in result.history)
        report(
            "best preset, training s/epoch",
            f"{best_epoch:.2f}",
            f"({best.epochs} epochs: about {best.epochs * best_epoch / 60:.1f} min)",
        )

    full = train(TrainConfig(), dataset)
    report(
        "seed preset, 15-epoch test accuracy",
        f"{full.test_accuracy:.2%}",
        f"(plain transcription after {args.repeats} epochs: {plain_accuracy:.2%})",
    )
    profile = profile_seed(dataset)

    lines = [
        "# Benchmark results",
        "",
        f"Measured by `python benchmarks/run.py` on {time.strftime('%Y-%m-%d')}; every figure is "
        f"the median of {args.repeats} runs (epochs) unless it says otherwise.",
        "",
        *machine(),
        "",
        "| what | figure | note |",
        "|---|---|---|",
        *[f"| {what} | {figure} | {note} |" for what, figure, note in rows],
        "",
        "## Profile of the seed preset (2 epochs, cProfile, by own time)",
        "",
        "```",
        profile,
        "```",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
