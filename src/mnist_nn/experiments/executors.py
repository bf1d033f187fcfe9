"""Where a sweep's trials run: in this process, in a local pool of processes (one per core, the
default), or on a Dask cluster. Every trial trains on one BLAS thread, so it gives the same
numbers wherever it runs; each worker loads the data once and keeps it.
"""

import os
import re
from dataclasses import dataclass

from mnist_nn.config import TrainConfig
from mnist_nn.errors import UserError
from mnist_nn.experiments.trials import Trial, measure, trial_config


@dataclass(frozen=True)
class DataSpec:
    """Which data every worker loads (once) for itself: nothing large travels with a trial."""

    name: str | None
    data_dir: str | None
    val_size: int
    dtype: str = "float32"


_LOADED = {}  # DataSpec -> Dataset, in each worker process


def dataset_for(spec: DataSpec):
    from mnist_nn.data.dataset import load_dataset

    if spec not in _LOADED:
        _LOADED.clear()  # one dataset per worker at a time
        _LOADED[spec] = load_dataset(spec.name, spec.data_dir, spec.dtype, spec.val_size)
    return _LOADED[spec]


def run_trial(base: dict, trial: Trial, spec: DataSpec) -> dict:
    """Train one trial, on one BLAS thread, and say how it went. Runs in whichever process the
    executor chose; everything it needs comes in its arguments (all small)."""
    from threadpoolctl import threadpool_limits

    row = {
        "key": trial.key,
        "label": trial.label,
        "settings": {name: _plain(value) for name, value in trial.settings},
        "seed": trial.seed,
    }
    try:
        with threadpool_limits(1, user_api="blas"):
            measured = measure(trial_config(TrainConfig(**base), trial), dataset_for(spec))
    except UserError as error:  # e.g. a learning rate too large: it stopped learning
        return {**row, "stopped": str(error), "val_accuracy": None,
                "test_accuracy": None, "seconds": None, "epochs": None}  # fmt: skip
    measured.pop("history")
    return {**row, **measured}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _start_worker() -> None:
    """A pool worker: one BLAS thread, and Ctrl-C left to the parent (which stops the pool)."""
    import signal

    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(1, user_api="blas")


def _run_packed(arguments: tuple) -> dict:
    return run_trial(*arguments)


class Sequential:
    """Every trial in this process, one after another (for comparing, and for small sweeps)."""

    name = "this process"

    def run(self, base, trials, spec):
        for trial in trials:
            yield run_trial(base, trial, spec)

    def close(self):
        pass


def pool_size(asked: int | None, trials: int | None = None) -> tuple[int, str]:
    """How many worker processes to start, and why if fewer than `asked`: one per core by
    default, never more than this machine's cores (each trial uses one fully) nor than there are
    `trials` to run (an idle process only costs memory)."""
    cores = os.cpu_count() or 1
    size = max(1, min(asked or cores, cores, trials or cores))
    if asked is None or size == asked:
        return size, ""
    why = f"this machine has {cores} cores" if size == cores else f"{trials} to run"
    return size, f" (of the {asked:,} asked: {why})"


class LocalPool:
    """One process per core (or `workers`, up to the cores and the `trials` to run), each with
    one BLAS thread. Started fresh ("spawn"): a fork of a process whose BLAS threads are running
    can hang."""

    def __init__(self, workers: int | None = None, trials: int | None = None):
        import multiprocessing

        self.workers, why = pool_size(workers, trials)
        self.name = f"a local pool of {self.workers} process{'es' * (self.workers > 1)}{why}"
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(self.workers, initializer=_start_worker)

    def run(self, base, trials, spec):
        work = [(base, trial, spec) for trial in trials]
        yield from self.pool.imap_unordered(_run_packed, work)

    def close(self):
        # Finished trials are kept already; trials under way (after Ctrl-C) are given up.
        self.pool.terminate()
        self.pool.join()


# tcp://HOST:PORT or tls://HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 one.
SCHEDULER_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d{1,5})")


def check_scheduler_address(address: str) -> None:
    """A UserError unless `address` is a Dask scheduler's network address with a port."""
    match = SCHEDULER_ADDRESS.fullmatch(address)
    if match is None or not 1 <= int(match[3]) <= 65535:
        shown = address if len(address) <= 60 else address[:57] + "..."
        raise UserError(
            f"{shown!r} is not a Dask scheduler's address: give one such as tcp://HOST:8786 "
            "(the address `dask scheduler` prints)"
        )


class DaskCluster:
    """Trials as tasks of a Dask distributed cluster: the one at `scheduler`
    (tcp://HOST:8786), or a local cluster of `workers` processes started here. Each worker
    needs mnist-nn installed and the data where `--data-dir` (or its own $MNIST_DATA_DIR or
    cache) says."""

    def __init__(
        self, scheduler: str | None = None, workers: int | None = None, trials: int | None = None
    ):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UserError(
                "Dask is not installed: pip install 'mnist-nn[cluster]' (or run without "
                "--scheduler and --dask-workers, on a local process pool)"
            ) from None
        self.cluster = None
        if scheduler:
            check_scheduler_address(scheduler)
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, ValueError) as error:
                raise UserError(
                    f"could not reach the Dask scheduler at {scheduler}: {error}"
                ) from None
            self.name = f"the Dask cluster at {scheduler}"
        else:
            workers, why = pool_size(workers, trials)
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)
            self.name = f"a local Dask cluster of {workers} worker{'s' * (workers > 1)}{why}"

    def run(self, base, trials, spec):
        from dask.distributed import as_completed

        futures = [
            self.client.submit(run_trial, base, trial, spec, key=f"trial-{i}-{os.getpid()}",
                               pure=False)
            for i, trial in enumerate(trials)
        ]  # fmt: skip
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            self.client.cancel(futures)

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
