"""TF1's math, array and graph functions, each mapped onto microflow's ops.

Conventions kept from TF1 (the tests pin them): Python floats become float32 and ints int32;
``argmax`` works down axis 0 unless told and returns int64; integer ``reduce_mean`` divides
as C++ does (toward zero: rounding down for non-negative values); ``/`` on integers gives
float64; ``cast`` truncates toward zero; ``one_hot`` of an out-of-range index is a row of
``off_value``.
"""

from __future__ import annotations

import numpy as np

import microflow as mf
from microflow.compat.v1._tensors import Operation, _op, operands, to_tensor, unwrap, wrap
from microflow.compat.v1.dtypes import as_dtype, float32, tf1_array
from microflow.core.graph import Tensor as _MfTensor
from microflow.core.ops.base import apply
from microflow.core.ops.state import Group


def _shape(shape):
    if isinstance(unwrap(shape), _MfTensor):
        raise TypeError("shapes must be lists of ints (microflow's shapes are static), not "
                        f"the Tensor {unwrap(shape).name!r}")
    return tuple(None if d is None else int(d) for d in shape)


# -- making Tensors -----------------------------------------------------------------------
def placeholder(dtype, shape=None, name=None):
    """A Tensor fed at run time. TF1's order: ``dtype`` first. ``shape=None`` is a scalar
    here (microflow needs the rank); give ``[None, 784]`` for a batch of any size."""
    shape = () if shape is None else _shape(shape)
    return wrap(mf.placeholder(shape, as_dtype(dtype), name=name or "Placeholder"))


def placeholder_with_default(input, shape, name=None):  # noqa: A002  (TF1's argument name)
    """A Tensor that is ``input`` unless fed."""
    return wrap(_op("placeholder_with_default")(unwrap(input), shape=_shape(shape), name=name))


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """A fixed Tensor; a scalar ``value`` with a ``shape`` fills it."""
    array = tf1_array(value, dtype)
    if shape is not None:
        shape = _shape(shape)
        if array.size == 1:
            array = np.full(shape, array.reshape(()), array.dtype)
        elif array.size == int(np.prod(shape, dtype=np.int64)) and not verify_shape:
            array = array.reshape(shape)
        else:
            raise TypeError(f"constant: a value of shape {array.shape} does not fit shape "
                            f"{list(shape)}")
    return wrap(mf.constant(array, name=name))


def zeros(shape, dtype=float32, name=None):
    """Zeros of a static ``shape``."""
    return wrap(mf.constant(np.zeros(_shape(shape), as_dtype(dtype)), name=name or "zeros"))


def ones(shape, dtype=float32, name=None):
    """Ones of a static ``shape``."""
    return wrap(mf.constant(np.ones(_shape(shape), as_dtype(dtype)), name=name or "ones"))


def ones_like(tensor, dtype=None, name=None, optimize=True):
    """Ones shaped like ``tensor`` (its dtype unless ``dtype``)."""
    x = to_tensor(tensor)
    out = mf.ones_like(x, name=name)
    return wrap(out if dtype is None or as_dtype(dtype) == x.dtype else mf.cast(out, dtype))


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    """Zeros shaped like ``tensor`` (its dtype unless ``dtype``)."""
    x = to_tensor(tensor)
    out = mf.zeros_like(x, name=name)
    return wrap(out if dtype is None or as_dtype(dtype) == x.dtype else mf.cast(out, dtype))


def identity(input, name=None):  # noqa: A002
    """``input`` itself, as a new named Tensor."""
    return wrap(mf.identity(to_tensor(input), name=name))


def stop_gradient(input, name=None):  # noqa: A002
    """``input``, through which ``gradients`` sends nothing back."""
    return wrap(mf.stop_gradient(to_tensor(input), name=name))


def group(*inputs, name=None):
    """An Operation that runs all ``inputs``."""
    return Operation.of(apply(Group(), [unwrap(t) for t in inputs], name=name or "group"))


def no_op(name=None):
    """An Operation that does nothing."""
    return group(name=name or "NoOp")


# -- math ---------------------------------------------------------------------------------
def _binary(function):
    def op(x, y, name=None):
        a, b = operands(x, y)
        return wrap(function(a, b, name=name))
    op.__name__ = function.__name__
    op.__doc__ = f"Elementwise ``{function.__name__}(x, y)``, broadcasting."
    return op


def _unary(function):
    def op(x, name=None):
        return wrap(function(to_tensor(x), name=name))
    op.__name__ = function.__name__
    op.__doc__ = f"Elementwise ``{function.__name__}(x)``."
    return op


add = _binary(mf.add)
subtract = _binary(mf.subtract)
multiply = _binary(mf.multiply)
divide = _binary(mf.divide)
truediv = divide
square = _unary(mf.square)
sqrt = _unary(mf.sqrt)
exp = _unary(mf.exp)
log = _unary(mf.log)
negative = _unary(mf.negative)
sigmoid = _unary(mf.sigmoid)
tanh = _unary(mf.tanh)


def _later(function_name, arity):
    """A TF1 function on the microflow op ``function_name``, looked up when called."""
    if arity == 1:
        def op(x, name=None):
            return wrap(_op(function_name)(to_tensor(x), name=name))
    else:
        def op(x, y, name=None):
            a, b = operands(x, y)
            return wrap(_op(function_name)(a, b, name=name))
    op.__name__ = function_name
    op.__doc__ = f"Elementwise ``{function_name}``, on ``mf.{function_name}``."
    return op


abs = _later("abs", 1)  # noqa: A001
maximum = _later("maximum", 2)
minimum = _later("minimum", 2)
equal = _binary(mf.equal)
not_equal = _later("not_equal", 2)
greater = _later("greater", 2)
greater_equal = _later("greater_equal", 2)
less = _later("less", 2)
less_equal = _later("less_equal", 2)


def pow(x, y, name=None):  # noqa: A001
    """``x ** y`` elementwise."""
    a, b = operands(x, y)
    if isinstance(b, _MfTensor):
        return wrap(_op("power")(a, b, name=name))
    return wrap(mf.power(a, b, name=name))


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """``a @ b``, ``transpose_a`` / ``transpose_b`` transposing an operand first."""
    a, b = operands(a, b)
    return wrap(mf.matmul(a, b, transpose_a or adjoint_a, transpose_b or adjoint_b, name=name))


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` clipped to [min, max]; the gradient passes on the closed interval."""
    return wrap(_op("clip")(to_tensor(t), unwrap(clip_value_min), unwrap(clip_value_max),
                            name=name))


def where(condition, x=None, y=None, name=None):
    """``x`` where ``condition`` holds, else ``y`` (the three-argument form)."""
    if x is None or y is None:
        raise AttributeError("tf.where(condition) without x and y (the coordinates of the "
                             "True elements) is not supported by microflow's TF1 layer; give "
                             "x and y")
    a, b = operands(x, y)
    return wrap(_op("where")(to_tensor(condition), a, b, name=name))


def cast(x, dtype, name=None):
    """``x`` as ``dtype``; floats to integers truncate toward zero."""
    return wrap(mf.cast(to_tensor(x), as_dtype(dtype), name=name))


# -- reductions ---------------------------------------------------------------------------
def _reduction_arguments(axis, keepdims, reduction_indices, keep_dims):
    if axis is None:
        axis = reduction_indices
    if keepdims is None:
        keepdims = keep_dims
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims)


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Sum over ``axis`` (all when None); TF1's ``reduction_indices``/``keep_dims`` too."""
    axis, keepdims = _reduction_arguments(axis, keepdims, reduction_indices, keep_dims)
    return wrap(mf.reduce_sum(to_tensor(input_tensor), axis, keepdims, name=name))


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """Mean over ``axis``; integers stay integers (divided toward zero, as TF1's kernel)."""
    axis, keepdims = _reduction_arguments(axis, keepdims, reduction_indices, keep_dims)
    x = to_tensor(input_tensor)
    if x.dtype.kind in "iub":
        return wrap(mf.cast(mf.reduce_mean(x, axis, keepdims), x.dtype, name=name))
    return wrap(mf.reduce_mean(x, axis, keepdims, name=name))


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Largest value over ``axis``; the gradient is split among ties."""
    axis, keepdims = _reduction_arguments(axis, keepdims, reduction_indices, keep_dims)
    return wrap(_op("reduce_max")(to_tensor(input_tensor), axis, keepdims, name=name))


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Smallest value over ``axis``; the gradient is split among ties."""
    axis, keepdims = _reduction_arguments(axis, keepdims, reduction_indices, keep_dims)
    return wrap(_op("reduce_min")(to_tensor(input_tensor), axis, keepdims, name=name))


def argmax(input, axis=None, name=None, dimension=None, output_type=np.int64):  # noqa: A002
    """Index of the largest value along ``axis`` (TF1's default: axis 0), as int64."""
    if axis is None:
        axis = dimension if dimension is not None else 0
    out = mf.argmax(to_tensor(input), int(axis), name=name)
    return wrap(out if as_dtype(output_type) == out.dtype else mf.cast(out, output_type))


# -- shapes -------------------------------------------------------------------------------
def reshape(tensor, shape, name=None):
    """``tensor`` with a new static ``shape`` (one -1 inferred)."""
    return wrap(mf.reshape(to_tensor(tensor), _shape(shape), name=name))


def transpose(a, perm=None, name="transpose", conjugate=False):
    """Axes permuted by ``perm`` (reversed when None)."""
    return wrap(mf.transpose(to_tensor(a), None if perm is None else tuple(perm), name=name))


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    """A new axis of length 1 at ``axis``."""
    axis = axis if axis is not None else dim
    if axis is None:
        raise ValueError("expand_dims: axis is required")
    return wrap(mf.expand_dims(to_tensor(input), int(axis), name=name))


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    """``input`` without its length-1 axes (those in ``axis`` when given)."""
    axis = axis if axis is not None else squeeze_dims
    if isinstance(axis, list):
        axis = tuple(axis)
    return wrap(_op("squeeze")(to_tensor(input), axis, name=name))


def concat(values, axis, name="concat"):
    """The Tensors ``values`` joined along an existing ``axis``."""
    return wrap(_op("concat")([to_tensor(v) for v in values], int(axis), name=name))


def stack(values, axis=0, name="stack"):
    """The Tensors ``values`` stacked along a new ``axis``."""
    return wrap(_op("stack")([to_tensor(v) for v in values], int(axis), name=name))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """``on_value`` where the new ``axis`` (default last) equals the index, else ``off_value``;
    an index outside [0, depth) gives a row of ``off_value``, as in TF1."""
    indices = to_tensor(indices)
    on, off = unwrap(on_value), unwrap(off_value)
    if dtype is None:
        dtype = on.dtype if isinstance(on, _MfTensor) else \
            tf1_array(on).dtype if on is not None else float32
    dtype = as_dtype(dtype)
    hot = mf.one_hot(indices, int(depth), dtype)
    if axis is not None and axis != -1 and int(axis) != indices.ndim:     # move the new axis
        order = list(range(indices.ndim))
        order.insert(int(axis), indices.ndim)
        hot = mf.transpose(hot, order)
    if on is None and off is None:
        return wrap(mf.identity(hot, name=name) if name else hot)
    on = 1 if on is None else on
    off = 0 if off is None else off
    scale = mf.subtract(on, off) if isinstance(on, _MfTensor) or isinstance(off, _MfTensor) \
        else on - off
    return wrap(mf.add(mf.multiply(hot, scale), off, name=name))     # off + (on - off) * hot


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None):
    """d(sum(ys))/dx for each x: a list, ``None`` where ``ys`` does not reach an x (through
    ``stop_gradient`` either)."""
    if stop_gradients is not None:
        raise TypeError("gradients(stop_gradients=...) is not supported by microflow's TF1 "
                        "layer; use tf.stop_gradient in the graph")
    ys = [unwrap(y) for y in ys] if isinstance(ys, list | tuple) else unwrap(ys)
    xs = [unwrap(x) for x in xs] if isinstance(xs, list | tuple) else [unwrap(xs)]
    if grad_ys is not None:
        grad_ys = [unwrap(g) for g in grad_ys] if isinstance(grad_ys, list | tuple) else \
            [unwrap(grad_ys)]
    return [wrap(g) for g in mf.gradients(ys, xs, grad_ys)]
