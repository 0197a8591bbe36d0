"""Graphs and the Tensors in them: placeholders, Variables, constants, name scopes.

A Graph owns Tensors. Every Tensor is the single output of one op (an instance of a
registered ``Op`` class, see ``microflow.core.ops``) applied to its input Tensors. Leaves are
``Placeholder`` (fed at run time), ``Variable`` (holds a mutable numpy array) and ``Const``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re

import numpy as np

from microflow.core.errors import GraphError, ShapeError


class Graph:
    """A computation graph: the Tensors created while it is the default graph."""

    def __init__(self):
        self.tensors = []               # in creation order, which is a topological order
        self._name_counts = {}
        self._scope_stack = []
        self._scope_prefix = ""         # "/".join(self._scope_stack) + "/", or "" at the top
        self._backward_depth = 0        # > 0 while gradients() adds nodes
        self.update_ops = []            # ops a training step also runs (batch norm's moving
                                        # averages): minimize() and fit() add them to the step

    def __repr__(self):
        return f"<microflow.Graph with {len(self.tensors)} tensors>"

    @contextlib.contextmanager
    def as_default(self):
        """Make this graph the default one inside a ``with`` block."""
        _default_graphs.append(self)
        try:
            yield self
        finally:
            _default_graphs.pop()

    # -- names -------------------------------------------------------------
    def unique_name(self, name):
        """``name`` (under the current scope), with ``_1``, ``_2``... appended if taken."""
        full = self._scope_prefix + name
        counts = self._name_counts      # a name taken -> the last suffix its copies got
        count = counts.get(full)
        if count is None:
            if not self._generated(full):
                counts[full] = 0
                return full
            count = 0                   # a name made here before ("Mul_3"): suffix it too
        while True:
            count += 1
            candidate = f"{full}_{count}"
            if candidate not in counts:     # (names made here are not kept one by one:
                counts[full] = count        # "Mul_3" is taken when "Mul" counts 3 or more)
                return candidate

    def _generated(self, name):
        """Whether ``name`` is one unique_name made by suffixing another (``Mul_3`` after
        ``Mul`` was taken three times or more)."""
        base, _, suffix = name.rpartition("_")
        if not base or not suffix.isdecimal() or suffix[0] == "0" or not suffix.isascii():
            return False
        return self._name_counts.get(base, 0) >= int(suffix)

    @contextlib.contextmanager
    def name_scope(self, name):
        """Context manager: Tensors created inside are named ``name/...`` (``name_1/...`` if
        the scope name is taken); yields the scope's full name.

        A name ending in ``/`` is a full scope name, re-entered as it is (TensorFlow's rule),
        and ``""`` is the top level: names that must not depend on where they are made.
        """
        if name == "":
            unique = ""
        elif isinstance(name, str) and name.endswith("/"):
            unique = _check_name(name[:-1])
        else:
            unique = self.unique_name(_check_name(name))
        saved = self._scope_stack, self._scope_prefix
        self._scope_stack = unique.split("/") if unique else []
        self._scope_prefix = unique + "/" if unique else ""
        try:
            yield unique
        finally:
            self._scope_stack, self._scope_prefix = saved

    def get_tensor_by_name(self, name):
        """The Tensor named ``name`` (its full name, scopes included); KeyError if none."""
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(f"no tensor named {name!r} in this graph")

    @property
    def variables(self):
        """Every Variable of the graph, trainable or not, in creation order."""
        return [t for t in self.tensors if isinstance(t, Variable)]

    def _repr_mimebundle_(self, include=None, exclude=None):
        return _display(self)


# Jupyter display: the drawing layer registers how to show a Graph or a Tensor
# (microflow.viz calls set_display_hook on import); the engine never imports it.
_display_hook = None


def set_display_hook(hook):
    """Make ``hook(graph_or_tensor)`` the mime bundle Jupyter shows for Graphs and Tensors."""
    global _display_hook
    _display_hook = hook


def _display(item):
    if _display_hook is None:
        return {"text/plain": repr(item)}
    return _display_hook(item)


_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-][A-Za-z0-9_.\-/]*")


_GOOD_NAMES = set()     # names already checked (op type names repeat): one lookup, no regex


def _check_name(name):
    if name in _GOOD_NAMES:
        return name
    # fullmatch: with match and "$", a name ending in a newline would pass
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name) or name.endswith("/"):
        raise ValueError(f"invalid name {name!r}: use letters, digits, '_', '.', '-', '/'")
    if len(_GOOD_NAMES) < 100_000:
        _GOOD_NAMES.add(name)
    return name


_default_graphs = [Graph()]


def get_default_graph():
    """The graph new Tensors go into."""
    return _default_graphs[-1]


def reset_default_graph():
    """Replace the global default graph by a new, empty one."""
    if len(_default_graphs) > 1:
        raise GraphError("reset_default_graph() inside a `with graph.as_default()` block")
    _default_graphs[0] = Graph()


def name_scope(name):
    """Context manager: names created inside become ``name/...``; scopes nest."""
    return get_default_graph().name_scope(name)


# -- Tensors --------------------------------------------------------------------
class Tensor:
    """The output of one op in a graph.

    Attributes: ``name``, ``shape`` (a tuple that may hold ``None``), ``dtype``, ``op`` (the
    op's type name, e.g. ``"MatMul"``), ``inputs``, ``graph``, and ``operation`` (the op object).
    """

    __array_priority__ = 100            # so ndarray + Tensor calls Tensor.__radd__
    # Slots: a million-op graph holds millions of Tensors. "__dict__" keeps room for
    # attributes set later (gradient_of, a subclass's, another layer's); "__weakref__" for
    # the weak dictionaries keyed by Tensors.
    __slots__ = ("operation", "inputs", "shape", "dtype", "graph", "name", "is_backward",
                 "__dict__", "__weakref__")
    gradient_of = None                  # set on the Tensor gradients() returns for x

    def __init__(self, operation, inputs, shape, dtype, name=None, graph=None):
        if graph is None:
            graph = inputs[0].graph if inputs else get_default_graph()
        for tensor in inputs:
            if tensor.graph is not graph:
                raise GraphError(
                    f"{type(operation).__name__} {name or ''}: input {tensor.name!r} "
                    "belongs to another graph")
        self.operation = operation
        self.inputs = inputs if type(inputs) is tuple else tuple(inputs)
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if dtype.__class__ in _DTYPE_CLASSES else _as_dtype(dtype)
        self.graph = graph
        name = name or type(operation).__name__
        self.name = graph.unique_name(name if name in _GOOD_NAMES else _check_name(name))
        self.is_backward = graph._backward_depth > 0
        graph.tensors.append(self)

    @property
    def op(self):
        """The op's type name, e.g. ``"MatMul"``: its label in drawings and error messages."""
        return self.operation.type_name

    @property
    def ndim(self):
        """The number of dimensions, ``len(shape)``."""
        return len(self.shape)

    def __repr__(self):
        shape = "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + \
            ("," if len(self.shape) == 1 else "") + ")"
        return f"<Tensor {self.name!r} op={self.op} shape={shape} dtype={self.dtype}>"

    def __bool__(self):
        raise TypeError("a Tensor has no truth value until it is run in a Session")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"a Tensor ({self.name!r}) has no value outside a Session: use the "
                        "array that Session.run returns for it")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return _display(self)

    # Operators; the op functions live in microflow.core.ops.
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().subtract(self, other)
    def __rsub__(self, other): return _ops().subtract(other, self)
    def __mul__(self, other): return _ops().multiply(self, other)
    def __rmul__(self, other): return _ops().multiply(other, self)
    def __truediv__(self, other): return _ops().divide(self, other)
    def __rtruediv__(self, other): return _ops().divide(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __pow__(self, exponent): return _ops().power(self, exponent)
    def __rpow__(self, base): return _ops().power(base, self)
    # Comparisons give boolean Tensors; == and != stay Python's identity tests (so that
    # Tensors can be dict keys): mf.equal and mf.not_equal compare elementwise.
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    def __neg__(self): return _ops().negative(self)
    def __getitem__(self, key): return _ops().get_item(self, key)
    def __iter__(self):
        raise TypeError("a Tensor is not iterable; index it (t[0]) or run it in a Session")
    def __pos__(self): return self

    @property
    def T(self):
        """The transpose (axes reversed), as a new Tensor."""
        return _ops().transpose(self)


_DTYPE_CLASSES = {type(None)}           # np.dtype's classes met so far (and None): one lookup


def _as_dtype(dtype):
    """``dtype`` as an ``np.dtype`` (None stays None), remembering its class as one."""
    dtype = np.dtype(dtype)
    _DTYPE_CLASSES.add(dtype.__class__)
    return dtype


def _ops():
    from microflow.core import ops
    return ops


class _Leaf:
    """Base of the leaf ops: they have no inputs and nothing to differentiate."""
    differentiable = False
    stateful = False
    broadcasts = False
    inputs_needed = ()


class Placeholder(_Leaf):
    """A value fed at run time through ``feed_dict``."""

    type_name = "Placeholder"


class VariableOp(_Leaf):
    """A mutable array owned by a Variable."""

    type_name = "Variable"


class Const(_Leaf):
    """A fixed array."""

    type_name = "Const"

    def __init__(self, value):
        self.value = value


def _default_float(value):
    """numpy's dtype for ``value``, except that Python floats become float32."""
    if isinstance(value, np.ndarray | np.generic):
        return value.dtype
    array = np.asarray(value)
    if array.dtype == np.float64:
        return np.dtype(np.float32)
    return array.dtype


def placeholder(shape, dtype="float32", name=None):
    """A Tensor whose value is fed at run time; ``shape`` may hold ``None`` (any size).

    The shape comes first: ``placeholder((None, 2), "float32")`` (TF1's ``tf.placeholder``
    takes the dtype first; ``microflow.compat.v1.placeholder`` keeps that order).
    """
    if _is_dtype(shape):
        given = _shape_text(dtype) if dtype is None or isinstance(dtype, tuple | list) \
            else "shape"
        raise TypeError(f"placeholder() takes the shape first, then the dtype: write "
                        f"placeholder({given}, {np.dtype(shape).name!r}) (TF1's order, dtype "
                        f"first, is microflow.compat.v1.placeholder's)")
    label = repr(name or "Placeholder")
    if shape is None:
        raise ValueError("placeholder needs a shape; use None for dimensions of any size")
    if not isinstance(shape, tuple | list):
        raise ShapeError(f"placeholder {label}: the shape must be a tuple or list of "
                         f"dimensions, got {shape!r}")
    for d in shape:
        if d is not None and (not isinstance(d, numbers.Integral) or isinstance(d, bool)):
            raise ShapeError(f"placeholder {label}: dimension {d!r} of {_shape_text(shape)} is "
                             "not an integer (use None for a dimension of any size)")
        if d is not None and d < 0:
            raise ShapeError(f"placeholder {label}: dimension {d} of {_shape_text(shape)} is "
                             "negative; use None for a dimension of any size")
    shape = tuple(None if d is None else int(d) for d in shape)
    return Tensor(Placeholder(), (), shape, np.dtype(dtype), name or "Placeholder")


def _is_dtype(value):
    """Whether ``value`` names a dtype ("float32", np.float64, np.dtype(...)) and no shape."""
    if not isinstance(value, str | type | np.dtype):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def _shape_text(shape):
    shape = tuple(shape) if isinstance(shape, tuple | list) else shape
    return repr(shape)


class Variable(Tensor):
    """A Tensor holding a numpy array that training updates in place.

    ``var.value`` reads the array, ``var.assign(array)`` replaces its contents.
    """

    def __init__(self, initial_value, name=None, trainable=True, dtype=None):
        if isinstance(initial_value, Tensor):
            raise TypeError("Variable needs an array, not a Tensor")
        dtype = np.dtype(dtype) if dtype is not None else _default_float(initial_value)
        if dtype.kind not in "biufc":
            raise TypeError(f"Variable {name or 'Variable'!r}: dtype {dtype} cannot be a "
                            "Variable's (save and restore hold numbers): use a numeric dtype")
        _check_holds(initial_value, dtype, f"Variable {name or 'Variable'!r}")
        try:
            value = np.array(initial_value, dtype=dtype)    # a copy the Variable owns
        except OverflowError as error:
            raise ValueError(f"Variable {name or 'Variable'!r} ({dtype}): {error}") from None
        except (TypeError, ValueError) as error:
            raise TypeError(f"Variable {name or 'Variable'!r}: the initial value is not an "
                            f"array of dtype {dtype}: {error}") from None
        super().__init__(VariableOp(), (), value.shape, dtype, name or "Variable")
        self.trainable = bool(trainable)
        self._value = value

    @property
    def value(self):
        """The numpy array the Variable owns (training updates it in place)."""
        return self._value

    def assign(self, array):
        """Copy ``array`` into the Variable; its shape and dtype must match."""
        array = np.asarray(array)
        if array.shape != self.shape:
            raise ValueError(
                f"cannot assign an array of shape {array.shape} to Variable {self.name!r} "
                f"of shape {self.shape}")
        if not np.can_cast(array.dtype, self.dtype, casting="same_kind"):
            raise TypeError(
                f"cannot assign an array of dtype {array.dtype} to Variable {self.name!r} "
                f"of dtype {self.dtype}")
        problem = out_of_range(array, self.dtype)
        if problem:
            raise ValueError(f"cannot assign to Variable {self.name!r} ({self.dtype}) "
                             f"{problem}")
        np.copyto(self._value, array, casting="same_kind")
        return self


def _range(dtype):
    """The smallest and largest value of a numeric dtype, as Python numbers."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min, info.max
    info = np.finfo(dtype)
    return info.min.item(), info.max.item()


def out_of_range(array, dtype):
    """None if every value of ``array`` (int, bool or float) is within ``dtype``'s range, else
    what is wrong: 'a value of dtype int64 from 0 to 2**40: outside int32's range (...)'.

    A float dtype only rounds (int64 -> float32 fits), but holds nothing beyond its largest
    number; NaN and infinities convert to themselves. Integers must fit exactly.
    """
    if array.dtype == dtype or not array.size or array.dtype.kind not in "biuf" or \
            dtype.kind not in "biuf":
        return None
    (low, high), (target_low, target_high) = _range(array.dtype), _range(dtype)
    if target_low <= low and high <= target_high:       # the dtype's range fits: no pass
        return None
    values = array
    if array.dtype.kind == "f" and not np.isfinite(array.min() + array.max()):
        values = array[np.isfinite(array)]
        if not values.size:
            return None
    low, high = values.min().item(), values.max().item()
    if target_low <= low and high <= target_high:
        return None
    return (f"a value of dtype {array.dtype} from {low} to {high}: outside {dtype}'s range "
            f"({target_low} to {target_high})")


def _check_holds(value, dtype, what):
    """ValueError naming ``what`` when ``dtype`` cannot hold ``value`` (2**40 as int32, 1e300
    as float32): numpy would wrap it around or make it inf without a word."""
    if isinstance(value, np.ndarray | np.generic | int | float | list | tuple):
        try:
            problem = out_of_range(np.asarray(value), dtype)
        except (TypeError, ValueError):     # ragged or odd values: np.array reports them
            return
        if problem:
            raise ValueError(f"{what} ({dtype}): {problem}")


def constant(value, dtype=None, name=None):
    """A Tensor with a fixed value (a numpy array keeps its dtype; Python floats become float32)."""
    dtype = np.dtype(dtype) if dtype is not None else _default_float(value)
    array = read_only_array(value, dtype, f"constant {name or 'Const'!r}")
    return Tensor(Const(array), (), array.shape, dtype, name or "Const")


def read_only_array(value, dtype, what="constant"):
    """``value`` as a read-only array of ``dtype``: a copy, or for a Python number one 0-d
    array per number and dtype, which everything holding it shares (a graph of a million
    ``h * 0.9`` holds one array 0.9, not a million). ValueError naming ``what`` when
    ``dtype`` cannot hold the value."""
    key = scalar_key(value, dtype)
    array = _SCALARS.get(key) if key is not None else None
    if array is None:
        _check_holds(value, dtype, what)
        try:
            array = np.array(value, dtype=dtype)
        except OverflowError as error:      # a Python int beyond any float: 2 ** 1100
            raise ValueError(f"{what} ({dtype}): {error}") from None
        array.flags.writeable = False
        if key is not None and len(_SCALARS) < 10_000:
            _SCALARS[key] = array
    return array


_SCALARS = {}       # scalar_key -> the read-only 0-d array of that number


def scalar_key(value, dtype):
    """A dictionary key for the Python number ``value`` as a ``dtype``, or None when
    ``value`` is not a Python number (``-0.0 == 0.0``, so the sign is part of it)."""
    kind = type(value)
    if kind is float:
        return kind, value, math.copysign(1, value), dtype
    return (kind, value, 1, dtype) if kind is int or kind is bool else None


def as_tensor(value, like=None):
    """``value`` if it is a Tensor, else a constant in ``like``'s graph.

    A Python number takes ``like``'s dtype (so ``x + 1.0`` stays float64 for a float64 ``x``),
    unless that would truncate it (a float meeting an integer Tensor).
    """
    if isinstance(value, Tensor):
        return value
    graph = like.graph if like is not None else get_default_graph()
    dtype = None
    if like is not None and not isinstance(value, np.ndarray | np.generic):
        kind = np.asarray(value).dtype.kind
        if kind in "biu" or (kind == "f" and like.dtype.kind in "fc"):
            dtype = like.dtype
    with graph.as_default():
        return constant(value, dtype=dtype)


BIG_GRAPH = 5000        # Tensors: above, ancestors_in_order sorts by creation


def ancestors_in_order(targets, stop=()):
    """The Tensors ``targets`` depend on (those in ``stop`` as leaves), inputs before users,
    as ``topological_order`` finds them; or, in a graph of more than ``BIG_GRAPH`` Tensors
    of which they are more than a quarter, in the order the graph made them (every input is
    made before its users): found in one walk back over the graph that holds only the
    Tensors needed and not reached yet, which is faster than a depth-first search and holds
    no set of them all."""
    graph = targets[0].graph if targets else None
    if graph is None or len(graph.tensors) <= BIG_GRAPH:
        return topological_order(targets, stop)
    needed, pending, stop = set(), list(targets), set(stop)
    limit = len(graph.tensors) // 4
    while pending and len(needed) <= limit:     # a walk without order: are they few?
        tensor = pending.pop()
        if tensor not in needed:
            needed.add(tensor)
            if tensor not in stop:
                pending += tensor.inputs
    if pending:
        del needed, pending
        waiting, order = set(targets), []
        for tensor in reversed(graph.tensors):
            if tensor in waiting:
                waiting.remove(tensor)
                order.append(tensor)
                if tensor not in stop:
                    waiting.update(tensor.inputs)
        if not waiting:                         # else some Tensor is not in graph.tensors
            order.reverse()
            return order
    return topological_order(targets, stop)


def topological_order(targets, stop=()):
    """The Tensors ``targets`` depend on (themselves included), inputs before users.

    Tensors in ``stop`` are treated as leaves. Iterative depth-first search, so a chain of
    any length works.
    """
    order, state = [], {}               # state: 1 = on the stack, 2 = done
    stop = set(stop)
    append = order.append
    for target in targets:
        if state.get(target) == 2:
            continue
        stack = [(target, iter(() if target in stop else target.inputs))]
        state[target] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                mark = state.get(child)
                if mark is None:
                    if not child.inputs or child in stop:   # a leaf: done at once
                        state[child] = 2
                        append(child)
                        continue
                    state[child] = 1
                    stack.append((child, iter(child.inputs)))
                    break
                if mark == 1:
                    raise GraphError(f"the graph has a cycle through {child.name!r}")
            else:
                stack.pop()
                state[node] = 2
                append(node)
    return order


__all__ = ['Graph', 'Tensor', 'Variable', 'Const', 'Placeholder', 'VariableOp', 'as_tensor', 'constant', 'get_default_graph', 'name_scope', 'placeholder', 'reset_default_graph', 'set_display_hook', 'topological_order', 'ancestors_in_order', 'read_only_array', 'scalar_key']


def __dir__():
    return __all__
