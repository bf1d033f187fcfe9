"""A real run on real MNIST (skipped, saying why, where MNIST_DATA_DIR is unset)."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from helpers import seed_weights_sha256


@pytest.mark.slow
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


@pytest.mark.slow
def test_the_seed_run_ends_at_exactly_the_stored_weights(tmp_path, mnist_dir, main_py):
    import hashlib

    import numpy as np

    expected = seed_weights_sha256()  # (first: skips before training on an unknown kernel)
    env = {**os.environ, "MNIST_DATA_DIR": str(mnist_dir)}
    result = subprocess.run(
        [sys.executable, str(main_py), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    digest = hashlib.sha256()
    with np.load(tmp_path / "model.npz") as model:
        for name in ("layer0.weight", "layer0.bias", "layer1.weight", "layer1.bias"):
            digest.update(model[name].tobytes())
    assert digest.hexdigest() == expected
    assert "test accuracy: 95.62%" in result.stdout


@pytest.mark.slow
def test_large_digits_drawn_off_centre_read_as_well_as_mnist(tmp_path, mnist_dir, monkeypatch):
    """MNIST test digits redrawn large, black on white, somewhere on a big canvas, go through
    `predict`'s framing and are read as well as the originals (the framing undoes the drawing)."""
    import numpy as np
    from PIL import Image

    from mnist_nn.config import TrainConfig
    from mnist_nn.data.dataset import load_dataset
    from mnist_nn.reading.images import load_digit
    from mnist_nn.train.loop import train

    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    dataset = load_dataset("mnist")
    network = train(TrainConfig(epochs=2), dataset).network
    rng = np.random.default_rng(1)
    images, labels = dataset.test.images[:300], dataset.test.labels[:300]
    redrawn = []
    for i, image in enumerate(images):
        ink = np.uint8(255 - 255 * image.reshape(28, 28))
        big = Image.fromarray(ink).resize((280, 280), Image.Resampling.BICUBIC)
        canvas = Image.new("L", (900, 700), 255)
        canvas.paste(big, (int(rng.integers(0, 620)), int(rng.integers(0, 420))))
        canvas.save(tmp_path / f"{i}.png")
        redrawn.append(load_digit(tmp_path / f"{i}.png"))
    direct = np.mean(network.predict(images) == labels)
    framed = np.mean(network.predict(np.stack(redrawn)) == labels)
    assert framed >= direct - 0.02, (direct, framed)
