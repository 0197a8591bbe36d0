"""Searches and cross-validation on local worker processes and on a Dask cluster: the same
table whatever runs the tasks, failures reported per trial, dead workers survived."""

import os
import signal
import time

import numpy as np
import pytest

import microflow as mf
from microflow.data import model_selection, parallel

X = np.arange(60, dtype=np.float64).reshape(30, 2)
Y = np.arange(30) % 2


def noisy_score(params, X_train, Y_train, X_test, Y_test):
    """Depends on the fold, the setting and microflow's default generator (seed=None draws)."""
    draw = mf.random.as_generator(None).normal()
    return float(X_test.mean() / 100 + params["a"] + 1e-3 * draw)


def cv_score(X_train, Y_train, X_test, Y_test):
    return float(X_test.sum() / 1000 + 1e-3 * mf.random.as_generator(None).normal())


def fails_for_a_two(params, X_train, Y_train, X_test, Y_test):
    if params["a"] == 2:
        raise ValueError("a = 2 is not allowed")
    return float(params["a"])


def dies_once(params, X_train, Y_train, X_test, Y_test):
    """Kills its own worker process the first time setting a = 1 trains (a marker file
    remembers it), as an out-of-memory kill would."""
    marker = params["marker"]
    if params["a"] == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return float(params["a"])


def always_dies(params, X_train, Y_train, X_test, Y_test):
    if params["a"] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return float(params["a"])


def table(result):
    return [(row.params, row.mean, row.std, row.scores.tolist(), row.error)
            for row in result.rows]


SPACE = {"a": mf.model_selection.uniform(0.0, 1.0), "b": [1, 2, 3]}


def search(**how):
    return mf.model_selection.random_search(noisy_score, X, Y, SPACE, n_trials=6, k=3, seed=7,
                                            progress=False, **how)


def test_local_processes_give_the_serial_table_exactly():
    serial = search()
    assert table(serial) == table(search(n_jobs=2))
    assert len(serial.rows) == 6 and all(row.error is None for row in serial.rows)
    # the seed decides everything: another seed gives other draws
    other = mf.model_selection.random_search(noisy_score, X, Y, SPACE, n_trials=6, k=3, seed=8,
                                             progress=False)
    assert table(other) != table(serial)


def test_grid_search_and_cross_validate_agree_across_processes():
    grid = {"a": [0.1, 0.2], "b": [1, 2]}
    assert table(mf.model_selection.grid_search(noisy_score, X, Y, grid, k=3, seed=1,
                                                progress=False)) == \
        table(mf.model_selection.grid_search(noisy_score, X, Y, grid, k=3, seed=1,
                                             progress=False, n_jobs=2))
    serial = mf.model_selection.cross_validate(cv_score, X, Y, k=3, seed=3)
    assert serial.scores.tolist() == \
        mf.model_selection.cross_validate(cv_score, X, Y, k=3, seed=3, n_jobs=-1).scores.tolist()


def test_a_task_restores_the_callers_default_generator():
    mf.set_seed(5)
    expected = mf.random.as_generator(None).normal()
    mf.set_seed(5)
    search()
    assert mf.random.as_generator(None).normal() == expected


def test_a_scorer_that_raises_fails_its_trial_not_the_search():
    grid = {"a": [1, 2, 3]}
    for how in ({}, {"n_jobs": 2}):
        result = mf.model_selection.grid_search(fails_for_a_two, X, Y, grid, k=2, seed=0,
                                                progress=False, **how)
        assert [row.params["a"] for row in result.rows] == [3, 1, 2]
        failed = result.rows[-1]
        assert np.isnan(failed.mean) and failed.error == "ValueError: a = 2 is not allowed"
        assert "failed" in str(result) and "a = 2 is not allowed" in str(result)
    with pytest.raises(RuntimeError, match=r"fold 1 of 2 failed: ValueError: a = 2"):
        mf.model_selection.cross_validate(
            lambda *arrays: fails_for_a_two({"a": 2}, *arrays), X, Y, k=2)


def test_a_killed_worker_has_its_task_rerun(tmp_path):
    grid = {"a": [0, 1, 2], "marker": [str(tmp_path / "killed")]}
    result = mf.model_selection.grid_search(dies_once, X, Y, grid, k=2, seed=0, progress=False,
                                            n_jobs=2)
    assert (tmp_path / "killed").exists()                 # it did die once
    assert [row.params["a"] for row in result.rows] == [2, 1, 0]
    assert all(row.error is None for row in result.rows)


def test_a_task_that_kills_every_worker_is_reported_failed():
    result = mf.model_selection.grid_search(always_dies, X, Y, {"a": [0, 1, 2]}, k=2, seed=0,
                                            progress=False, n_jobs=2)
    assert [row.params["a"] for row in result.rows] == [2, 0, 1]
    assert "worker process died" in result.rows[-1].error


def test_ctrl_c_reports_the_finished_trials():
    calls = []

    def interrupted_at_the_third(params, *arrays):
        calls.append(params)
        if len(calls) == 5:                  # setting 3's first fold
            raise KeyboardInterrupt
        return params["a"]

    result = mf.model_selection.grid_search(interrupted_at_the_third, X, Y,
                                            {"a": [1.0, 2.0, 3.0, 4.0]}, k=2, seed=0,
                                            progress=False)
    assert result.interrupted
    assert [row.params["a"] for row in result.rows] == [2.0, 1.0]
    assert "interrupted: 2 settings had finished" in str(result)


def test_n_jobs_must_be_a_count_of_processes():
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="n_jobs must be a positive number of processes"):
            search(n_jobs=bad)


def test_an_unreachable_cluster_fails_in_seconds_with_a_clear_message():
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"cannot reach the Dask scheduler at "
                                              r"'tcp://127.0.0.1:9'.*dask scheduler"):
        search(cluster="tcp://127.0.0.1:9")
    assert time.perf_counter() - start < 15
    with pytest.raises(TypeError, match="cluster must be a dask.distributed.Client"):
        search(cluster=8786)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_a_dask_cluster_gives_the_serial_table_exactly(dask_client):
    assert table(search(cluster=dask_client)) == table(search())
    address = dask_client.scheduler.address
    assert table(search(cluster=address)) == table(search())
    assert mf.model_selection.cross_validate(cv_score, X, Y, k=3, seed=3, cluster=dask_client) \
        .scores.tolist() == mf.model_selection.cross_validate(cv_score, X, Y, k=3, seed=3) \
        .scores.tolist()


def test_on_a_cluster_a_failing_scorer_fails_its_trial(dask_client):
    result = mf.model_selection.grid_search(fails_for_a_two, X, Y, {"a": [1, 2, 3]}, k=2,
                                            seed=0, progress=False, cluster=dask_client)
    assert result.rows[-1].error == "ValueError: a = 2 is not allowed"


def test_on_a_cluster_a_killed_worker_has_its_task_rerun(dask_client, tmp_path):
    grid = {"a": [0, 1, 2], "marker": [str(tmp_path / "killed")]}
    result = mf.model_selection.grid_search(dies_once, X, Y, grid, k=2, seed=0, progress=False,
                                            cluster=dask_client)
    assert (tmp_path / "killed").exists()
    assert all(row.error is None for row in result.rows)
    assert [row.params["a"] for row in result.rows] == [2, 1, 0]


def test_workers_limit_their_blas_threads_to_their_share_of_the_cores():
    from threadpoolctl import threadpool_info

    def blas_threads(params, *arrays):
        return float(max((pool["num_threads"] for pool in threadpool_info()), default=1))

    result = mf.model_selection.grid_search(blas_threads, X, Y, {"a": [1]}, k=2, seed=0,
                                            progress=False, n_jobs=2)
    assert result.rows[0].mean == max(1, parallel.cores() // 2)
