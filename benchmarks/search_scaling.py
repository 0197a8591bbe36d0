"""How much faster a search is on every core, and what a Dask task costs.

    python benchmarks/search_scaling.py            # about a minute on 2 cores

1. Wall time of a 16-trial, 3-fold random search over the donut problem (its default
   network and data), serial against n_jobs=2 (and n_jobs=-1 where there are more cores),
   first with the worker processes starting (the first search of a Python process pays
   for them) and then with them already started; the tables are checked identical.
2. The overhead per task of a local Dask cluster (2 worker processes on 127.0.0.1): the
   wall time of 200 tasks that do nothing, per task.
Prints a Markdown table for docs/practice.md.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from microflow.apps import commands, problems                      # noqa: E402
from microflow.data import model_selection, parallel               # noqa: E402


def donut_search(n_jobs, trials=16, folds=3, cluster=None):
    cfg = problems.config("donut")
    data = problems.load_data(cfg, seed=cfg.seed)
    space = commands.search_space(cfg, (1e-3, 1e-1), (1e-6, 1e-2), None)
    start = time.perf_counter()
    result = model_selection.random_search(problems.search_scorer(cfg), data.X, data.y, space,
                                           n_trials=trials, k=folds, seed=0, progress=False,
                                           n_jobs=n_jobs, cluster=cluster)
    return time.perf_counter() - start, result


def nothing(params, *arrays):
    return 0.0


def dask_overhead(tasks=200):
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        import numpy as np
        X, Y = np.zeros((tasks, 1)), np.zeros(tasks)
        model_selection.grid_search(nothing, X, Y, {"a": [0]}, k=2, progress=False,
                                    cluster=client)                       # warm up
        start = time.perf_counter()
        model_selection.grid_search(nothing, X, Y, {"a": list(range(tasks // 2))}, k=2,
                                    progress=False, cluster=client)
        return (time.perf_counter() - start) / tasks


def main():
    rows = []
    serial, expected = donut_search(1)
    rows.append(("serial", serial, 1.0))
    for jobs in sorted({2, parallel.cores()}):
        for state in ("workers starting", "workers already started"):
            seconds, result = donut_search(jobs)
            assert str(result) == str(expected), "the parallel table differs from the serial one"
            rows.append((f"n_jobs={jobs}, {state}", seconds, serial / seconds))
    print(f"{parallel.cores()} cores; 16 trials x 3 folds of the donut search\n")
    print("| run | wall time | speed-up |\n|---|---|---|")
    for name, seconds, speedup in rows:
        print(f"| {name} | {seconds:.1f} s | {speedup:.2f}x |")
    print(f"\nlocal Dask cluster (2 workers): {dask_overhead() * 1e3:.1f} ms per task of overhead")


if __name__ == "__main__":
    main()
