"""`mnist-nn evaluate`: a saved model on the test set of the data it was trained on."""

import argparse
import json
from pathlib import Path

from mnist_nn.cli.common import add_data_arguments, notice, prepare_out_dir
from mnist_nn.errors import UserError


def add_evaluate(subcommands) -> None:
    evaluate = subcommands.add_parser(
        "evaluate",
        help="test a saved model: accuracy, per-digit scores, confusion matrix, pictures",
        description="Evaluate MODEL on the test set of the dataset it was trained on.",
    )
    evaluate.add_argument("model", type=Path, help="a model file written by `train` (model.npz)")
    evaluate.add_argument(
        "--out",
        type=Path,
        help="write confusion, mistakes, curves, weights and activations pictures in this folder",
    )
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    add_data_arguments(evaluate)
    evaluate.set_defaults(run=command_evaluate)


def command_evaluate(args: argparse.Namespace) -> int:
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.evaluate.calibration import model_temperature
    from mnist_nn.evaluate.metrics import evaluate, report_lines
    from mnist_nn.evaluate.plots import save_evaluation_pictures
    from mnist_nn.saving.model_files import describe_model, load_model

    network, metadata = load_model(args.model)
    dtype, trained_on = metadata["dtype"], str(metadata.get("dataset"))
    if trained_on.startswith("file:") and args.data is None:
        raise UserError(
            f"{args.model} was trained on your own data ({trained_on[5:]}): give it again with "
            "--data FILE"
        )
    dataset = load_dataset(args.dataset or trained_on, args.data_dir, dtype, data_file=args.data)
    if dataset.test is None:
        raise UserError(f"--data {args.data} has no test set (x_test, y_test) to evaluate on")
    if dataset.notice:
        notice(dataset.notice)
    if network.sizes[0] != dataset.test.images.shape[1]:
        raise UserError(
            f"{args.model} takes {network.sizes[0]} inputs; {dataset.name}'s examples have "
            f"{dataset.test.images.shape[1]}"
        )
    results = evaluate(network, dataset.test, model_temperature(metadata))
    out = prepare_out_dir(args.out) if args.out is not None else None
    written = []
    if out is not None:
        history = metadata.get("history") or []
        batch_losses = metadata.get("batch_losses")
        pictures = (out, network, history, dataset.test, results, batch_losses)
        written = save_evaluation_pictures(*pictures)
    if args.json:
        public = {
            key: value for key, value in results.items() if key not in ("scores", "predicted")
        }
        public["calibration"] = {
            key: value for key, value in results["calibration"].items() if key != "calibrated"
        }
        print(json.dumps({"model": str(args.model), "dataset": dataset.name, **public}, indent=2))
        return 0
    print(f"model: {describe_model(metadata)}")
    print(
        f"{dataset.name} test set: {results['examples']} images, accuracy {results['accuracy']:.2%}"
    )
    print("\n".join(report_lines(results)))
    if written:
        print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0
