"""Sweeps: the same trials give the same numbers wherever they run; an interrupted sweep goes on
where it stopped; scikit-learn's GridSearchCV runs on a Dask cluster through joblib."""

import json

import pytest

from mnist_nn.cli.parser import main
from mnist_nn.config import TrainConfig
from mnist_nn.errors import UserError
from mnist_nn.experiments import executors, results, sweeps
from mnist_nn.experiments import trials as what_to_run

from helpers import InterruptedAfter

# A quick network on the offline digits: a trial takes a fraction of a second.
BASE = TrainConfig(
    hidden_sizes=(32,),
    activation="relu",
    loss="cross_entropy",
    optimizer="momentum",
    learning_rate=0.001,
    epochs=2,
    val_size=287,
)
SPEC = executors.DataSpec("digits", None, 287)
GRID = {"learning_rate": [0.001, 0.003], "hidden_sizes": [(16,), (32,)]}
NAMES = list(GRID)


def trials():
    return what_to_run.grid_trials(GRID, seeds=[0, 1])  # 2 x 2 x 2 seeds


def figures(table):
    return [
        (line["learning_rate"], line["hidden_sizes"], line["val_accuracy_mean"],
         line["val_accuracy_std"], line["test_accuracy_mean"])
        for line in table
    ]  # fmt: skip


def run(executor, folder):
    try:
        return sweeps.run_sweep(BASE, trials(), SPEC, folder, executor, NAMES, progress=False)
    finally:
        executor.close()


@pytest.mark.slow
def test_a_grid_times_seeds_gives_the_same_numbers_in_a_pool_on_dask_and_in_sequence(tmp_path):
    pytest.importorskip("dask.distributed", reason="needs Dask: pip install 'mnist-nn[cluster]'")
    in_sequence = run(executors.Sequential(), tmp_path / "sequence")
    pooled = run(executors.LocalPool(2), tmp_path / "pool")
    on_dask = run(executors.DaskCluster(workers=2), tmp_path / "dask")
    assert len(in_sequence) == 4 and all(line["seeds"] == 2 for line in in_sequence)
    assert figures(pooled) == figures(in_sequence)
    assert figures(on_dask) == figures(in_sequence)
    assert len({line["val_accuracy_mean"] for line in in_sequence}) > 1  # the settings matter
    for folder in ("sequence", "pool", "dask"):
        files = {path.name for path in (tmp_path / folder).iterdir()}
        assert {"trials.jsonl", "sweep.csv", "sweep.json", "sweep.png"} <= files


def test_an_interrupted_sweep_resumes_without_running_a_finished_trial_again(tmp_path):
    first = InterruptedAfter(limit=3)
    with pytest.raises(KeyboardInterrupt):
        run(first, tmp_path)
    kept = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert [row["key"] for row in kept if "key" in row] == first.ran  # each kept as it finished
    # A crash in the middle of writing a line: that trial is not counted, and runs again.
    with open(tmp_path / "trials.jsonl", "a") as file:
        file.write('{"key": "half a li')
    second = InterruptedAfter()
    table = run(second, tmp_path)
    assert set(second.ran).isdisjoint(first.ran) and len(second.ran) == 5
    assert sum(line["seeds"] for line in table) == 8
    assert figures(table) == figures(run(executors.Sequential(), tmp_path / "again"))


def test_a_folder_holding_another_sweep_is_refused(tmp_path):
    run(InterruptedAfter(limit=None), tmp_path)
    other = TrainConfig(**{**BASE.to_dict(), "epochs": 3})
    with pytest.raises(UserError, match="holds another sweep"):
        sweeps.run_sweep(other, trials(), SPEC, tmp_path, executors.Sequential(), NAMES, False)


def test_the_sweep_command_prints_mean_and_spread_and_says_what_is_wrong(tmp_path, capsys):
    argv = ["sweep", "--dataset", "digits", "--preset", "quick", "--epochs", "1", "--seeds", "2"]
    out = str(tmp_path)
    grid = ["--grid", "lr=0.001,0.003", "hidden_sizes=16,32+16"]
    assert main([*argv, *grid, "--workers", "1", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "8 trials (4 settings x 2 seeds)" in printed
    assert "32 16" in printed and " ± " in printed  # two layers; mean ± std over seeds
    assert main([*argv, *grid, "--workers", "1", "--out", out]) == 0  # all done: nothing runs
    random = ["--random", "learning_rate=0.0005:0.01", "activation=relu,tanh", "--trials", "3"]
    assert main([*argv, *random, "--workers", "1", "--out", str(tmp_path / "r")]) == 0
    assert "6 trials (3 settings x 2 seeds)" in capsys.readouterr().out
    for wrong, message in [
        (["--grid", "speed=1,2"], "'speed' is not a setting"),
        (["--grid", "learning_rate=fast"], "not a value of learning_rate"),
        (["--grid", "learning_rate=-1"], "learning_rate=-1"),
        (["--grid", "seed=1,2"], "the seed is not swept"),
        (["--random", "learning_rate=0.1:0.01"], "low end must be below"),
    ]:
        assert main([*argv, *wrong, "--out", str(tmp_path / "x")]) == 1
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1, error


@pytest.mark.slow
def test_grid_search_cv_runs_on_a_dask_cluster_through_joblib():
    distributed = pytest.importorskip("dask.distributed", reason="needs Dask")
    from joblib import parallel_backend
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from mnist_nn.estimator import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {"learning_rate": [0.001, 0.003], "hidden_layer_sizes": [(16,), (32,)]}
    estimator = MLPClassifier(activation="relu", loss="cross_entropy", epochs=3, random_state=0)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as (
            cluster
        ),
        distributed.Client(cluster) as client,
    ):
        with parallel_backend("dask"):
            on_dask = GridSearchCV(estimator, grid, cv=2, n_jobs=-1).fit(X, y)
        assert len(client.scheduler_info()["workers"]) == 2
    here = GridSearchCV(estimator, grid, cv=2).fit(X, y)
    assert on_dask.best_params_ == here.best_params_
    assert list(on_dask.cv_results_["mean_test_score"]) == list(here.cv_results_["mean_test_score"])


def test_replicate_quick_runs_the_rows_asked_for_and_sets_each_beside_its_paper(tmp_path, capsys):
    from mnist_nn.experiments.replicate import BY_NAME

    argv = ["replicate", "--dataset", "digits", "--quick", "--seeds", "2", "--workers", "1"]
    rows = ["--rows", "lecun-300-distorted", "srivastava-relu-maxnorm"]
    assert main([*argv, *rows, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    table = (tmp_path / "replicate.md").read_text()
    for name in ("lecun-300-distorted", "srivastava-relu-maxnorm"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {BY_NAME[name].error:.2f}% |" in row  # the paper's figure
        assert "(2 seeds)" in row and " ± " in row  # ours: mean ± std
        assert row in printed
    assert "LeCun et al. 1998" in table and "Srivastava et al. 2014" in table
    assert "not a replication" in table  # --quick says what it is
    assert main([*argv, "--rows", "lecun-301", "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "no row named lecun-301" in error and error.count("\n") == 1


def test_every_replication_row_is_a_valid_configuration():
    from mnist_nn.experiments.replicate import ROWS, settings_of

    for row in ROWS:
        config = what_to_run.trial_config(
            TrainConfig(), what_to_run.Trial(tuple(settings_of(row).items()), 0)
        )
        assert config.epochs >= 20 and row.error < 5  # a paper's error, in %


def test_a_trial_that_stops_learning_is_counted_as_stopped_and_the_sweep_goes_on(tmp_path):
    grid = {"learning_rate": [0.001, 1000.0]}  # the second diverges at once (NaN)
    to_run = what_to_run.grid_trials(grid, seeds=[0, 1])
    deep = TrainConfig(**{**BASE.to_dict(), "hidden_sizes": (32, 32, 32), "optimizer": "sgd"})
    table = sweeps.run_sweep(
        deep, to_run, SPEC, tmp_path, executors.Sequential(), ["learning_rate"], progress=False
    )
    fine, diverged = table
    assert (fine["stopped"], fine["seeds"]) == (0, 2) and fine["val_accuracy_mean"] > 0.5
    assert (diverged["stopped"], diverged["seeds"]) == (2, 2)
    assert diverged["val_accuracy_mean"] is None  # nothing to average
    assert "2 (2 stopped)" in results.format_table(table, ["learning_rate"])


def test_a_second_sweep_into_the_same_folder_at_once_is_refused(tmp_path):
    description = {"base": BASE.to_dict(), "data": {}, "swept": []}
    first = results.Results(tmp_path, description)
    with pytest.raises(UserError, match="another sweep is writing to"):
        results.Results(tmp_path, description)
    first.close()
    results.Results(tmp_path, description).close()  # free again once the first has finished


def test_the_printed_table_marks_the_chosen_row_and_flags_the_collapsed_one(tmp_path, capsys):
    main(["sweep", "--dataset", "digits", "--hidden", "32", "--activation", "relu",
          "--loss", "cross_entropy", "--optimizer", "momentum", "--epochs", "2", "--workers", "1",
          "--grid", "learning_rate=0.001,1000", "--seeds", "2",
          "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert "lr swept" in header and "lr 0.01" not in header  # it names what it swept
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1].isdigit()}
    assert rows["0.001"].endswith("<- chosen") and rows["1000.0"].endswith("collapsed")
    assert "note: chosen: the best held-out mean" in out
    assert "2 seeds per combination give a rough spread" in out
    assert "2 epochs per trial favour large learning rates" in out


def test_a_combination_near_chance_is_collapsed_though_no_seed_stopped():
    def line(mean, std):
        return {"stopped": 0, "val_accuracy_mean": mean, "val_accuracy_std": std}

    table = results.mark_verdicts([line(0.9712, 0.002), line(0.3265, 0.0522), line(0.9801, 0.001)])
    assert [row["verdict"] for row in table] == ["", "collapsed", "chosen"]
