"""`mnist-nn serve`: the draw-a-digit page, and the Train panel beside it."""

import argparse
import re
import secrets
import sys
from pathlib import Path

from mnist_nn.cli.common import add_data_arguments, megabytes, port
from mnist_nn.errors import UserError


def add_serve(subcommands) -> None:
    serve = subcommands.add_parser(
        "serve",
        help="the draw-a-digit web page",
        description="Serve a page where you draw a digit and watch the network read it, and "
        "where you can train a network and watch it learn (it opens there when there is no "
        "model yet).",
    )
    serve.add_argument(
        "--model", type=Path, help="model file (default: ./model.npz, if there is one)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only)",
    )
    serve.add_argument("--port", type=port, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--memory-budget",
        type=megabytes,
        default=2048,
        metavar="MB",
        help="memory a training run started from the page may hold besides its data; a run "
        "that would need more is refused before it starts (default: 2048)",
    )
    serve.add_argument(
        "--token",
        type=token_text,
        help="a secret every request must carry (?token= once in the page's address, or an "
        "Authorization: token header); default: none on localhost, a new random one printed at "
        "start for any other --host",
    )
    add_data_arguments(serve, own_data=False)  # what the Train panel trains on
    serve.set_defaults(run=command_serve)


def command_serve(args: argparse.Namespace) -> int:
    try:
        from mnist_nn.web.app import create_app, find_model
        from mnist_nn.web.server import run
    except ImportError as error:
        raise UserError(
            f"the web app needs its extra packages ({error.name} is missing): "
            "pip install -e '.[web]'"
        ) from None
    model = find_model(args.model)
    local = {"127.0.0.1", "localhost", "::1"}
    hosts = None if args.host in ("0.0.0.0", "::") else local | {args.host}  # any: no check
    # Beyond this computer, only those given the token may use the server (as Jupyter does).
    token = args.token or (None if args.host in local else secrets.token_urlsafe(24))
    budget = args.memory_budget << 20
    app = create_app(
        model, args.dataset, args.data_dir, allowed_hosts=hosts, token=token, memory_budget=budget
    )
    what = model if model is not None else "no model yet (no model.npz here): train one on the page"
    address = f"http://{args.host}:{args.port}/" + (f"?token={token}" if token else "")
    print(f"serving {what} at {address}  (Ctrl-C stops)", flush=True)
    if args.host not in local:
        print(
            f"note: listening on {args.host}: other computers can reach this server; only "
            "requests with its token are answered (the address above has it)",
            file=sys.stderr,
        )
    run(app, args.host, args.port)
    return 0


MAX_TOKEN = 256  # characters of a --token
TOKEN = re.compile(rf"[A-Za-z0-9._~-]{{1,{MAX_TOKEN}}}")  # what an address carries as written


def token_text(text: str) -> str:
    """--token's value: it goes into the page's address (?token=...), so it is letters, digits and
    - . _ ~ only; anything else could not be typed or would be changed on the way."""
    if not TOKEN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"use 1 to {MAX_TOKEN} letters, digits and - . _ ~ (the token goes into the page's "
            "address)"
        )
    return text
