"""The command line: arguments, presets, errors as one line, and runs through a subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mnist_nn.cli.common import config_from_arguments
from mnist_nn.cli.parser import build_parser, main
from mnist_nn.nn.gradcheck import check_image_layers
from mnist_nn.nn.layers import ACTIVATIONS
from mnist_nn.nn.losses import LOSSES
from mnist_nn.presets import PRESETS


def parse(*argv):
    return build_parser().parse_args(["train", *argv])


def test_defaults_are_the_seed_design():
    config = config_from_arguments(parse())
    assert config == PRESETS["seed"]
    assert (config.epochs, config.batch_size, config.learning_rate) == (15, 128, 0.01)
    assert config.hidden_sizes == (128,) and config.dtype == "float32" and config.seed == 0


def test_flags_override_the_preset():
    config = config_from_arguments(parse("--epochs", "2", "--lr", "0.5", "--hidden", "64", "32"))
    assert (config.epochs, config.learning_rate, config.hidden_sizes) == (2, 0.5, (64, 32))
    assert config.batch_size == 128


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "-1"], "--epochs: -1 is not a whole number from 1 to 1,000"),
        (["--epochs", "0"], "--epochs: 0 is not a whole number from 1 to 1,000"),
        (["--epochs", "2.5"], "--epochs: '2.5' is not a whole number"),
        (["--lr", "0"], "--lr: 0.0 is not a number above 0 and at most 1,000"),
        (["--lr", "nan"], "--lr: nan is not a number above 0 and at most 1,000"),
        (["--lr", "fast"], "--lr: 'fast' is not a number"),
        (["--augment-shift", "inf"], "--augment-shift: inf is not a number from 0 to 14"),
        (["--augment-rotation", "1e308"], "1e+308 is not a number from 0 to 180"),
        (["--hidden", "100000", "100000"], "100000 is not a whole number from 1 to 8,192"),
        (["--dtype", "float16"], "invalid choice: 'float16'"),
        (["--lines", "300000"], "'300000' is not a whole number from 1 to 200,000"),
        (["--activation", "no-such"], "invalid choice: 'no-such' (choose from 'sigmoid', 'tanh'"),
        (["--val-size", "-5"], "--val-size: -5 is not a whole number from 0 to 10,000,000"),
    ],
)
def test_invalid_values_are_rejected_by_the_parser(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    text = " ".join(capsys.readouterr().out.split())
    for default in ["(default: 15)", "(default: 128)", "(default: 0.01)", "(default: float32)"]:
        assert default in text
    assert "seed: 784-128-10 sigmoid, mse, sgd lr 0.01 (the seed design)" in text


def test_user_errors_are_one_line_without_traceback(tmp_path, offline, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["train", "--out", str(tmp_path / "file"), "--dataset", "digits"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and err.count("\n") == 1


def run(*argv, env=None, cwd):
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


@pytest.mark.slow
def test_main_py_offline_trains_on_digits_and_says_so(tmp_path, offline, main_py):
    result = run(str(main_py), "--epochs", "2", env=os.environ, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "NOTICE: MNIST not found" in result.stderr and "MNIST_DATA_DIR" in result.stderr
    assert result.stdout.count("\nepoch ") == 2 and "test accuracy:" in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["dataset"] == "digits" and len(metrics["history"]) == 2
    with Image.open(tmp_path / "predictions.png") as image:
        assert image.format == "PNG" and image.width > 500
    assert (tmp_path / "model.npz").stat().st_size > 100_000


def test_explicit_mnist_offline_exits_non_zero_with_one_clear_line(tmp_path, offline):
    result = run("-m", "mnist_nn", "train", "--dataset", "mnist", env=os.environ, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: MNIST not found") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "metrics.json").exists()


def test_gradcheck_command(capsys):
    assert main(["gradcheck", "--dropout", "0.5"]) == 0
    out = capsys.readouterr().out
    # Every activation with every loss, each network 3 dense layers (a W and a b each), and the
    # image layers alone, and the line reader's CTC loss.
    image_checks = sum(len(pairs) for _, pairs in check_image_layers())
    per_example = len(LOSSES) - 1  # all but CTC, whose check is the last one
    checked = len(ACTIVATIONS) * per_example * 3 * 2 + image_checks + 1
    assert f"all {checked} gradients agree" in out and "WRONG" not in out
    assert "columns    ctc            dz" in out
    assert "relu       cross_entropy  W1" in out and "ε = 1e-6" in out


def test_compare_command_writes_its_report(tmp_path, capsys):
    argv = ["compare", "--dataset", "digits", "--epochs", "2", "--val-size", "200"]
    assert main([*argv, "--out", str(tmp_path), "--only", "seed", "relu", "best"]) == 0
    out = capsys.readouterr().out
    assert "seed" in out and "relu" in out and "best" in out
    report = (tmp_path / "compare.md").read_text()
    assert report.count("\n| ") == 4  # header and three variants
    with Image.open(tmp_path / "compare.png") as image:
        assert image.format == "PNG"
    assert main([*argv, "--only", "nonsense"]) == 1
    assert "no variant named nonsense" in capsys.readouterr().err


def test_compare_without_mnist_falls_back_to_digits_with_a_validation_split_that_fits(
    offline, tmp_path, capsys
):
    assert main(["compare", "--epochs", "1", "--only", "seed", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "NOTICE" in captured.err and "digits" in captured.err
    assert "on digits (1150 train, 287 validation, 360 test)" in captured.out


def test_compare_names_every_extension_of_the_design():
    from mnist_nn.experiments.compare import variants

    names = [variant.name for variant in variants(epochs=1, val_size=10)]
    assert names == [
        "seed",
        "relu",
        "tanh",
        "two hidden",
        "dropout",
        "cross-entropy",
        "momentum",
        "all",
        "convolution",
        "best",
    ]


def test_presets_command(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("seed:") and "quick:" in out and "best:" in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small model trained on the offline digits, with its pictures."""
    out = tmp_path_factory.mktemp("trained")
    argv = ["train", "--dataset", "digits", "--epochs", "3", "--preset", "quick", "--plots"]
    assert main([*argv, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_train_plots_writes_every_picture(trained):
    for name in ["predictions", "confusion", "mistakes", "curves", "weights"]:
        with Image.open(trained / f"{name}.png") as image:
            assert image.format == "PNG"
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["dataset"] == "digits" and metrics["data_checksums"] is None


@pytest.mark.slow
def test_evaluate_prints_scores_and_writes_pictures(trained, tmp_path, capsys):
    assert main(["evaluate", str(trained / "model.npz"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "digits test set: 360 images, accuracy" in out and "confusion matrix" in out
    assert "calibration error (ECE):" in out and "calibrated (temperature" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "activations.png",
        "confusion.png",
        "curves.png",
        "mistakes.png",
        "reliability.png",
        "weights.png",
    ]
    assert main(["evaluate", str(trained / "model.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    metrics = json.loads((trained / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    calibration = report["calibration"]
    assert calibration["temperature"] == metrics["calibration"]["temperature"] > 0
    assert 0 <= calibration["ece_after"] <= 1 and 0 <= calibration["ece_before"] <= 1
    assert len(report["per_digit"]) == 10 and np.sum(report["confusion"]) == 360


def test_predict_reads_good_files_and_reports_bad_ones(trained, tmp_path):
    from PIL import ImageDraw

    picture = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(picture).line([(200, 40), (200, 360)], fill=0, width=30)  # a one
    picture.save(tmp_path / "one.jpg")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    Image.new("L", (50, 50), 255).save(tmp_path / "blank.png")
    argv = ["predict", str(trained / "model.npz"), str(tmp_path / "one.jpg")]
    result = run(
        "-m",
        "mnist_nn",
        *argv,
        str(tmp_path / "broken.png"),
        str(tmp_path / "blank.png"),
        "--json",
        "--save-input",
        str(tmp_path / "inputs"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    answers = json.loads(result.stdout)
    assert answers[0]["digit"] == 1 and len(answers[0]["top3"]) == 3
    assert sum(t["probability"] for t in answers[0]["top3"]) <= 1.0 + 1e-6
    assert "not an image" in answers[1]["error"] and "blank" in answers[2]["error"]
    assert result.stderr.count("error: ") == 2 and "Traceback" not in result.stderr
    with Image.open(tmp_path / "inputs" / "one.28x28.png") as seen:
        assert seen.size == (28, 28)
    good = run("-m", "mnist_nn", *argv, cwd=tmp_path)
    assert good.returncode == 0 and good.stdout.startswith(f"{tmp_path / 'one.jpg'}: 1")


def test_predict_number_prints_the_number_and_each_digit_with_its_box(trained, tmp_path, capsys):
    from PIL import ImageDraw

    picture = Image.new("L", (900, 300), 255)
    for x in (150, 450, 750):  # three ones
        ImageDraw.Draw(picture).line([(x, 40), (x, 260)], fill=0, width=24)
    picture.save(tmp_path / "111.png")
    model, image = str(trained / "model.npz"), str(tmp_path / "111.png")
    assert main(["predict", model, image, "--number"]) == 0  # read whole by the shipped reader
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{image}: 111   (read by the shipped line reader)"
    assert [line.split(".")[0].strip() for line in lines[1:]] == ["1", "2", "3"]
    assert all(" at x " in line for line in lines[1:])
    for cut in ([], ["--cut"]):  # --cut: cut apart, each digit read by the model given
        assert main(["predict", model, image, "--number", "--json", *cut]) == 0
        (answer,) = json.loads(capsys.readouterr().out)
        assert len(answer["number"]) == 3 and len(answer["digits"]) == 3
        centres = [(d["box"][0] + d["box"][2]) / 2 for d in answer["digits"]]
        assert np.allclose(centres, [150, 450, 750], atol=15)
    assert answer["reader"] == "this model's digits, cut apart"


def test_predict_answers_an_image_of_many_marks_instead_of_refusing_it(trained, tmp_path, capsys):
    from PIL import ImageDraw

    picture = Image.new("L", (600, 300), 255)
    for i in range(40):  # more marks than a number has: still an answer for one digit
        ImageDraw.Draw(picture).line([(10 + 14 * i, 50), (14 + 14 * i, 250)], fill=0, width=5)
    picture.save(tmp_path / "marks.png")
    assert main(["predict", str(trained / "model.npz"), str(tmp_path / "marks.png")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'marks.png'}: ")


def test_evaluate_refuses_a_broken_model_in_one_line(tmp_path, capsys):
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04 cut short")
    assert main(["evaluate", str(tmp_path / "model.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "damaged or truncated" in err and err.count("\n") == 1


def test_an_os_error_is_one_line_too(offline, capsys):
    # /proc refuses new folders even to root: the same path as a full disk or a read-only folder.
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", "/proc/mnist-nn"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "/proc/mnist-nn" in err
