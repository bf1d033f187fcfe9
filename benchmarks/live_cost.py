"""What watching a run live costs: the quick preset trained by `mnist-nn serve`, with a page's
event stream attached and without, beside the same run in-process; and how fast /api/predict
answers while it trains.

    python -m benchmarks.live_cost [--rounds 3]

Writes (or replaces) the section "Training live in the browser" of benchmarks/results.md.
Wall-clock seconds from the start request to the finished state, so the live view's own work
(its callback, the event stream) is counted. Nothing here asserts a time.
"""

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from mnist_nn.data.dataset import load_dataset
from mnist_nn.presets import PRESETS
from mnist_nn.train.loop import train

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADING = "## Training live in the browser"
SETTINGS = {"preset": "quick", "val_size": 5000}
SETTLE_SECONDS = 1.0


def start_server(folder: str) -> tuple[str, subprocess.Popen]:
    """`mnist-nn serve` in its own process (as a person runs it), with no model, on MNIST."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "mnist_nn", "serve", "--dataset", "mnist", "--port", str(port)]
    server = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/api/train", timeout=1)
            return base, server
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("mnist-nn serve did not start")


def listen(base: str, stop: threading.Event, counts: dict) -> None:
    """A page's event stream: read every event until the run ends."""
    with httpx.stream("GET", f"{base}/api/train/events", timeout=None) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                counts[line[7:]] = counts.get(line[7:], 0) + 1
            if stop.is_set():
                return


def web_run(base: str, watched: bool, latencies: list | None = None) -> float:
    """Seconds the server took from the start of training to its end."""
    counts, stop = {}, threading.Event()
    assert httpx.post(f"{base}/api/train", json=SETTINGS, timeout=60).status_code == 202
    listener = None
    if watched:
        listener = threading.Thread(target=listen, args=(base, stop, counts), daemon=True)
        listener.start()
    pixels = {"pixels": [0.0] * 300 + [1.0] * 184 + [0.0] * 300}
    while True:
        summary = httpx.get(f"{base}/api/train", timeout=10).json()
        if summary["state"] == "finished":
            seconds = summary["elapsed_seconds"]  # the server's own clock, start to end
            break
        if latencies is not None:  # a person drawing while it trains
            asked = time.perf_counter()
            httpx.post(f"{base}/api/predict?model=training", json=pixels, timeout=10)
            latencies.append(time.perf_counter() - asked)
            time.sleep(0.1)
        else:
            time.sleep(0.5)
    stop.set()
    if listener is not None:
        listener.join(timeout=10)
        print(f"    events received: {counts}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = PRESETS["quick"]
    dataset = load_dataset("mnist", val_size=SETTINGS["val_size"])
    folder = tempfile.mkdtemp()
    base, server = start_server(folder)
    runs = {
        "served, no page": lambda: web_run(base, watched=False),
        "served, a page watching (events)": lambda: web_run(base, watched=True),
        "served, a page watching and drawing": lambda: web_run(base, True, latencies),
    }
    seconds = {"in-process": [], **{name: [] for name in runs}}
    latencies = []
    for round_ in range(args.rounds + 1):  # the first round warms up and is dropped
        time.sleep(SETTLE_SECONDS)  # let the other process's BLAS threads go to sleep
        start = time.perf_counter()
        train(type(config)(**{**config.to_dict(), "val_size": SETTINGS["val_size"]}), dataset)
        taken = {"in-process": time.perf_counter() - start}
        for name, run in runs.items():
            time.sleep(SETTLE_SECONDS)
            taken[name] = run()
        print(f"round {round_}: " + ", ".join(f"{k} {v:.2f} s" for k, v in taken.items()))
        if round_:
            for name, value in taken.items():
                seconds[name].append(value)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    watching, alone = seconds["served, a page watching (events)"], seconds["served, no page"]
    cost = statistics.median(w / n for w, n in zip(watching, alone, strict=True))
    lines = [
        HEADING,
        "",
        f"Measured by `python -m benchmarks.live_cost` on {time.strftime('%Y-%m-%d')}: the quick "
        f"preset ({config.epochs} epochs, 5,000 images held out) trained by `mnist-nn serve` in "
        "its own process, wall-clock seconds from the start of training to its end (the "
        f"in-process row: `train()` alone), median of {args.rounds} rounds.",
        "",
        "| run | seconds |",
        "|---|---|",
        *[f"| {name} | {value:.2f} |" for name, value in median.items()],
        "",
        f"A page watching (its event stream: progress five times a second, each epoch, the "
        f"weights) costs {100 * (cost - 1):+.1f}% against the same run with no page (median of "
        f"the ratios within a round). Drawing while it trains, `/api/predict` answered in "
        f"{1000 * statistics.median(latencies):.0f} ms (median), "
        f"{1000 * max(latencies):.0f} ms at the slowest, over {len(latencies)} requests.",
        "",
    ]
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if HEADING in text:
        before, after = text.split(HEADING, 1)
        rest = after.split("\n## ", 1)
        text = before + "\n".join(lines) + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    RESULTS.write_text(text)
    server.terminate()
    print(json.dumps(median), f"cost {cost:.3f}")


if __name__ == "__main__":
    main()
