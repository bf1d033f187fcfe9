"""mnist-nn: a neural network written from scratch in NumPy that learns to read handwritten digits.

The math (forward and backward passes) lives in `layers`, `losses` and `optimizers`; `network`
stacks layers; `training` runs the loop and `callbacks` watch and steer it; `data` and `sources`
get MNIST; `cli` is the command line; `MLPClassifier` (in `estimator`) is the scikit-learn door.
"""

from mnist_nn.version import __version__

__all__ = ["MLPClassifier", "__version__"]


def __getattr__(name: str):
    # Imported on first use, so that `mnist-nn --help` does not wait for scikit-learn.
    if name == "MLPClassifier":
        from mnist_nn.estimator import MLPClassifier

        return MLPClassifier
    raise AttributeError(f"module 'mnist_nn' has no attribute {name!r}")
