"""docs/tutorial.ipynb runs from top to bottom without an error (on MNIST where it is found,
else on the offline digits), as a reader would run it."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mnist_nn.data.sources import locate_mnist

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_the_tutorial_notebook_runs(monkeypatch):
    directory, _ = locate_mnist()
    if directory is not None:  # the kernel runs in docs/: give it an absolute path
        monkeypatch.setenv("MNIST_DATA_DIR", str(directory.resolve()))
    else:
        monkeypatch.setenv("MNIST_NN_OFFLINE", "1")
    notebook = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute(cwd=str(DOCS))
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "WRONG" in text and "test accuracy after 15 epochs" in text
    assert os.environ.get("MNIST_DATA_DIR") is None or "mnist 60000 training images" in text


def test_the_stored_notebook_is_the_generated_one():
    """The notebook's cells are docs/make_tutorial.py's (regenerate it after editing that file)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tutorial", DOCS / "make_tutorial.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    stored = nbformat.read(DOCS / "tutorial.ipynb", as_version=4)
    assert [cell.source for cell in stored.cells] == [source for _, source in maker.CELLS]
