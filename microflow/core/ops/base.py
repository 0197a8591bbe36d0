"""The Op base class, the op registry, and static shape inference helpers.

An op is one small class: ``forward`` takes numpy arrays and returns one array; ``backward``
takes the output's gradient, the input Tensors and the output Tensor, and returns one
gradient Tensor (or ``None``) per input, written with microflow ops so that gradients are
graph nodes like any other. ``infer`` gives the output's static shape and dtype from the
inputs' and raises ``ShapeError`` when they do not fit.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.graph import Tensor, as_tensor, get_default_graph, read_only_array, \
    scalar_key

REGISTRY: dict[str, type] = {}


def register(cls):
    """Add an op class to the registry, keyed by its class name (also its label in drawings)."""
    if cls.__name__ in REGISTRY:
        raise ValueError(f"an op named {cls.__name__!r} is already registered")
    REGISTRY[cls.__name__] = cls
    return cls


def differentiable_ops():
    """Names of the registered ops that have a backward rule."""
    return sorted(name for name, cls in REGISTRY.items() if cls.differentiable)


class Op:
    """Base of every op. Subclasses set the flags below and define forward/backward/infer."""

    differentiable = True   # backward() gives gradients; False: the op's gradient is None
    broadcasts = False      # True, or the indices of the inputs that numpy may broadcast: the
                            # gradient walk sums their gradients back to their shapes
    stateful = False        # updates Variables in place: runs after everything else in a step
    fresh = False           # forward always returns a new array (never an input or a view)
    inplace = ()            # inputs forward(..., out=that input) may overwrite with its output
                            # (a plan passes out= only where that input dies, see session.py)
    writes = ()             # the inputs a stateful op writes into (a fed one is copied first)
    views = False           # the output may share memory with an input (a view, or the input
                            # itself): a fetched one is copied, so that the caller owns it;
                            # True: any input, or a tuple: the inputs of those indices
    takes_out = False       # forward(..., out=) writes into any array of the output's shape and
                            # dtype (a ufunc's does): a plan may give it a buffer it keeps

    @property
    def type_name(self):
        """The op's type, as ``Tensor.op`` reports it: its registry key."""
        return type(self).__name__

    def forward(self, *arrays):
        raise TypeError(f"{type(self).__name__} defines no forward")

    def backward(self, grad, *inputs_and_output):
        raise TypeError(f"{type(self).__name__} defines no backward rule")

    _wanted = None          # set by the gradient walk around backward(): which inputs need one

    def needs_gradient(self, index):
        """Whether the gradient walk calling ``backward`` wants input ``index``'s gradient (one
        no x flows into does not): a rule may skip building the others (PyTorch's
        ``needs_input_grad``). Outside a walk, every input's is wanted."""
        return self._wanted is None or self._wanted[index]

    def inline(self, args, into):
        """Python source calling numpy directly, ``(expression, {name: function})``, that a
        generated plan may write in place of ``forward(*args)`` (``out=into`` when ``into``
        names an input), saving the call of ``forward`` itself; None when there is none.
        ``(expression, functions, "statement")`` is an expression run for its effect alone,
        for an op whose output is None (an update)."""
        return None

    def infer(self, *inputs):
        """(shape, dtype) of the output; the default keeps the first input's."""
        return inputs[0].shape, inputs[0].dtype

    def attributes(self):
        """The op's settings (axis, shape...), shown in drawings and error messages."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and not callable(v)}


def typed_constant(value, dtype):
    """``(name, array)``: ``value`` as a read-only 0-d array of ``dtype`` and the name a
    generated plan gives it: numpy takes such an operand as is, where a Python number or a
    numpy scalar costs a conversion (a third of a microsecond, as much as a small kernel)."""
    key = scalar_key(value, dtype)
    named = _TYPED_NAMES.get(key)
    if named is None:
        dtype = np.dtype(dtype)
        named = f"_{str(value).replace('-', 'minus_').replace('.', '_')}_{dtype.name}", \
            read_only_array(value, dtype)
        if key is not None and len(_TYPED_NAMES) < 1000:
            _TYPED_NAMES[key] = named
    return named


_TYPED_NAMES = {}           # scalar_key -> (the name a plan gives the number, its array)


_KEYWORD_OUT = (np.maximum, np.minimum)     # numpy deprecates their positional out


def into_clause(into, ufunc=None):
    """The out argument of an inline ufunc call writing into the input ``into`` (or nothing):
    positional, which numpy parses faster than ``out=``, except for ``ufunc`` np.maximum or
    np.minimum (where numpy deprecates it)."""
    if not into:
        return ""
    return f", out={into}" if ufunc in _KEYWORD_OUT else f", {into}"


def apply(op, inputs, name=None):
    """Create the Tensor ``op(*inputs)``: convert numbers, infer its shape, name it."""
    for value in inputs:            # the common case: Tensors only, nothing to convert
        if not isinstance(value, Tensor):
            like = next((t for t in inputs if isinstance(t, Tensor)), None)
            inputs = [as_tensor(value, like=like) for value in inputs]
            break
    try:
        shape, dtype = op.infer(*inputs)
    except ShapeError as error:
        graph = inputs[0].graph if inputs else get_default_graph()
        would_be = "/".join(graph._scope_stack + [name or type(op).__name__])
        raise ShapeError(f"{type(op).__name__} op {would_be!r}: {error}") from None
    return Tensor(op, inputs, shape, dtype, name)


def describe(tensor):
    """``'name' (None, 3) float32``: a Tensor as error messages show it."""
    return f"{tensor.name!r} {format_shape(tensor.shape)} {tensor.dtype}"


def format_shape(shape):
    """A static shape as messages show it: ``(None, 3)``, ``(4,)``."""
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def broadcast_shapes(*shapes):
    """numpy's broadcast of static shapes; ``None`` (unknown) meets anything."""
    if len(shapes) == 2:                    # the common cases, without the general walk
        a, b = shapes
        if a == b or not b:                 # the same shape, or with a scalar
            return tuple(a)
        if not a:
            return tuple(b)
    ndim = max(len(shape) for shape in shapes)
    result = []
    for axis in range(-ndim, 0):
        dims = [shape[axis] for shape in shapes if len(shape) >= -axis]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError("shapes do not broadcast: " + " and ".join(
                format_shape(shape) for shape in shapes) + f" (axis {axis})")
        result.append(known.pop() if known else None if None in dims else 1)
    return tuple(result)


def result_dtype(*tensors):
    """numpy's result dtype for an op combining ``tensors``."""
    if len(tensors) == 2 and tensors[0].dtype == tensors[1].dtype:
        return tensors[0].dtype
    return np.result_type(*(t.dtype for t in tensors))


def integer(value, what):
    """``value`` as a Python int; TypeError naming ``what`` for a float, a bool or anything
    else (``int()`` would turn 2.5 into 2 and True into 1 without a word)."""
    if not isinstance(value, bool | np.bool_):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{what} {value!r} is not an integer")


def normalize_axes(axis, ndim, op_name="op"):
    """``axis`` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    normalized = []
    for a in axes:
        try:
            a = integer(a, "axis")
        except TypeError as error:
            raise ShapeError(str(error)) from None
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for a tensor of rank {ndim}")
        normalized.append(a % ndim)
    if len(set(normalized)) != len(normalized):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(normalized))


def static_size(shape, axes=None):
    """The number of elements along ``axes`` (all if None), or None when a dim is unknown."""
    dims = shape if axes is None else [shape[a] for a in axes]
    if any(d is None for d in dims):
        return None
    return math.prod(dims)          # Python ints: (2**40, 2**40) has 2**80 elements
