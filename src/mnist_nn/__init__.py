"""mnist-nn: a neural network written from scratch in NumPy that learns to read handwritten digits.

The math (forward and backward passes) lives in `layers`, `losses` and `optimizers`; `network`
stacks layers; `training` runs epochs; `data` gets MNIST; `cli` is the command line.
"""

__version__ = "0.1.0"
