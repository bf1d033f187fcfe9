"""Measure mnist-nn's speed side by side with its peers; write benchmarks/results.md.

    python -m benchmarks.run [--repeats 5] [--skip-best]

Every figure is the median of several runs, on the same data, seed and batch size. Training epochs
are timed in rounds, one epoch of each contender in turn, and every ratio is the median of the
ratios within a round: this virtual machine's speed drifts by tens of percent over minutes, and
epochs run moments apart share the same conditions. Nothing here asserts a time: it measures and
reports. PyTorch appears when installed (`pip install -e '.[bench]'`).
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks import peers, plain_numpy
from benchmarks.lean_numpy import LeanTrainer
from benchmarks.timing import (
    MatmulFloor,
    in_rounds,
    machine,
    median,
    one_blas_thread,
    ratio,
    run_process,
    timed,
)
from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import load_dataset
from mnist_nn.nn.losses import one_hot
from mnist_nn.presets import PRESETS
from mnist_nn.train.loop import RunState, Trainer, train

HERE = Path(__file__).resolve().parent


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


def where_an_epoch_goes(dataset, targets, epochs: int) -> list[tuple[str, float]]:
    """Seconds per epoch (median) in each of our seed network's stages: every layer's forward
    and backward pass, the loss and the optimizer are wrapped in a clock; the rest of the epoch
    is the loop around them (gathering each batch, counting the correct answers)."""
    trainer = Trainer(TrainConfig())
    network, optimizer = trainer.network, trainer.optimizer
    clocks: dict[str, list[float]] = {}

    def clocked(name, function):
        clocks[name] = []

        def run(*args, **kwargs):
            start = time.perf_counter()
            result = function(*args, **kwargs)
            clocks[name][-1] += time.perf_counter() - start
            return result

        return run

    for number, layer in enumerate(network.layers, start=1):
        for step in ("forward", "backward"):
            name = f"layer {number}, {layer!r}.{step}"
            setattr(layer, step, clocked(name, getattr(layer, step)))
    network.loss = clocked(f"{network.loss!r}", network.loss)
    optimizer.step = clocked(f"{optimizer!r}.step", optimizer.step)
    epoch_seconds = []
    for _ in range(epochs + 1):  # the first epoch warms up and is dropped below
        for times in clocks.values():
            times.append(0.0)
        trainer.state = RunState()
        trainer.train_epoch(dataset.train, targets)  # the loop's own epoch, nothing around it
        epoch_seconds.append(trainer.state.epoch_seconds)
    stages = [(name, median(times[1:])) for name, times in clocks.items()]
    epoch = median(epoch_seconds[1:])
    return [*stages, ("the loop around them", epoch - sum(t for _, t in stages)), ("epoch", epoch)]


def profile_seed(dataset) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(train, TrainConfig(epochs=2), dataset)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(10)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(lines[start : start + 11])


class Report:
    """The rows of the results table: (what, figure, note), printed as they come."""

    def __init__(self):
        self.rows = []

    def __call__(self, what, figure, note=""):
        self.rows.append((what, figure, note))
        print(f"{what}: {figure} {note}", flush=True)


def measure_epochs(dataset, repeats: int, report: Report) -> dict:
    """Training epochs of every contender, in rounds; returns the trained baselines."""
    train_images, targets = dataset.train.images, one_hot(dataset.train.labels)
    rng = np.random.default_rng(0)
    floor, lean = MatmulFloor(train_images), LeanTrainer(rng)
    plain = plain_numpy.init(rng)

    def our_epoch():
        # The real thing: `train` as `python main.py` runs it, timed by its own clock, which
        # counts the mini-batches only (not building the network or testing it afterwards).
        return train(TrainConfig(epochs=1), dataset).history[0]["seconds"]

    contenders = {
        "ours": our_epoch,
        "floor": lambda: timed(floor.epoch),
        "lean": lambda: timed(lambda: lean.train_epoch(train_images, targets)),
        "lean in order": lambda: timed(
            lambda: lean.train_epoch(train_images, targets, gather=False)
        ),
        "plain": lambda: timed(lambda: plain_numpy.train_epoch(plain, train_images, targets, rng)),
        "ours, 1 thread": one_blas_thread(our_epoch),
        "floor, 1 thread": one_blas_thread(lambda: timed(floor.epoch)),
    }
    torch_trainer = None
    if peers.TorchTrainer.available():
        torch_trainer = peers.TorchTrainer(train_images, targets)
        contenders["torch"] = lambda: timed(torch_trainer.train_epoch)
    print(f"training epochs, {repeats} rounds after a warm-up round:")
    seconds = in_rounds(contenders, repeats)

    def epoch_row(what, name, comparison):
        times = seconds[name]
        report(f"{what}, s/epoch", f"{median(times):.3f}", f"(best {min(times):.3f}; {comparison})")

    epoch_row("mnist-nn seed", "ours", "15-epoch accuracy below")
    epoch_row(
        "matrix-product floor", "floor", f"ours / floor = {ratio(seconds, 'ours', 'floor'):.2f}x"
    )
    epoch_row(
        "lean NumPy loop (our NumPy calls, nothing around them)",
        "lean",
        f"lean / floor = {ratio(seconds, 'lean', 'floor'):.2f}x, "
        f"ours / lean = {ratio(seconds, 'ours', 'lean'):.2f}x",
    )
    epoch_row(
        "lean loop, batches in order (no gather)",
        "lean in order",
        f"/ floor = {ratio(seconds, 'lean in order', 'floor'):.2f}x",
    )
    epoch_row(
        "plain NumPy transcription",
        "plain",
        f"plain / ours = {ratio(seconds, 'plain', 'ours'):.2f}x",
    )
    if torch_trainer is None:
        report("PyTorch CPU, s/epoch", "not installed", "(pip install -e '.[bench]')")
    else:
        import torch

        epoch_row(
            f"PyTorch {torch.__version__} CPU",
            "torch",
            f"PyTorch / ours = {ratio(seconds, 'torch', 'ours'):.2f}x",
        )
    epoch_row(
        "matrix-product floor, one BLAS thread",
        "floor, 1 thread",
        f"one thread / two = {ratio(seconds, 'floor, 1 thread', 'floor'):.2f}x",
    )
    epoch_row(
        "mnist-nn seed, one BLAS thread",
        "ours, 1 thread",
        f"ours / floor = {ratio(seconds, 'ours, 1 thread', 'floor, 1 thread'):.2f}x; "
        f"one thread / two = {ratio(seconds, 'ours, 1 thread', 'ours'):.2f}x",
    )
    test = dataset.test
    sklearn_seconds, _ = peers.sklearn_epochs(
        train_images, dataset.train.labels, test.images, test.labels, 3
    )
    report(
        "scikit-learn MLPClassifier, s/epoch",
        f"{sklearn_seconds[0]:.3f}",
        f"(3 epochs in one fit, timed on its own: / ours = "
        f"{sklearn_seconds[0] / median(seconds['ours']):.2f}x)",
    )
    return {"plain": plain, "torch": torch_trainer, "epochs": repeats + 1}


def measure_processes(test, repeats: int, report: Report) -> None:
    """Whole `python main.py` runs and `mnist-nn predict` of one image, in their own processes."""
    with tempfile.TemporaryDirectory() as out:
        runs = [
            run_process([sys.executable, str(HERE.parent / "main.py"), "--out", out])
            for _ in range(max(1, repeats // 2))
        ]
        digit = Path(out) / "digit.png"
        Image.fromarray((test.images[0].reshape(28, 28) * 255).astype(np.uint8)).save(digit)
        predict = [
            run_process(
                [sys.executable, "-m", "mnist_nn", "predict", Path(out) / "model.npz", digit]
            )
            for _ in range(repeats)
        ]
    wall = median(seconds for seconds, _ in runs)
    report("python main.py, whole run (s)", f"{wall:.1f}", "(load, 15 epochs, pictures)")
    report("python main.py, peak memory (MB)", f"{max(rss for _, rss in runs)}", "(max RSS)")
    report(
        "mnist-nn predict, one image (s)",
        f"{median(seconds for seconds, _ in predict):.3f}",
        "(start-up, load the model, frame and read the image)",
    )
    help_times = [
        run_process([sys.executable, "-m", "mnist_nn", "--help"])[0] for _ in range(repeats)
    ]
    bare = median(run_process([sys.executable, "-c", "pass"])[0] for _ in range(repeats))
    report(
        "mnist-nn --help start-up (s)",
        f"{median(help_times):.3f}",
        f"(a bare `python -c pass` takes {bare:.3f})",
    )


def measure_loading_and_inference(test, repeats: int, report: Report) -> None:
    first_load, repeated_load = data_loading(repeats)
    report("data load, first (s)", f"{first_load:.3f}", "(gunzip, parse, verify SHA-256, cache)")
    report(
        "data load, repeated (s)",
        f"{repeated_load:.3f}",
        f"(memory-mapped cache: {first_load / repeated_load:.1f}x faster)",
    )
    network = Trainer(TrainConfig()).network
    network.scores(test.images)
    inference = median(timed(lambda: network.scores(test.images)) for _ in range(repeats))
    report(
        "inference, images/s",
        f"{len(test.images) / inference:,.0f}",
        "(test set, batches of 2048)",
    )


def measure_best_preset(dataset, report: Report) -> None:
    best = PRESETS["best"]
    result = train(TrainConfig(**{**best.to_dict(), "epochs": 3}), dataset)
    best_epoch = median(record["seconds"] for record in result.history)
    report(
        "best preset, training s/epoch",
        f"{best_epoch:.2f}",
        f"({best.epochs} epochs: about {best.epochs * best_epoch / 60:.1f} min)",
    )


def measure_seed_accuracy(dataset, baselines: dict, report: Report) -> None:
    full = train(TrainConfig(), dataset)
    test, epochs = dataset.test, baselines["epochs"]
    plain_accuracy = plain_numpy.accuracy(baselines["plain"], test.images, test.labels)
    others = f"plain after {epochs} epochs: {plain_accuracy:.2%}"
    if baselines["torch"] is not None:
        torch_accuracy = baselines["torch"].accuracy(test.images, test.labels)
        others += f", PyTorch after {epochs}: {torch_accuracy:.2%}"
    report("seed preset, 15-epoch test accuracy", f"{full.test_accuracy:.2%}", f"({others})")


def write_results(path: Path, report: Report, stages, profile: str, repeats: int) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Measured by `python -m benchmarks.run` on {time.strftime('%Y-%m-%d')}; every figure is "
        f"the median of {repeats} runs (epochs) unless it says otherwise. Training epochs "
        "were timed in rounds, one epoch of each contender in turn, and each ratio is the median "
        "of the ratios within a round (this machine's speed drifts by tens of percent in "
        "minutes).",
        "",
        *machine(),
        "",
        "| what | figure | note |",
        "|---|---|---|",
        *[f"| {what} | {figure} | {note} |" for what, figure, note in report.rows],
        "",
        "## Reading the figures",
        "",
        "- *ours / floor* is the headline ratio: our whole training step against its five matrix "
        "products alone.",
        "- The *lean loop* makes the same NumPy calls as mnist-nn (bit for bit the same results, "
        "see `tests/test_benchmarks.py`) with nothing around them. Between it and the floor lies "
        "NumPy's element-wise work (bias adds, sigmoids, the loss, the sums for db, the updates) "
        "and the gathering of each shuffled batch from memory; the in-order row leaves the "
        "gather out. Between mnist-nn and the lean loop lies what our layers, optimizer and "
        "training loop add.",
        "- BLAS spreads the matrix products over both cores; NumPy's element-wise calls run on "
        "one. The one-thread rows show the same code against a one-core floor.",
        "",
        "## Where an epoch of mnist-nn goes",
        "",
        "Each layer's passes, the loss and the optimizer timed on their own inside the real "
        f"training loop (seconds per epoch, median of {repeats} epochs):",
        "",
        "| stage | s/epoch | share |",
        "|---|---|---|",
        *[f"| {name} | {t:.3f} | {t / stages[-1][1]:.0%} |" for name, t in stages],
        "",
        "## Profile of the seed preset (2 epochs, cProfile, by own time)",
        "",
        "```",
        profile,
        "```",
        "",
    ]
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--skip-best", action="store_true", help="skip the best preset's epochs")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    if not os.environ.get("MNIST_DATA_DIR"):
        raise SystemExit("set MNIST_DATA_DIR to the folder of the MNIST files")

    dataset = load_dataset("mnist")
    report = Report()
    baselines = measure_epochs(dataset, args.repeats, report)
    measure_processes(dataset.test, args.repeats, report)
    measure_loading_and_inference(dataset.test, args.repeats, report)
    if not args.skip_best:
        measure_best_preset(dataset, report)
    measure_seed_accuracy(dataset, baselines, report)
    profile = profile_seed(dataset)
    stages = where_an_epoch_goes(dataset, one_hot(dataset.train.labels), args.repeats)
    write_results(args.out, report, stages, profile, args.repeats)


if __name__ == "__main__":
    main()
