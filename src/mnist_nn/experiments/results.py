"""A sweep's results, kept as they come: `trials.jsonl`, one JSON line per finished trial, written
and flushed at once, so Ctrl-C or a crash loses only the trials under way; and the summary
rewritten (atomically) after each trial: `sweep.csv` and `sweep.json`, one row per combination
of settings with the mean and standard deviation over seeds, and `sweep.png`. Also the one
renderer of an experiment's table, as text or Markdown.
"""

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from mnist_nn.errors import UserError
from mnist_nn.saving.files import atomic_write

SET_ASIDE_FILE = "trials.set-aside.jsonl"  # results-file lines that were no trial's result
TRIALS_FILE, SUMMARY_CSV, SUMMARY_JSON, PICTURE = (
    "trials.jsonl",
    "sweep.csv",
    "sweep.json",
    "sweep.png",
)


class Results:
    """`trials.jsonl` in `folder`: the finished trials, one JSON line each, appended as each
    finishes; and the summary files, rewritten from them."""

    def __init__(self, folder: Path, description: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / TRIALS_FILE
        self._lock()
        self.description = description
        self.notices = []  # what reading the results found to say (lines set aside)
        self.rows = self._read()

    def _lock(self) -> None:
        """One sweep at a time per folder: a second one would run the same trials twice."""
        import fcntl

        self._lock_file = open(self.folder / ".lock", "w")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise UserError(
                f"another sweep is writing to {self.folder}: wait for it, or choose another --out"
            ) from None

    def close(self) -> None:
        self._lock_file.close()  # and with it, the lock

    def _read(self) -> list[dict]:
        """The finished trials in the results file. A line that is no trial's result (cut short
        by a crash or a full disk, or edited by hand) is set aside, kept in SET_ASIDE_FILE and
        said so: its trial runs again, and every finished one is kept."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        rows, aside = [], []
        for line in data.split(b"\n"):
            if line.strip():
                row = trial_result(line)
                (aside if row is None else rows).append(line if row is None else row)
        if aside or not data.endswith(b"\n"):  # a cut line would run into the next one
            self._set_aside(rows, aside)
        rows = list({row.get("key", number): row for number, row in enumerate(rows)}.values())
        described = [row for row in rows if row.get("sweep")]
        if described and described[0]["sweep"] != self.description:
            raise UserError(
                f"{self.folder} holds another sweep (other settings, data or epochs): choose "
                "another --out (its results are kept)"
            )
        return [row for row in rows if "key" in row]

    def _set_aside(self, rows: list[dict], aside: list[bytes]) -> None:
        """Keep `aside` in SET_ASIDE_FILE, and the results file holds `rows` alone, whole lines."""
        if aside:
            with open(self.folder / SET_ASIDE_FILE, "ab") as kept:
                kept.write(b"".join(line + b"\n" for line in aside))
                os.fsync(kept.fileno())
            self.notices.append(
                f"{len(aside)} line(s) of {self.path} were not a trial's result (cut short by a "
                f"crash, or edited): set aside in {self.folder / SET_ASIDE_FILE}; their trials "
                "run again, the finished ones are kept"
            )
        text = "".join(json.dumps(row) + "\n" for row in rows).encode()
        atomic_write(self.path, lambda file: file.write(text))

    def append(self, row: dict) -> None:
        if not self.rows and not self.path.exists():
            self._write_line({"sweep": self.description})
        self._write_line(row)
        self.rows.append(row)

    def _write_line(self, row: dict) -> None:
        # One write of one whole line, flushed and synced before the next trial is counted.
        data = (json.dumps(row) + "\n").encode()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    @property
    def finished(self) -> set[str]:
        return {row["key"] for row in self.rows}


def trial_result(line: bytes) -> dict | None:
    """One line of the results file as a dict, if it is the sweep's description or a trial's
    result with the fields of the right types; else None."""
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(row, dict):
        return None
    if "sweep" in row and "key" not in row:
        return row if isinstance(row["sweep"], dict) else None
    number = (int, float, type(None))
    fields = {"key": str, "settings": dict, "seed": int, "val_accuracy": number,
              "test_accuracy": number, "seconds": number}  # fmt: skip
    typed = all(
        name in row and isinstance(row[name], kind) and not isinstance(row[name], bool)
        for name, kind in fields.items()
    )
    extras = isinstance(row.get("label", ""), str) and isinstance(row.get("stopped", ""), str)
    return row if typed and extras else None


def summary(rows: list[dict], names: list[str]) -> list[dict]:
    """One row per combination of the swept settings, in the order first seen: the mean and
    standard deviation over seeds of each measured figure."""
    groups = {}
    for row in rows:
        key = json.dumps([row.get("label", ""), *(row["settings"][name] for name in names)])
        groups.setdefault(key, []).append(row)
    table = []
    for trials in groups.values():
        line = {"label": trials[0]["label"]} if trials[0].get("label") else {}
        line.update({name: trials[0]["settings"][name] for name in names})
        line["seeds"] = len(trials)
        line["stopped"] = sum(1 for t in trials if t.get("stopped"))  # diverged, or stalled
        for figure in ("val_accuracy", "test_accuracy", "seconds"):
            values = [t[figure] for t in trials if t[figure] is not None]
            line[f"{figure}_mean"] = float(np.mean(values)) if values else None
            line[f"{figure}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        table.append(line)
    return mark_verdicts(table)


CHANCE = 0.1  # a sweep's data has ten classes (MNIST, or scikit-learn's digits)


def mark_verdicts(table: list[dict], chance: float = CHANCE) -> list[dict]:
    """Each line's verdict: "chosen" for the best held-out mean (what a sweep is for choosing;
    the test column is only reported), "collapsed" for a combination that broke down (a seed
    stopped, or its held-out mean nearer chance than the best's), else ""."""
    measured = [
        line["val_accuracy_mean"] for line in table if line["val_accuracy_mean"] is not None
    ]
    best = max(measured, default=None)
    for line in table:
        mean = line["val_accuracy_mean"]
        broke = line["stopped"] or mean is None or mean < (chance + best) / 2
        line["verdict"] = "collapsed" if broke else ""
    if best is not None:
        next(line for line in table if line["val_accuracy_mean"] == best)["verdict"] = "chosen"
    return table


def caveats(table: list[dict], seeds: int, epochs: int, swept: list[str]) -> list[str]:
    """What a sweep of few seeds or few epochs can and cannot say, in lines to print under it."""
    lines = ["chosen: the best held-out mean; the test column is for reporting once, never for "
             "choosing"]  # fmt: skip
    if any(line["verdict"] == "collapsed" for line in table):
        lines.append("collapsed: a seed stopped learning, or the mean is nearer chance than the "
                     "best's; the spread over its seeds says how unsteady it was")  # fmt: skip
    if seeds < 3:
        lines.append(f"{seeds} seed{'s' if seeds > 1 else ''} per combination give a rough spread "
                     "at best: rerun the leading ones with more seeds before trusting a difference "
                     "of less than two spreads")  # fmt: skip
    if epochs <= 3 and ("learning_rate" in swept or "epochs" not in swept):
        lines.append(f"{epochs} epoch{'s' if epochs > 1 else ''} per trial favour large learning "
                     "rates, which get further in few steps: confirm the choice with as many "
                     "epochs as the real run")  # fmt: skip
    return lines


def write_summary(
    folder: Path, table: list[dict], names: list[str], description: dict, picture: bool = False
) -> None:
    def csv_text(file):
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(table[0]) if table else names)
        writer.writeheader()
        for line in table:
            writer.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else v
                             for k, v in line.items()})  # fmt: skip
        file.write(text.getvalue().encode())

    atomic_write(folder / SUMMARY_CSV, csv_text)
    data = json.dumps({"sweep": description, "rows": table}, indent=1).encode()
    atomic_write(folder / SUMMARY_JSON, lambda file: file.write(data))
    if picture and table:
        from mnist_nn.evaluate.plots import plot_sweep

        figure = plot_sweep(table, names)
        atomic_write(folder / PICTURE, lambda file: figure.savefig(file, format="png", dpi=100))


def format_table(table: list[dict], names: list[str]) -> str:
    """The summary as text: mean ± std over seeds."""

    def both(line, figure, scale, digits):
        mean, std = line[f"{figure}_mean"], line[f"{figure}_std"]
        if mean is None:
            return "-"
        return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"

    def shown(value):
        return " ".join(map(str, value)) if isinstance(value, list) else str(value)

    header = [*names, "seeds", "held-out %", "test %", "seconds", ""]
    rows = [
        [*(shown(line[name]) for name in names),
         f"{line['seeds']}" + (f" ({line['stopped']} stopped)" if line["stopped"] else ""),
         both(line, "val_accuracy", 100, 2),
         both(line, "test_accuracy", 100, 2), both(line, "seconds", 1, 1),
         {"chosen": "<- chosen", "collapsed": "collapsed"}.get(line.get("verdict"), "")]
        for line in table
    ]  # fmt: skip
    return render_table(header, rows)


def render_table(header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """An experiment's table: columns aligned for a terminal, or as Markdown for a report."""
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in [header, *rows]]
        return "\n".join([lines[0], "|" + "---|" * len(header), *lines[1:]])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
