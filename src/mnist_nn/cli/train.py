"""`mnist-nn train`, `gradcheck` and `presets`: train a network and say how it went; check
backpropagation; list the named configurations.
"""

import argparse
import json
from contextlib import nullcontext
from pathlib import Path

from mnist_nn.cli.common import (
    add_data_arguments,
    add_settings,
    config_from_arguments,
    notice,
    prepare_out_dir,
    setting_choices,
)
from mnist_nn.cli.flags import value_parser
from mnist_nn.config import SETTINGS
from mnist_nn.errors import TrainingInterrupted, UserError, shown
from mnist_nn.nn.stack import LINE_LOSS, reads_lines
from mnist_nn.presets import PRESETS, describe_presets


def add_train(subcommands) -> None:
    train = subcommands.add_parser(
        "train",
        help="train a network on MNIST (the seed design unless told otherwise)",
        description="Train a network, print each epoch, and write predictions.png, metrics.json "
        "and model.npz.",
        epilog="presets:\n" + describe_presets(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_train_arguments(train)
    train.set_defaults(run=command_train)


def add_gradcheck(subcommands) -> None:
    gradcheck = subcommands.add_parser(
        "gradcheck",
        help="check backpropagation against numerical gradients",
        description="For a small network of each activation and loss, print the relative error "
        "between each parameter's backprop gradient and its central-difference estimate.",
    )
    for flag, setting in (("--activations", "activation"), ("--losses", "loss")):
        gradcheck.add_argument(
            flag,
            nargs="+",
            metavar="NAME",
            choices=setting_choices(setting),
            help=f"{flag[2:]} to check, of %(choices)s (default: all)",
        )
    gradcheck.add_argument(
        "--dropout",
        type=value_parser(SETTINGS["dropout"]),
        default=0.0,
        help="dropout rate in the networks checked, with a fixed mask (default: 0)",
    )
    gradcheck.set_defaults(run=command_gradcheck)


def add_presets(subcommands) -> None:
    presets = subcommands.add_parser("presets", help="list the named configurations")
    presets.add_argument("--json", action="store_true", help="print them as JSON")
    presets.set_defaults(run=command_presets)


TRAINING_LINES = 40_000  # a line reader's lines written with MNIST's digits, by default
MAX_LINES = 200_000  # 2.9 GB of float32 lines 28x128: the lines are made before training starts
OUTPUTS = ("model.npz", "metrics.json", "predictions.png", "checkpoint.npz")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings(parser, "named configuration to start from; flags override it")
    add_data_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="folder for predictions.png, metrics.json and model.npz (default: .)",
    )
    parser.add_argument(
        "--plots",
        action="store_true",
        help="also write confusion.png, mistakes.png, curves.png, weights.png, activations.png",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        metavar="DIR",
        help="save a checkpoint there after every epoch and on Ctrl-C",
    )
    parser.add_argument(
        "--numbers",
        type=Path,
        metavar="DIR",
        help="a line reader (--preset line) also learns from these real numbers: a folder of "
        "images/ and labels.csv (file,number), as ../shared/data/car-a",
    )
    parser.add_argument(
        "--lines",
        type=line_count,
        default=TRAINING_LINES,
        metavar="N",
        help=f"a line reader: lines written with MNIST's digits to learn from (default: "
        f"{TRAINING_LINES:,})",
    )
    parser.add_argument(
        "--fold",
        type=int,
        choices=range(10),
        metavar="K",
        help="hold fold K (0-9, a tenth) of --numbers out of training, to measure on",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --checkpoint-dir (same flags as the first run)",
    )


def _print_epoch(record: dict, epochs: int) -> None:
    held_out = "".join(
        f"  {name} acc {record[f'{name}_accuracy']:.2%}"
        for name in ("val", "test")
        if f"{name}_accuracy" in record
    )  # none when there is neither a validation split nor a test set
    print(
        f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}"
        f"  loss {record['train_loss']:.4f}"
        f"  train acc {record['train_accuracy']:.2%}{held_out}"
        f"  {record['seconds']:.2f} s",
        flush=True,
    )


def command_train(args: argparse.Namespace) -> int:
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.evaluate.metrics import evaluate
    from mnist_nn.evaluate.plots import plot_predictions, save_evaluation_pictures
    from mnist_nn.nn.stack import count_weights
    from mnist_nn.saving.files import (
        check_writable,
        save_json,
        signals_deferred,
        sweep_temporary_files,
    )
    from mnist_nn.saving.model_files import run_record, save_model
    from mnist_nn.train.callbacks import LambdaCallback, ProgressBar, StopOnSignal
    from mnist_nn.train.checkpoints import Checkpoints
    from mnist_nn.train.loop import Trainer

    config = config_from_arguments(args)
    if args.resume and args.checkpoint_dir is None:
        raise UserError("--resume needs --checkpoint-dir DIR (the folder of the checkpoint)")
    out = prepare_out_dir(args.out)
    if reads_lines(config.layers):
        dataset = line_data(args, config)
    else:
        if args.numbers or args.fold is not None:
            raise UserError("--numbers and --fold are for a line reader: add --preset line")
        dataset = load_dataset(
            args.dataset, args.data_dir, config.dtype, config.val_size, data_file=args.data
        )
    if dataset.notice:
        notice(dataset.notice)
    held_out = f", {len(dataset.validation)} validation" if dataset.validation else ""
    tested = f"{len(dataset.test)} test" if dataset.test is not None else "no test set"
    counts = f"{len(dataset.train)} train{held_out}, {tested}"
    print(f"dataset: {dataset.name} ({counts}) from {dataset.source}")
    inputs = dataset.train.images.shape[1]
    changed = config.changes_from(PRESETS[args.preset])
    preset = f"preset {args.preset}" + (f", changed: {', '.join(changed)}" if changed else "")
    print(f"{preset}: {config.describe(inputs, dataset.classes)}")
    print(
        "(train acc: a running average over each epoch's mini-batches as the weights change; "
        f"{'val' if dataset.validation else 'test'} acc: measured after each epoch)"
    )
    # Finished work must not be lost at the save: check the folder first, and clear what an
    # interrupted save of an earlier run left behind.
    sweep_temporary_files(out, OUTPUTS)
    weights = count_weights(inputs, dataset.classes, config.hidden_sizes, config.layers)
    # the model file and the checkpoint (its weights and optimizer state), in float64 at most
    check_writable(out, room_bytes=2 * 8 * weights + 10 * 2**20)
    callbacks = [
        LambdaCallback(on_epoch_end=lambda trainer, record: _print_epoch(record, config.epochs)),
        ProgressBar(),
    ]
    checkpoints = None
    if args.checkpoint_dir is not None:
        checkpoints = Checkpoints(args.checkpoint_dir, resume=args.resume)
        callbacks.insert(0, checkpoints)
    trainer = Trainer(config, inputs, dataset.classes, callbacks)
    with StopOnSignal(trainer) if checkpoints else nullcontext():  # else Ctrl-C stops at once
        result = trainer.fit(dataset)
    if result.stopped:
        state = trainer.state
        raise TrainingInterrupted(
            f"interrupted in epoch {state.epoch} after {state.batch_start} of "
            f"{len(dataset.train)} examples; checkpoint saved in {checkpoints.path}; "
            "to continue, run the same command with --resume"
        )
    if result.test_accuracy is None:
        print(f"no test set: no test accuracy ({result.training_seconds:.1f} s of training)")
    else:
        print(
            f"test accuracy: {result.test_accuracy:.2%} "
            f"({result.training_seconds:.1f} s of training, {dataset.name})"
        )
    record = run_record(result, config, dataset, args.preset)
    with signals_deferred():  # the model and its metrics are written together, or neither
        save_model(out / "model.npz", result.network, record)
        save_json(out / "metrics.json", record)
    written = ["metrics.json", "model.npz"]
    pictures = dataset.test is not None and inputs == 28 * 28  # pictures of 28x28 test images
    if pictures:
        shown = dataset.test.images[:10]
        plot_predictions(
            shown,
            dataset.test.labels[:10],
            result.network.predict(shown),
            title=f"{dataset.name} test digits · test accuracy {result.test_accuracy:.2%}",
            path=out / "predictions.png",
        )
        written.insert(0, "predictions.png")
    if args.plots and pictures:
        results = evaluate(result.network, dataset.test, record["calibration"]["temperature"])
        written += save_evaluation_pictures(
            out, result.network, result.history, dataset.test, results, result.batch_losses
        )
    print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0


def line_count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LINES:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number from 1 to "
                                         f"{MAX_LINES:,}")  # fmt: skip
    return int(text)


def line_data(args: argparse.Namespace, config):
    """A line reader's lines: written with MNIST's digits, and with --numbers, real numbers (half
    the training lines, as variants of each; fold --fold held out to validate on)."""
    import numpy as np

    from mnist_nn.data.lines import line_dataset, real_copies
    from mnist_nn.data.sources import load_mnist_arrays
    from mnist_nn.reading.number_folders import fold_of, framed_numbers, read_numbers_folder

    if args.dataset == "digits" or args.data is not None:
        raise UserError("a line reader learns from lines written with MNIST's digits: leave out "
                        "--dataset digits and --data")  # fmt: skip
    if args.fold is not None and args.numbers is None:
        raise UserError("--fold K holds out a tenth of --numbers DIR: give --numbers too")
    arrays, source = load_mnist_arrays(args.data_dir)
    real = held_out = None
    if args.numbers is not None:
        entries = read_numbers_folder(args.numbers)
        kept = entries
        if args.fold is not None:
            fold = set(fold_of(len(entries), args.fold).tolist())
            kept = [entry for i, entry in enumerate(entries) if i not in fold]
            held_out = framed_numbers([entries[i] for i in sorted(fold)])
        rng = np.random.default_rng(config.seed)
        real = framed_numbers(kept, real_copies(len(kept), args.lines), rng)
    dataset = line_dataset(arrays, config.dtype, args.lines, config.seed, real, held_out)
    if args.numbers is not None:
        fold = f", fold {args.fold} held out to validate on" if args.fold is not None else ""
        dataset.source = f"{source}, and the real numbers of {args.numbers}{fold}"
    return dataset


def command_gradcheck(args: argparse.Namespace) -> int:
    from mnist_nn.nn.gradcheck import check_combinations, check_ctc, check_image_layers, report

    activations = args.activations or list(setting_choices("activation"))
    losses = args.losses or list(setting_choices("loss"))
    # CTC reads lines, not one class per example: its own check, through a line network
    per_example = [loss for loss in losses if loss != LINE_LOSS]
    results = check_combinations(activations, per_example, dropout=args.dropout)
    ctc = check_ctc() if LINE_LOSS in losses else []
    lines, agree = report([*results, *check_image_layers(), *ctc])
    print("\n".join(lines))
    return 0 if agree else 1


def command_presets(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps({name: c.to_dict() for name, c in PRESETS.items()}, indent=2))
    else:
        print(describe_presets())
    return 0
