"""The `fast` preset: against the same network and recipe in PyTorch, and with each of its
ingredients removed in turn; write benchmarks/fast.md.

    python -m benchmarks.fast [--seeds 3] [--threads 2 1] [--skip-ablation]

1. The whole run, as a user runs it: `mnist-nn train --preset fast`, in a child process, timed
   from start to exit (data loading and the test included).
2. The same network and recipe in PyTorch (CPU): the layers of `peers.torch_stack`, Adam at the
   same learning rate on the same summed gradient (cross-entropy summed over the batch), the
   project's one-cycle schedule set before every step as our loop sets it, the same shifted
   batches (our `augment`, so both pay for the same warp), the same epochs, on all 60,000
   training images, then the test set once. Ours trains through the one training loop. Both run
   with the same threads: two (this machine's cores), then one. Seconds are those of the
   mini-batches (the test and data loading excluded), for both.
3. The ablation: the recipe with one ingredient removed at a time, `--seeds` seeds each, held-out
   accuracy on 5,000 images kept out of the training set (a sweep on a local pool: one BLAS
   thread per trial), mean ± std over seeds.
4. Where an epoch of ours goes (two threads): each layer's passes, and inside the convolutions
   im2col, the matrix products and the rest (`convolution.where_the_time_goes`).

Nothing here asserts a time: it measures and reports. PyTorch appears when installed
(`pip install -e '.[bench]'`).
"""

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks import peers
from benchmarks.convolution import profile_table, where_the_time_goes
from benchmarks.timing import machine, run_process
from mnist_nn.data.augment import augment
from mnist_nn.data.dataset import load_dataset
from mnist_nn.experiments.executors import DataSpec, LocalPool
from mnist_nn.experiments.sweeps import run_sweep
from mnist_nn.experiments.trials import Trial
from mnist_nn.nn.losses import one_hot
from mnist_nn.nn.optimizers import SCHEDULES
from mnist_nn.presets import PRESETS
from mnist_nn.train.loop import Trainer, augmenting

HERE = Path(__file__).resolve().parent
FAST = PRESETS["fast"]
ABLATED = ["layers", "lr_schedule", "augment_shift"]  # every ablation trial sets all three


def ours(config, dataset) -> dict:
    """The preset through the one training loop: seconds of each epoch, test accuracy."""
    trainer = Trainer(config, dataset.train.images.shape[1], dataset.classes)
    result = trainer.fit(dataset)
    return {
        "epochs": [record["seconds"] for record in result.history],
        "test_accuracy": result.test_accuracy,
    }


def theirs(config, dataset, threads: int) -> dict:
    """The same network and recipe in PyTorch, autograd for the gradients."""
    import torch

    torch.manual_seed(config.seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(config.seed)
    model = peers.torch_stack(config.layers, dataset.classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)  # β, ε as ours
    loss = torch.nn.CrossEntropyLoss(reduction="sum")  # summed over the batch, as ours
    images, labels = dataset.train.images, torch.from_numpy(dataset.train.labels.astype(np.int64))
    count, size, epochs = len(images), config.batch_size, []
    for epoch in range(config.epochs):
        model.train()
        start = time.perf_counter()
        order = rng.permutation(count)
        for first in range(0, count, size):
            done = (epoch + first / count) / config.epochs  # the fraction our loop computes
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate * SCHEDULES[config.lr_schedule](done)
            batch = order[first : first + size]
            x = images[batch]
            if augmenting(config):
                x = augment(x, rng, config.augment_shift)
            optimizer.zero_grad(set_to_none=True)
            loss(model(torch.from_numpy(x).view(-1, 1, 28, 28)), labels[batch]).backward()
            optimizer.step()
        epochs.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        test = torch.from_numpy(dataset.test.images).view(-1, 1, 28, 28)
        predicted = np.concatenate([model(part).argmax(1).numpy() for part in test.split(1000)])
    return {"epochs": epochs, "test_accuracy": float(np.mean(predicted == dataset.test.labels))}


def head_to_head(threads_list: list[int]) -> list[str]:
    """Rows of the comparison table: per epoch, whole training, test accuracy, each side."""
    dataset = load_dataset("mnist")
    rows = []
    for threads in threads_list:
        with threadpool_limits(threads, user_api="blas"):
            runs = {"mnist-nn": ours(FAST, dataset)}
        if peers.TorchTrainer.available():
            time.sleep(0.5)  # let OpenBLAS's threads go to sleep before PyTorch's start
            runs["PyTorch"] = theirs(FAST, dataset, threads)
        for name, run in runs.items():
            seconds = run["epochs"]
            rows.append(
                f"| {name} | {threads} | {np.median(seconds):.2f} | {sum(seconds):.1f} "
                f"| {run['test_accuracy']:.2%} |"
            )
            print(rows[-1], flush=True)
    return rows


def ablation_trials(seeds: int) -> list[Trial]:
    """The recipe, then the recipe with each ingredient removed in turn, labelled."""
    narrow = FAST.layers.replace("conv16", "conv8").replace("conv32", "conv16")
    recipe = {"layers": FAST.layers, "lr_schedule": FAST.lr_schedule,
              "augment_shift": FAST.augment_shift}  # fmt: skip
    variants = {
        "the fast recipe": {},
        "without batch norm": {"layers": FAST.layers.replace(" bn", "")},
        "cosine instead of one-cycle": {"lr_schedule": "cosine"},
        "half the filters (the cnn preset's 8 and 16)": {"layers": narrow},
    }
    if FAST.augment_shift:
        variants["no shifted digits"] = {"augment_shift": 0.0}
    return [
        Trial(tuple({**recipe, **removed}.items()), seed, label)
        for label, removed in variants.items()
        for seed in range(seeds)
    ]


def ablation(seeds: int, folder: Path) -> list[str]:
    """Rows of the ablation table, from a sweep of the labelled trials (resumable in `folder`)."""
    pool = LocalPool(None, seeds * 5)
    try:
        table = run_sweep(replace(FAST, val_size=5000), ablation_trials(seeds),
                          DataSpec("mnist", None, 5000), folder, pool, ABLATED)  # fmt: skip
    finally:
        pool.close()
    rows = []
    for line in table:
        held_out = (
            f"{100 * line['val_accuracy_mean']:.2f} ± {100 * line['val_accuracy_std']:.2f}"
            if line["val_accuracy_mean"] is not None
            else "stopped"
        )
        stopped = f" ({line['stopped']} of {line['seeds']} stopped)" if line["stopped"] else ""
        seconds = line["seconds_mean"]
        rows.append(
            f"| {line['label']} | {held_out}{stopped} | {seconds:.0f} ± {line['seconds_std']:.0f} |"
            if seconds is not None
            else f"| {line['label']} | {held_out}{stopped} | |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds of each ablation row")
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--skip-ablation", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "fast.md")
    parser.add_argument("--sweep", type=Path, default=Path("sweep-fast-ablation"),
                        help="the ablation's results folder (run again to continue)")  # fmt: skip
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:  # its model and pictures are not kept
        whole, megabytes = run_process(["mnist-nn", "train", "--preset", "fast", "--out", folder])
    print(f"mnist-nn train --preset fast: {whole:.1f} s from start to exit", flush=True)
    comparison = head_to_head(args.threads)
    lines = [
        "# The fast preset",
        "",
        "Written by `python -m benchmarks.fast`.",
        "",
        *machine(),
        "",
        f"The preset: `{FAST.describe()}`.",
        "",
        f"`mnist-nn train --preset fast`, start to exit (data loading and the test included): "
        f"{whole:.1f} s, {megabytes} MB at most.",
        "",
        "## The same network and recipe in PyTorch",
        "",
        "Seconds of training (mini-batches only), on all 60,000 training images; test accuracy "
        "measured once at the end.",
        "",
        "| | threads | s/epoch (median) | s of training | test accuracy |",
        "|---|---|---|---|---|",
        *comparison,
    ]
    if peers.TorchTrainer.available():
        import torch

        lines += ["", f"PyTorch {torch.__version__} (CPU)."]
    dataset = load_dataset("mnist")
    trainer = Trainer(FAST, 784, 10)
    parts = where_the_time_goes(trainer, dataset.train, one_hot(dataset.train.labels))
    lines += ["", *profile_table(parts)]
    if not args.skip_ablation:
        lines += [
            "",
            f"## Each ingredient removed in turn ({args.seeds} seeds)",
            "",
            "Held out: 5,000 images kept out of the training set; one BLAS thread per trial, two "
            "trials at a time (so each trial's seconds are longer than a lone run's).",
            "",
            "| recipe | held-out accuracy % | seconds of training |",
            "|---|---|---|",
            *ablation(args.seeds, args.sweep),
        ]
    args.out.write_text("\n".join([*lines, ""]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
