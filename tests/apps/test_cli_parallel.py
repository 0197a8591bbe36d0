"""``microflow cv`` and ``microflow search`` with --jobs and --cluster."""

import time

import pytest

from microflow.apps.cli import main

SMALL = ["donut", "--samples", "120", "--epochs", "2", "--hidden", "4", "--seed", "3"]


def run(capsys, *argv):
    status = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


def test_search_with_two_jobs_prints_the_serial_table(capsys):
    serial = run(capsys, "search", *SMALL, "--trials", "3", "--folds", "2")
    parallel = run(capsys, "search", *SMALL, "--trials", "3", "--folds", "2", "--jobs", "2")
    assert serial[0] == parallel[0] == 0
    assert serial[1] == parallel[1]
    assert "best: --lr" in serial[1]


def test_cv_with_two_jobs_prints_the_serial_folds(capsys):
    serial = run(capsys, "cv", *SMALL, "--folds", "3")
    parallel = run(capsys, "cv", *SMALL, "--folds", "3", "--jobs", "-1")
    assert serial[0] == parallel[0] == 0
    folds = [line for line in serial[1].splitlines() if line.startswith("  fold")]
    assert len(folds) == 3
    assert folds == [line for line in parallel[1].splitlines() if line.startswith("  fold")]
    assert serial[1].splitlines()[-1] == parallel[1].splitlines()[-1]


@pytest.mark.parametrize("jobs", ["0", "-2", "two"])
def test_a_bad_job_count_names_the_flag(capsys, jobs):
    status, out, err = run(capsys, "cv", "donut", "--jobs", jobs)
    assert status == 2
    assert err.startswith("microflow cv: error: argument --jobs: expected a number of "
                          f"processes or -1, got '{jobs}'")


def test_an_unreachable_cluster_is_one_line_and_exit_1(capsys):
    start = time.perf_counter()
    status, out, err = run(capsys, "cv", *SMALL, "--folds", "2", "--cluster",
                           "tcp://127.0.0.1:9")
    assert status == 1 and time.perf_counter() - start < 20
    assert err.startswith("microflow cv: error: cannot reach the Dask scheduler at "
                          "'tcp://127.0.0.1:9'")
    assert len(err.strip().splitlines()) == 1
