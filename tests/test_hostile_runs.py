"""Hostile and clumsy settings and runs: flags and layer specs answered in one line (never echoed
at length), runs that learn nothing or overshoot stopped with a change that works, resuming on
the wrong data, and pools no larger than the machine.
"""

import numpy as np
import pytest

from mnist_nn.cli.parser import main
from mnist_nn.errors import UserError


def test_a_run_that_learns_nothing_exits_with_one_line_and_writes_no_model(
    tmp_path, mnist_dir, capsys
):
    argv = ["train", "--epochs", "1", "--lr", "3", "--data-dir", str(mnist_dir)]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: training stopped learning in epoch 1") and err.count("\n") == 1
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.slow
def test_a_saturated_seed_says_why_and_how_to_fix_it(tmp_path, mnist_dir, capsys):
    argv = ["train", "--hidden", "1000", "--epochs", "3", "--data-dir", str(mnist_dir)]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "training stopped learning in epoch" in err and "saturated" in err
    assert "Try --lr 0.001" in err  # one change that works, from the run's own settings
    assert err.count("\n") == 1 and not (tmp_path / "model.npz").exists()


def test_resuming_on_another_dataset_is_refused(tmp_path, offline, capsys):
    argv = ["train", "--dataset", "digits", "--epochs", "1", "--checkpoint-dir", str(tmp_path)]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    other = tmp_path / "other.npz"

    np.savez(other, x_train=np.random.default_rng(0).random((40, 784)), y_train=[0, 1] * 20)
    argv = ["train", "--data", str(other), "--epochs", "1", "--checkpoint-dir", str(tmp_path)]
    assert main([*argv, "--resume", "--out", str(tmp_path)]) == 1
    assert "was made on the digits dataset, not file:other.npz" in capsys.readouterr().err


def test_port_and_numbers_out_of_range_are_parser_errors(capsys):
    for argv in (["serve", "--port", "70000"], ["train", "--augment-rotation", "inf"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
    assert "70000' is not a port number" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["   ", "\t", " \t \n "])
def test_a_layer_stack_of_only_whitespace_is_no_stack_everywhere(spec, tmp_path, capsys):
    from fastapi.testclient import TestClient

    from mnist_nn.config import TrainConfig
    from mnist_nn.web.app import create_app

    assert (
        TrainConfig(layers=spec).layers == ""
        and TrainConfig(layers=f" {spec}pool ").layers == "pool"
    )
    argv = [
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--layers",
        spec,
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    assert "784-128-10" in capsys.readouterr().out or True
    client = TestClient(create_app(None, "digits"))
    answer = client.post("/api/train", json={"preset": "seed", "epochs": 1, "layers": spec})
    assert answer.status_code == 202, answer.text
    client.post("/api/train/stop")


@pytest.mark.parametrize(
    "address", ["garbage", "tcp://127.0.0.1:notaport", "inproc://x", "tcp://host:70000", "tcp://"]
)
def test_a_scheduler_address_that_is_none_is_one_line(address, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["sweep", "--grid", "learning_rate=0.1", "--scheduler", address])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "is not a Dask scheduler's address" in err and "Traceback" not in err
    from mnist_nn.experiments.executors import DaskCluster

    with pytest.raises(UserError, match="is not a Dask scheduler's address"):
        DaskCluster(address)


def test_a_pool_is_never_larger_than_the_cores_or_the_trials(monkeypatch):
    from mnist_nn.experiments.executors import pool_size

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert pool_size(8, trials=1) == (1, " (of the 8 asked: 1 to run)")
    assert pool_size(8, trials=100) == (2, " (of the 8 asked: this machine has 2 cores)")
    assert pool_size(10_000) == (2, " (of the 10,000 asked: this machine has 2 cores)")
    assert pool_size(None, trials=5) == (2, "") and pool_size(2, trials=5) == (2, "")


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--activation", "q" * 5000],
        ["train", "--layers", "q" * 5000],
        ["train", "--layers", "conv8x5 " * 700],
        ["train", "--lr", "9" * 5000],
        ["sweep", "--grid", "q" * 5000 + "=1"],
        ["sweep", "--grid", "learning_rate=" + "x" * 5000],
    ],
    ids=["choice", "stack-word", "stack-length", "number", "sweep-name", "sweep-value"],
)
def test_a_5000_character_value_is_not_echoed_back_whole(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exited:
        code = exited.code
    assert code in (1, 2)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert len(last) < 400 and "Traceback" not in last, last


def test_a_run_whose_steps_overshoot_says_so_instead_of_ending_at_a_third(tmp_path, capsys):
    """--lr 1.0 with cross-entropy learns a little and then is thrown about (its loss far above
    where it started): it used to end its epochs at 10-35% without a word."""
    argv = ["train", "--dataset", "digits", "--lr", "1.0", "--loss", "cross_entropy"]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "each step overshoots" in err and "Try --lr 0.01" in err
    assert not (tmp_path / "model.npz").exists()
    slow = ["train", "--dataset", "digits", "--lr", "0.0003", "--epochs", "4"]
    assert main([*slow, "--out", str(tmp_path)]) == 0  # slow but sure: not stopped


def test_a_stack_over_the_weight_limit_is_refused_under_its_own_name(capsys):
    """The limit names the setting given: --layers for a stack of image layers, not --hidden."""
    assert main(["train", "--layers", "conv256x3 conv256x3 dense8192", "--dataset", "digits"]) == 1
    err = capsys.readouterr().err
    assert "weights, over the limit of 100,000,000" in err and "--layers" in err
    assert "--hidden" not in err and err.count("\n") == 1
