"""Many runs at once: a grid or a random search over the declared settings, times seeds.

A sweep is a list of trials, each a few settings laid over a base configuration (a preset and any
flags) and a seed. Every trial trains through the one `Trainer`, on one BLAS thread, so a trial
gives the same numbers wherever it runs: in this process, in a local process pool (one process
per core, the default), or on a Dask cluster. Each worker loads the data once and keeps it.

Each finished trial is appended to `trials.jsonl` as one line, written and flushed at once, so
Ctrl-C or a crash loses only the trials under way; running the same sweep again skips every
finished trial. After each trial the summary is rewritten (atomically): `sweep.csv` and
`sweep.json`, one row per combination of settings with the mean and standard deviation over the
seeds of the held-out accuracy, the test accuracy (measured once per trial, at its end) and the
training seconds; and `sweep.png`. Choose on the held-out column: the test column is for
reporting the chosen row, once.
"""

import csv
import io
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_nn.config import TrainConfig, check, flag, kind, settings, with_settings
from mnist_nn.errors import UserError
from mnist_nn.saving.files import atomic_write

TRIALS_FILE, SUMMARY_CSV, SUMMARY_JSON, PICTURE = (
    "trials.jsonl",
    "sweep.csv",
    "sweep.json",
    "sweep.png",
)
MAX_TRIALS = 10_000
LAYER_SEPARATOR = "+"  # hidden_sizes=128,256+128: one layer of 128, or two of 256 and 128


# --- what to run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    settings: tuple  # ((name, value), ...): the swept settings of this trial, in sweep order
    seed: int
    label: str = ""  # a name for its settings (a row of `replicate`), if they have one

    @property
    def key(self) -> str:
        """The trial's identity in the results file: its label, settings and seed."""
        identity = {"label": self.label} if self.label else {}
        identity.update(settings=dict(self.settings), seed=self.seed)
        return json.dumps(identity, default=list)


def setting_named(name: str):
    """The declared setting `name` (learning_rate, or its flag's spelling: lr, learning-rate)."""
    wanted = name.strip().lstrip("-").replace("-", "_")
    for option in settings("cli").values():
        if wanted in (option.name, flag(option).lstrip("-").replace("-", "_")):
            return option
    names = ", ".join(sorted(settings("cli")))
    raise UserError(f"{name!r} is not a setting (sweepable settings: {names})")


def parse_value(option, text: str):
    """One value of a setting as the command line would take it, checked against its limits."""
    text = text.strip()
    convert = kind(option)
    try:
        if option.metadata["max_count"]:
            value = tuple(int(part) for part in text.split(LAYER_SEPARATOR))
        else:
            value = convert(text)
    except ValueError:
        raise UserError(f"{option.name}={text!r}: not a value of {option.name}") from None
    problem = check(option, value)
    if problem:
        raise UserError(f"{option.name}={text}: {problem}")
    return value


def parse_grid(pairs: list[str]) -> dict[str, list]:
    """["learning_rate=0.003,0.01", "hidden_sizes=64,128"] -> {name: [values]}, in order."""
    grid = {}
    for pair in pairs:
        name, equals, values = pair.partition("=")
        if not equals or not values.strip():
            raise UserError(
                f"{pair!r}: write a setting and its values, e.g. learning_rate=0.01,0.1"
            )
        option = setting_named(name)
        if option.name in grid:
            raise UserError(f"{option.name} is swept twice")
        grid[option.name] = [parse_value(option, text) for text in values.split(",")]
    return grid


def grid_trials(grid: dict[str, list], seeds: list[int]) -> list[Trial]:
    """Every combination of the grid's values, times every seed (seeds innermost)."""
    names = list(grid)
    check_count(math.prod(len(values) for values in grid.values()) * len(seeds))  # before listing
    combinations = itertools.product(*(grid[name] for name in names))
    return [
        Trial(tuple(zip(names, values, strict=True)), seed)
        for values in combinations
        for seed in seeds
    ]


@dataclass
class Range:
    """A random search's range for one setting: low:high (log-uniform when it spans a factor of
    10 or more above zero, as learning rates should be drawn; whole numbers rounded), or a list
    of choices."""

    option: object
    low: float | None = None
    high: float | None = None
    choices: list = field(default_factory=list)

    def draw(self, rng: np.random.Generator):
        if self.choices:
            return self.choices[rng.integers(len(self.choices))]
        if self.low > 0 and self.high / self.low >= 10:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        if kind(self.option) is int:
            return round(value)
        return float(f"{value:.3g}")  # a readable value: 0.00347, not 0.0034712345


def parse_ranges(pairs: list[str]) -> dict[str, Range]:
    ranges = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not text.strip():
            raise UserError(f"{pair!r}: write a setting and a range or choices, e.g. "
                            "learning_rate=0.001:0.1 or activation=relu,tanh")  # fmt: skip
        option = setting_named(name)
        if ":" in text and not option.metadata["max_count"] and option.metadata["choices"] is None:
            low, high = (parse_value(option, part) for part in text.split(":", 1))
            if not low < high:
                raise UserError(f"{option.name}={text}: the range's low end must be below its high")
            ranges[option.name] = Range(option, low, high)
        else:
            ranges[option.name] = Range(
                option, choices=[parse_value(option, t) for t in text.split(",")]
            )
    return ranges


def random_trials(ranges: dict[str, Range], count: int, seeds: list[int], draw_seed: int):
    """`count` draws of every range, times every seed. The draws come from `draw_seed` (the
    sweep's --seed): the same command draws the same trials, so a rerun resumes the sweep."""
    check_count(count * len(seeds))
    rng = np.random.default_rng(draw_seed)
    trials = []
    for _ in range(count):
        drawn = tuple((name, ranges[name].draw(rng)) for name in ranges)
        trials += [Trial(drawn, seed) for seed in seeds]
    return trials


def check_count(count: int) -> None:
    if not 1 <= count <= MAX_TRIALS:
        raise UserError(f"{count:,} trials: a sweep runs 1 to {MAX_TRIALS:,}; sweep fewer values")


def trial_config(base: TrainConfig, trial: Trial) -> TrainConfig:
    return with_settings(base, {**dict(trial.settings), "seed": trial.seed})


# --- where trials run --------------------------------------------------------------------------


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

    from mnist_nn.train.loop import train

    config = trial_config(TrainConfig(**base), trial)
    row = {
        "key": trial.key,
        "label": trial.label,
        "settings": {name: _plain(value) for name, value in trial.settings},
        "seed": trial.seed,
    }
    try:
        with threadpool_limits(1, user_api="blas"):
            result = train(config, dataset_for(spec))
    except UserError as error:  # e.g. a learning rate too large: it stopped learning
        return {**row, "stopped": str(error), "val_accuracy": None,
                "test_accuracy": None, "seconds": None, "epochs": None}  # fmt: skip
    return {
        **row,
        "val_accuracy": result.history[-1].get("val_accuracy"),
        "test_accuracy": result.test_accuracy,
        "seconds": result.training_seconds,
        "epochs": len(result.history),
    }


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


class LocalPool:
    """One process per core (or `workers`), each with one BLAS thread. Started fresh ("spawn"):
    a fork of a process whose BLAS threads are running can hang."""

    def __init__(self, workers: int | None = None):
        import multiprocessing

        self.workers = workers or os.cpu_count() or 1
        self.name = f"a local pool of {self.workers} processes"
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(self.workers, initializer=_start_worker)

    def run(self, base, trials, spec):
        work = [(base, trial, spec) for trial in trials]
        yield from self.pool.imap_unordered(_run_packed, work)

    def close(self):
        # Finished trials are kept already; trials under way (after Ctrl-C) are given up.
        self.pool.terminate()
        self.pool.join()


class DaskCluster:
    """Trials as tasks of a Dask distributed cluster: the one at `scheduler`
    (tcp://HOST:8786), or a local cluster of `workers` processes started here. Each worker
    needs mnist-nn installed and the data where `--data-dir` (or its own $MNIST_DATA_DIR or
    cache) says."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UserError(
                "Dask is not installed: pip install 'mnist-nn[cluster]' (or run without "
                "--scheduler and --dask-workers, on a local process pool)"
            ) from None
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="10s")
            except OSError as error:
                raise UserError(
                    f"could not reach the Dask scheduler at {scheduler}: {error}"
                ) from None
            self.name = f"the Dask cluster at {scheduler}"
        else:
            workers = workers or os.cpu_count() or 1
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)
            self.name = f"a local Dask cluster of {workers} workers"

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


# --- the results, kept as they come ----------------------------------------------------------


class Results:
    """`trials.jsonl` in `folder`: the finished trials, one JSON line each, appended as each
    finishes; and the summary files, rewritten from them."""

    def __init__(self, folder: Path, description: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / TRIALS_FILE
        self._lock()
        self.description = description
        self.rows = self._read()

    def _lock(self) -> None:
        """One sweep at a time per folder: a second one would run the same trials twice."""
        import fcntl

        self._lock_file = open(self.folder / ".lock", "w")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise UserError(
                f"another sweep is writing to {self.folder}: wait for it, or choose another --out"
            ) from None

    def close(self) -> None:
        self._lock_file.close()  # and with it, the lock

    def _read(self) -> list[dict]:
        if not self.path.exists():
            return []
        rows, lines = [], self.path.read_bytes().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                if number == len(lines):  # a line cut short by a crash: that trial runs again
                    break
                raise UserError(f"{self.path} line {number} is not a trial's result: "
                                "remove the file to start the sweep again") from None  # fmt: skip
            rows.append(row)
        rows = list({row.get("key", number): row for number, row in enumerate(rows)}.values())
        described = [row for row in rows if row.get("sweep")]
        if described and described[0]["sweep"] != self.description:
            raise UserError(
                f"{self.folder} holds another sweep (other settings, data or epochs): choose "
                "another --out, or remove it to start again"
            )
        return [row for row in rows if "key" in row]

    def append(self, row: dict) -> None:
        if not self.rows and not self.path.exists():
            self._write_line({"sweep": self.description})
        self._write_line(row)
        self.rows.append(row)

    def _write_line(self, row: dict) -> None:
        # One write of one whole line, flushed and synced before the next trial is counted.
        data = (json.dumps(row) + "\n").encode()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    @property
    def finished(self) -> set[str]:
        return {row["key"] for row in self.rows}


def summary(rows: list[dict], names: list[str]) -> list[dict]:
    """One row per combination of the swept settings, in the order first seen: the mean and
    standard deviation over seeds of each measured figure."""
    groups = {}
    for row in rows:
        key = json.dumps([row.get("label", ""), *(row["settings"][name] for name in names)])
        groups.setdefault(key, []).append(row)
    table = []
    for trials in groups.values():
        line = {"label": trials[0]["label"]} if trials[0].get("label") else {}
        line.update({name: trials[0]["settings"][name] for name in names})
        line["seeds"] = len(trials)
        line["stopped"] = sum(1 for t in trials if t.get("stopped"))  # diverged, or stalled
        for figure in ("val_accuracy", "test_accuracy", "seconds"):
            values = [t[figure] for t in trials if t[figure] is not None]
            line[f"{figure}_mean"] = float(np.mean(values)) if values else None
            line[f"{figure}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        table.append(line)
    return table


def write_summary(
    folder: Path, table: list[dict], names: list[str], description: dict, picture: bool = False
) -> None:
    def csv_text(file):
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(table[0]) if table else names)
        writer.writeheader()
        for line in table:
            writer.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else v
                             for k, v in line.items()})  # fmt: skip
        file.write(text.getvalue().encode())

    atomic_write(folder / SUMMARY_CSV, csv_text)
    data = json.dumps({"sweep": description, "rows": table}, indent=1).encode()
    atomic_write(folder / SUMMARY_JSON, lambda file: file.write(data))
    if picture and table:
        from mnist_nn.evaluate.plots import plot_sweep

        figure = plot_sweep(table, names)
        atomic_write(folder / PICTURE, lambda file: figure.savefig(file, format="png", dpi=100))


def format_table(table: list[dict], names: list[str]) -> str:
    """The summary as text: mean ± std over seeds."""

    def both(line, figure, scale, digits):
        mean, std = line[f"{figure}_mean"], line[f"{figure}_std"]
        if mean is None:
            return "-"
        return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"

    header = [*names, "seeds", "held-out %", "test %", "seconds"]
    lines = [
        [*(" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in
           (line[name] for name in names)),
         f"{line['seeds']}" + (f" ({line['stopped']} stopped)" if line["stopped"] else ""),
         both(line, "val_accuracy", 100, 2),
         both(line, "test_accuracy", 100, 2), both(line, "seconds", 1, 1)]
        for line in table
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     for row in [header, *lines])  # fmt: skip


# --- the whole sweep -----------------------------------------------------------------------------


def run_sweep(base: TrainConfig, trials: list[Trial], spec: DataSpec, folder: Path, executor,
              names: list[str], progress: bool = True, on_result=None) -> list[dict]:  # fmt: skip
    """Run every trial not already in `folder`'s results on `executor`, keeping each as it
    finishes; the summary table at the end (also when interrupted: of the trials done)."""
    from tqdm import tqdm

    description = {
        "base": json.loads(json.dumps(base.to_dict(), default=list)),
        "data": {"name": spec.name, "val_size": spec.val_size},
        "swept": names,
    }
    results = Results(folder, description)
    to_run = [trial for trial in trials if trial.key not in results.finished]
    bar = tqdm(total=len(trials), initial=len(trials) - len(to_run), unit="trial",
               disable=not progress, desc="sweep")  # fmt: skip
    order = {trial.key: number for number, trial in enumerate(trials)}

    def table_so_far():  # in the trials' order, whatever order they finished in
        done = sorted((r for r in results.rows if r["key"] in order), key=lambda r: order[r["key"]])
        return summary(done, names)

    try:
        for row in executor.run(base.to_dict(), to_run, spec):
            results.append(row)
            bar.update(1)
            if on_result is not None:
                on_result(row)
            write_summary(folder, table_so_far(), names, description)
    finally:
        bar.close()
        table = table_so_far()
        write_summary(folder, table, names, description, picture=bool(names))
        results.close()
    return table
