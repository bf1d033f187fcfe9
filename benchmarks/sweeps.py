"""How much faster a sweep runs on a pool than one trial after another; what Dask adds per trial.
Writes benchmarks/sweeps.md.

    python -m benchmarks.sweeps [--trials 8]

Eight trials of the seed preset (15 epochs each, seeds 0-7) on MNIST, run three ways through
`sweeps.run_sweep`: in this process one after another (one BLAS thread each, as every trial runs),
on the local pool (one process per core), and on a local Dask cluster of as many workers. A plain
loop of `train` with the machine's default BLAS threads is timed too: what one would do without
a sweep. Then the same three ways with trials that do almost nothing (one epoch of a tiny network
on 1,000 images), whose wall time is the executors' own cost per trial. Nothing here asserts a
time: it measures and reports.
"""

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.timing import machine
from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import load_dataset
from mnist_nn.experiments import executors, sweeps
from mnist_nn.experiments.trials import Trial
from mnist_nn.train.loop import train

HERE = Path(__file__).resolve().parent


def timed_ways(base, trials, spec) -> dict[str, float]:
    """Wall seconds of the trials on each executor, from starting it (its processes are part of
    a sweep's cost) to the last trial's end."""
    ways = {
        "sequence": executors.Sequential,
        "pool": executors.LocalPool,
        "dask": lambda: executors.DaskCluster(workers=os.cpu_count()),
    }
    seconds = {}
    for name, make in ways.items():
        start = time.perf_counter()
        executor = make()
        try:
            with tempfile.TemporaryDirectory() as folder:
                sweeps.run_sweep(base, trials, spec, Path(folder), executor, [], progress=False)
        finally:
            executor.close()
        seconds[name] = time.perf_counter() - start
        print(f"  {name}: {seconds[name]:.1f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--out", type=Path, default=HERE / "sweeps.md")
    args = parser.parse_args()
    cores = os.cpu_count()

    seed = TrainConfig()
    trials = [Trial((), seed_number) for seed_number in range(args.trials)]
    spec = executors.DataSpec("mnist", None, 0)
    print(f"{args.trials} seed-preset trials:")
    seconds = timed_ways(seed, trials, spec)
    dataset = load_dataset("mnist")
    start = time.perf_counter()
    for trial in trials:
        train(replace(seed, seed=trial.seed), dataset)
    seconds["loop"] = time.perf_counter() - start
    print(f"  plain loop: {seconds['loop']:.1f} s", flush=True)

    tiny = replace(seed, hidden_sizes=(8,), epochs=1, val_size=0)
    small = executors.DataSpec("digits", None, 0)
    print(f"{args.trials * 4} tiny trials (one epoch of 64-8-10 on the 1,437 digits):")
    empty = timed_ways(tiny, [trials.Trial((), n) for n in range(args.trials * 4)], small)
    per_trial = {name: 1000 * s / (args.trials * 4) for name, s in empty.items()}

    n = args.trials
    lines = [
        "# Sweeps: a pool against one trial after another, and Dask's cost per trial",
        "",
        "Written by `python -m benchmarks.sweeps`.",
        "",
        *machine(),
        "",
        f"{n} trials of the seed preset (15 epochs each, seeds 0 to {n - 1}) on MNIST:",
        "",
        "| how | wall seconds | against one after another |",
        "|---|---|---|",
        f"| plain loop of `train`, default BLAS threads | {seconds['loop']:.1f} | "
        f"{seconds['sequence'] / seconds['loop']:.2f}x faster |",
        f"| `sweep --workers 1`: in this process, one BLAS thread | {seconds['sequence']:.1f} "
        "| 1.00x |",
        f"| `sweep`: local pool of {cores} processes | {seconds['pool']:.1f} | "
        f"{seconds['sequence'] / seconds['pool']:.2f}x faster |",
        f"| `sweep --dask-workers {cores}`: local Dask cluster | {seconds['dask']:.1f} | "
        f"{seconds['sequence'] / seconds['dask']:.2f}x faster |",
        "",
        f"Against the plain loop, the pool is {seconds['loop'] / seconds['pool']:.2f}x faster.",
        "",
        f"Cost per trial of trials that do almost nothing ({n * 4} of them, starting the "
        "executor included):",
        "",
        "| how | ms per trial |",
        "|---|---|",
        *(f"| {name} | {ms:.0f} |" for name, ms in per_trial.items()),
        "",
        f"Dask adds {per_trial['dask'] - per_trial['pool']:.0f} ms per trial over the pool.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
