"""Checking backward rules against central differences: for users adding their own ops."""

from __future__ import annotations

import numpy as np

from microflow.core.graph import Tensor, Variable
from microflow.core.gradients import gradients
from microflow.core.session import Session


def check_gradients(ys, xs, feed_dict=None, eps=None, seed=0):
    """The largest absolute difference between ``gradients(ys, xs)`` and central differences.

    ``ys`` is a Tensor or a list of them; the check differentiates ``sum(w * y)`` for a random
    cotangent ``w`` (fixed by ``seed``), which catches more mistakes than a sum of ones.
    ``xs`` are Variables or fed Tensors; each element of each x is nudged by ``eps`` (default
    1e-6 in float64, 1e-3 in float32) and the loss evaluated twice. Use float64 for a
    meaningful check: expect differences around 1e-8 for a correct rule.

    Examples
    --------
    >>> x = mf.Variable(np.array([0.5, -1.0]))
    >>> check_gradients(mf.tanh(x) * x, [x]) < 1e-8
    True
    """
    feed_dict = dict(feed_dict or {})
    ys = [ys] if isinstance(ys, Tensor) else list(ys)
    xs = [xs] if isinstance(xs, Tensor) else list(xs)
    rng = np.random.default_rng(seed)
    session = Session(ys[0].graph)
    shapes = [np.shape(v) for v in session.run(ys, feed_dict)]
    cotangents = [rng.standard_normal(shape).astype(y.dtype) for shape, y in zip(shapes, ys)]
    symbolic = gradients(ys, xs, grad_ys=cotangents)

    def loss():
        values = session.run(ys, feed_dict)
        return sum(float(np.sum(np.asarray(v, np.float64) * w)) for v, w in zip(values, cotangents))

    largest = 0.0
    analytic = session.run([g for g in symbolic if g is not None], feed_dict)
    analytic = iter(analytic)
    for x, g in zip(xs, symbolic):
        if isinstance(x, Variable):
            array = x.value
        else:
            array = feed_dict[x] = np.array(feed_dict[x], dtype=x.dtype)
        step = eps or (1e-6 if array.dtype == np.float64 else 1e-3)
        numeric = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + step
            upper = loss()
            array[index] = original - step
            lower = loss()
            array[index] = original
            numeric[index] = (upper - lower) / (2 * step)
        exact = np.zeros(array.shape) if g is None else np.asarray(next(analytic))
        if exact.shape != array.shape:
            raise ValueError(f"the gradient for {x.name!r} has shape {exact.shape}, "
                             f"but {x.name!r} has shape {array.shape}")
        largest = max(largest, float(np.max(np.abs(exact - numeric), initial=0.0)))
    return largest


__all__ = ['check_gradients']


def __dir__():
    return __all__
