"""The same conv net in mnist-nn and in PyTorch, side by side; write benchmarks/convolution.md.

    python -m benchmarks.convolution [--repeats 3] [--layers "conv8x5 pool conv16x5 pool dense128"]

Both train the `cnn` preset's network (ReLU, softmax cross-entropy summed over the batch, Adam,
batch 128, float32) on the 60,000 MNIST training images, with the same number of threads: two
(this machine's cores), then one (OpenBLAS limited to one thread; `torch.set_num_threads(1)`).
Epochs are timed in rounds, one of each contender in turn (see `timing.in_rounds`), and each
ratio is the median of the ratios within a round. Then one epoch of ours is taken apart: the
time of every layer's forward and backward pass, and inside the convolutions, im2col, the matrix
products and col2im. Nothing here asserts a time: it measures and reports. PyTorch appears when
installed (`pip install -e '.[bench]'`).
"""

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks import peers
from benchmarks.timing import in_rounds, machine, median, one_blas_thread, ratio
from mnist_nn.config import TrainConfig
from mnist_nn.data.dataset import load_dataset
from mnist_nn.nn import convolution
from mnist_nn.nn.losses import one_hot
from mnist_nn.presets import PRESETS
from mnist_nn.train.loop import RunState, Trainer

HERE = Path(__file__).resolve().parent


def our_trainer(layers: str) -> Trainer:
    """The `cnn` preset's settings with this stack, through the one training loop."""
    config = TrainConfig(**{**PRESETS["cnn"].to_dict(), "layers": layers, "epochs": 1})
    return Trainer(config.validated(), inputs=784, classes=10)


def our_epoch(trainer: Trainer, train, targets) -> float:
    """Seconds of one epoch of mini-batches, by the trainer's own clock."""
    trainer.state = RunState()
    trainer.train_epoch(train, targets)
    return trainer.state.epoch_seconds


class TorchConvNet:
    """The same stack in PyTorch: autograd for the gradients, `threads` CPU threads."""

    available = staticmethod(peers.TorchTrainer.available)

    def __init__(self, layers: str, images: np.ndarray, labels: np.ndarray, threads: int):
        import torch

        self.torch, self.threads = torch, threads
        torch.manual_seed(0)
        self.X = torch.from_numpy(np.ascontiguousarray(images).reshape(-1, 1, 28, 28))
        self.y = torch.from_numpy(labels.astype(np.int64))
        self.model = peers.torch_stack(layers)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.001)
        self.loss = torch.nn.CrossEntropyLoss(reduction="sum")

    def epoch(self) -> float:
        self.torch.set_num_threads(self.threads)
        start = time.perf_counter()
        order = self.torch.randperm(len(self.X))
        for first in range(0, len(self.X), 128):
            batch = order[first : first + 128]
            self.optimizer.zero_grad(set_to_none=True)
            self.loss(self.model(self.X[batch]), self.y[batch]).backward()
            self.optimizer.step()
        return time.perf_counter() - start


class Stopwatch:
    """Seconds spent in each layer's forward and backward pass, and, inside the convolutions, in
    the matrix products and im2col's copy, while an epoch runs through the one training loop.
    It wraps the methods of the network's own layers and the `np` functions the convolution
    module calls; `restore` puts everything back."""

    def __init__(self, network):
        self.seconds = defaultdict(float)
        self.undo = []
        for layer in network.layers:
            kind = type(layer).__name__
            for method in ("forward", "backward"):
                self._wrap(layer, method, f"{kind} {method}")
        self.numpy = convolution.np

        class TimedNumpy:  # the convolution module's `np`, with two functions timed
            def __getattr__(_, name):
                return getattr(self.numpy, name)

            def matmul(_, *args, **kwargs):
                return self._timed("convolution: matrix products", self.numpy.matmul, args, kwargs)

            def copyto(_, *args, **kwargs):
                return self._timed("convolution: im2col copy", self.numpy.copyto, args, kwargs)

        convolution.np = TimedNumpy()

    def _timed(self, name, function, args, kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self.seconds[name] += time.perf_counter() - start

    def _wrap(self, layer, method, name):
        original = getattr(layer, method)
        setattr(layer, method, lambda *a, **k: self._timed(name, original, a, k))
        self.undo.append((layer, method))

    def restore(self) -> None:
        convolution.np = self.numpy
        for layer, method in self.undo:
            delattr(layer, method)  # the class's own method shows through again


def where_the_time_goes(trainer: Trainer, train, targets) -> list[tuple[str, float]]:
    """(part, seconds) for one epoch: each layer kind's passes, and the convolutions' parts."""
    watch = Stopwatch(trainer.network)
    try:
        total = our_epoch(trainer, train, targets)
    finally:
        watch.restore()
    seconds = dict(watch.seconds)
    products = seconds.pop("convolution: matrix products", 0.0)
    copies = seconds.pop("convolution: im2col copy", 0.0)
    conv_passes = seconds.pop("Conv2D forward", 0.0) + seconds.pop("Conv2D backward", 0.0)
    rows = [
        ("convolution: im2col (one copy of the windows)", copies),
        ("convolution: the matrix products (z, dW, dcols)", products),
        ("convolution: col2im, bias and the rest", conv_passes - products - copies),
    ]
    rows += sorted(seconds.items(), key=lambda row: -row[1])
    rows.append(("outside the layers (loss, optimizer, batches)", total - sum(s for _, s in rows)))
    return [*rows, ("one epoch", total)]


def profile_table(parts: list[tuple[str, float]]) -> list[str]:
    """`where_the_time_goes`'s parts as a Markdown section: seconds and share of the epoch."""
    total = parts[-1][1]
    return [
        "## Where an epoch of mnist-nn goes (two threads)",
        "",
        "| part | seconds | share |",
        "|---|---|---|",
        *(f"| {part} | {seconds:.2f} | {seconds / total:.0%} |" for part, seconds in parts),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of epochs, after warm-up")
    parser.add_argument("--layers", default=PRESETS["cnn"].layers, help="the stack to compare")
    parser.add_argument("--out", type=Path, default=HERE / "convolution.md")
    args = parser.parse_args()

    dataset = load_dataset("mnist")
    train, targets = dataset.train, one_hot(dataset.train.labels)
    trainer = our_trainer(args.layers)
    contenders = {
        "ours": lambda: our_epoch(trainer, train, targets),
        "ours, 1 thread": one_blas_thread(lambda: our_epoch(trainer, train, targets)),
    }
    if TorchConvNet.available():
        import torch

        torch_version = torch.__version__
        for threads, name in ((2, "torch"), (1, "torch, 1 thread")):
            net = TorchConvNet(args.layers, train.images, train.labels, threads)
            contenders[name] = net.epoch
    print(f"{args.layers}: training epochs, {args.repeats} rounds after a warm-up round:")
    seconds = in_rounds(contenders, args.repeats)
    parts = where_the_time_goes(trainer, train, targets)

    lines = [
        "# Convolution: mnist-nn against PyTorch",
        "",
        "Written by `python -m benchmarks.convolution`; medians of "
        f"{args.repeats} rounds after a warm-up round.",
        "",
        *machine(),
        "",
        f"The network: `{args.layers}`, ReLU, softmax cross-entropy, Adam, batch 128, float32,"
        " one epoch of 60,000 MNIST images.",
        "",
        "| threads | mnist-nn, s/epoch | PyTorch, s/epoch | mnist-nn / PyTorch |",
        "|---|---|---|---|",
    ]
    for threads, ours, theirs in ((2, "ours", "torch"), (1, "ours, 1 thread", "torch, 1 thread")):
        if theirs in seconds:
            lines.append(
                f"| {threads} | {median(seconds[ours]):.2f} | {median(seconds[theirs]):.2f} "
                f"| {ratio(seconds, ours, theirs):.2f}x |"
            )
        else:
            lines.append(f"| {threads} | {median(seconds[ours]):.2f} | not installed | |")
    if "torch" in seconds:
        lines += ["", f"PyTorch {torch_version} (CPU)."]
    lines += [
        "",
        *profile_table(parts),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
