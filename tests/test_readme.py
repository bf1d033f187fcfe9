"""The README stays true: each code line it quotes is at the line it links to."""

import re
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"\| `(?P<code>[^`]+)` \| \[[^\]]+\]\((?P<path>[^)#]+)#L(?P<line>\d+)\)")


def test_quoted_code_is_at_the_linked_line():
    rows = list(ROW.finditer((ROOT / "README.md").read_text()))
    assert len(rows) >= 9
    for row in rows:
        lines = (ROOT / row["path"]).read_text().splitlines()
        line = lines[int(row["line"]) - 1]
        assert row["code"] in line, f"README: {row['path']}#L{row['line']} is now {line.strip()!r}"


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
