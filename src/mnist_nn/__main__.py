"""`python -m mnist_nn` is the same as the `mnist-nn` command."""

import sys

from mnist_nn.cli.parser import main

sys.exit(main())
