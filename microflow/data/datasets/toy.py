"""Small 2-D classification problems from the course: XOR, the donut, Gaussian clouds, a spiral.

Each function returns ``(X, y)``: ``X`` float32 of shape (N, 2), ``y`` int64 of shape (N,).
The random ones take ``seed`` (None, an int or a numpy Generator; see
:func:`microflow.core.random.as_generator`) and return their points shuffled, so any slice is a
fair sample of every class.
"""

import numpy as np

from microflow.core.random import as_generator


def _shuffled(rng, points, labels):
    """Cast to the dataset dtypes and apply one random permutation to points and labels."""
    order = rng.permutation(len(labels))
    return points[order].astype(np.float32), labels[order].astype(np.int64)


def xor():
    """The four XOR points; no straight line separates the two classes.

    Returns
    -------
    X : ndarray, float32, shape (4, 2)
        ``[[0, 0], [0, 1], [1, 0], [1, 1]]``.
    y : ndarray, int64, shape (4,)
        ``[0, 1, 1, 0]``: 1 when exactly one coordinate is 1.
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def donut(n=1000, inner=5.0, outer=10.0, noise=1.0, seed=None):
    """Two concentric noisy rings: class 0 on the inner ring, class 1 on the outer one.

    Each point's angle is uniform in [0, 2*pi) and its radius is its ring's radius plus
    Gaussian noise with standard deviation ``noise``.

    Parameters
    ----------
    n : int
        Number of points; the inner ring gets ``n // 2``, the outer ring the rest.
    inner, outer : float
        Ring radii.
    noise : float
        Standard deviation of the radial noise.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray, float32, shape (n, 2)
    y : ndarray, int64, shape (n,)
        0 for the inner ring, 1 for the outer ring.

    Examples
    --------
    >>> X, y = donut(200, seed=0)
    >>> X.shape, int(y.sum())
    ((200, 2), 100)
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    rng = as_generator(seed)
    labels = np.repeat(np.array([0, 1]), [n // 2, n - n // 2])
    radius = np.where(labels == 0, inner, outer) + noise * rng.standard_normal(n)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    points = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return _shuffled(rng, points, labels)


CLOUD_CENTRES = np.array([[0.0, -2.0], [2.0, 2.0], [-2.0, 2.0]])


def clouds(n_per_class=500, seed=None):
    """Three Gaussian clouds with unit standard deviation, centred at (0, -2), (2, 2), (-2, 2).

    Parameters
    ----------
    n_per_class : int
        Points drawn around each centre.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray, float32, shape (3 * n_per_class, 2)
    y : ndarray, int64, shape (3 * n_per_class,)
        The index of the cloud's centre in ``CLOUD_CENTRES``: 0, 1 or 2.
    """
    if n_per_class < 0:
        raise ValueError(f"n_per_class must be non-negative, got {n_per_class}")
    rng = as_generator(seed)
    labels = np.repeat(np.arange(len(CLOUD_CENTRES)), n_per_class)
    points = CLOUD_CENTRES[labels] + rng.standard_normal((len(labels), 2))
    return _shuffled(rng, points, labels)


def spiral(n_per_class=300, arms=3, noise=0.2, turns=1.0, seed=None):
    """Interleaved spiral arms, one class per arm: a harder 2-D problem than the donut.

    Point ``i`` of arm ``a`` lies at radius ``t`` and angle
    ``2*pi*(a/arms + turns*t) + noise * N(0, 1)``, where ``t`` is uniform in [0, 1).
    Near the centre the arms touch, so even a perfect model misses a few points there.

    Parameters
    ----------
    n_per_class : int
        Points on each arm.
    arms : int
        Number of arms, which is the number of classes (at least 2).
    noise : float
        Standard deviation of the Gaussian jitter added to each point's angle, in radians.
    turns : float
        How many full turns each arm makes from the centre to radius 1.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray, float32, shape (arms * n_per_class, 2)
        Points inside the unit disc (up to the jitter).
    y : ndarray, int64, shape (arms * n_per_class,)
        The arm index, 0 .. arms - 1.
    """
    if arms < 2:
        raise ValueError(f"a spiral needs at least 2 arms, got arms={arms}")
    if n_per_class < 0:
        raise ValueError(f"n_per_class must be non-negative, got {n_per_class}")
    rng = as_generator(seed)
    labels = np.repeat(np.arange(arms), n_per_class)
    t = rng.uniform(0.0, 1.0, len(labels))
    angle = 2 * np.pi * (labels / arms + turns * t) + noise * rng.standard_normal(len(labels))
    points = np.column_stack([t * np.cos(angle), t * np.sin(angle)])
    return _shuffled(rng, points, labels)
