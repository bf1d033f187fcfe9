"""The README stays true: each code line it quotes is at the line it links to."""

import ast
import re
import shlex
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The learner's path: the README, then its chapters in the order it lists them, then the reference
# pages whose figures and commands are kept true here too.
CHAPTERS = ["backprop.md", "saturation.md", "extensions.md", "convolution.md", "reading.md",
            "many-runs.md", "fast-training.md", "reading-lines.md"]  # fmt: skip
REFERENCE = ["python.md", "limits.md"]
PAGES = [ROOT / "README.md", *(ROOT / "docs" / name for name in CHAPTERS + REFERENCE)]


def path_text() -> str:
    """The README and its pages, one after another (each starts with its "# " title)."""
    return "\n\n".join(page.read_text() for page in PAGES)


ROW = re.compile(r"\| `(?P<code>[^`]+)` \| \[`(?P<symbol>[\w.]+)`\]\((?P<path>[^)#]+)\)")


def source_of(path: Path, symbol: str) -> str:
    """The source of function or method `symbol` ("Dense.forward") in the file at `path`."""
    tree = ast.parse(path.read_text())
    *owners, name = symbol.split(".")
    body = tree.body
    for owner in owners:
        [node] = [n for n in body if isinstance(n, ast.ClassDef) and n.name == owner]
        body = node.body
    [function] = [n for n in body if isinstance(n, ast.FunctionDef) and n.name == name]
    return ast.get_source_segment(path.read_text(), function)


def test_quoted_code_is_inside_the_named_function():
    """The README's code table names a function for each line it quotes (not a line number,
    which moves whenever anything above it changes): each quote must be in that function."""
    rows = list(ROW.finditer((ROOT / "README.md").read_text()))
    assert len(rows) >= 9
    for row in rows:
        source = source_of(ROOT / row["path"], row["symbol"])
        assert row["code"] in source, f"README: {row['code']!r} is not in {row['symbol']}"


def readme_code_blocks(heading: str) -> list[str]:
    """The Python code blocks of the section (of the README or a chapter) that starts with
    `heading`, up to the next section or page."""
    text = path_text()
    section = text[text.index(heading) :]
    end = re.search(r"\n#{1,2} ", section[1:])
    section = section[: end.start() + 1] if end else section
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_add_your_own_examples_gradcheck_and_train(capsys):
    from mnist_nn import MLPClassifier
    from mnist_nn.cli.parser import build_parser, main
    from mnist_nn.config import TrainConfig
    from mnist_nn.nn import layers, losses
    from mnist_nn.nn.gradcheck import check_combinations
    from mnist_nn.train.loop import train
    from mnist_nn.web.form import form_settings

    from helpers import tiny_dataset

    activation, loss = readme_code_blocks("## Add your own")
    try:
        exec(activation, dict(vars(layers)))  # as if written into layers.py
        exec(loss, dict(vars(losses)))  # and into losses.py
        [(_, errors)] = check_combinations(["leaky_relu"], ["binary_cross_entropy"])
        assert len(errors) == 6 and all(error < 1e-6 for _, error in errors), errors
        assert main(["gradcheck", "--activations", "leaky_relu"]) == 0
        config = TrainConfig(epochs=5, batch_size=32, learning_rate=0.001, hidden_sizes=(16,))
        config = replace(config, activation="leaky_relu", loss="binary_cross_entropy").validated()
        result = train(config, tiny_dataset())
        assert result.test_accuracy > 0.6  # chance is 0.1
        assert result.history[-1]["train_loss"] < result.history[0]["train_loss"] / 2
        # Added to its table and nowhere else, it is a choice in every front end.
        form = {entry["name"]: entry for entry in form_settings()}
        assert "leaky_relu" in form["activation"]["choices"]
        assert "binary_cross_entropy" in form["loss"]["choices"]
        assert build_parser().parse_args(["train", "--activation", "leaky_relu"]).activation
        assert MLPClassifier(activation="leaky_relu")._config(False).activation == "leaky_relu"
    finally:
        layers.ACTIVATIONS.pop("leaky_relu", None)
        losses.LOSSES.pop("binary_cross_entropy", None)


def test_the_driving_example_runs(offline, capsys):
    """The callback example, on the offline digits (MNIST's stand-in) to keep it quick."""
    (example,) = readme_code_blocks("## The training loop, and driving it yourself")
    exec(example, {})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["1", "2", "3"]
    assert lines[2].endswith("next lr 0.00125") and "mini-batches" in lines[3]


def test_the_from_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # it saves digits.npz
    (example,) = readme_code_blocks("# From Python")
    exec(example, {})
    best, predicted = capsys.readouterr().out.splitlines()
    assert "hidden_layer_sizes" in best and (tmp_path / "digits.npz").exists()
    assert re.fullmatch(r"\[\d \d \d \d \d\] 0\.\d+", predicted), predicted  # 5 digits, a loss


def test_every_relative_link_of_the_readme_and_docs_leads_somewhere():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name}: link to {target} leads nowhere"


# Every command the README shows in backticks, and how a test checks it: each training command is
# run shortened (one epoch) and must print what the README says it prints, in the same form; each
# picture command draws its picture and prints its figures; the others must parse (a renamed flag
# or subcommand fails here). Each figure the README quotes beside a command is listed with it.
COMMAND = re.compile(
    r"`((?:python main\.py|mnist-nn|python docs/experiments\.py|python -m benchmarks\.\w+)[^`]*)`"
)
TRAINING = {  # command: (figures the README quotes beside it, what a shortened run prints)
    "python main.py": (["95.62%"], r"test accuracy: \d+\.\d\d%"),
    "python main.py --lr 0.1": ([], "training stopped learning in epoch 1 with --lr 0.1 .* Try "),
    "python main.py --hidden 1000": ([], "stopped learning in epoch 1 .* Try --lr 0.001"),
    "python main.py --hidden 1000 --lr 0.001 --epochs 3": (
        ["86.95%"],
        r"test accuracy: \d+\.\d\d%",
    ),
    "python main.py --hidden 1000 --activation relu --loss cross_entropy --lr 0.001 --epochs 3": (
        ["95.95%"],
        r"test accuracy: \d+\.\d\d%",
    ),
    "python main.py --loss cross_entropy": (["97.89%"], r"test accuracy: \d+\.\d\d%"),
    "python main.py --preset cnn": (["99.08%", "48.1 s"], r"test accuracy: \d+\.\d\d%"),
    "python main.py --preset cnn-best": (["99.60%", "693.1 s"], r"test accuracy: \d+\.\d\d%"),
    "python main.py --preset fast": (["99.60%", "87.1 s"], r"test accuracy: \d+\.\d\d%"),
    "python main.py --plots": (
        [],
        r"(?=.*weights\.png)(?=.*curves\.png)(?=.*activations\.png)"
        r"(?=.*confusion\.png)(?=.*mistakes\.png)",
    ),
}
SHIFTED_FIGURES = ["33.3%", "62.0%", "93.4%", "97.4%"]  # each model's accuracy, moved 4 px
PICTURES = {  # command: (figures the README quotes beside it, what its shortened run prints)
    "python docs/experiments.py learning-rates": (
        ["73.6%", "93.0%"],
        r"lr 0\.001: \d+\.\d%, lr 0\.01: \d+\.\d%, lr 0\.1: stopped",
    ),
    "python docs/experiments.py saturation": ([], r"1000 units: \d+% of outputs below 0\.01"),
    "python docs/experiments.py im2col": (
        ["(9, 16)", "(2, 16)"],
        r"cols \(9, 16\), Wᵀ \(2, 9\), z \(2, 4, 4\); .*: True",
    ),
    "python docs/experiments.py moving-map": (
        ["0.0e+00"],
        r"filter \d+: the moved digit's map is the map moved, to \d\.\de[+-]\d\d",
    ),
    "python docs/experiments.py seams": (
        ["8 seams"],
        r"\d seams tried; read as \d*, written \d\d, touching",
    ),
    "python docs/experiments.py batch-norm": (
        ["12.0%", "3.7%"],
        r"the seed: \d+\.\d% saturated after \d+ epochs, \d+\.\d% held out; lr 0\.05: ",
    ),
    "python docs/experiments.py network": ([], r"101,770 parameters"),
    "python docs/experiments.py backward": ([], r"dL/dW1 \(784, 128\) and dL/dW2 \(128, 10\)"),
    "python docs/experiments.py sigmoid": ([], r"σ'\(0\) = 0\.25, σ'\(5\) = 0\.0066"),
    "python docs/experiments.py output-gradient": (
        ["0.0098", "0.99"],
        r"y = 0, output 0\.99: MSE 0\.0098, cross-entropy 0\.99",
    ),
    "python docs/experiments.py losses": ([], r"mse \d+\.\d%, cross_entropy \d+\.\d%"),
    "python docs/experiments.py framing": ([], "four test digits"),
    "python docs/experiments.py filters": ([], r"8 filters of 5x5, maps of 24x24"),
    "python docs/experiments.py line-columns": (
        [],
        r"read \d+, written 4117; \d+ of 26 columns not blank",
    ),
    "python docs/experiments.py ctc-lattice": (
        [],
        r"p\(4117 \| line\) = \d\.\d{3}; 9 positions x 26 columns",
    ),
    "python docs/experiments.py shifted": (
        SHIFTED_FIGURES,
        r"quick: (\d+\.\d%, ){4}\d+\.\d%; cnn: .*; best: .*; cnn-best: ",
    ),
}


# Commands that work once the README's own example code is added (checked by the test of it).
AFTER_THE_EXAMPLES = {
    "python main.py --activation leaky_relu --loss binary_cross_entropy",
    "mnist-nn gradcheck --activations leaky_relu --losses binary_cross_entropy",
}


def readme_commands() -> set[str]:
    """Each command in backticks, as one line even where the README or a chapter wraps it."""
    found = COMMAND.findall(path_text())
    return {" ".join(command.split()) for command in found}


def paragraph_of(command: str) -> str:
    """The paragraph (up to a blank line) of the README or a chapter that shows `command`."""
    paragraphs = path_text().split("\n\n")
    return next(part for part in paragraphs if f"`{command}`" in " ".join(part.split()))


def test_every_readme_command_is_checked():
    """A command added to the README without a check here fails: run below, or parsed."""
    from mnist_nn.cli.parser import build_parser

    for command in readme_commands() - set(TRAINING) - set(PICTURES) - AFTER_THE_EXAMPLES:
        if command.startswith("python -m benchmarks."):
            name = command.split()[2]
            assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), command
            continue
        words = command.split()[1:]
        if len(words) == 1:  # a subcommand named alone, e.g. `mnist-nn predict`
            assert words[0] in build_parser().format_help(), command
            continue
        # Placeholders as the README writes them: FILE, model.npz, photo.jpg.
        build_parser().parse_args(words)


@pytest.mark.slow
@pytest.mark.parametrize("command", list(TRAINING))
def test_each_training_command_prints_what_the_readme_says(command, mnist_dir, tmp_path, capsys):
    """Run shortened to one epoch: the same form of output, and the figures the README quotes
    beside the command are there beside it (the full runs measured them)."""
    from mnist_nn.cli.parser import main

    figures, printed = TRAINING[command]
    assert command in readme_commands()
    for figure in figures:
        assert figure in paragraph_of(command), f"README: {figure} is not beside {command}"
    words = shlex.split(command)[2:]
    if "--epochs" in words:
        del words[words.index("--epochs") : words.index("--epochs") + 2]
    main(["train", *words, "--epochs", "1", "--data-dir", str(mnist_dir), "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert re.search(printed, captured.out + captured.err), captured.out + captured.err


# The test accuracy each full run of a training command reaches, as the README quotes it beside the
# command: the run is repeated in full here (the same seed gives the same weights), within 0.1
# points (another BLAS kernel may round differently). The seed's own 95.62% is measured by
# tests/test_end_to_end.py, with its weights to the last bit. The others are too long for a test
# (the cnn-best preset trains for 11 minutes): the README says beside each where and when it was
# measured, and `test_figures_no_test_reproduces_say_where_and_when` keeps that note there.
REPRODUCED = ["python main.py --loss cross_entropy",
              "python main.py --hidden 1000 --lr 0.001 --epochs 3",
              "python main.py --hidden 1000 --activation relu --loss cross_entropy --lr 0.001 "
              "--epochs 3", "python main.py --preset cnn"]  # fmt: skip
STATED = [  # (figure, a word of the README's sentence that holds it)
    ("99.60%", "cnn-best"),
    ("693.1 s", "cnn-best"),
    ("99.30%", "12.7 min"),
    ("48.1 s", "cnn"),
    ("99.60%", "--preset fast"),  # two minutes: the tests run it for one epoch
    ("87.1 s", "--preset fast"),
]


@pytest.mark.slow
@pytest.mark.parametrize("command", REPRODUCED)
def test_each_accuracy_the_readme_quotes_is_what_the_full_run_reaches(
    command, mnist_dir, tmp_path, capsys
):
    from mnist_nn.cli.parser import main

    [quoted] = [figure for figure in TRAINING[command][0] if figure.endswith("%")]
    argv = [*shlex.split(command)[2:], "--data-dir", str(mnist_dir), "--out", str(tmp_path)]
    assert main(["train", *argv]) == 0
    reached = re.search(r"test accuracy: (\d+\.\d\d)%", capsys.readouterr().out)
    assert abs(float(reached[1]) - float(quoted[:-1])) <= 0.1, (command, reached[0], quoted)


def test_figures_no_test_reproduces_say_where_and_when():
    """Each figure no test run reproduces stands in a paragraph that says on what machine and on
    what day it was measured."""
    paragraphs = path_text().split("\n\n")
    for figure, word in STATED:
        # a table's words are in the paragraph before it
        pairs = zip(["", *paragraphs], paragraphs, strict=False)
        holding = [before + part for before, part in pairs if figure in part and word in part]
        assert holding, f"README: {figure} ({word}) is not there"
        for part in holding:
            part = " ".join(part.split())
            machine = re.search(r"2-core (AMD EPYC|Intel Xeon)", part)
            said = machine and re.search(r"\b20\d\d-\d\d-\d\d\b", part)
            assert said, f"README: {figure} ({word}) without where and when it was measured"


@pytest.mark.slow
@pytest.mark.parametrize("command", list(PICTURES))
def test_each_picture_command_prints_its_figures(command, mnist_dir, monkeypatch, tmp_path, capsys):
    import importlib.util

    figures, printed = PICTURES[command]
    assert command in readme_commands()
    for figure in figures:
        assert figure in paragraph_of(command), f"README: {figure} is not beside {command}"
    spec = importlib.util.spec_from_file_location("experiments", ROOT / "docs" / "experiments.py")
    experiments = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(experiments)
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    name = command.split()[-1]
    # --epochs 1: the pictures that train presets (shifted, filters) train each for one epoch.
    experiments.main([name, "--limit", "3000", "--epochs", "1", "--out", str(tmp_path)])
    assert re.search(printed, capsys.readouterr().out)
    assert (ROOT / "docs" / f"{name.replace('-', '_')}.png").exists()  # the README shows it


# The README's tables of measured figures are copies of what these commands write.
WRITTEN_BY = {
    "python -m benchmarks.numbers": "benchmarks/numbers.md",
    "python -m benchmarks.real_handwriting": "benchmarks/handwriting.md",
    "python -m benchmarks.sklearn_compare": "benchmarks/sklearn_comparison.md",
    "python -m benchmarks.convolution": "benchmarks/convolution.md",
    "python -m benchmarks.fast": "benchmarks/fast.md",
    "python -m benchmarks.numbers --out benchmarks/lines.md": "benchmarks/lines.md",
    "python -m benchmarks.sweeps": "benchmarks/sweeps.md",
    "mnist-nn replicate --seeds 3": "docs/replicate.md",  # (its --out folder's replicate.md)
}


def tables_after(text: str, command: str) -> list[str]:
    """The data rows of the tables in the README section (up to the next heading) where
    `command` is first shown."""
    start = text.index(f"`{command}`")
    end = text.find("\n#", start)
    section = text[start : len(text) if end < 0 else end]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [row for row in rows if not row.startswith("|---")]


@pytest.mark.parametrize("command", list(WRITTEN_BY))
def test_each_benchmark_table_of_the_readme_is_what_its_command_wrote(command):
    text = path_text()
    written = (ROOT / WRITTEN_BY[command]).read_text().splitlines()
    rows = tables_after(text, command)
    assert rows, f"no table after {command}"
    missing = [row for row in rows if row not in written and not row.startswith("| model |")]
    assert not missing, f"README rows not in {WRITTEN_BY[command]}: {missing}"


def test_the_compare_table_has_the_form_and_variants_compare_prints():
    from mnist_nn.experiments.compare import markdown_table, variants

    text = (ROOT / "docs" / "extensions.md").read_text()  # where the ablation report is
    start = text.index("`mnist-nn compare`")
    block = text[text.index("\n|", start) + 1 :]
    table = [line for line in block[: block.index("\n\n")].splitlines() if "---" not in line]
    header, *rows = table
    assert header == markdown_table([]).splitlines()[0]
    shown = [row.split(" | ")[:2] for row in rows]
    assert shown == [[f"| {v.name}", v.what] for v in variants(15, 5000)]
    for row in rows:
        assert re.fullmatch(r"\| .+ \| .+ \| \d+\.\d\d% \| \d+\.\d\d% \| \d+\.\d \|", row), row


def test_the_limits_table_says_what_the_code_does():
    """Each figure of the README's Limits table, against the constant that enforces it."""
    from mnist_nn import config
    from mnist_nn.cli import serve
    from mnist_nn.cli import train as train_command
    from mnist_nn.data import idx, lines, own_data
    from mnist_nn.experiments import results, trials
    from mnist_nn.nn import stack
    from mnist_nn.reading import images, line_reader
    from mnist_nn.reading import number_folders as folders
    from mnist_nn.reading import seams as numbers
    from mnist_nn.saving import files as fileio
    from mnist_nn.web import app, guard, server
    from mnist_nn.web import train_routes as train_api

    table = (ROOT / "docs" / "limits.md").read_text()
    rows = {row.split(" | ")[0].lstrip("| "): row for row in table.splitlines()[4:]}
    web_epochs = config.SETTINGS["epochs"].metadata["web_high"]
    hidden = config.SETTINGS["hidden_sizes"].metadata
    expected = {
        "image files read": [f"a JPEG at most {images.MAX_PIXELS // 10**6} megapixels",
                             f"the others at most {images.MAX_FULL_PIXELS // 10**6} megapixels",
                             f"share {images.DECODE_BUDGET >> 20} MB",
                             f"more than the {images.DECODE_BUDGET >> 20} MB is refused",
                             f"working size of {images.WORKING_SIDE} px"],
        "web request body": [f"{guard.MAX_BODY_BYTES >> 20} MB"],
        "web connections": [f"{server.MAX_CONNECTIONS} open at once",
                            f"within {server.HEADER_SECONDS:.0f} s",
                            f"body within {server.BODY_SECONDS:.0f} s",
                            f"per {server.LOG_SECONDS:.0f} s"],
        "event streams": [f"{train_api.MAX_STREAMS} open at once",
                          f"within {train_api.SEND_SECONDS:.0f} s"],
        "training settings": [f"{hidden['max_count']} layers of {hidden['high']:,} units",
                              f"{config.MAX_WEIGHTS // 10**6} million weights",
                              f"at most {own_data.MAX_CLASSES:,} classes",
                              f"at most {web_epochs} epochs",
                              f"{hidden['web_max_count']} layers of {hidden['web_high']:,}"],
        "memory of a training run": [f"{app.MEMORY_BUDGET >> 20} MB by default"],
        "a written number": [f"at most {numbers.MAX_DIGITS} digits",
                             f"at most {2 * numbers.MAX_DIGITS} separate marks"],
        "a number read whole": [f"at most {line_reader.LONGEST} times as long as it is",
                                f"{lines.HEIGHT}x{stack.LINE_WIDTH} pixels"],
        "a line reader's lines": [f"at most {folders.MAX_NUMBERS:,} rows",
                                  f"{folders.MAX_LABELS_BYTES >> 20} MB",
                                  f"at most {train_command.MAX_LINES:,}"],
        "MNIST IDX files": [f"{idx.MAX_DATA_BYTES // 10**6} MB of data"],
        "`.npz` files": [f"{fileio.MAX_ARRAY_BYTES >> 30} GiB for the arrays read"],
        "CSV for `--data`": [f"{own_data.MAX_CSV_BYTES >> 20} MB"],
        "a sweep": [f"at most {trials.MAX_TRIALS:,} trials", f"`{results.SET_ASIDE_FILE}`"],
        "who may drive the server": [f"1 to {serve.MAX_TOKEN} letters, digits and `- . _ ~`"],
    }  # fmt: skip
    for what, figures in expected.items():
        [row] = [row for name, row in rows.items() if name.startswith(what)]
        for figure in figures:
            assert figure in row, f"Limits table, {what}: {figure!r} not in {row!r}"


def test_the_calibration_figures_are_what_evaluate_prints(mnist_dir, tmp_path, capsys):
    """The README quotes `mnist-nn evaluate` on `python main.py`'s model; a shortened run (one
    epoch) prints the same figures in the same form."""
    from mnist_nn.cli.parser import main

    paragraph = paragraph_of("mnist-nn evaluate")
    for figure in ("3.84%", "0.48%", "T = 1.13"):
        assert figure in paragraph, f"README: {figure} is not beside mnist-nn evaluate"
    argv = ["train", "--epochs", "1", "--data-dir", str(mnist_dir), "--out", str(tmp_path)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "model.npz"), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    form = r"calibration error \(ECE\): \d+\.\d\d% for the network's own scores, \d+\.\d\d% "
    assert re.search(form + r"calibrated \(temperature \d\.\d+\)", printed), printed


def test_the_readme_leads_through_its_chapters_in_order():
    """The README is the path: at most 500 lines, the page within its first 200, then every
    chapter linked in learning order."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 500
    assert text.index("## Draw a digit") < len("".join(text.splitlines(keepends=True)[:200]))
    positions = [text.index(f"(docs/{name})") for name in CHAPTERS]
    assert positions == sorted(positions), "the chapters' links are out of order"


# Pictures that no `python docs/experiments.py NAME` draws: the words on their page that say what
# does. The others must name their own `python docs/experiments.py NAME` on their page.
DRAWN_BY = {
    "predictions.png": "python main.py",
    "weights.png": "python main.py --plots",
    "curves.png": "python main.py --plots",
    "activations.png": "python main.py --plots",
    "confusion.png": "python main.py --plots",
    "mistakes.png": "python main.py --plots",
    "reliability.png": "evaluate --out DIR",
    "compare.png": "mnist-nn compare",
    "sweep.png": "mnist-nn sweep",
    "web.png": "python docs/screenshots.py",
    "train.png": "python docs/screenshots.py",
}


def test_every_picture_says_what_drew_it():
    import importlib.util

    spec = importlib.util.spec_from_file_location("experiments", ROOT / "docs" / "experiments.py")
    experiments = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(experiments)
    for page in PAGES:
        text = " ".join(page.read_text().split())
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text):
            name = Path(image).name
            drawn = Path(image).stem.replace("_", "-")
            command = (
                f"python docs/experiments.py {drawn}"
                if drawn in experiments.PICTURES
                else DRAWN_BY[name]
            )
            assert f"`{command}" in text, f"{page.name}: {name} does not say `{command}`"
