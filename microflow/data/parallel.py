"""Running the (setting, fold) tasks of a search or a cross-validation: in this process, in
local worker processes (joblib's process backend, loky), or on a Dask cluster.

Every task is independent and carries its own seed, derived from the search's seed and the
task's index, so the results do not depend on where a task runs or in which order the
tasks finish. A task whose scorer raises comes back as a failure with the message. A task
whose worker dies is run again: on a cluster by Dask's retries, locally alone in a fresh
process, and it is reported failed if it kills that one too.
"""

import contextlib
import dataclasses
import os
import time

import numpy as np

from microflow.core import random as mf_random

CLUSTER_RETRIES = 2         # Dask reruns a task whose worker died this many times
CLUSTER_ROUNDS = 3          # rounds of tasks whose scattered data were lost with a worker
CONNECT_TIMEOUT = "5s"      # an unreachable scheduler address fails this fast
SCATTER_TIMEOUT = 40        # seconds to hand the data to the cluster, per attempt


@dataclasses.dataclass(frozen=True)
class Task:
    """One training run: ``params`` (None for a plain cross-validation) on one fold."""

    index: int              # position in the search's list of tasks
    setting: int            # which setting (trial)
    fold: int
    params: dict | None
    train: np.ndarray
    test: np.ndarray
    seed: tuple             # entropy for numpy.random.SeedSequence: (search seed, setting, fold)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a task gave: its score, or the reason it failed."""

    index: int
    score: float
    error: str | None = None


def run_task(train_and_score, X, Y, task, blas_threads=None):
    """Run one task in this process; a scorer that raises gives a failed Outcome."""
    limits = contextlib.nullcontext()
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(blas_threads)
    leading = () if task.params is None else (task.params,)
    try:
        seeded = np.random.default_rng(np.random.SeedSequence(task.seed))
        with limits, mf_random.default_generator_as(seeded):
            score = train_and_score(*leading, X[task.train], Y[task.train],
                                    X[task.test], Y[task.test])
        return Outcome(task.index, float(score))
    except Exception as error:                  # the trial fails, not the search
        return Outcome(task.index, float("nan"), f"{type(error).__name__}: {error}")


def cores():
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                      # macOS, Windows
        return os.cpu_count() or 1


def workers_for(n_jobs):
    """The number of local worker processes ``n_jobs`` asks for (-1: one per core)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 \
            or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive number of processes or -1 (one per core), "
                         f"got {n_jobs!r}")
    return cores() if n_jobs == -1 else int(n_jobs)


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a search: the outstanding tasks were cancelled. ``outcomes`` holds
    the tasks that had finished; the caller turns them into a partial result."""

    def __init__(self, outcomes):
        super().__init__("interrupted")
        self.outcomes = outcomes


def run_tasks(train_and_score, X, Y, tasks, n_jobs=1, cluster=None, on_done=None):
    """Run ``tasks``; return their Outcomes in task order. ``on_done(outcome)`` is called as
    each task finishes (in the order they finish)."""
    on_done = on_done or (lambda outcome: None)
    done = {}
    try:
        if cluster is not None:
            _on_cluster(train_and_score, X, Y, tasks, cluster, done, on_done)
        elif workers_for(n_jobs) == 1:
            for task in tasks:
                _record(done, run_task(train_and_score, X, Y, task), on_done)
        else:
            _on_local_processes(train_and_score, X, Y, tasks, workers_for(n_jobs), done, on_done)
    except KeyboardInterrupt:
        raise SearchInterrupted([done[i] for i in sorted(done)]) from None
    return [done[task.index] for task in tasks]


def _record(done, outcome, on_done):
    done[outcome.index] = outcome
    on_done(outcome)


def _on_local_processes(train_and_score, X, Y, tasks, workers, done, on_done):
    """joblib's process backend (loky). Each worker limits its BLAS threads to its share of
    the cores. A worker that dies breaks the pool and takes every task it still held with
    it; those tasks then run again one at a time, so the one that kills its worker alone is
    found, and reported failed, and the others finish."""
    try:
        from joblib.externals.loky import get_reusable_executor
        from joblib.externals.loky.process_executor import BrokenProcessPool
    except ImportError as error:
        raise ImportError("n_jobs > 1 needs joblib: pip install 'microflow[cluster]'") from error

    def run(batch, max_workers):
        executor = get_reusable_executor(max_workers=max_workers, reuse=True)
        futures = {executor.submit(run_task, train_and_score, X, Y, task,
                                   max(1, cores() // max_workers)): task for task in batch}
        lost = []
        try:
            for future in _as_completed(futures):
                try:
                    _record(done, future.result(), on_done)
                except BrokenProcessPool:
                    lost.append(futures[future])
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            executor.shutdown(wait=False, kill_workers=True)
            raise
        return sorted(lost, key=lambda task: task.index)

    for task in run(tasks, workers):
        if run([task], 1):                          # it died alone: it is the culprit
            _record(done, Outcome(task.index, float("nan"),
                                  "the worker process died (killed, or out of memory?) "
                                  "while training this setting"), on_done)


def _as_completed(futures):
    import concurrent.futures
    return concurrent.futures.as_completed(futures)


def connect(cluster):
    """A ``dask.distributed.Client`` for ``cluster``: a Client, or a scheduler address."""
    try:
        from dask.distributed import Client
    except ImportError as error:
        raise ImportError("a cluster needs Dask: pip install 'microflow[cluster]'") from error
    if isinstance(cluster, Client):
        return cluster, False
    if not isinstance(cluster, str):
        raise TypeError(f"cluster must be a dask.distributed.Client or a scheduler address "
                        f"such as 'tcp://host:8786', got {type(cluster).__name__}")
    start = time.perf_counter()
    try:
        return Client(cluster, timeout=CONNECT_TIMEOUT, set_as_default=False), True
    except (OSError, TimeoutError) as error:
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {cluster!r} "
            f"(gave up after {time.perf_counter() - start:.1f} s): {error}. Start one with "
            f"`dask scheduler` and workers with `dask worker {cluster}`") from None


def _scatter(client, arrays, attempts=3):
    """``client.scatter(arrays)`` to every worker, tried again when one does not answer in time
    (a busy or restarting worker), then a clear error."""
    for attempt in range(attempts):
        try:
            return client.scatter(arrays, broadcast=True, hash=False, timeout=SCATTER_TIMEOUT)
        except TimeoutError:
            if attempt == attempts - 1:
                raise TimeoutError(f"the Dask cluster took more than {SCATTER_TIMEOUT} s, "
                                   f"{attempts} times, to take the data; are its workers "
                                   f"alive?") from None


def _on_cluster(train_and_score, X, Y, tasks, cluster, done, on_done):
    """Every task a Dask task, the data scattered once a round; Dask reruns a task whose worker
    died. Scattered data have no lineage: when a dying worker takes them along, Dask cancels
    the tasks that needed them, and those run again in a new round with the data scattered
    anew (at most CLUSTER_ROUNDS rounds)."""
    from concurrent.futures import CancelledError
    from dask.distributed import as_completed

    client, owned = connect(cluster)
    futures, pending = [], list(tasks)
    try:
        for _ in range(CLUSTER_ROUNDS):
            if not pending:
                break
            X_remote, Y_remote = _scatter(client, [X, Y])
            stamp = time.time_ns()
            futures = [client.submit(run_task, train_and_score, X_remote, Y_remote, task,
                                     key=f"microflow-task-{task.index}-{stamp}",
                                     retries=CLUSTER_RETRIES, pure=False) for task in pending]
            by_key = {future.key: task for future, task in zip(futures, pending)}
            pending = []
            for future in as_completed(futures):
                task = by_key[future.key]
                try:
                    outcome = future.result()
                except CancelledError:                  # its data went down with a worker
                    pending.append(task)
                    continue
                except Exception as error:              # the worker died more than retries allow
                    outcome = Outcome(task.index, float("nan"),
                                      f"the task failed on the cluster: {type(error).__name__}: "
                                      f"{error}")
                _record(done, outcome, on_done)
        for task in pending:
            _record(done, Outcome(task.index, float("nan"),
                                  f"the cluster lost this task's data {CLUSTER_ROUNDS} times "
                                  f"(workers dying?)"), on_done)
    except KeyboardInterrupt:
        client.cancel(futures)
        raise
    finally:
        if owned:
            client.close()


__all__ = ["Outcome", "SearchInterrupted", "Task", "connect", "cores", "run_task", "run_tasks",
           "workers_for"]


def __dir__():
    return __all__
