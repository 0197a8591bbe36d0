"""Initial values for Variables.

Each initializer takes a shape and a ``seed`` (None, an int or a numpy Generator) and returns
a numpy array. Called without a shape, it returns itself with the other arguments fixed, to
pass as ``kernel_init``.

Examples
--------
>>> mf.init.normal((2, 3), stddev=0.1, seed=0).shape
(2, 3)
>>> layer_init = mf.init.normal(stddev=0.01)     # an initializer for mf.layers.dense
"""

from __future__ import annotations

import functools

import numpy as np

from microflow.core.random import as_generator

DEFAULT_DTYPE = "float32"


def _configurable(initializer):
    """Let ``initializer(**options)`` without a shape return the configured initializer."""
    @functools.wraps(initializer)
    def wrapper(shape=None, *args, **kwargs):
        if shape is None:
            return functools.partial(wrapper, *args, **kwargs)
        return initializer(tuple(np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),),
                           *args, **kwargs)
    return wrapper


def fans(shape):
    """(fan_in, fan_out) of a weight of ``shape``: (in, out) for a matrix; for more axes the
    leading ones count as a receptive field."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


@_configurable
def zeros(shape, seed=None, dtype=DEFAULT_DTYPE):
    """All zeros."""
    return np.zeros(shape, dtype)


@_configurable
def ones(shape, seed=None, dtype=DEFAULT_DTYPE):
    """All ones."""
    return np.ones(shape, dtype)


@_configurable
def constant(shape, value=0.0, seed=None, dtype=DEFAULT_DTYPE):
    """Every element equal to ``value``."""
    return np.full(shape, value, dtype)


@_configurable
def normal(shape, stddev=1.0, seed=None, mean=0.0, dtype=DEFAULT_DTYPE):
    """Gaussian N(mean, stddev**2)."""
    return as_generator(seed).normal(mean, stddev, shape).astype(dtype)


@_configurable
def uniform(shape, low=-0.05, high=0.05, seed=None, dtype=DEFAULT_DTYPE):
    """Uniform on [low, high)."""
    return as_generator(seed).uniform(low, high, shape).astype(dtype)


@_configurable
def glorot_uniform(shape, seed=None, dtype=DEFAULT_DTYPE):
    """Uniform on ±sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010): keeps the variance of
    activations and gradients about equal across tanh/sigmoid layers."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(seed).uniform(-limit, limit, shape).astype(dtype)


@_configurable
def glorot_normal(shape, seed=None, dtype=DEFAULT_DTYPE):
    """Gaussian with stddev sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return as_generator(seed).normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape).astype(dtype)


@_configurable
def he_uniform(shape, seed=None, dtype=DEFAULT_DTYPE):
    """Uniform on ±sqrt(6 / fan_in) (He et al., 2015): for relu layers."""
    fan_in, _ = fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return as_generator(seed).uniform(-limit, limit, shape).astype(dtype)


@_configurable
def he_normal(shape, seed=None, dtype=DEFAULT_DTYPE):
    """Gaussian with stddev sqrt(2 / fan_in): for relu layers."""
    fan_in, _ = fans(shape)
    return as_generator(seed).normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(dtype)


__all__ = ['constant', 'fans', 'glorot_normal', 'glorot_uniform', 'he_normal', 'he_uniform', 'normal', 'ones', 'uniform', 'zeros', 'DEFAULT_DTYPE']


def __dir__():
    return __all__
