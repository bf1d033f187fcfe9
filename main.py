"""`python main.py`: train the seed network (the original design), exactly `mnist-nn train`.

Any `mnist-nn train` flag works here too, e.g. `python main.py --epochs 3 --dataset digits`.
"""

import sys

from mnist_nn.cli.parser import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
