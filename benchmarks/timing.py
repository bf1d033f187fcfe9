"""Timing tools for the benchmarks: medians, epochs in rounds, one-thread runs, child processes,
the machine's description, and the matrix-product floor no implementation can beat."""

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits


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


SETTLE_SECONDS = 0.5


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


class MatmulFloor:
    """One epoch of the seed's five matrix products alone, into preallocated arrays: the time
    no implementation can beat with this BLAS (batches are contiguous slices: no gathering)."""

    def __init__(self, images: np.ndarray):
        rng = np.random.default_rng(0)
        self.images = images
        self.w1 = rng.random((784, 128), dtype=np.float32)
        self.w2 = rng.random((128, 10), dtype=np.float32)
        self.z1, self.z2 = np.empty((128, 128), np.float32), np.empty((128, 10), np.float32)
        self.dz1 = np.empty((128, 128), np.float32)
        self.dz2 = rng.random((128, 10), dtype=np.float32)
        self.dw1, self.dw2 = np.empty_like(self.w1), np.empty_like(self.w2)

    def epoch(self) -> None:
        w1, w2, z1, z2, dz1, dz2 = self.w1, self.w2, self.z1, self.z2, self.dz1, self.dz2
        for first in range(0, len(self.images), 128):
            x = self.images[first : first + 128]
            n = len(x)
            np.matmul(x, w1, out=z1[:n])  # X·W1
            np.matmul(z1[:n], w2, out=z2[:n])  # a1·W2
            np.matmul(dz2[:n], w2.T, out=dz1[:n])  # dz2·W2ᵀ
            np.matmul(x.T, dz1[:n], out=self.dw1)  # Xᵀ·dz1
            np.matmul(z1[:n].T, dz2[:n], out=self.dw2)  # a1ᵀ·dz2


def one_blas_thread(function):
    """`function` run with BLAS limited to one thread."""

    def limited():
        with threadpool_limits(1, user_api="blas"):
            return function()

    return limited


def in_rounds(contenders: dict, rounds: int) -> dict[str, list[float]]:
    """Seconds of one epoch of each contender, taken in turn, round after round. Each contender
    returns its epoch's seconds; the first round warms up (caches, thread pools) and is dropped."""
    seconds = {name: [] for name in contenders}
    for round_ in range(rounds + 1):
        for name, epoch in contenders.items():
            # Let the previous contender's thread pools (OpenBLAS's, PyTorch's) stop spinning and
            # sleep first, so that no contender shares a core with another one's idle threads.
            time.sleep(SETTLE_SECONDS)
            taken = epoch()
            if round_:
                seconds[name].append(taken)
            print(f"  round {round_}: {name} {taken:.3f} s", flush=True)
    return seconds


def ratio(seconds: dict, slower: str, faster: str) -> float:
    """Median over rounds of seconds[slower] / seconds[faster]."""
    return median(a / b for a, b in zip(seconds[slower], seconds[faster], strict=True))


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
