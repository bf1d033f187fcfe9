"""What each `mnist-nn` command does: load, call the library, print, write files.

Each `command_*` takes the parsed arguments and returns the exit code. Heavy imports (NumPy,
matplotlib, scikit-learn) happen inside the commands, so `--help` stays fast.
"""

import argparse
import json
import secrets
import sys
from contextlib import nullcontext
from pathlib import Path

from mnist_nn.config import SETTINGS, TrainConfig, with_settings
from mnist_nn.errors import TrainingInterrupted, UserError
from mnist_nn.presets import PRESETS, describe_presets


def config_from_arguments(args: argparse.Namespace) -> TrainConfig:
    """The preset named by --preset, with every flag the user gave laid over it, checked."""
    given = {
        name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None
    }
    return with_settings(PRESETS[args.preset], given)


def setting_choices(name: str):
    """The names a TrainConfig field may take (e.g. every activation)."""
    return SETTINGS[name].metadata["choices"]


def _notice(text: str) -> None:
    """Say something important so that nobody misses it."""
    rule = "=" * 78
    print(f"{rule}\nNOTICE: {text}\n{rule}", file=sys.stderr, flush=True)


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


OUTPUTS = ("model.npz", "metrics.json", "predictions.png", "checkpoint.npz")


def _prepare_out_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; name a folder for the outputs")
    out.mkdir(parents=True, exist_ok=True)
    return out


def command_train(args: argparse.Namespace) -> int:
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.evaluate.metrics import evaluate
    from mnist_nn.evaluate.plots import plot_predictions, save_evaluation_pictures
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
    out = _prepare_out_dir(args.out)
    dataset = load_dataset(
        args.dataset, args.data_dir, config.dtype, config.val_size, data_file=args.data
    )
    if dataset.notice:
        _notice(dataset.notice)
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
    sizes = (inputs, *config.hidden_sizes, dataset.classes)
    weights = sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
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
        _notice(dataset.notice)
    if network.sizes[0] != dataset.test.images.shape[1]:
        raise UserError(
            f"{args.model} takes {network.sizes[0]} inputs; {dataset.name}'s examples have "
            f"{dataset.test.images.shape[1]}"
        )
    results = evaluate(network, dataset.test, model_temperature(metadata))
    out = _prepare_out_dir(args.out) if args.out is not None else None
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


def reader_for(network, metadata: dict, model):
    """The Reader of a model file (calibrated; see `reading.Reader.from_model`)."""
    from mnist_nn.reading.reader import Reader

    if network.sizes[0] != 28 * 28:
        raise UserError(
            f"{model} takes {network.sizes[0]} values per example, not the 784 pixels of a "
            "28x28 image: it cannot read images"
        )
    return Reader.from_model(network, metadata)


def command_predict(args: argparse.Namespace) -> int:
    from mnist_nn.saving.model_files import load_model

    network, metadata = load_model(args.model)
    reader = reader_for(network, metadata, args.model)
    if args.save_input is not None:
        _prepare_out_dir(args.save_input)
    answers, failures, saved_names = [], 0, set()
    for path in args.images:
        try:
            answer = (_read_number if args.number else _read_digit)(path, reader, args.json)
        except UserError as error:
            failures += 1
            print(f"error: {error}", file=sys.stderr)
            answers.append({"image": str(path), "error": str(error)})
            continue
        if args.save_input is not None:
            answer["input"] = _save_inputs(path, answer.pop("pixels"), args.save_input, saved_names)
        answer.pop("pixels", None)
        answers.append(answer)
    if args.json:
        print(json.dumps(answers, indent=2))
    return 1 if failures else 0


def _read_digit(path, reader, quiet: bool) -> dict:
    """One digit: the answer (digit, calibrated top 3, verdict), printed unless `quiet`."""
    from mnist_nn.reading.images import load_digit, read_number
    from mnist_nn.reading.reader import DIGIT, NOT_A_DIGIT

    reading = reader.read(load_digit(path)[None, :])[0]
    answer = {"image": str(path), **reading.to_dict(), "pixels": [reading.pixels]}
    answer["top3"] = answer.pop("top")
    if reading.verdict == NOT_A_DIGIT and reader.detector:
        # Not one digit: perhaps several? Said, so the user knows about --number.
        try:
            digits = read_number(path, reader).digits
        except UserError:  # e.g. more marks than a number has: it is just not a digit
            digits = []
        pairs = zip(digits, digits[1:], strict=False)
        apart = all(a.box[2] < b.box[0] for a, b in pairs)  # separate marks, not one mark cut
        if len(digits) > 1 and apart and all(d.verdict == DIGIT for d in digits):
            answer["number"] = "".join(str(d.label) for d in digits)
    if not quiet:
        ranked = "  ".join(f"{t['digit']}: {t['probability']:.1%}" for t in answer["top3"])
        said = {DIGIT: str(reading.label), NOT_A_DIGIT: "not a digit"}.get(
            reading.verdict, "unsure, maybe " + " or ".join(str(d) for d, _ in reading.ranked[:2])
        )
        if "number" in answer:
            said = f"not one digit: the number {answer['number']}? (read it with --number)"
        print(f"{path}: {said}   ({ranked})")
    return answer


def _read_number(path, reader, quiet: bool) -> dict:
    """A written number: the number and each digit (box, reading, alternatives)."""
    from mnist_nn.reading.images import read_number

    number = read_number(path, reader)
    answer = {"image": str(path), **number.to_dict()}
    answer["pixels"] = [digit.pixels for digit in number.digits]
    if not quiet:
        print(f"{path}: {number.number}")
        for i, digit in enumerate(number.digits, start=1):
            left, top, right, bottom = digit.box
            print(f"  {i:>2}. {digit.describe():<44} at x {left}-{right}, y {top}-{bottom}")
    return answer


def _save_inputs(path, images: list, folder: Path, taken: set):
    """The 28x28 inputs the network saw, as PNGs: one name, or a list of them for a number."""
    import numpy as np
    from PIL import Image

    from mnist_nn.saving.files import unique_name

    names = []
    for i, pixels in enumerate(images):
        stem = Path(path).stem + (f".{i + 1}" if len(images) > 1 else "")
        saved = folder / unique_name(stem, ".28x28.png", taken)
        grey = (np.asarray(pixels).reshape(28, 28) * 255).round().astype("uint8")
        Image.fromarray(grey).save(saved)
        names.append(str(saved))
    return names[0] if len(names) == 1 else names


def command_gradcheck(args: argparse.Namespace) -> int:
    from mnist_nn.nn.gradcheck import check_combinations, check_image_layers, report

    activations = args.activations or list(setting_choices("activation"))
    losses = args.losses or list(setting_choices("loss"))
    results = check_combinations(activations, losses, dropout=args.dropout)
    lines, agree = report([*results, *check_image_layers()])
    print("\n".join(lines))
    return 0 if agree else 1


def command_compare(args: argparse.Namespace) -> int:
    from mnist_nn.data.dataset import default_val_size, hold_out, load_dataset
    from mnist_nn.experiments.compare import run_comparison, variants, write_report

    out = _prepare_out_dir(args.out)
    dataset = load_dataset(args.dataset, args.data_dir, "float32")
    if dataset.notice:
        _notice(dataset.notice)
    # Held out here, once the training set's size is known: MNIST's 5,000 would not fit in the
    # 1,437 images of `digits`, the fallback when MNIST cannot be had.
    val_size = args.val_size or default_val_size(len(dataset.train))
    dataset.train, dataset.validation = hold_out(dataset.train, val_size, dataset.name)
    chosen = variants(args.epochs, val_size, args.seed)
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
    written = write_report(out, dataset, rows, args.epochs, val_size, args.seed)
    print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0


def command_sweep(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mnist_nn.data.dataset import default_val_size, load_dataset
    from mnist_nn.experiments import sweeps

    base = config_from_arguments(args)
    if args.grid:
        grid = sweeps.parse_grid(args.grid)
        names = list(grid)
    else:
        ranges = sweeps.parse_ranges(args.random)
        names = list(ranges)
    if "seed" in names:
        raise UserError("the seed is not swept: --seeds says how many each combination gets")
    # The data is loaded here once, to know its name and size; each worker loads its own copy.
    dataset = load_dataset(args.dataset, args.data_dir, base.dtype)
    if dataset.notice:
        _notice(dataset.notice)
    val_size = base.val_size or default_val_size(len(dataset.train))
    base = replace(base, val_size=val_size).validated()
    seeds = [base.seed + i for i in range(args.seeds)]
    if args.grid:
        trials = sweeps.grid_trials(grid, seeds)
    else:
        trials = sweeps.random_trials(ranges, args.trials, seeds, base.seed)
    for trial in trials[:: args.seeds]:
        sweeps.trial_config(base, trial)  # every combination is valid before anything runs
    data_dir = str(args.data_dir) if args.data_dir else None
    spec = sweeps.DataSpec(dataset.name, data_dir, val_size, base.dtype)
    del dataset
    what = (
        f"{len(trials)} trials ({len(trials) // args.seeds} settings x {args.seeds} seeds) of "
        f"{base.describe()} on {spec.name} ({val_size} held out)"
    )
    table = _run_trials(args, what, base, trials, spec, names)
    if table is None:
        return 130
    print(sweeps.format_table(table, names))
    written = [sweeps.TRIALS_FILE, sweeps.SUMMARY_CSV, sweeps.SUMMARY_JSON, sweeps.PICTURE]
    print(f"wrote {', '.join(str(args.out / name) for name in written)}")
    return 0


def _run_trials(args: argparse.Namespace, what: str, base, trials, spec, names):
    """Run a sweep's trials where the flags say: --scheduler or --dask-workers (Dask),
    --workers 1 (this process), else a local pool of --workers processes (default: one per
    core). The summary table, or None after Ctrl-C (the finished trials are kept)."""
    from mnist_nn.experiments import sweeps

    if args.scheduler or args.dask_workers:
        executor = sweeps.DaskCluster(args.scheduler, args.dask_workers)
    elif args.workers == 1:
        executor = sweeps.Sequential()
    else:
        executor = sweeps.LocalPool(args.workers)
    print(f"{what}, on {executor.name}; results in {args.out}", flush=True)
    try:
        return sweeps.run_sweep(base, trials, spec, args.out, executor, names)
    except KeyboardInterrupt:
        print(
            "interrupted: the finished trials are kept; run the same command to continue",
            file=sys.stderr,
        )
        return None
    finally:
        executor.close()


def command_replicate(args: argparse.Namespace) -> int:
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.experiments import replicate, sweeps

    rows = replicate.ROWS
    if args.rows:
        unknown = [name for name in args.rows if name not in replicate.BY_NAME]
        if unknown:
            names = ", ".join(replicate.BY_NAME)
            raise UserError(f"--rows: no row named {', '.join(unknown)} (rows: {names})")
        rows = [replicate.BY_NAME[name] for name in args.rows]
    dataset = load_dataset(args.dataset, args.data_dir)
    if dataset.notice:
        _notice(dataset.notice)
    spec = sweeps.DataSpec(dataset.name, str(args.data_dir) if args.data_dir else None, 0)
    del dataset
    base = TrainConfig()
    trials = [
        sweeps.Trial(tuple(replicate.settings_of(row, args.quick).items()), seed, row.name)
        for row in rows
        for seed in range(args.seeds)
    ]
    length = "shortened to one epoch each (--quick)" if args.quick else "as listed"
    what = f"{len(rows)} rows x {args.seeds} seeds on {spec.name}, {length}"
    table = _run_trials(args, what, base, trials, spec, names=[])
    if table is None:
        return 130
    text = replicate.markdown_table(rows, table, args.quick)
    (args.out / "replicate.md").write_text(text + "\n")
    print(text)
    print(f"wrote {args.out / 'replicate.md'}")
    return 0


def command_presets(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps({name: c.to_dict() for name, c in PRESETS.items()}, indent=2))
    else:
        print(describe_presets())
    return 0


def command_serve(args: argparse.Namespace) -> int:
    try:
        from mnist_nn.web.app import create_app, find_model
        from mnist_nn.web.server import run
    except ImportError as error:
        raise UserError(
            f"the web app needs its extra packages ({error.name} is missing): "
            "pip install -e '.[web]'"
        ) from None
    model = find_model(args.model)
    local = {"127.0.0.1", "localhost", "::1"}
    hosts = None if args.host in ("0.0.0.0", "::") else local | {args.host}  # any: no check
    # Beyond this computer, only those given the token may use the server (as Jupyter does).
    token = args.token or (None if args.host in local else secrets.token_urlsafe(24))
    budget = args.memory_budget << 20
    app = create_app(
        model, args.dataset, args.data_dir, allowed_hosts=hosts, token=token, memory_budget=budget
    )
    what = model if model is not None else "no model yet (no model.npz here): train one on the page"
    address = f"http://{args.host}:{args.port}/" + (f"?token={token}" if token else "")
    print(f"serving {what} at {address}  (Ctrl-C stops)", flush=True)
    if args.host not in local:
        print(
            f"note: listening on {args.host}: other computers can reach this server; only "
            "requests with its token are answered (the address above has it)",
            file=sys.stderr,
        )
    run(app, args.host, args.port)
    return 0
