"""Choosing hyperparameters: k-fold cross-validation, grid search and random search.

As in the course: split the data into k parts, train on k - 1 of them and score on the
one left out, k times; report the mean and spread of the scores; pick the settings with
the best mean. Scores are "higher is better" (accuracy); for a loss, return its negative.

Learning rates and regularisation strengths are best searched on a log scale (0.1, 0.01,
0.001...), which is what :func:`log_uniform` samples::

    >>> space = {"learning_rate": log_uniform(1e-4, 1e-1), "hidden": [16, 32, 64]}
    >>> result = random_search(train_and_score, X, Y, space, n_trials=20)  # doctest: +SKIP
    >>> print(result)                                                       # doctest: +SKIP
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np

from microflow.core.progress import progress_bar
from microflow.core.random import as_generator
from microflow.data.parallel import SearchInterrupted, Task, run_tasks


def kfold(n, k, seed=None, shuffle=True):
    """Split ``range(n)`` into ``k`` folds and yield ``(train_indices, test_indices)`` per fold.

    Parameters
    ----------
    n : int
        Number of rows.
    k : int
        Number of folds, 2 <= k <= n. Fold sizes differ by at most one.
    seed : None, int or numpy.random.Generator
        Source of the shuffle.
    shuffle : bool
        Shuffle the rows before cutting them into folds (otherwise the folds are
        consecutive runs, the first ones one row longer).

    Returns
    -------
    iterator of (ndarray, ndarray)
        int64 index arrays; each row is in exactly one test fold, and the train indices
        of a fold are all the other rows. Arguments are checked at the call.

    Examples
    --------
    >>> [test.tolist() for train, test in kfold(5, 2, shuffle=False)]
    [[0, 1, 2], [3, 4]]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
        raise ValueError(f"k must be an integer from 2 to n={n}, got k={k!r}")
    order = as_generator(seed).permutation(n) if shuffle else np.arange(n, dtype=np.int64)
    folds = np.array_split(order, k)

    def pairs():
        for i, test in enumerate(folds):
            yield np.concatenate(folds[:i] + folds[i + 1:]), test

    return pairs()


def _format_number(value):
    """Three decimals in the usual range, three significant digits outside it."""
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3f}"
    return f"{value:.3g}"


@dataclass
class CVResult:
    """Scores of a k-fold cross-validation.

    Unpacks like the course's ``crossValidation``: ``mean, std = cross_validate(...)``.
    ``str(result)`` reads ``0.973 ± 0.008 over 5 folds``.
    """

    scores: np.ndarray

    @property
    def mean(self):
        """Mean of the fold scores."""
        return float(np.mean(self.scores))

    @property
    def std(self):
        """Standard deviation of the fold scores (population, ``np.std``)."""
        return float(np.std(self.scores))

    def __iter__(self):
        return iter((self.mean, self.std))

    def __str__(self):
        return f"{_format_number(self.mean)} ± {_format_number(self.std)} over {len(self.scores)} folds"


def _check_same_length(X, Y):
    if len(X) != len(Y):
        raise ValueError(f"X and Y need the same number of rows, got {len(X)} and {len(Y)}")


def _tasks(settings, folds, rng):
    """One Task per (setting, fold), each seeded by the search's seed and its own indices."""
    base = int(rng.integers(2**63))
    return [Task(i * len(folds) + j, i, j, params, train, test, (base, i, j))
            for i, params in enumerate(settings) for j, (train, test) in enumerate(folds)]


def cross_validate(train_and_score, X, Y, k=5, seed=None, n_jobs=1, cluster=None):
    """K-fold cross-validation of one training recipe.

    Parameters
    ----------
    train_and_score : callable
        ``train_and_score(X_train, Y_train, X_test, Y_test) -> float``: trains a fresh model
        and returns its score on the test part (higher is better).
    X, Y : arrays with the same number of rows
    k : int
        Number of folds.
    seed : None, int or numpy.random.Generator
        Source of the fold shuffle and of each fold's seed: while a fold trains,
        microflow's default generator is seeded from ``seed`` and the fold's index, so the
        scores are the same whichever process runs the fold.
    n_jobs : int
        Local worker processes (joblib's process backend): 1 runs everything here, ``-1``
        one process per core. Each worker limits its BLAS threads to its share of the cores.
    cluster : None, dask.distributed.Client or str
        Run every fold as a task on a Dask cluster: a Client, or a scheduler address such
        as ``"tcp://host:8786"`` (``pip install 'microflow[cluster]'``). Overrides ``n_jobs``.

    Returns
    -------
    CVResult
        ``.scores`` (one per fold, in fold order), ``.mean``, ``.std``.

    Raises
    ------
    RuntimeError
        When ``train_and_score`` raises on a fold, naming the fold and the error.

    Examples
    --------
    >>> X, Y = np.arange(10.0), np.arange(10.0)
    >>> result = cross_validate(lambda Xtr, Ytr, Xte, Yte: len(Xte), X, Y, k=3, seed=0)
    >>> result.scores.tolist(), str(result)
    ([4.0, 3.0, 3.0], '3.333 ± 0.471 over 3 folds')
    """
    X, Y = np.asarray(X), np.asarray(Y)
    _check_same_length(X, Y)
    rng = as_generator(seed)
    folds = list(kfold(len(X), k, rng))
    outcomes = run_tasks(train_and_score, X, Y, _tasks([None], folds, rng), n_jobs, cluster)
    for outcome in outcomes:
        if outcome.error:
            raise RuntimeError(f"fold {outcome.index + 1} of {k} failed: {outcome.error}")
    return CVResult(np.array([outcome.score for outcome in outcomes]))


@dataclass(frozen=True)
class LogUniform:
    """Values whose logarithm is uniform between log(low) and log(high)."""

    low: float
    high: float

    def __post_init__(self):
        if not 0 < self.low < self.high:
            raise ValueError(f"log_uniform needs 0 < low < high, got low={self.low}, high={self.high}")

    def sample(self, rng):
        """One value, as a Python float."""
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class Uniform:
    """Values uniform between low and high."""

    low: float
    high: float

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got low={self.low}, high={self.high}")

    def sample(self, rng):
        """One value, as a Python float."""
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Choice:
    """One of a fixed list of options, each equally likely."""

    options: tuple

    def __post_init__(self):
        if len(self.options) == 0:
            raise ValueError("choice needs at least one option")

    def sample(self, rng):
        """One of the options, itself (not a numpy copy)."""
        return self.options[int(rng.integers(len(self.options)))]


def log_uniform(low, high):
    """A distribution for :func:`random_search` whose log is uniform: each decade is equally likely.

    Use it for learning rates and regularisation strengths, e.g. ``log_uniform(1e-4, 1e-1)``
    draws as often from [1e-4, 1e-3) as from [1e-2, 1e-1).
    """
    return LogUniform(low, high)


def uniform(low, high):
    """A distribution for :func:`random_search`, uniform on [low, high)."""
    return Uniform(low, high)


def choice(options):
    """A distribution for :func:`random_search` picking one of ``options`` uniformly."""
    return Choice(tuple(options))


@dataclass
class SearchRow:
    """One tried setting: its parameters, the mean and std of its fold scores, the scores;
    ``error`` says why it failed (its scorer raised, or its worker died), else None."""

    params: dict
    mean: float
    std: float
    scores: np.ndarray
    error: str | None = None


@dataclass
class SearchResult:
    """The settings tried by a search, best mean score first (NaN scores and failed settings
    last).

    ``str(result)`` renders an aligned table, one row per setting. ``interrupted`` is true
    when Ctrl-C stopped the search: ``rows`` then holds the settings that had finished.
    """

    rows: list
    interrupted: bool = False

    @property
    def best_params(self):
        """The parameters with the highest mean score."""
        return self.rows[0].params

    @property
    def best_score(self):
        """The highest mean score."""
        return self.rows[0].mean

    def __str__(self):
        names = list(dict.fromkeys(name for row in self.rows for name in row.params))
        failed = any(row.error for row in self.rows)
        header = ["rank", *names, "mean", "std", *(["failed"] if failed else [])]
        cells = [
            [
                str(rank),
                *(_format_value(row.params.get(name, "")) for name in names),
                _format_number(row.mean),
                _format_number(row.std),
                *([row.error or ""] if failed else []),
            ]
            for rank, row in enumerate(self.rows, start=1)
        ]
        widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(width) if i == len(header) - 1 and failed else cell.rjust(width)
                      for i, (cell, width) in enumerate(zip(line, widths))).rstrip()
            for line in [header, *cells]
        ]
        if self.interrupted:
            lines.append(f"(interrupted: {len(self.rows)} settings had finished)")
        return "\n".join(lines)


def _format_value(value):
    """Floats to 3 significant digits (1e-3, 0.05, 128.0 -> 128), anything else as str()."""
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def _search(train_and_score, X, Y, make_settings, k, rng, progress, n_jobs, cluster):
    """Cross-validate each parameter dict of ``make_settings()`` on the same folds; rank them.

    ``rng`` draws the folds, then the settings, then each task's seed: one stream, whatever
    runs the tasks and in whichever order they finish."""
    X, Y = np.asarray(X), np.asarray(Y)
    _check_same_length(X, Y)
    # The same folds for every setting, so their scores differ by the settings alone.
    folds = list(kfold(len(X), k, rng))
    settings = make_settings()
    tasks = _tasks(settings, folds, rng)
    bar = progress_bar(len(settings), "search", "trial", enabled=progress)
    folds_left = [len(folds)] * len(settings)

    def count(outcome):                     # the bar counts settings whose folds all finished
        setting = outcome.index // len(folds)
        folds_left[setting] -= 1
        if bar is not None and folds_left[setting] == 0:
            bar.update()

    interrupted = False
    try:
        outcomes = run_tasks(train_and_score, X, Y, tasks, n_jobs, cluster, on_done=count)
    except SearchInterrupted as stop:
        outcomes, interrupted = stop.outcomes, True
    finally:
        if bar is not None:
            bar.close()
    by_setting = {}
    for outcome in outcomes:
        by_setting.setdefault(outcome.index // len(folds), []).append(outcome)
    rows = []
    for setting, params in enumerate(settings):
        done = sorted(by_setting.get(setting, []), key=lambda outcome: outcome.index)
        if len(done) < len(folds):
            continue                        # interrupted before all its folds finished
        scores = np.array([outcome.score for outcome in done])
        error = next((outcome.error for outcome in done if outcome.error), None)
        mean, std = (math.nan, math.nan) if error else (float(np.mean(scores)),
                                                        float(np.std(scores)))
        rows.append(SearchRow(params, mean, std, scores, error))
    # Stable sort: ties keep the order they were tried in; diverged (NaN) runs go last.
    rows.sort(key=lambda row: math.inf if math.isnan(row.mean) else -row.mean)
    return SearchResult(rows, interrupted)


def grid_search(train_and_score, X, Y, grid, k=5, seed=None, progress=True, n_jobs=1,
                cluster=None):
    """Cross-validate every combination of the values in ``grid``.

    Parameters
    ----------
    train_and_score : callable
        ``train_and_score(params, X_train, Y_train, X_test, Y_test) -> float``, where
        ``params`` is a dict with one value per grid name.
    X, Y : arrays with the same number of rows
    grid : dict name -> list of values
        Combinations are tried in ``itertools.product`` order (the last name varies fastest).
    k : int
        Number of folds; every combination is scored on the same folds.
    seed : None, int or numpy.random.Generator
        Source of the fold shuffle.
    progress : bool
        Show a progress bar counting the combinations as they finish (in a terminal or a
        notebook).
    n_jobs : int
        Local worker processes (joblib's process backend): 1 runs everything here, ``-1``
        one process per core. Each worker limits its BLAS threads to its share of the cores.
    cluster : None, dask.distributed.Client or str
        Run every (setting, fold) pair as a task on a Dask cluster: a Client, or a
        scheduler address such as ``"tcp://host:8786"`` (``pip install 'microflow[cluster]'``).
        Overrides ``n_jobs``.

    Returns
    -------
    SearchResult
        Rows sorted by mean score, best first; ``.best_params``, ``.best_score``.

    Examples
    --------
    >>> grid = {"learning_rate": [1e-1, 1e-2, 1e-3], "l2": [0.0, 1e-3]}
    >>> result = grid_search(train_and_score, X, Y, grid)  # doctest: +SKIP
    """
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {values!r}")
        if len(values) == 0:
            raise ValueError(f"grid[{name!r}] is empty")
    names = list(grid)
    settings = [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]
    return _search(train_and_score, X, Y, lambda: settings, k, as_generator(seed), progress,
                   n_jobs, cluster)


def _distribution(name, spec):
    """A distribution object for a search-space entry: a list means a uniform choice."""
    if hasattr(spec, "sample"):
        return spec
    if isinstance(spec, (list, tuple)):
        return choice(spec)
    raise TypeError(
        f"space[{name!r}] must be a list of options or a distribution such as "
        f"log_uniform(1e-4, 1e-1), got {spec!r}"
    )


def random_search(train_and_score, X, Y, space, n_trials=10, k=5, seed=None, progress=True,
                  n_jobs=1, cluster=None):
    """Cross-validate ``n_trials`` settings drawn at random from ``space``.

    Random search finds good settings with far fewer trials than a grid when only a few of
    the parameters matter (Bergstra and Bengio, 2012).

    Parameters
    ----------
    train_and_score : callable
        ``train_and_score(params, X_train, Y_train, X_test, Y_test) -> float``.
    X, Y : arrays with the same number of rows
    space : dict name -> list or distribution
        A list (or tuple) is a uniform choice among its items; otherwise anything with a
        ``sample(rng)`` method, such as :func:`log_uniform`, :func:`uniform`, :func:`choice`.
    n_trials : int
        Number of settings to draw.
    k : int
        Number of folds; every setting is scored on the same folds.
    seed : None, int or numpy.random.Generator
        Source of the folds and of the draws.
    progress : bool
        Show a progress bar counting the trials as they finish (in a terminal or a
        notebook).
    n_jobs : int
        Local worker processes (joblib's process backend): 1 runs everything here, ``-1``
        one process per core. Each worker limits its BLAS threads to its share of the cores.
    cluster : None, dask.distributed.Client or str
        Run every (setting, fold) pair as a task on a Dask cluster: a Client, or a
        scheduler address such as ``"tcp://host:8786"`` (``pip install 'microflow[cluster]'``).
        Overrides ``n_jobs``.

    Returns
    -------
    SearchResult
        Rows sorted by mean score, best first; ``.best_params``, ``.best_score``.
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    distributions = {name: _distribution(name, spec) for name, spec in space.items()}
    rng = as_generator(seed)

    def settings():
        return [{name: dist.sample(rng) for name, dist in distributions.items()}
                for _ in range(int(n_trials))]
    return _search(train_and_score, X, Y, settings, k, rng, progress, n_jobs, cluster)


__all__ = ['CVResult', 'Choice', 'LogUniform', 'SearchResult', 'SearchRow', 'Uniform', 'choice', 'cross_validate', 'grid_search', 'kfold', 'log_uniform', 'random_search', 'uniform']


def __dir__():
    return __all__
