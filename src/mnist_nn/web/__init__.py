"""The draw-a-digit web app (`mnist-nn serve`), a front end: the guard, the routes, the training
session behind the Train panel, the server, and the static page. No rule of its own.

May import: anything in mnist_nn but `cli` and `estimator`.
"""
