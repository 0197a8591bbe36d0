"""Reductions and their transposes: sums, means, argmax, and the broadcasting pair SumTo and
BroadcastTo that the gradient walk uses to undo numpy broadcasting."""

from __future__ import annotations

import math

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.ops import kernels
from microflow.core.ops.base import (Op, apply, format_shape, integer, normalize_axes, register,
                                     static_size)
from microflow.core.ops.math import (cast, divide, exp, greater_equal, less_equal, multiply,
                                     subtract)


def _insert_ones(shape, axes):
    """``shape`` with length-1 axes inserted at ``axes`` (positions in the result)."""
    shape = list(shape)
    for axis in sorted(axes):
        shape.insert(axis, 1)
    return tuple(shape)


def _target(op, like):
    return op.shape if like is None else like.shape


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


@register
class ReduceSum(Op):
    """out = sum of a over ``axis`` (all axes when None)"""

    views = True            # over no axes, it returns its input

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = bool(keepdims)

    def forward(self, a):
        axes = self._axes
        if a.dtype.kind in "iu":        # numpy would widen int32 to int64: keep the dtype
            return np.sum(a, axis=axes, keepdims=self.keepdims, dtype=a.dtype)
        if axes == self._leading and a.ndim > len(axes):
            out = kernels.sum_leading(a, len(axes))
            return out.reshape(self._kept_shape(a)) if self.keepdims else out
        if axes == (a.ndim - 1,) and a.ndim > 1:
            return kernels.row_sum(a, self.keepdims)
        return np.sum(a, axis=axes, keepdims=self.keepdims)

    def _kept_shape(self, a):
        return (1,) * len(self._axes) + a.shape[len(self._axes):]

    def infer(self, a):
        self._axes = normalize_axes(self.axis, a.ndim)
        self._leading = tuple(range(len(self._axes)))
        return _reduced_shape(a.shape, self._axes, self.keepdims), a.dtype

    def backward(self, grad, a, out):
        return (broadcast_to(grad, a, () if self.keepdims else self._axes),)


@register
class ReduceMean(Op):
    """out = mean of a over ``axis`` (all axes when None)"""

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = bool(keepdims)

    def forward(self, a):
        _count(a, self._axes)
        return np.mean(a, axis=self._axes, keepdims=self.keepdims)

    def infer(self, a):
        self._axes = normalize_axes(self.axis, a.ndim)
        dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
        return _reduced_shape(a.shape, self._axes, self.keepdims), dtype

    def backward(self, grad, a, out):
        scaled = divide_by_count(grad, a, self._axes)
        return (broadcast_to(scaled, a, () if self.keepdims else self._axes),)


@register
class SumTo(Op):
    """out = a summed over the axes along which it was broadcast from the target shape"""

    views = True            # when nothing was broadcast, it returns its input

    def __init__(self, shape=None, axes=()):
        self.shape = shape      # the static target shape, or None: take ``like``'s at run time
        self.axes = tuple(axes) # axes of ``a`` the target lacks altogether (summed and dropped)

    def forward(self, a, like=None):
        target = _target(self, like)
        expanded = _insert_ones(target, self.axes) if self.axes else target
        return kernels.sum_to_shape(a, expanded).reshape(target)

    def infer(self, a, like=None):
        target = _target(self, like)
        if len(target) + len(self.axes) > a.ndim:
            raise ShapeError(f"cannot sum {format_shape(a.shape)} to {format_shape(target)}")
        if (like is None and not self.axes and a.ndim == len(target) + 1 and
                a.shape[1:] == target and a.dtype.kind == "f"):
            self.forward = _sum_rows        # a bias gradient: (N, ...) summed to (...)
            self._rows_2d = a.ndim == 2
        return target, a.dtype

    def inline(self, args, into):
        if not getattr(self, "_rows_2d", False):
            return None
        return f"_ones(len({args[0]}), {args[0]}.dtype) @ {args[0]}", {"_ones": kernels.ones}

    def backward(self, grad, a, *like_and_out):
        return (broadcast_to(grad, a, self.axes),) + (None,) * (len(like_and_out) - 1)


def _sum_rows(a):
    """a summed over its first axis, as ones @ a: one BLAS call."""
    if a.ndim == 2:
        return kernels.ones(len(a), a.dtype) @ a
    return kernels.sum_leading(a, 1)


@register
class BroadcastTo(Op):
    """out = a broadcast to the target shape (after inserting length-1 ``axes``)"""

    views = True            # a read-only view

    def __init__(self, shape=None, axes=()):
        self.shape = shape
        self.axes = tuple(axes)

    def forward(self, a, like=None):
        target = _target(self, like)
        if self.axes:
            a = a.reshape(_insert_ones(a.shape, self.axes))
        return np.broadcast_to(a, target)

    def infer(self, a, like=None):
        target = _target(self, like)
        if a.ndim + len(self.axes) > len(target):
            raise ShapeError(f"cannot broadcast {format_shape(a.shape)} to "
                             f"{format_shape(target)}")
        return target, a.dtype

    def backward(self, grad, a, *like_and_out):
        return (sum_to(grad, a, self.axes),) + (None,) * (len(like_and_out) - 1)


@register
class CountOf(Op):
    """out = the number of elements of a along ``axes``, as a float scalar"""

    differentiable = False

    def __init__(self, axes):
        self.axes = tuple(axes)

    def forward(self, a):
        return np.asarray(_count(a, self.axes), dtype=self._dtype)

    def infer(self, a):
        self._dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
        return (), self._dtype


def _count(a, axes):
    """The number of elements of ``a`` along ``axes``, which a mean divides by; NoRows if 0."""
    count = math.prod([a.shape[i] for i in axes])
    if not count:
        if 0 in axes and not len(a):
            raise kernels.NoRows(kernels.NO_ROWS)
        raise kernels.NoRows(f"a mean over axes {axes} of an array of shape "
                             f"{format_shape(a.shape)}: over 0 elements, it is undefined")
    return count


@register
class ArgMax(Op):
    """out = index of the largest element along ``axis`` (first one on ties)"""

    differentiable = False

    def __init__(self, axis=-1):
        self.axis = integer(axis, "ArgMax: axis")

    def forward(self, a):
        return np.argmax(a, axis=self.axis)

    def infer(self, a):
        (axis,) = normalize_axes(self.axis, a.ndim)
        return a.shape[:axis] + a.shape[axis + 1:], np.dtype(np.int64)


# -- the functions users call ---------------------------------------------------------
def reduce_sum(a, axis=None, keepdims=False, name=None):
    """Sum over ``axis`` (an int, a tuple, or None for all axes)."""
    return apply(ReduceSum(axis, keepdims), (a,), name)


def reduce_mean(a, axis=None, keepdims=False, name=None):
    """Mean over ``axis`` (an int, a tuple, or None for all axes)."""
    return apply(ReduceMean(axis, keepdims), (a,), name)


def argmax(a, axis=-1, name=None):
    """Index of the largest value along ``axis``; not differentiable."""
    return apply(ArgMax(axis), (a,), name)


def sum_to(a, like, axes=(), name=None):
    """``a`` summed down to ``like``'s shape: the transpose of broadcasting."""
    if None not in like.shape:
        return apply(SumTo(like.shape, axes), (a,), name)
    return apply(SumTo(None, axes), (a, like), name)


def broadcast_to(a, like, axes=(), name=None):
    """``a`` (with length-1 ``axes`` inserted) broadcast to ``like``'s shape."""
    if None not in like.shape:
        return apply(BroadcastTo(like.shape, axes), (a,), name)
    return apply(BroadcastTo(None, axes), (a, like), name)


def count_of(a, axes=None):
    """The number of elements of ``a`` along ``axes``: a Python int when the shape is static,
    else a scalar Tensor computed at run time."""
    axes = normalize_axes(axes, a.ndim)
    size = static_size(a.shape, axes)
    if size is not None:
        return size
    return apply(CountOf(axes), (a,))


def divide_by_count(grad, a, axes=None):
    """grad / (number of elements of ``a`` along ``axes``; all when None)."""
    from microflow.core.ops.math import divide, multiply
    count = count_of(a, axes)
    if isinstance(count, int):
        return multiply(grad, 1.0 / count) if count else grad
    return divide(grad, count)


# -- extremes and log-sum-exp ---------------------------------------------------------------
class _Extreme(Op):
    """A max or min over ``axis``; the gradient goes to the positions holding the extreme."""

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = bool(keepdims)

    def infer(self, a):
        self._axes = normalize_axes(self.axis, a.ndim)
        return _reduced_shape(a.shape, self._axes, self.keepdims), a.dtype

    def backward(self, grad, a, out):
        axes = () if self.keepdims else self._axes
        hits = cast(self._holds_extreme(a, broadcast_to(out, a, axes)), a.dtype)
        # Tied positions split the gradient equally (TensorFlow's rule for reduce_max).
        share = divide(hits, reduce_sum(hits, self._axes, keepdims=True))
        return (multiply(broadcast_to(grad, a, axes), share),)


@register
class ReduceMax(_Extreme):
    """out = max of a over ``axis`` (all axes when None)"""

    def forward(self, a):
        return np.max(a, axis=self._axes, keepdims=self.keepdims)

    def _holds_extreme(self, a, extreme):
        return greater_equal(a, extreme)         # a <= max everywhere: >= means ==


@register
class ReduceMin(_Extreme):
    """out = min of a over ``axis`` (all axes when None)"""

    def forward(self, a):
        return np.min(a, axis=self._axes, keepdims=self.keepdims)

    def _holds_extreme(self, a, extreme):
        return less_equal(a, extreme)


@register
class Logsumexp(Op):
    """out = log(sum of e ** a over ``axis``), computed as m + log(sum e ** (a - m)), m = max a"""

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = bool(keepdims)

    def forward(self, a):
        # Shifting by the max keeps exp from overflowing; an infinite max is not shifted by
        # (inf - inf would be NaN), and a sum of zeros (all -inf) gives -inf silently.
        top = np.max(a, axis=self._axes, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(a - top), axis=self._axes, keepdims=True)) + top
        return out if self.keepdims else out.reshape(_reduced_shape(a.shape, self._axes, False))

    def infer(self, a):
        self._axes = normalize_axes(self.axis, a.ndim)
        return _reduced_shape(a.shape, self._axes, self.keepdims), a.dtype

    def backward(self, grad, a, out):
        # d out / d a_i = e ** (a_i - out): the softmax over the reduced axes
        axes = () if self.keepdims else self._axes
        weights = exp(subtract(a, broadcast_to(out, a, axes)))
        return (multiply(broadcast_to(grad, a, axes), weights),)


@register
class ArgMin(Op):
    """out = index of the smallest element along ``axis`` (first one on ties)"""

    differentiable = False

    def __init__(self, axis=-1):
        self.axis = integer(axis, "ArgMin: axis")

    def forward(self, a):
        return np.argmin(a, axis=self.axis)

    def infer(self, a):
        (axis,) = normalize_axes(self.axis, a.ndim)
        return a.shape[:axis] + a.shape[axis + 1:], np.dtype(np.int64)


def reduce_max(a, axis=None, keepdims=False, name=None):
    """Max over ``axis`` (an int, a tuple, or None for all axes).

    The gradient goes to the elements that hold the max, split equally among ties.
    """
    return apply(ReduceMax(axis, keepdims), (a,), name)


def reduce_min(a, axis=None, keepdims=False, name=None):
    """Min over ``axis`` (an int, a tuple, or None for all axes).

    The gradient goes to the elements that hold the min, split equally among ties.
    """
    return apply(ReduceMin(axis, keepdims), (a,), name)


def logsumexp(a, axis=None, keepdims=False, name=None):
    """log(sum(exp(a))) over ``axis``, shifted by the max so that it never overflows; its
    gradient is the softmax over those axes."""
    return apply(Logsumexp(axis, keepdims), (a,), name)


def argmin(a, axis=-1, name=None):
    """Index of the smallest value along ``axis``; not differentiable."""
    return apply(ArgMin(axis), (a,), name)
