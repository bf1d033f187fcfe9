"""A real run on real MNIST (skipped, saying why, where MNIST_DATA_DIR is unset)."""

import json
import os
import subprocess
import sys

from PIL import Image


def test_one_epoch_of_the_seed_on_mnist(tmp_path, mnist_dir, main_py):
    env = {**os.environ, "MNIST_DATA_DIR": str(mnist_dir)}
    result = subprocess.run(
        [sys.executable, str(main_py), "--epochs", "1", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "NOTICE" not in result.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["dataset"] == "mnist" and metrics["config"]["hidden_sizes"] == [128]
    assert metrics["test_accuracy"] >= 0.88
    assert f"test accuracy: {metrics['test_accuracy']:.2%}" in result.stdout
    with Image.open(tmp_path / "out" / "predictions.png") as image:
        image.verify()
    assert (tmp_path / "out" / "model.npz").exists()
