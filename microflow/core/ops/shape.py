"""Ops that move elements around without changing them: reshape, transpose, identity."""

from __future__ import annotations

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.graph import Tensor, constant
from microflow.core.ops.base import Op, apply, format_shape, normalize_axes, register, static_size


@register
class Reshape(Op):
    """out = a with a new shape (one dimension may be -1: inferred)"""

    def __init__(self, shape):
        self.shape = tuple(int(d) for d in shape)

    def forward(self, a):
        return a.reshape(self.shape)

    def infer(self, a):
        target = self.shape
        if sum(d == -1 for d in target) > 1 or any(d < -1 for d in target):
            raise ShapeError(f"invalid target shape {target}: at most one -1, no other negatives")
        size = static_size(a.shape)
        known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
        if -1 in target:
            if size is None or known == 0:
                return tuple(None if d == -1 else d for d in target), a.dtype
            if size % known:
                raise ShapeError(f"cannot reshape {format_shape(a.shape)} into {target}")
            return tuple(size // known if d == -1 else d for d in target), a.dtype
        if size is not None and size != known:
            raise ShapeError(f"cannot reshape {format_shape(a.shape)} ({size} elements) "
                             f"into {format_shape(target)} ({known} elements)")
        return target, a.dtype

    def backward(self, grad, a, out):
        return (reshape_like(grad, a),)


@register
class ReshapeLike(Op):
    """out = a reshaped to the run-time shape of ``like``"""

    def forward(self, a, like):
        return a.reshape(like.shape)

    def infer(self, a, like):
        return like.shape, a.dtype

    def backward(self, grad, a, like, out):
        return reshape_like(grad, a), None


@register
class ExpandDims(Op):
    """out = a with a new axis of length 1 at ``axis``"""

    def __init__(self, axis):
        self.axis = int(axis)

    def forward(self, a):
        return np.expand_dims(a, self.axis)

    def infer(self, a):
        ndim = a.ndim + 1
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"axis {self.axis} is out of range for rank {a.ndim}")
        shape = list(a.shape)
        shape.insert(self.axis % ndim, 1)
        return tuple(shape), a.dtype

    def backward(self, grad, a, out):
        return (reshape_like(grad, a),)


@register
class Transpose(Op):
    """out = a with its axes permuted (reversed when ``axes`` is None)"""

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(int(a) for a in axes)

    def forward(self, a):
        return np.transpose(a, self.axes)

    def infer(self, a):
        axes = self.axes if self.axes is not None else tuple(reversed(range(a.ndim)))
        if sorted(normalize_axes(axes, a.ndim)) != list(range(a.ndim)) or len(axes) != a.ndim:
            raise ShapeError(f"axes {self.axes} are not a permutation of the {a.ndim} axes of "
                             f"{format_shape(a.shape)}")
        return tuple(a.shape[i] for i in axes), a.dtype

    def backward(self, grad, a, out):
        if self.axes is None:
            return (transpose(grad),)
        return (transpose(grad, tuple(np.argsort(self.axes))),)


def _normalize_key(key):
    """An index as a tuple of ints, slices, None (new axis) and at most one Ellipsis."""
    key = key if isinstance(key, tuple) else (key,)
    for item in key:
        if isinstance(item, Tensor) or not (
                item is None or item is Ellipsis or isinstance(item, slice | int | np.integer)):
            raise TypeError(f"a Tensor can be indexed with ints, slices, None and ..., not "
                            f"{item!r}")
        if isinstance(item, slice) and any(isinstance(v, Tensor) for v in
                                           (item.start, item.stop, item.step)):
            raise TypeError("slice bounds must be numbers, not Tensors")
    if sum(item is Ellipsis for item in key) > 1:
        raise ShapeError("an index can only have a single ellipsis ('...')")
    return tuple(int(i) if isinstance(i, np.integer) else i for i in key)


def _indexed_shape(shape, key):
    """The static shape of ``array[key]`` for an array of ``shape`` (None: unknown)."""
    used = sum(item is not None and item is not Ellipsis for item in key)
    if used > len(shape):
        raise ShapeError(f"too many indices for a tensor of shape {format_shape(shape)}")
    if Ellipsis not in key:
        key = key + (Ellipsis,)
    at = key.index(Ellipsis)
    key = key[:at] + (slice(None),) * (len(shape) - used) + key[at + 1:]
    result, axis = [], 0
    for item in key:
        if item is None:
            result.append(1)
            continue
        dim = shape[axis]
        axis += 1
        if isinstance(item, int):
            if dim is not None and not -dim <= item < dim:
                raise ShapeError(f"index {item} is out of range for axis {axis - 1} of "
                                 f"{format_shape(shape)}")
        else:
            result.append(None if dim is None else len(range(*item.indices(dim))))
    return tuple(result)


@register
class GetItem(Op):
    """out = a[key], numpy's basic indexing (ints, slices, None, ...)"""

    def __init__(self, key):
        self.key = _normalize_key(key)

    def forward(self, a):
        return a[self.key]

    def infer(self, a):
        return _indexed_shape(a.shape, self.key), a.dtype

    def backward(self, grad, a, out):
        return (scatter_like(grad, a, self.key),)


@register
class ScatterLike(Op):
    """out = zeros shaped like ``like``, with out[key] = a: GetItem's backward"""

    def __init__(self, key):
        self.key = key

    def forward(self, a, like):
        out = np.zeros(like.shape, a.dtype)
        out[self.key] = a
        return out

    def infer(self, a, like):
        return like.shape, a.dtype

    def backward(self, grad, a, like, out):
        return get_item(grad, self.key), None


@register
class Identity(Op):
    """out = a"""

    def forward(self, a):
        return a

    def backward(self, grad, a, out):
        return (grad,)


@register
class StopGradient(Op):
    """out = a, but no gradient flows back through it"""

    differentiable = False

    def forward(self, a):
        return a


@register
class OnesLike(Op):
    """out = an array of ones shaped like a"""

    differentiable = False

    forward = staticmethod(np.ones_like)


@register
class PlaceholderWithDefault(Op):
    """out = the value fed for it, or else its input (the default)"""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, default):
        return default

    def infer(self, default):
        return self.shape, default.dtype

    def backward(self, grad, default, out):
        return (grad,)


@register
class ZerosLike(Op):
    """out = an array of zeros shaped like a"""

    differentiable = False

    forward = staticmethod(np.zeros_like)


# -- the functions users call ---------------------------------------------------------
def reshape(a, shape, name=None):
    """``a`` with a new shape; one dimension may be -1."""
    return apply(Reshape(shape), (a,), name)


def reshape_like(a, like, name=None):
    """``a`` reshaped to ``like``'s shape (a Tensor's, known only at run time, or a tuple)."""
    if not isinstance(like, Tensor):
        return reshape(a, like, name)
    if isinstance(a, Tensor) and a.shape == like.shape and None not in a.shape:
        return a
    if None not in like.shape:
        return reshape(a, like.shape, name)
    return apply(ReshapeLike(), (a, like), name)


def expand_dims(a, axis, name=None):
    """``a`` with a new axis of length 1 at ``axis``."""
    return apply(ExpandDims(axis), (a,), name)


def transpose(a, axes=None, name=None):
    """Permute the axes (reverse them when ``axes`` is None), like ``np.transpose``."""
    return apply(Transpose(axes), (a,), name)


def swap_last_axes(a):
    """The matrix transpose of ``a``'s last two axes."""
    if a.ndim == 2:
        return transpose(a)
    axes = list(range(a.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(a, axes)


def get_item(a, key, name=None):
    """``a[key]`` with numpy's basic indexing; also written ``a[key]`` on a Tensor."""
    return apply(GetItem(key), (a,), name)


def scatter_like(a, like, key, name=None):
    """Zeros shaped like ``like`` with ``a`` written at ``key``: the transpose of indexing."""
    return apply(ScatterLike(key), (a, like), name)


def identity(a, name=None):
    """``a`` itself, as a new named node (free at run time)."""
    return apply(Identity(), (a,), name)


def stop_gradient(a, name=None):
    """``a`` in the forward pass; treated as a constant by ``gradients()``."""
    return apply(StopGradient(), (a,), name)


def ones_like(a, name=None):
    """Ones with ``a``'s run-time shape and dtype."""
    return apply(OnesLike(), (a,), name)


def zeros_like(a, name=None):
    """Zeros with ``a``'s run-time shape and dtype."""
    return apply(ZerosLike(), (a,), name)


def placeholder_with_default(value, shape=None, name=None):
    """A Tensor that is ``value`` unless it is fed: what makes a training-only setting easy.

    ``shape`` (default: the value's) may hold ``None`` for dimensions that a fed value may
    size freely; the default must fit it. TensorFlow's pattern for dropout::

        rate = mf.placeholder_with_default(0.0, (), name="rate")     # 0 when evaluating
        hidden = mf.dropout(mf.relu(x @ W), rate)
        mf.train.fit(sess, train_op, loss, feeds, epochs=5, train_feeds={rate: 0.5})

    >>> rate = mf.placeholder_with_default(0.0, ())
    >>> sess = mf.Session()
    >>> float(sess.run(rate)), float(sess.run(rate, {rate: 0.5}))
    (0.0, 0.5)
    """
    default = value if isinstance(value, Tensor) else constant(value)
    if shape is None:
        shape = default.shape
    shape = tuple(None if d is None else int(d) for d in shape)
    if len(shape) != default.ndim or any(d is not None and n is not None and d != n
                                        for d, n in zip(shape, default.shape)):
        raise ShapeError(f"placeholder_with_default {name or 'PlaceholderWithDefault'!r}: the "
                         f"default of shape "
                         f"{format_shape(default.shape)} does not fit the shape "
                         f"{format_shape(shape)}")
    return apply(PlaceholderWithDefault(shape), (default,), name)
