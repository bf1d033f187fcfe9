"""The math, NumPy only: layers and their forward and backward passes, convolution, batch
normalization, losses, optimizers, the network that stacks them, the stack parser and the
gradient check.

May import: nothing of mnist_nn outside `nn` but `errors` (the stack parser, `nn.stack`, imports
not even NumPy).
"""
