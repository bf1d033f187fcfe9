"""Many runs at once: a grid or a random search over the declared settings, times seeds.

A sweep is a list of trials (`trials`), run where the user says (`executors`), each result kept
as it comes (`results`). Running the same sweep again skips every finished trial. Choose on the
held-out column: the test column is for reporting the chosen row, once.
"""

import json
import sys
from pathlib import Path

from mnist_nn.config import TrainConfig
from mnist_nn.experiments.executors import DataSpec
from mnist_nn.experiments.results import Results, summary, write_summary
from mnist_nn.experiments.trials import Trial


def run_sweep(base: TrainConfig, trials: list[Trial], spec: DataSpec, folder: Path, executor,
              names: list[str], progress: bool = True, on_result=None) -> list[dict]:  # fmt: skip
    """Run every trial not already in `folder`'s results on `executor`, keeping each as it
    finishes; the summary table at the end (also when interrupted: of the trials done)."""
    from tqdm import tqdm

    description = {
        "base": json.loads(json.dumps(base.to_dict(), default=list)),
        "data": {"name": spec.name, "val_size": spec.val_size},
        "swept": names,
    }
    results = Results(folder, description)
    for notice in results.notices:  # e.g. a line cut short by a crash, set aside
        print(f"note: {notice}", file=sys.stderr, flush=True)
    to_run = [trial for trial in trials if trial.key not in results.finished]
    bar = tqdm(total=len(trials), initial=len(trials) - len(to_run), unit="trial",
               disable=not progress, desc="sweep")  # fmt: skip
    order = {trial.key: number for number, trial in enumerate(trials)}

    def table_so_far():  # in the trials' order, whatever order they finished in
        done = sorted((r for r in results.rows if r["key"] in order), key=lambda r: order[r["key"]])
        return summary(done, names)

    try:
        for row in executor.run(base.to_dict(), to_run, spec):
            results.append(row)
            bar.update(1)
            if on_result is not None:
                on_result(row)
            write_summary(folder, table_so_far(), names, description)
    finally:
        bar.close()
        table = table_so_far()
        write_summary(folder, table, names, description, picture=bool(names))
        results.close()
    return table
