"""The command line, a front end: parse the flags, call the library, print. No rule of its own.

May import: anything in mnist_nn (`serve` starts the web front end).
"""
