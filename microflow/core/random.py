"""microflow's source of randomness: one module-level numpy Generator.

Everything in microflow that draws random numbers takes a ``seed`` argument and turns it
into a ``numpy.random.Generator`` with :func:`as_generator`; numpy's legacy global state
(``np.random.seed``, ``np.random.rand``...) is never used. When ``seed`` is ``None`` the
Generator is a child of the default generator, so one call to :func:`set_seed` makes a
whole script reproducible::

    >>> from microflow import random
    >>> random.set_seed(0)
    >>> a = random.as_generator(None).normal()
    >>> random.set_seed(0)
    >>> a == random.as_generator(None).normal()
    True
"""

import contextlib

import numpy as np

_default_generator = np.random.default_rng()


def default_generator():
    """Return the current default Generator (fresh OS entropy until :func:`set_seed` is called)."""
    return _default_generator


def set_seed(seed):
    """Replace the default Generator with ``np.random.default_rng(seed)``.

    Parameters
    ----------
    seed : int or None
        A non-negative integer makes every later ``seed=None`` draw reproducible;
        ``None`` goes back to fresh OS entropy.
    """
    global _default_generator
    _default_generator = np.random.default_rng(seed)


@contextlib.contextmanager
def default_generator_as(generator):
    """Make ``generator`` the default Generator inside a ``with`` block, and put the previous
    one back after it (a search task seeds its own draws this way, wherever it runs)."""
    global _default_generator
    saved, _default_generator = _default_generator, generator
    try:
        yield generator
    finally:
        _default_generator = saved


def as_generator(seed=None):
    """Turn a ``seed`` argument into a numpy Generator.

    Parameters
    ----------
    seed : None, int or numpy.random.Generator
        ``None``: a new Generator seeded from the default generator (so it follows
        :func:`set_seed`); an int: ``np.random.default_rng(seed)``; a Generator: itself,
        unchanged, so a caller can thread one Generator through several functions.

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(int(_default_generator.integers(2**63)))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}"
    )


__all__ = ['as_generator', 'default_generator', 'default_generator_as', 'set_seed']


def __dir__():
    return __all__
