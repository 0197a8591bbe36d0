"""Tests for microflow.data.model_selection: k-fold, cross-validation, grid and random search."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microflow.data.model_selection import (
    CVResult,
    SearchResult,
    choice,
    cross_validate,
    grid_search,
    kfold,
    log_uniform,
    random_search,
    uniform,
)

# ---------------------------------------------------------------------------- kfold


@given(st.integers(2, 60), st.data())
def test_kfold_partitions_range_into_near_equal_folds(n, data):
    k = data.draw(st.integers(2, n))
    shuffle = data.draw(st.booleans())
    pairs = list(kfold(n, k, seed=0, shuffle=shuffle))
    assert len(pairs) == k
    tests = [test for _, test in pairs]
    assert sorted(np.concatenate(tests).tolist()) == list(range(n))
    sizes = [len(test) for test in tests]
    assert max(sizes) - min(sizes) <= 1
    for train, test in pairs:
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(n))


def test_kfold_without_shuffle_is_consecutive_and_with_seed_reproducible():
    assert [test.tolist() for _, test in kfold(7, 3, shuffle=False)] == [[0, 1, 2], [3, 4], [5, 6]]
    first = [test.tolist() for _, test in kfold(20, 4, seed=1)]
    assert first == [test.tolist() for _, test in kfold(20, 4, seed=1)]
    assert first != [test.tolist() for _, test in kfold(20, 4, shuffle=False)]


@pytest.mark.parametrize("n, k", [(5, 1), (5, 6), (5, 2.0), (5, True)])
def test_kfold_rejects_bad_k_at_the_call(n, k):
    with pytest.raises(ValueError, match=f"k must be an integer from 2 to n={n}, got k={k!r}"):
        kfold(n, k)


# ---------------------------------------------------------------------------- cross_validate


def _mean_test_target(X_train, Y_train, X_test, Y_test):
    """A deterministic 'score': the mean of the test targets."""
    return float(np.mean(Y_test))


def test_cross_validate_scores_each_fold_once():
    X = np.arange(10.0).reshape(10, 1)
    Y = np.arange(10.0)
    result = cross_validate(_mean_test_target, X, Y, k=5, seed=3)
    expected = [np.mean(Y[test]) for _, test in kfold(10, 5, seed=3)]
    assert isinstance(result, CVResult)
    assert np.allclose(result.scores, expected)
    assert math.isclose(result.mean, np.mean(expected)) and math.isclose(result.std, np.std(expected))
    mean, std = result
    assert (mean, std) == (result.mean, result.std)


def test_cross_validate_passes_disjoint_aligned_parts():
    X = np.arange(12.0)
    calls = []

    def record(X_train, Y_train, X_test, Y_test):
        assert np.array_equal(X_train * 2, Y_train) and np.array_equal(X_test * 2, Y_test)
        calls.append(X_test)
        return 1.0

    cross_validate(record, X, X * 2, k=4, seed=0)
    assert sorted(np.concatenate(calls).tolist()) == X.tolist()


def test_cv_result_prints_mean_std_and_folds():
    assert str(CVResult(np.array([0.97, 0.965, 0.98, 0.975, 0.975]))) == "0.973 ± 0.005 over 5 folds"
    assert str(CVResult(np.array([2e-5, 4e-5]))) == "3e-05 ± 1e-05 over 2 folds"


def test_cross_validate_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="got 5 and 4"):
        cross_validate(_mean_test_target, np.zeros(5), np.zeros(4))


# ---------------------------------------------------------------------------- searches


def _quadratic_score(params, X_train, Y_train, X_test, Y_test):
    """Peaks at learning_rate=1e-2, hidden=32; independent of the data."""
    return -((math.log10(params["learning_rate"]) + 2) ** 2) - abs(params["hidden"] - 32) / 32


def test_grid_search_tries_every_combination_and_ranks_them():
    X, Y = np.zeros((10, 1)), np.zeros(10)
    grid = {"learning_rate": [1e-1, 1e-2, 1e-3], "hidden": [16, 32]}
    result = grid_search(_quadratic_score, X, Y, grid, k=2, seed=0, progress=False)
    assert isinstance(result, SearchResult) and len(result.rows) == 6
    assert result.best_params == {"learning_rate": 1e-2, "hidden": 32}
    assert result.best_score == 0.0
    means = [row.mean for row in result.rows]
    assert means == sorted(means, reverse=True)
    assert {tuple(row.params.items()) for row in result.rows} == {
        (("learning_rate", lr), ("hidden", h)) for lr in grid["learning_rate"] for h in grid["hidden"]
    }
    assert all(len(row.scores) == 2 and row.std == 0.0 for row in result.rows)


def test_grid_search_uses_the_same_folds_for_every_setting():
    X = np.arange(9.0)
    seen = {}

    def record(params, X_train, Y_train, X_test, Y_test):
        seen.setdefault(params["a"], []).append(X_test.tolist())
        return 0.0

    grid_search(record, X, X, {"a": [1, 2, 3]}, k=3, seed=5, progress=False)
    assert seen[1] == seen[2] == seen[3]


def test_search_puts_diverged_nan_runs_last():
    def diverging(params, *data):
        return float("nan") if params["learning_rate"] > 0.5 else params["learning_rate"]

    result = grid_search(diverging, np.zeros(4), np.zeros(4), {"learning_rate": [1.0, 0.1, 0.2]},
                         k=2, seed=0, progress=False)
    assert [row.params["learning_rate"] for row in result.rows] == [0.2, 0.1, 1.0]


def test_search_result_table_is_aligned():
    result = grid_search(_quadratic_score, np.zeros(4), np.zeros(4),
                         {"learning_rate": [1e-2, 1e-3], "hidden": [32]}, k=2, seed=0, progress=False)
    lines = str(result).splitlines()
    assert lines[0].split() == ["rank", "learning_rate", "hidden", "mean", "std"]
    assert lines[1].split() == ["1", "0.01", "32", "0.000", "0.000"]
    assert lines[2].split() == ["2", "0.001", "32", "-1.000", "0.000"]
    assert len({len(line) for line in lines}) == 1


@pytest.mark.parametrize("grid, error, message", [
    ({"lr": 0.1}, TypeError, r"grid\['lr'\] must be a list"),
    ({"lr": "abc"}, TypeError, r"grid\['lr'\] must be a list"),
    ({"lr": []}, ValueError, r"grid\['lr'\] is empty"),
])
def test_grid_search_rejects_bad_grids_naming_the_key(grid, error, message):
    with pytest.raises(error, match=message):
        grid_search(_quadratic_score, np.zeros(4), np.zeros(4), grid, k=2, progress=False)


def test_log_uniform_gives_each_decade_an_equal_share():
    rng = np.random.default_rng(0)
    distribution = log_uniform(1e-4, 1e-1)
    samples = np.array([distribution.sample(rng) for _ in range(6000)])
    assert samples.min() >= 1e-4 and samples.max() <= 1e-1
    decade_counts = np.histogram(np.log10(samples), bins=[-4, -3, -2, -1])[0]
    assert np.all(np.abs(decade_counts / len(samples) - 1 / 3) < 0.03)
    # Kolmogorov-Smirnov distance of log10(samples) from uniform on [-4, -1].
    quantiles = np.sort((np.log10(samples) + 4) / 3)
    ks = np.max(np.abs(quantiles - (np.arange(1, len(samples) + 1) - 0.5) / len(samples)))
    assert ks < 1.63 / np.sqrt(len(samples))  # 1% critical value


def test_random_search_draws_params_from_the_space():
    space = {"learning_rate": log_uniform(1e-4, 1e-1), "hidden": [16, 32, 64],
             "dropout": uniform(0.0, 0.5), "activation": choice(["relu", "tanh"])}
    received = []

    def record(params, X_train, Y_train, X_test, Y_test):
        received.append(params)
        return -abs(math.log10(params["learning_rate"]) + 2)

    result = random_search(record, np.zeros(6), np.zeros(6), space, n_trials=200, k=2, seed=0,
                           progress=False)
    assert len(result.rows) == 200 and len(received) == 400  # 2 folds per trial
    learning_rates = np.array([row.params["learning_rate"] for row in result.rows])
    assert np.all((learning_rates >= 1e-4) & (learning_rates <= 1e-1))
    assert np.abs(np.histogram(np.log10(learning_rates), bins=[-4, -3, -2, -1])[0] - 200 / 3).max() < 25
    assert {row.params["hidden"] for row in result.rows} == {16, 32, 64}
    assert {row.params["activation"] for row in result.rows} == {"relu", "tanh"}
    assert all(0.0 <= row.params["dropout"] <= 0.5 for row in result.rows)
    assert abs(math.log10(result.best_params["learning_rate"]) + 2) == -result.best_score
    assert result.best_score > -0.05


def test_random_search_is_reproducible():
    space = {"learning_rate": log_uniform(1e-4, 1e-1)}
    runs = [random_search(_scaled_mean_test_target, np.arange(6.0), np.arange(6.0), space,
                          n_trials=5, k=3, seed=2, progress=False) for _ in range(2)]
    assert [row.params for row in runs[0].rows] == [row.params for row in runs[1].rows]


def _scaled_mean_test_target(params, X_train, Y_train, X_test, Y_test):
    return float(np.mean(Y_test)) * params["learning_rate"]


@pytest.mark.parametrize("make, message", [
    (lambda: log_uniform(0, 1), "0 < low < high, got low=0"),
    (lambda: log_uniform(1e-1, 1e-4), "low=0.1, high=0.0001"),
    (lambda: uniform(1, 1), "low < high, got low=1, high=1"),
    (lambda: choice([]), "at least one option"),
])
def test_distributions_reject_bad_bounds(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_random_search_rejects_bad_space_and_trials():
    with pytest.raises(TypeError, match=r"space\['lr'\]"):
        random_search(_quadratic_score, np.zeros(4), np.zeros(4), {"lr": 0.1}, progress=False)
    with pytest.raises(ValueError, match="n_trials must be a positive integer, got 0"):
        random_search(_quadratic_score, np.zeros(4), np.zeros(4), {"lr": [0.1]}, n_trials=0)
