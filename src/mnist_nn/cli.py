"""The `mnist-nn` command: parse the arguments, call the library, print what happened.

No math lives here. Heavy imports (NumPy, matplotlib, scikit-learn) happen inside the commands so
that `mnist-nn --help` answers at once. A `UserError` is printed as one line, never a traceback.
"""

import argparse
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

from mnist_nn.errors import TrainingInterrupted, UserError
from mnist_nn.optimizers import OPTIMIZERS, SCHEDULES
from mnist_nn.presets import PRESETS, TrainConfig, describe_presets

SEED = PRESETS["seed"]
GRADCHECK_TOLERANCE = 1e-6  # float64 central differences: right ≈ 1e-9, wrong ≈ 1e-1


def _number(kind, minimum, inclusive: bool, what: str):
    """An argparse type: `kind` (int or float) that must be >= (or >) `minimum`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value != value or (value < minimum if inclusive else value <= minimum):  # NaN too
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    return parse


positive_int = _number(int, 0, inclusive=False, what="a positive whole number")
non_negative_int = _number(int, 0, inclusive=True, what="zero or a positive whole number")
positive_float = _number(float, 0.0, inclusive=False, what="a positive number")


fraction = _number(float, 0.0, inclusive=True, what="zero or a positive number")


def _probability(text: str) -> float:
    value = fraction(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability below 1")
    return value


# (flag, TrainConfig field, argparse keywords, help). Defaults are None so that a preset's values
# apply unless a flag overrides them; the help shows the seed's value.
TRAIN_FLAGS = [
    ("--epochs", "epochs", {"type": positive_int}, "passes over the training set"),
    ("--batch-size", "batch_size", {"type": positive_int}, "examples per gradient step"),
    ("--lr", "learning_rate", {"type": positive_float}, "learning rate"),
    (
        "--hidden",
        "hidden_sizes",
        {"type": positive_int, "nargs": "+", "metavar": "UNITS"},
        "units of each hidden layer, e.g. --hidden 512 256",
    ),
    (
        "--activation",
        "activation",
        {"choices": ["sigmoid", "tanh", "relu"]},
        "activation of the hidden layers",
    ),
    (
        "--loss",
        "loss",
        {"choices": ["mse", "cross_entropy"]},
        "mse (sigmoid outputs, the seed's) or cross_entropy (softmax outputs)",
    ),
    ("--optimizer", "optimizer", {"choices": list(OPTIMIZERS)}, "how parameters are updated"),
    ("--momentum", "momentum", {"type": _probability}, "velocity kept per step (momentum)"),
    (
        "--lr-schedule",
        "lr_schedule",
        {"choices": list(SCHEDULES)},
        "learning rate over the run: constant, step (/10 at 1/2 and 3/4) or cosine (down to 0)",
    ),
    ("--weight-decay", "weight_decay", {"type": fraction}, "L2 penalty on the weights"),
    (
        "--max-norm",
        "max_norm",
        {"type": fraction},
        "cap on the norm of each unit's incoming weights (0: none)",
    ),
    ("--dropout", "dropout", {"type": _probability}, "probability of dropping a hidden unit"),
    (
        "--input-dropout",
        "input_dropout",
        {"type": _probability},
        "probability of dropping an input pixel",
    ),
    (
        "--augment-shift",
        "augment_shift",
        {"type": fraction},
        "shift training images randomly by up to this many pixels",
    ),
    (
        "--augment-rotation",
        "augment_rotation",
        {"type": fraction},
        "rotate training images randomly by up to this many degrees",
    ),
    (
        "--augment-scale",
        "augment_scale",
        {"type": _probability},
        "scale training images randomly by up to this fraction",
    ),
    (
        "--early-stopping",
        "early_stopping",
        {"type": non_negative_int, "metavar": "PATIENCE"},
        "stop after this many epochs without a better validation accuracy, keeping the best "
        "weights (needs --val-size)",
    ),
    (
        "--seed",
        "seed",
        {"type": non_negative_int},
        "random seed of weights, shuffling, dropout and augmentation; same seed, same run",
    ),
    ("--dtype", "dtype", {"choices": ["float32", "float64"]}, "float type"),
    (
        "--val-size",
        "val_size",
        {"type": non_negative_int},
        "examples held out of the training set for validation; per-epoch accuracy is then "
        "measured on them instead of the test set",
    ),
]


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="seed",
        help="named configuration to start from; flags override it (default: seed)",
    )
    for flag, name, keywords, text in TRAIN_FLAGS:
        default = getattr(SEED, name)
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        parser.add_argument(flag, dest=name, help=f"{text} (default: {shown})", **keywords)
    _add_data_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="folder for predictions.png, metrics.json and model.npz (default: .)",
    )
    parser.add_argument(
        "--plots",
        action="store_true",
        help="also write confusion.png, mistakes.png, curves.png and weights.png",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        metavar="DIR",
        help="save a checkpoint there after every epoch and on Ctrl-C",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --checkpoint-dir (same flags as the first run)",
    )


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        choices=["mnist", "digits"],
        help="mnist, or scikit-learn's small offline digits (default: mnist, falling back to "
        "digits with a notice when MNIST cannot be found or downloaded)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the four MNIST IDX files (default: $MNIST_DATA_DIR, then the cache "
        "~/.cache/mnist-nn/mnist, then a download)",
    )


def config_from_arguments(args: argparse.Namespace) -> TrainConfig:
    """The preset named by --preset, with every flag the user gave laid over it."""
    given = {
        f.name: getattr(args, f.name)
        for f in fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }
    if "hidden_sizes" in given:
        given["hidden_sizes"] = tuple(given["hidden_sizes"])
    return replace(PRESETS[args.preset], **given)


def _notice(text: str) -> None:
    """Say something important so that nobody misses it."""
    rule = "=" * 78
    print(f"{rule}\nNOTICE: {text}\n{rule}", file=sys.stderr, flush=True)


def _print_epoch(record: dict, epochs: int) -> None:
    held_out = "val" if "val_accuracy" in record else "test"
    print(
        f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}"
        f"  loss {record['train_loss']:.4f}"
        f"  train acc {record['train_accuracy']:.2%}"
        f"  {held_out} acc {record[f'{held_out}_accuracy']:.2%}"
        f"  {record['seconds']:.2f} s",
        flush=True,
    )


def _prepare_out_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; name a folder for the outputs")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write_evaluation_pictures(out: Path, network, history, split, results) -> list[str]:
    """confusion.png, mistakes.png, curves.png and weights.png of a model on `split`."""
    from mnist_nn.evaluation import most_confident_mistakes
    from mnist_nn.plots import save_confusion, save_curves, save_first_layer_weights, save_mistakes

    scores, predicted = results["scores"], results["predicted"]
    save_confusion(
        out / "confusion.png",
        results["confusion"],
        f"Confusion matrix · accuracy {results['accuracy']:.2%}",
    )
    wrong = most_confident_mistakes(scores, split.labels)
    save_mistakes(
        out / "mistakes.png",
        split.images[wrong],
        split.labels[wrong],
        predicted[wrong],
        scores[wrong, predicted[wrong]] / scores[wrong].sum(axis=1),
    )
    written = ["confusion.png", "mistakes.png", "weights.png"]
    save_first_layer_weights(out / "weights.png", network.dense_layers()[0].weight)
    if history:
        save_curves(out / "curves.png", history)
        written.append("curves.png")
    return written


def command_train(args: argparse.Namespace) -> int:
    from mnist_nn.data import load_dataset
    from mnist_nn.evaluation import evaluate
    from mnist_nn.persistence import save_json, save_model
    from mnist_nn.plots import save_predictions
    from mnist_nn.training import train

    config = config_from_arguments(args)
    if args.resume and args.checkpoint_dir is None:
        raise UserError("--resume needs --checkpoint-dir DIR (the folder of the checkpoint)")
    out = _prepare_out_dir(args.out)
    dataset = load_dataset(args.dataset, args.data_dir, config.dtype, config.val_size)
    if dataset.notice:
        _notice(dataset.notice)
    held_out = f", {len(dataset.validation)} validation" if dataset.validation else ""
    print(
        f"dataset: {dataset.name} ({len(dataset.train)} train{held_out}, "
        f"{len(dataset.test)} test) from {dataset.source}"
    )
    print(f"preset {args.preset}: {config.describe()}")
    result = train(
        config,
        dataset,
        on_epoch=lambda record: _print_epoch(record, config.epochs),
        checkpoint_dir=args.checkpoint_dir,
        resume=args.resume,
    )
    print(
        f"test accuracy: {result.test_accuracy:.2%} "
        f"({result.training_seconds:.1f} s of training, {dataset.name})"
    )

    metrics = {
        "dataset": dataset.name,
        "data_source": dataset.source,
        "data_checksums": dataset.checksums,
        "preset": args.preset,
        "config": config.to_dict(),
        "history": result.history,
        "best_epoch": result.best_epoch,
        "test_accuracy": result.test_accuracy,
        "training_seconds": result.training_seconds,
    }
    save_model(out / "model.npz", result.network, metrics)
    save_json(out / "metrics.json", metrics)
    shown = dataset.test.images[:10]
    save_predictions(
        out / "predictions.png",
        shown,
        dataset.test.labels[:10],
        result.network.predict(shown),
        title=f"{dataset.name} test digits · test accuracy {result.test_accuracy:.2%}",
    )
    written = ["predictions.png", "metrics.json", "model.npz"]
    if args.plots:
        results = evaluate(result.network, dataset.test)
        written += _write_evaluation_pictures(
            out, result.network, result.history, dataset.test, results
        )
    print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0


def command_evaluate(args: argparse.Namespace) -> int:
    from mnist_nn.data import load_dataset
    from mnist_nn.evaluation import evaluate
    from mnist_nn.persistence import describe_model, load_model

    network, metadata = load_model(args.model)
    dtype = metadata["dtype"]
    dataset = load_dataset(args.dataset or metadata.get("dataset"), args.data_dir, dtype)
    if dataset.notice:
        _notice(dataset.notice)
    if network.sizes[0] != dataset.test.images.shape[1]:
        raise UserError(f"{args.model} takes {network.sizes[0]} inputs, not 784")
    results = evaluate(network, dataset.test)
    out = _prepare_out_dir(args.out) if args.out is not None else None
    written = []
    if out is not None:
        history = metadata.get("history") or []
        written = _write_evaluation_pictures(out, network, history, dataset.test, results)
    if args.json:
        public = {
            key: value for key, value in results.items() if key not in ("scores", "predicted")
        }
        print(json.dumps({"model": str(args.model), "dataset": dataset.name, **public}, indent=2))
        return 0
    print(f"model: {describe_model(metadata)}")
    print(
        f"{dataset.name} test set: {results['examples']} images, accuracy {results['accuracy']:.2%}"
    )
    print(f"{'digit':>5} {'precision':>10} {'recall':>8} {'f1':>7} {'support':>8}")
    for row in results["per_digit"]:
        print(
            f"{row['digit']:>5} {row['precision']:>10.2%} {row['recall']:>8.2%} "
            f"{row['f1']:>7.2%} {row['support']:>8}"
        )
    print("confusion matrix (rows: true digit, columns: predicted digit)")
    print("      " + "".join(f"{digit:>6}" for digit in range(10)))
    for digit, row in enumerate(results["confusion"]):
        print(f"{digit:>6}" + "".join(f"{count:>6}" for count in row))
    if written:
        print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0


def command_predict(args: argparse.Namespace) -> int:
    from mnist_nn.images import load_digit
    from mnist_nn.persistence import load_model

    network, metadata = load_model(args.model)
    if args.save_input is not None:
        _prepare_out_dir(args.save_input)
    answers, failures = [], 0
    for path in args.images:
        try:
            pixels = load_digit(path)  # (784,)
        except UserError as error:
            failures += 1
            print(f"error: {error}", file=sys.stderr)
            answers.append({"image": str(path), "error": str(error)})
            continue
        scores = network.scores(pixels[None, :].astype(metadata["dtype"]))[0]
        probabilities = scores / scores.sum()  # MSE's sigmoid outputs do not sum to 1 by themselves
        top = probabilities.argsort()[::-1][:3]
        answer = {
            "image": str(path),
            "digit": int(top[0]),
            "top3": [{"digit": int(d), "probability": float(probabilities[d])} for d in top],
        }
        if args.save_input is not None:
            from PIL import Image

            saved = args.save_input / f"{Path(path).stem}.28x28.png"
            Image.fromarray((pixels.reshape(28, 28) * 255).round().astype("uint8")).save(saved)
            answer["input"] = str(saved)
        answers.append(answer)
        if not args.json:
            ranked = "  ".join(f"{t['digit']}: {t['probability']:.1%}" for t in answer["top3"])
            print(f"{path}: {answer['digit']}   ({ranked})")
    if args.json:
        print(json.dumps(answers, indent=2))
    return 1 if failures else 0


def command_gradcheck(args: argparse.Namespace) -> int:
    from mnist_nn.gradcheck import check_combinations

    print("analytic gradients (backprop) vs central differences, float64, network 12-7-5-10")
    print(f"{'activation':<10} {'loss':<14} {'parameter':<14} relative error")
    worst = 0.0
    results = check_combinations(args.activations, args.losses, dropout=args.dropout)
    for (activation, loss), errors in results:
        for name, error in errors:
            verdict = "ok" if error < GRADCHECK_TOLERANCE else "WRONG"
            print(f"{activation:<10} {loss:<14} {name:<14} {error:.1e}  {verdict}")
            worst = max(worst, error)
    count = sum(len(errors) for _, errors in results)
    if worst >= GRADCHECK_TOLERANCE:
        print(f"some gradients disagree (largest relative error {worst:.1e}): backprop has a bug")
        return 1
    print(
        f"all {count} gradients agree (largest relative error {worst:.1e} < {GRADCHECK_TOLERANCE})"
    )
    return 0


def command_compare(args: argparse.Namespace) -> int:
    from mnist_nn.compare import markdown_table, run_comparison, variants
    from mnist_nn.data import load_dataset
    from mnist_nn.persistence import save_json
    from mnist_nn.plots import save_comparison

    out = _prepare_out_dir(args.out)
    dataset = load_dataset(args.dataset, args.data_dir, "float32", args.val_size)
    if dataset.notice:
        _notice(dataset.notice)
    chosen = variants(args.epochs, args.val_size, args.seed)
    if args.only:
        unknown = set(args.only) - {variant.name for variant in chosen}
        if unknown:
            names = ", ".join(variant.name for variant in chosen)
            raise UserError(f"--only: no variant named {', '.join(sorted(unknown))} (try {names})")
        chosen = [variant for variant in chosen if variant.name in args.only]
    print(
        f"{len(chosen)} variants, {args.epochs} epochs each, seed {args.seed}, on {dataset.name} "
        f"({len(dataset.train)} train, {len(dataset.validation)} validation, "
        f"{len(dataset.test)} test)"
    )
    print(f"{'variant':<14} {'val acc':>8} {'test acc':>9} {'seconds':>8}")

    def show(row):
        print(
            f"{row['name']:<14} {row['val_accuracy']:>8.2%} {row['test_accuracy']:>9.2%} "
            f"{row['seconds']:>8.1f}",
            flush=True,
        )

    rows = run_comparison(dataset, chosen, on_row=show)
    table = markdown_table(rows)
    (out / "compare.md").write_text(
        f"# Ablation: the design's extensions one at a time\n\n"
        f"{args.epochs} epochs, seed {args.seed}, {dataset.name}, {args.val_size} validation "
        f"examples held out of the training set.\n\n{table}\n"
    )
    save_json(out / "compare.json", {"dataset": dataset.name, "rows": rows})
    save_comparison(out / "compare.png", rows)
    print(f"wrote {out / 'compare.md'}, {out / 'compare.png'}, {out / 'compare.json'}")
    return 0


def command_presets(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps({name: c.to_dict() for name, c in PRESETS.items()}, indent=2))
    else:
        print(describe_presets())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-nn",
        description="A neural network from scratch in NumPy that reads handwritten digits.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a network on MNIST (the seed design unless told otherwise)",
        description="Train a network, print each epoch, and write predictions.png, metrics.json "
        "and model.npz.",
        epilog="presets:\n" + describe_presets(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_train_arguments(train)
    train.set_defaults(run=command_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="test a saved model: accuracy, per-digit scores, confusion matrix, pictures",
        description="Evaluate MODEL on the test set of the dataset it was trained on.",
    )
    evaluate.add_argument("model", type=Path, help="a model file written by `train` (model.npz)")
    evaluate.add_argument(
        "--out",
        type=Path,
        help="write confusion.png, mistakes.png, curves.png and weights.png in this folder",
    )
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    _add_data_arguments(evaluate)
    evaluate.set_defaults(run=command_evaluate)

    predict = commands.add_parser(
        "predict",
        help="read your own images of digits",
        description="Predict the digit in each image: any size, colour or grey, dark ink on "
        "light paper or the reverse. Each is framed like MNIST first (--save-input shows how).",
    )
    predict.add_argument("model", type=Path, help="a model file written by `train` (model.npz)")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files")
    predict.add_argument("--json", action="store_true", help="print the answers as JSON")
    predict.add_argument(
        "--save-input",
        type=Path,
        metavar="DIR",
        help="save the 28x28 image the network received for each file",
    )
    predict.set_defaults(run=command_predict)

    gradcheck = commands.add_parser(
        "gradcheck",
        help="check backpropagation against numerical gradients",
        description="For a small network of each activation and loss, print the relative error "
        "between each parameter's backprop gradient and its central-difference estimate.",
    )
    gradcheck.add_argument(
        "--activations",
        nargs="+",
        choices=["sigmoid", "tanh", "relu"],
        default=["sigmoid", "tanh", "relu"],
        help="activations to check (default: all)",
    )
    gradcheck.add_argument(
        "--losses",
        nargs="+",
        choices=["mse", "cross_entropy"],
        default=["mse", "cross_entropy"],
        help="losses to check (default: both)",
    )
    gradcheck.add_argument(
        "--dropout",
        type=_probability,
        default=0.0,
        help="dropout rate in the networks checked, with a fixed mask (default: 0)",
    )
    gradcheck.set_defaults(run=command_gradcheck)

    compare = commands.add_parser(
        "compare",
        help="the ablation report: each extension switched on alone, then all, then `best`",
        description="Train the seed and each extension of it with the same seed and epochs; "
        "print a table and write compare.md, compare.png and compare.json.",
    )
    compare.add_argument(
        "--epochs", type=positive_int, default=15, help="epochs of every variant (default: 15)"
    )
    compare.add_argument(
        "--val-size",
        type=positive_int,
        default=5000,
        help="validation examples held out of the training set (default: 5000)",
    )
    compare.add_argument("--seed", type=non_negative_int, default=0, help="seed (default: 0)")
    compare.add_argument(
        "--only",
        nargs="+",
        metavar="VARIANT",
        help="run only these variants (names as in the table)",
    )
    _add_data_arguments(compare)
    compare.add_argument("--out", type=Path, default=Path("."), help="output folder (default: .)")
    compare.set_defaults(run=command_compare)

    presets = commands.add_parser("presets", help="list the named configurations")
    presets.add_argument("--json", action="store_true", help="print them as JSON")
    presets.set_defaults(run=command_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except TrainingInterrupted as error:
        print(str(error), file=sys.stderr)
        return 130
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
