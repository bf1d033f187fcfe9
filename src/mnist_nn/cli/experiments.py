"""`mnist-nn compare`, `sweep` and `replicate`: many trainings, each through the one training
loop.
"""

import argparse
import sys
from pathlib import Path

from mnist_nn.cli.common import (
    HELD_OUT,
    add_data_arguments,
    add_executor_arguments,
    add_settings,
    config_from_arguments,
    count,
    notice,
    prepare_out_dir,
)
from mnist_nn.cli.flags import value_parser
from mnist_nn.config import SETTINGS, TrainConfig
from mnist_nn.errors import UserError


def add_compare(subcommands) -> None:
    compare = subcommands.add_parser(
        "compare",
        help="the ablation report: each extension switched on alone, then all, then `best`",
        description="Train the seed and each extension of it with the same seed and epochs; "
        "print a table and write compare.md, compare.png and compare.json.",
    )
    compare.add_argument(
        "--epochs",
        type=value_parser(SETTINGS["epochs"]),
        default=15,
        help="epochs of every variant (default: 15)",
    )
    compare.add_argument(
        "--val-size",
        type=value_parser(SETTINGS["val_size"]),
        default=None,
        help=f"validation examples held out of the training set (default: {HELD_OUT})",
    )
    compare.add_argument(
        "--seed", type=value_parser(SETTINGS["seed"]), default=0, help="seed (default: 0)"
    )
    compare.add_argument(
        "--only",
        nargs="+",
        metavar="VARIANT",
        help="run only these variants (names as in the table)",
    )
    add_data_arguments(compare, own_data=False)
    compare.add_argument("--out", type=Path, default=Path("."), help="output folder (default: .)")
    compare.set_defaults(run=command_compare)


def add_sweep(subcommands) -> None:
    sweep = subcommands.add_parser(
        "sweep",
        help="many runs: a grid or random search over settings, times seeds, in parallel",
        description="Train every combination of the swept settings (laid over --preset and any "
        "flags) with each seed, on a local process pool or a Dask cluster; print mean ± std "
        "over seeds and write trials.jsonl, sweep.csv, sweep.json and sweep.png in --out. Run "
        "the same command again to continue an interrupted sweep.",
        epilog="example: mnist-nn sweep --grid learning_rate=0.003,0.01,0.03 "
        "hidden_sizes=64,128,256 --seeds 3 --epochs 5 (hidden_sizes=256+128: two layers)",
    )
    add_settings(sweep, "named configuration every trial starts from", chooses=True)
    searches = sweep.add_mutually_exclusive_group(required=True)
    searches.add_argument(
        "--grid",
        nargs="+",
        metavar="NAME=V,V",
        help="settings and their values; every combination is a trial",
    )
    searches.add_argument(
        "--random",
        nargs="+",
        metavar="NAME=LOW:HIGH",
        help="settings and their ranges (or choices: NAME=A,B); --trials draws of them",
    )
    sweep.add_argument(
        "--trials", type=count, default=10, help="draws of a --random search (default: 10)"
    )
    sweep.add_argument("--seeds", type=count, default=3, help="seeds per combination (default: 3)")
    add_executor_arguments(sweep)
    add_data_arguments(sweep, own_data=False)
    sweep.add_argument(
        "--out", type=Path, default=Path("sweep"), help="results folder (default: ./sweep)"
    )
    sweep.set_defaults(run=command_sweep)


def add_replicate(subcommands) -> None:
    replicate = subcommands.add_parser(
        "replicate",
        help="rerun classic fully-connected MNIST results (LeCun 1998, Simard 2003, dropout)",
        description="Train each row's network as its paper describes it, with several seeds, "
        "on a local process pool or a Dask cluster, and print the paper's test error beside "
        "ours (mean ± std). Run the same command again to continue an interrupted run.",
    )
    replicate.add_argument("--rows", nargs="+", metavar="ROW", help="run only these rows")
    replicate.add_argument("--seeds", type=count, default=3, help="seeds per row (default: 3)")
    replicate.add_argument(
        "--quick", action="store_true", help="one epoch per row: a first look, in minutes"
    )
    add_executor_arguments(replicate)
    add_data_arguments(replicate, own_data=False)
    replicate.add_argument(
        "--out", type=Path, default=Path("replicate"), help="results folder (default: ./replicate)"
    )
    replicate.set_defaults(run=command_replicate)


def command_compare(args: argparse.Namespace) -> int:
    from mnist_nn.data.dataset import default_val_size, hold_out, load_dataset
    from mnist_nn.experiments.compare import run_comparison, variants, write_report

    out = prepare_out_dir(args.out)
    dataset = load_dataset(args.dataset, args.data_dir, "float32")
    if dataset.notice:
        notice(dataset.notice)
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
    from mnist_nn.experiments import results
    from mnist_nn.experiments.executors import DataSpec
    from mnist_nn.experiments.trials import (
        grid_trials,
        parse_grid,
        parse_ranges,
        random_trials,
        trial_config,
    )

    base = config_from_arguments(args).validated("sweep")  # its trials train on single digits
    if args.grid:
        grid = parse_grid(args.grid)
        names = list(grid)
    else:
        ranges = parse_ranges(args.random)
        names = list(ranges)
    if "seed" in names:
        raise UserError("the seed is not swept: --seeds says how many each combination gets")
    # The data is loaded here once, to know its name and size; each worker loads its own copy.
    dataset = load_dataset(args.dataset, args.data_dir, base.dtype)
    if dataset.notice:
        notice(dataset.notice)
    val_size = base.val_size or default_val_size(len(dataset.train))
    base = replace(base, val_size=val_size).validated()
    seeds = [base.seed + i for i in range(args.seeds)]
    if args.grid:
        trials = grid_trials(grid, seeds)
    else:
        trials = random_trials(ranges, args.trials, seeds, base.seed)
    for trial in trials[:: args.seeds]:
        trial_config(base, trial)  # every combination is valid before anything runs
    data_dir = str(args.data_dir) if args.data_dir else None
    spec = DataSpec(dataset.name, data_dir, val_size, base.dtype)
    del dataset
    what = (
        f"{len(trials)} trials ({len(trials) // args.seeds} settings x {args.seeds} seeds) of "
        f"{base.describe(swept=names)} on {spec.name} ({val_size} held out)"
    )
    table = _run_trials(args, what, base, trials, spec, names)
    if table is None:
        return 130
    print(results.format_table(table, names))
    epochs = min(trial_config(base, trial).epochs for trial in trials)
    for caveat in results.caveats(table, args.seeds, epochs, names):
        print(f"note: {caveat}")
    written = [results.TRIALS_FILE, results.SUMMARY_CSV, results.SUMMARY_JSON, results.PICTURE]
    print(f"wrote {', '.join(str(args.out / name) for name in written)}")
    return 0


def _run_trials(args: argparse.Namespace, what: str, base, trials, spec, names):
    """Run a sweep's trials where the flags say: --scheduler or --dask-workers (Dask),
    --workers 1 (this process), else a local pool of --workers processes (default: one per
    core). The summary table, or None after Ctrl-C (the finished trials are kept)."""
    from mnist_nn.experiments import executors, sweeps

    if args.scheduler or args.dask_workers:
        executor = executors.DaskCluster(args.scheduler, args.dask_workers, len(trials))
    elif args.workers == 1:
        executor = executors.Sequential()
    else:
        executor = executors.LocalPool(args.workers, len(trials))
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
    from mnist_nn.experiments import replicate
    from mnist_nn.experiments.executors import DataSpec
    from mnist_nn.experiments.trials import Trial

    rows = replicate.ROWS
    if args.rows:
        unknown = [name for name in args.rows if name not in replicate.BY_NAME]
        if unknown:
            names = ", ".join(replicate.BY_NAME)
            raise UserError(f"--rows: no row named {', '.join(unknown)} (rows: {names})")
        rows = [replicate.BY_NAME[name] for name in args.rows]
    dataset = load_dataset(args.dataset, args.data_dir)
    if dataset.notice:
        notice(dataset.notice)
    spec = DataSpec(dataset.name, str(args.data_dir) if args.data_dir else None, 0)
    del dataset
    base = TrainConfig()
    trials = [
        Trial(tuple(replicate.settings_of(row, args.quick).items()), seed, row.name)
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
