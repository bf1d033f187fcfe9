"""mnist-nn: a neural network written from scratch in NumPy that learns to read handwritten digits.

The folders are the plan (docs/architecture.md is the map), from the math up to the front ends:
`nn` (layers, losses, optimizers, the network: forward and backward passes by hand), `data`,
`saving`, `train` (the loop), `evaluate`, `reading` (people's images and numbers), `experiments`,
and the front ends `cli`, `web` and `MLPClassifier` (in `estimator`, scikit-learn's).
"""

from mnist_nn.version import __version__

__all__ = ["MLPClassifier", "__version__"]


def __getattr__(name: str):
    # Imported on first use, so that `mnist-nn --help` does not wait for scikit-learn.
    if name == "MLPClassifier":
        from mnist_nn.estimator import MLPClassifier

        return MLPClassifier
    raise AttributeError(f"module 'mnist_nn' has no attribute {name!r}")
