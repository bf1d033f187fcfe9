"""The README stays true: each code line it quotes is at the line it links to."""

import ast
import re
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
    """The Python code blocks of the README section that starts with `heading`."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading) :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_add_your_own_examples_gradcheck_and_train(capsys):
    from mnist_nn import layers, losses
    from mnist_nn.cli import main
    from mnist_nn.config import TrainConfig
    from mnist_nn.gradcheck import check_combinations
    from mnist_nn.training import train

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
    (example,) = readme_code_blocks("## From Python")
    exec(example, {})
    best, predicted = capsys.readouterr().out.splitlines()
    assert "hidden_layer_sizes" in best and (tmp_path / "digits.npz").exists()
    assert re.fullmatch(r"\[\d \d \d \d \d\] 0\.\d+", predicted), predicted  # 5 digits, a loss


def test_every_relative_link_of_the_readme_and_docs_leads_somewhere():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name}: link to {target} leads nowhere"
