"""Preparing arrays for training: standardising, one-hot labels, train/test splits, minibatches.

Plain numpy in, plain numpy out; nothing here knows about graphs or sessions.
"""

import numpy as np

from microflow.core.random import as_generator


def _float_dtype(X):
    """Keep float32 (or any float) inputs in their dtype; integers become float64."""
    return X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)


class Standardizer:
    """Subtract each column's training mean and divide by its training standard deviation.

    Columns are everything after the first axis, so ``(N, 48, 48)`` images are standardised
    per pixel. A column whose standard deviation is below ``eps`` (constant in the training
    set) is only centred, so it never blows up when a test value differs.

    Attributes
    ----------
    mean : ndarray
        Per-column mean of the fitted data.
    std : ndarray
        Per-column divisor: the standard deviation, or 1 where it is below ``eps``.

    Examples
    --------
    >>> scaler = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> scaler.transform(np.array([[2.0, 7.0]]))
    array([[0., 2.]])
    """

    def __init__(self, eps=1e-8):
        self.eps = eps
        self.mean = None
        self.std = None

    def fit(self, X):
        """Learn the per-column mean and standard deviation of ``X`` (computed in float64)."""
        X = np.asarray(X)
        if X.ndim < 1 or len(X) == 0:
            raise ValueError(f"cannot fit a Standardizer on an empty array of shape {X.shape}")
        dtype = _float_dtype(X)
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        self.mean = mean.astype(dtype)
        self.std = np.where(std < self.eps, 1.0, std).astype(dtype)
        return self

    def transform(self, X):
        """Return ``(X - mean) / std`` in ``X``'s float dtype (float64 for integer input)."""
        if self.mean is None:
            raise RuntimeError("Standardizer.transform called before fit")
        X = np.asarray(X)
        if X.shape[1:] != self.mean.shape:
            raise ValueError(
                f"Standardizer was fitted on rows of shape {self.mean.shape}, "
                f"got an array of shape {X.shape}"
            )
        dtype = _float_dtype(X)
        return ((X - self.mean) / self.std).astype(dtype, copy=False)

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)


def standardize(X_train, *others, eps=1e-8):
    """Standardise ``X_train`` per column, and ``others`` with the training statistics.

    Parameters
    ----------
    X_train : array, shape (N, ...)
        The data whose mean and standard deviation are used.
    *others : arrays, shape (M, ...)
        Validation or test data, transformed with the training statistics (never their own,
        which would leak information from the test set).
    eps : float
        Columns with a training standard deviation below ``eps`` are only centred.

    Returns
    -------
    ndarray or tuple of ndarray
        The standardised ``X_train`` alone when no ``others`` are given, else a tuple
        ``(X_train, *others)`` standardised. float32 stays float32; integers become float64.
        Use :class:`Standardizer` to keep the statistics for later data.

    Examples
    --------
    >>> X_train, X_test = standardize(np.array([[0.0], [2.0]]), np.array([[4.0]]))
    >>> X_train.ravel().tolist(), X_test.ravel().tolist()
    ([-1.0, 1.0], [3.0])
    """
    scaler = Standardizer(eps).fit(X_train)
    if not others:
        return scaler.transform(X_train)
    return tuple(scaler.transform(X) for X in (X_train, *others))


def one_hot(y, num_classes=None, dtype=np.float32):
    """One-hot encode integer labels.

    Parameters
    ----------
    y : array of int, any shape
        Labels 0 .. num_classes - 1. Floats are accepted when they hold whole numbers.
    num_classes : int, optional
        Width of the encoding; ``max(y) + 1`` by default.
    dtype : numpy dtype
        dtype of the result.

    Returns
    -------
    ndarray, shape ``y.shape + (num_classes,)``

    Examples
    --------
    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(f"one_hot needs integer labels, got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        fractional = y != np.round(y)
        if fractional.any():
            raise ValueError(f"one_hot needs whole-number labels, got {y[fractional].flat[0]}")
    labels = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot labels must be non-negative, got {labels.min()}")
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"label {labels.max()} does not fit num_classes={num_classes}")
    encoded = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(encoded, labels[..., None], 1, axis=-1)
    return encoded


def _common_length(arrays, what, names=None):
    """The shared first-axis length of ``arrays``, or a ValueError naming every length."""
    lengths = [len(array) for array in arrays]
    if len(set(lengths)) > 1:
        shown = lengths if names is None else dict(zip(names, lengths))
        raise ValueError(f"{what} need the same number of rows, got lengths {shown}")
    return lengths[0]


def _test_count(test_size, n):
    """Number of test rows for a fraction (rounded up) or a count, leaving both sides non-empty."""
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"a fractional test_size must be in (0, 1), got {test_size}")
        n_test = int(np.ceil(test_size * n))
    else:
        n_test = int(test_size)
    if not 0 < n_test < n:
        raise ValueError(
            f"test_size={test_size} gives {n_test} test rows out of {n}; "
            "both the train and the test set must be non-empty"
        )
    return n_test


def _stratified_test_rows(rng, labels, n_test):
    """Pick ``n_test`` rows so each class's share of the test set matches its share overall."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = counts * n_test / len(labels)
    per_class = np.floor(quota).astype(np.int64)
    # Largest remainders get the rows that flooring left over.
    leftover = n_test - per_class.sum()
    per_class[np.argsort(-(quota - per_class), kind="stable")[:leftover]] += 1
    picked = [
        rng.permutation(np.flatnonzero(inverse == c))[:per_class[c]] for c in range(len(classes))
    ]
    return np.concatenate(picked)


def train_test_split(*arrays, test_size=0.2, seed=None, stratify=None):
    """Split aligned arrays into random train and test parts.

    Parameters
    ----------
    *arrays : arrays with the same first-axis length N
    test_size : float or int
        A fraction of N (rounded up), or a number of rows. Both parts must be non-empty.
    seed : None, int or numpy.random.Generator
    stratify : array of labels, shape (N,), optional
        Keep each label's share in the test set equal to its share in the data (up to
        rounding), e.g. ``stratify=y`` for a classification problem.

    Returns
    -------
    list of ndarray
        ``[a_train, a_test, b_train, b_test, ...]``, the order scikit-learn uses; rows
        are shuffled in both parts.

    Examples
    --------
    >>> X, y = np.arange(20).reshape(10, 2), np.arange(10)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, seed=0)
    >>> X_train.shape, X_test.shape, bool((X_test[:, 0] // 2 == y_test).all())
    ((7, 2), (3, 2), True)
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    arrays = [np.asarray(array) for array in arrays]
    n = _common_length(arrays, "train_test_split arrays")
    n_test = _test_count(test_size, n)
    rng = as_generator(seed)
    if stratify is None:
        test_rows = rng.permutation(n)[:n_test]
    else:
        stratify = np.asarray(stratify)
        if len(stratify) != n:
            raise ValueError(f"stratify has {len(stratify)} labels for {n} rows")
        test_rows = rng.permutation(_stratified_test_rows(rng, stratify, n_test))
    is_test = np.zeros(n, dtype=bool)
    is_test[test_rows] = True
    train_rows = rng.permutation(np.flatnonzero(~is_test))
    return [part for array in arrays for part in (array[train_rows], array[test_rows])]


def minibatches(arrays, batch_size, shuffle=True, seed=None):
    """Iterate over aligned minibatches of one or several arrays.

    Parameters
    ----------
    arrays : ndarray, tuple/list of ndarray, or dict name -> ndarray
        Arrays with the same first-axis length.
    batch_size : int
        Rows per batch; the last batch holds what is left and may be smaller.
    shuffle : bool
        Visit the rows in a fresh random order (one permutation per call).
    seed : None, int or numpy.random.Generator
        Source of the permutation when ``shuffle`` is true.

    Returns
    -------
    iterator
        Batches shaped like ``arrays``: an array, a tuple of arrays, or a dict with the
        same keys. Arguments are checked at the call, not at the first batch.

    Examples
    --------
    >>> X, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for Xb, yb in minibatches((X, y), 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> [batch["y"].tolist() for batch in minibatches({"X": X, "y": y}, 3, shuffle=False)]
    [[0, 1, 2], [3, 4]]
    """
    if isinstance(arrays, dict):
        names, values = list(arrays), [np.asarray(a) for a in arrays.values()]
    elif isinstance(arrays, (tuple, list)):
        names, values = None, [np.asarray(a) for a in arrays]
    else:
        names, values = None, [np.asarray(arrays)]
    if not values:
        raise ValueError("minibatches needs at least one array")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = _common_length(values, "minibatches arrays", names)
    order = as_generator(seed).permutation(n) if shuffle else None

    def batches():
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size) if order is None else order[start:start + batch_size]
            parts = [value[rows] for value in values]
            if names is not None:
                yield dict(zip(names, parts))
            elif isinstance(arrays, (tuple, list)):
                yield tuple(parts)
            else:
                yield parts[0]

    return batches()


__all__ = ['Standardizer', 'minibatches', 'one_hot', 'standardize', 'train_test_split']


def __dir__():
    return __all__
