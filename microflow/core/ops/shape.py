"""Ops that move elements around without changing them: reshape, transpose, identity."""

from __future__ import annotations

import math

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.graph import Tensor, as_tensor, constant
from microflow.core.ops.base import (Op, apply, describe, format_shape, integer, normalize_axes,
                                     register, static_size)


@register
class Reshape(Op):
    """out = a with a new shape (one dimension may be -1: inferred)"""

    views = True            # its output may be a view of its input

    def __init__(self, shape):
        self.shape = tuple(integer(d, "Reshape: dimension") for d in shape)

    def forward(self, a):
        return a.reshape(self.shape)

    def infer(self, a):
        target = self.shape
        if sum(d == -1 for d in target) > 1 or any(d < -1 for d in target):
            raise ShapeError(f"invalid target shape {target}: at most one -1, no other negatives")
        size = static_size(a.shape)
        known = math.prod(d for d in target if d != -1)     # Python ints never overflow
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

    views = True            # its output may be a view of its input

    def forward(self, a, like):
        return a.reshape(like.shape)

    def infer(self, a, like):
        return like.shape, a.dtype

    def backward(self, grad, a, like, out):
        return reshape_like(grad, a), None


@register
class ExpandDims(Op):
    """out = a with a new axis of length 1 at ``axis``"""

    views = True            # its output may be a view of its input

    def __init__(self, axis):
        self.axis = integer(axis, "ExpandDims: axis")

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

    views = True            # its output may be a view of its input

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(integer(a, "Transpose: axis") for a in axes)

    def forward(self, a):
        return np.transpose(a, self.axes)

    def infer(self, a):
        axes = self.axes if self.axes is not None else tuple(reversed(range(a.ndim)))
        if sorted(normalize_axes(axes, a.ndim)) != list(range(a.ndim)) or len(axes) != a.ndim:
            raise ShapeError(f"axes {self.axes} are not a permutation of the {a.ndim} axes of "
                             f"{format_shape(a.shape)}")
        self._axes = tuple(axis % a.ndim for axis in axes)     # -1 -> ndim - 1
        return tuple(a.shape[i] for i in axes), a.dtype

    def backward(self, grad, a, out):
        if self.axes is None:
            return (transpose(grad),)
        # The inverse permutation, of the axes counted from the front (argsort of (-1, 0)
        # would not invert (1, 0)).
        return (transpose(grad, tuple(int(i) for i in np.argsort(self._axes))),)


def _normalize_key(key):
    """An index as a tuple of ints, slices, None (new axis) and at most one Ellipsis."""
    key = key if isinstance(key, tuple) else (key,)
    for item in key:
        if isinstance(item, Tensor) or not (
                item is None or item is Ellipsis or isinstance(item, slice | int | np.integer)):
            raise TypeError(f"a Tensor can be indexed with ints, slices, None and ..., or an "
                            f"integer array, not {item!r}")
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

    views = True            # its output may be a view of its input

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

    views = True            # its output may be a view of its input

    def forward(self, a):
        return a

    def backward(self, grad, a, out):
        return (grad,)


@register
class StopGradient(Op):
    """out = a, but no gradient flows back through it"""

    views = True            # its output may be a view of its input

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

    views = True            # its output may be a view of its input

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
    """``a[key]``, also written so on a Tensor: numpy's basic indexing (ints, slices, None,
    ...), or an integer array / list / int Tensor, alone (``a[[0, 2]]``, ``a[idx]``) or after
    full slices (``a[:, idx]``), which gathers along that axis (see ``gather``)."""
    found = _array_index(key)
    if found is not None:
        axis, indices = found
        return gather(a, indices, axis, name)
    return apply(GetItem(key), (a,), name)


def _is_array_index(item):
    return isinstance(item, Tensor | list | np.ndarray)


def _array_index(key):
    """``(axis, indices)`` for an integer-array index, None for a basic one."""
    items = key if isinstance(key, tuple) else (key,)
    positions = [i for i, item in enumerate(items) if _is_array_index(item)]
    if not positions:
        return None
    axis = positions[0]
    full = slice(None)
    if len(positions) > 1 or any(item != full for item in items[:axis] + items[axis + 1:]):
        raise TypeError("an integer array index is supported alone or after full slices "
                        f"(t[idx], t[:, idx]), not in {key!r}")
    indices = items[axis]
    if not isinstance(indices, Tensor):
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"an array index must hold integers, not {indices.dtype} "
                            "(for a boolean mask use mf.where)")
    elif indices.dtype.kind not in "iu":
        raise TypeError(f"a Tensor index must be an integer Tensor, not {describe(indices)} "
                        "(for a boolean mask use mf.where)")
    return axis, indices


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
    shape = tuple(None if d is None else integer(d, "placeholder_with_default: dimension")
                  for d in shape)
    if len(shape) != default.ndim or any(d is not None and n is not None and d != n
                                        for d, n in zip(shape, default.shape)):
        raise ShapeError(f"placeholder_with_default {name or 'PlaceholderWithDefault'!r}: the "
                         f"default of shape "
                         f"{format_shape(default.shape)} does not fit the shape "
                         f"{format_shape(shape)}")
    return apply(PlaceholderWithDefault(shape), (default,), name)


# -- joining, splitting, padding, tiling ----------------------------------------------------
def _merge_dims(shapes, skip=None):
    """The dimensions the static ``shapes`` agree on (None where all are unknown), each axis
    but ``skip``; ShapeError where two known ones differ."""
    merged = []
    for axis, dims in enumerate(zip(*shapes)):
        known = {d for d in dims if d is not None}
        if axis != skip and len(known) > 1:
            raise ShapeError("shapes " + ", ".join(format_shape(s) for s in shapes) +
                             f" differ along axis {axis}")
        merged.append(known.pop() if len(known) == 1 else None)
    return merged


def _static_axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise ShapeError(f"axis {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


def _along(axis, item):
    """An index picking ``item`` along ``axis`` and everything along the axes before it."""
    return (slice(None),) * axis + (item,)


@register
class Concat(Op):
    """out = the inputs joined along ``axis``"""

    def __init__(self, axis):
        self.axis = integer(axis, "Concat: axis")

    def forward(self, *arrays):
        return np.concatenate(arrays, axis=self._axis).astype(self._dtype, copy=False)

    def infer(self, *values):
        if not values:
            raise ShapeError("concat needs at least one tensor")
        if len({v.ndim for v in values}) > 1:
            raise ShapeError("tensors of different ranks: " +
                             ", ".join(format_shape(v.shape) for v in values))
        if values[0].ndim == 0:
            raise ShapeError("cannot concatenate scalars (use mf.stack)")
        self._axis = _static_axis(self.axis, values[0].ndim)
        shape = _merge_dims([v.shape for v in values], skip=self._axis)
        sizes = [v.shape[self._axis] for v in values]
        shape[self._axis] = None if None in sizes else sum(sizes)
        self._dtype = np.result_type(*(v.dtype for v in values))
        return tuple(shape), self._dtype

    def backward(self, grad, *values_and_out):
        values = values_and_out[:-1]
        sizes = [v.shape[self._axis] for v in values]
        if None in sizes:               # the pieces' bounds are known at run time only
            return tuple(split_like(grad, values, self._axis, i) for i in range(len(values)))
        starts = np.cumsum([0] + sizes)
        return tuple(get_item(grad, _along(self._axis, slice(int(start), int(start + size))))
                     for start, size in zip(starts, sizes))


@register
class SplitLike(Op):
    """out = the piece of a, along ``axis``, where input ``index`` of a concat of ``values``
    lies (Concat's backward when their sizes are known at run time only)"""

    views = True            # its output may be a view of its input

    def __init__(self, axis, index):
        self.axis = axis
        self.index = index

    def forward(self, a, *values):
        start = sum(v.shape[self.axis] for v in values[:self.index])
        stop = start + values[self.index].shape[self.axis]
        return a[_along(self.axis, slice(start, stop))]

    def infer(self, a, *values):
        shape = list(a.shape)
        shape[self.axis] = values[self.index].shape[self.axis]
        return tuple(shape), a.dtype

    def backward(self, grad, a, *values_and_out):
        values = values_and_out[:-1]
        pieces = [grad if i == self.index else zeros_like(v) for i, v in enumerate(values)]
        return (concat(pieces, self.axis),) + (None,) * len(values)


@register
class Stack(Op):
    """out = the inputs, of one shape, stacked along a new axis ``axis``"""

    def __init__(self, axis=0):
        self.axis = integer(axis, "Stack: axis")

    def forward(self, *arrays):
        return np.stack(arrays, axis=self._axis).astype(self._dtype, copy=False)

    def infer(self, *values):
        if not values:
            raise ShapeError("stack needs at least one tensor")
        if len({v.ndim for v in values}) > 1:
            raise ShapeError("tensors of different ranks: " +
                             ", ".join(format_shape(v.shape) for v in values))
        self._axis = _static_axis(self.axis, values[0].ndim + 1)
        shape = _merge_dims([v.shape for v in values])
        shape.insert(self._axis, len(values))
        self._dtype = np.result_type(*(v.dtype for v in values))
        return tuple(shape), self._dtype

    def backward(self, grad, *values_and_out):
        count = len(values_and_out) - 1
        return tuple(get_item(grad, _along(self._axis, i)) for i in range(count))


@register
class Split(Op):
    """out = piece ``index`` of a cut along ``axis`` into pieces of the given ``sizes``"""

    views = True            # its output may be a view of its input

    def __init__(self, sizes, axis, index):
        self.sizes = tuple(sizes)
        self.axis = axis
        self.index = index

    def forward(self, a):
        start = sum(self.sizes[:self.index])
        return a[_along(self.axis, slice(start, start + self.sizes[self.index]))]

    def infer(self, a):
        shape = list(a.shape)
        shape[self.axis] = self.sizes[self.index]
        return tuple(shape), a.dtype

    def backward(self, grad, a, out):
        # The piece back in its place, zeros around it: a pad along the axis.
        before = sum(self.sizes[:self.index])
        after = sum(self.sizes[self.index + 1:])
        widths = [(0, 0)] * a.ndim
        widths[self.axis] = (before, after)
        return (pad(grad, widths),)


@register
class Squeeze(Op):
    """out = a without its length-1 axes ``axis`` (all of them when None)"""

    views = True            # its output may be a view of its input

    def __init__(self, axis=None):
        self.axis = axis

    def forward(self, a):
        return np.squeeze(a, axis=self._axes)

    def infer(self, a):
        if self.axis is None:           # only the axes known to be 1 are removed
            self._axes = tuple(i for i, d in enumerate(a.shape) if d == 1)
        else:
            self._axes = normalize_axes(self.axis, a.ndim)
            wrong = [i for i in self._axes if a.shape[i] not in (1, None)]
            if wrong:
                raise ShapeError(f"cannot squeeze axis {wrong[0]} of {format_shape(a.shape)}: "
                                 f"its length is {a.shape[wrong[0]]}, not 1")
        return tuple(d for i, d in enumerate(a.shape) if i not in self._axes), a.dtype

    def backward(self, grad, a, out):
        return (reshape_like(grad, a),)


@register
class Pad(Op):
    """out = a with ``paddings[i] = (before, after)`` elements of value ``constant`` added
    around axis i"""

    def __init__(self, paddings, constant=0):
        self.paddings = tuple((integer(before, "Pad: padding"), integer(after, "Pad: padding"))
                              for before, after in paddings)
        self.constant = constant

    def forward(self, a):
        return np.pad(a, self.paddings, constant_values=self.constant)

    def infer(self, a):
        if len(self.paddings) != a.ndim:
            raise ShapeError(f"{len(self.paddings)} (before, after) pairs for a tensor of rank "
                             f"{a.ndim} {format_shape(a.shape)}")
        if any(before < 0 or after < 0 for before, after in self.paddings):
            raise ShapeError(f"negative padding in {self.paddings}")
        shape = tuple(None if d is None else d + before + after
                      for d, (before, after) in zip(a.shape, self.paddings))
        return shape, a.dtype

    def backward(self, grad, a, out):
        return (get_item(grad, tuple(slice(before, -after if after else None)
                                     for before, after in self.paddings)),)


@register
class Tile(Op):
    """out = a repeated ``reps[i]`` times along each axis i"""

    def __init__(self, reps):
        self.reps = tuple(integer(r, "Tile: repetition count") for r in reps)

    def forward(self, a):
        return np.tile(a, self.reps)

    def infer(self, a):
        if len(self.reps) != a.ndim or any(r < 0 for r in self.reps):
            raise ShapeError(f"reps {self.reps} must be {a.ndim} counts >= 0, one per axis of "
                             f"{format_shape(a.shape)}")
        return tuple(None if d is None else d * r for d, r in zip(a.shape, self.reps)), a.dtype

    def backward(self, grad, a, out):
        return (tile_grad(grad, a, self.reps),)


@register
class TileGrad(Op):
    """out = the sum of the ``reps`` tiles of g, shaped like ``like``: Tile's backward"""

    def __init__(self, reps):
        self.reps = reps

    def forward(self, g, like):
        interleaved = [n for pair in zip(self.reps, like.shape) for n in pair]
        return g.reshape(interleaved).sum(axis=tuple(range(0, 2 * like.ndim, 2)))

    def infer(self, g, like):
        return like.shape, g.dtype

    def backward(self, grad, g, like, out):
        return tile(grad, self.reps), None


# -- one-hot rows, gathering ---------------------------------------------------------------
def _check_indices(indices):
    if indices.dtype.kind not in "iu":
        raise ShapeError(f"indices {describe(indices)} must be integers")


@register
class OneHot(Op):
    """out[..., k] = 1 where indices == k, else 0 (a row of zeros for an index outside
    0..depth-1, as in TensorFlow)"""

    differentiable = False

    def __init__(self, depth, dtype="float32"):
        self.depth = integer(depth, "OneHot: depth")
        self.dtype = np.dtype(dtype)

    def forward(self, indices):
        return (indices[..., None] == np.arange(self.depth)).astype(self.dtype)

    def infer(self, indices):
        _check_indices(indices)
        return indices.shape + (self.depth,), self.dtype


@register
class Gather(Op):
    """out = params indexed by ``indices`` along ``axis`` (np.take)"""

    def __init__(self, axis=0):
        self.axis = integer(axis, "Gather: axis")

    def forward(self, params, indices):
        return np.take(params, indices, axis=self._axis)

    def infer(self, params, indices):
        _check_indices(indices)
        self._axis = _static_axis(self.axis, params.ndim)
        axis = self._axis
        return params.shape[:axis] + indices.shape + params.shape[axis + 1:], params.dtype

    def backward(self, grad, params, indices, out):
        # Repeated indices gathered the same row more than once: their gradients add up.
        return scatter_add(grad, indices, params, self._axis), None


@register
class ScatterAdd(Op):
    """out = zeros shaped like ``like``, with the slices of g added at ``indices`` along
    ``axis`` (repeated indices accumulate): Gather's backward"""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, g, indices, like):
        out = np.zeros(like.shape, g.dtype)
        np.add.at(out, _along(self.axis, indices), g)
        return out

    def infer(self, g, indices, like):
        return like.shape, g.dtype

    def backward(self, grad, g, indices, like, out):
        return gather(grad, indices, self.axis), None, None


def concat(values, axis, name=None):
    """The Tensors ``values`` joined along ``axis``; they agree on every other dimension."""
    return apply(Concat(axis), tuple(values), name)


def split_like(a, values, axis, index, name=None):
    """The piece of ``a`` along ``axis`` where ``values[index]`` lies in a concat of
    ``values`` (sizes read at run time)."""
    return apply(SplitLike(axis, index), (a, *values), name)


def stack(values, axis=0, name=None):
    """The Tensors ``values``, all of one shape, stacked along a new axis ``axis``."""
    return apply(Stack(axis), tuple(values), name)


def split(a, sections, axis=0, name=None):
    """``a`` cut along ``axis`` into a list of Tensors.

    ``sections`` is the number of equal pieces, or the list of the pieces' sizes (as in
    ``tf.split``; not numpy's split points). The length of ``axis`` must be known.

    >>> x = mf.constant(np.arange(6.0).reshape(2, 3))
    >>> [v.tolist() for v in mf.Session().run(mf.split(x, [1, 2], axis=1))]
    [[[0.0], [3.0]], [[1.0, 2.0], [4.0, 5.0]]]
    """
    a = as_tensor(a)
    try:
        axis = _static_axis(integer(axis, "Split: axis"), a.ndim)
        length = a.shape[axis]
        if length is None:
            raise ShapeError(f"the length of axis {axis} of {describe(a)} must be known")
        if np.ndim(sections) == 0:
            count = integer(sections, "Split: number of pieces")
            if count < 1 or length % count:
                raise ShapeError(f"cannot cut axis {axis} of length {length} into {count} "
                                 "equal pieces")
            sizes = [length // count] * count
        else:
            sizes = [integer(s, "Split: size") for s in sections]
            if sum(sizes) != length or any(s < 0 for s in sizes):
                raise ShapeError(f"sizes {sizes} do not add up to the length {length} of "
                                 f"axis {axis}")
    except ShapeError as error:
        raise ShapeError(f"Split op {name or 'Split'!r}: {error}") from None
    return [apply(Split(sizes, axis, i), (a,), name) for i in range(len(sizes))]


def squeeze(a, axis=None, name=None):
    """``a`` without its length-1 axes ``axis`` (an int, a tuple, or None: every axis known
    to have length 1)."""
    return apply(Squeeze(axis), (a,), name)


def pad(a, paddings, constant=0, name=None):
    """``a`` with ``constant`` added around it: ``paddings`` holds one ``(before, after)``
    pair per axis (as ``tf.pad`` and ``np.pad``)."""
    return apply(Pad(paddings, constant), (a,), name)


def tile(a, reps, name=None):
    """``a`` repeated ``reps[i]`` times along axis i (one count per axis)."""
    return apply(Tile(reps), (a,), name)


def tile_grad(g, like, reps, name=None):
    """The sum of the tiles of ``g``, shaped like ``like``: the transpose of tiling."""
    return apply(TileGrad(reps), (g, like), name)


def one_hot(indices, depth, dtype="float32", name=None):
    """Rows of ``depth`` zeros with a 1 at each index: shape ``indices.shape + (depth,)``.

    An index outside 0..depth-1 gives a row of zeros, as in TensorFlow.

    >>> mf.Session().run(mf.one_hot(mf.constant([0, 2]), 3))
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    return apply(OneHot(depth, dtype), (indices,), name)


def gather(params, indices, axis=0, name=None):
    """The slices of ``params`` at the integer ``indices`` along ``axis`` (``np.take``); also
    written ``params[indices]`` (axis 0) and ``params[:, indices]``.

    The backward rule adds the gradient of each gathered slice back at its index, so an
    index that appears twice gets both gradients, as an embedding lookup needs.
    """
    if not isinstance(indices, Tensor):
        indices = np.asarray(indices)       # an array keeps its integer dtype in the graph
    return apply(Gather(axis), (params, indices), name)


def scatter_add(g, indices, like, axis=0, name=None):
    """Zeros shaped like ``like`` with the slices of ``g`` added at ``indices`` along
    ``axis``: the transpose of gathering."""
    return apply(ScatterAdd(axis), (g, indices, like), name)
