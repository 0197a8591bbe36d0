"""TF1's Tensor, Operation and TensorShape, as views of microflow Tensors.

A TF1 ``Tensor`` wraps one microflow Tensor (``tensor.microflow``) and adds what TF1 scripts
use on it: the name in TF1's form (``"scope/W:0"``), ``get_shape().as_list()``, ``eval()``,
``.op`` as an ``Operation``. There is one wrapper per microflow Tensor, so wrappers compare and
hash by identity, as TF1's Tensors do. Operators build microflow ops.
"""

from __future__ import annotations

import weakref

import numpy as np

import microflow as mf
from microflow.compat.v1.dtypes import as_dtype, tf1_array
from microflow.core.graph import Tensor as _MfTensor
from microflow.core.graph import topological_order
from microflow.compat.v1._unsupported import message


class TensorShape(tuple):
    """A static shape: a tuple of ints and ``None`` (unknown), with TF1's methods."""

    def as_list(self):
        """The dimensions as a list, ``None`` where unknown."""
        return list(self)

    @property
    def ndims(self):
        """The rank."""
        return len(self)

    @property
    def dims(self):
        """The dimensions, as a list."""
        return list(self)

    def is_fully_defined(self):
        """Whether every dimension is known."""
        return None not in self

    def num_elements(self):
        """The number of elements, or None when a dimension is unknown."""
        return None if None in self else int(np.prod(self, dtype=np.int64))

    def __repr__(self):
        return f"TensorShape({list(self)})"


def unsupported(owner, name):
    """The AttributeError for a TF1 name that microflow's layer does not provide."""
    return AttributeError(message(owner, name))


class Tensor:
    """A TF1 Tensor: a view of the microflow Tensor ``self.microflow``."""

    __array_priority__ = 100        # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, tensor):
        if not isinstance(tensor, _MfTensor):
            raise TypeError(f"a TF1 Tensor wraps a microflow Tensor, not {tensor!r}")
        self.microflow = tensor

    # -- what TF1 scripts read ------------------------------------------------------------
    @property
    def name(self):
        """TF1's name: the op's name and the output index, ``"scope/W:0"``."""
        return self.microflow.name + ":0"

    @property
    def op(self):
        """The ``Operation`` that computes this Tensor."""
        return Operation.of(self.microflow)

    @property
    def dtype(self):
        """The element type (a numpy dtype: ``x.dtype == tf.float32``)."""
        return self.microflow.dtype

    @property
    def shape(self):
        """The static shape, a ``TensorShape``."""
        return TensorShape(self.microflow.shape)

    def get_shape(self):
        """The static shape, a ``TensorShape`` (``.as_list()`` for a list)."""
        return self.shape

    @property
    def graph(self):
        """The (microflow) Graph this Tensor belongs to."""
        return self.microflow.graph

    def eval(self, feed_dict=None, session=None):
        """This Tensor's value, run in ``session`` (default: the default Session)."""
        from microflow.compat.v1._session import default_session_for
        return default_session_for("eval", session).run(self, feed_dict)

    def __repr__(self):
        shape = ", ".join("?" if d is None else str(d) for d in self.microflow.shape)
        return f"<tf.Tensor {self.name!r} shape=({shape}) dtype={self.dtype}>"

    def __bool__(self):
        raise TypeError("Using a tf.Tensor as a Python bool is not allowed: it has no value "
                        "until it is run in a Session (use tf.where for a choice in the graph)")

    def __iter__(self):
        raise TypeError("a tf.Tensor is not iterable; index it (t[0]) or run it in a Session")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(type(self).__name__, name)

    # -- operators ------------------------------------------------------------------------
    def __add__(self, other): return _binary(mf.add, self, other)
    def __radd__(self, other): return _binary(mf.add, other, self)
    def __sub__(self, other): return _binary(mf.subtract, self, other)
    def __rsub__(self, other): return _binary(mf.subtract, other, self)
    def __mul__(self, other): return _binary(mf.multiply, self, other)
    def __rmul__(self, other): return _binary(mf.multiply, other, self)
    def __truediv__(self, other): return _binary(mf.divide, self, other)
    def __rtruediv__(self, other): return _binary(mf.divide, other, self)
    def __matmul__(self, other): return _binary(mf.matmul, self, other)
    def __rmatmul__(self, other): return _binary(mf.matmul, other, self)
    def __pow__(self, other): return _binary(_power, self, other)
    def __rpow__(self, other): return _binary(_power, other, self)
    def __neg__(self): return wrap(mf.negative(self.microflow))
    def __pos__(self): return self
    def __abs__(self): return wrap(_op("abs")(self.microflow))
    def __getitem__(self, key): return wrap(mf.get_item(self.microflow, key))
    def __lt__(self, other): return _binary(_op("less"), self, other)
    def __le__(self, other): return _binary(_op("less_equal"), self, other)
    def __gt__(self, other): return _binary(_op("greater"), self, other)
    def __ge__(self, other): return _binary(_op("greater_equal"), self, other)
    __eq__ = object.__eq__          # identity, as in TF1: Tensors are dict keys
    __hash__ = object.__hash__

    @property
    def T(self):
        """The transpose."""
        return wrap(mf.transpose(self.microflow))


class Operation:
    """A TF1 Operation: what runs to compute a Tensor (``tensor.op``), or an op that
    outputs nothing (a training step, an initializer). Fetching one gives ``None``."""

    def __init__(self, tensor):
        self.microflow = tensor

    @classmethod
    def of(cls, tensor):
        """The one Operation of microflow Tensor ``tensor``."""
        state = graph_state(tensor.graph)
        operation = state.operations.get(tensor)
        if operation is None:
            operation = state.operations[tensor] = cls(tensor)
        return operation

    @property
    def name(self):
        """The op's name (without TF1's ``:0``)."""
        return self.microflow.name

    @property
    def type(self):
        """The op's type, e.g. ``"MatMul"``."""
        return self.microflow.op

    @property
    def inputs(self):
        """The input Tensors."""
        return [wrap(t) for t in self.microflow.inputs]

    @property
    def outputs(self):
        """The output Tensors (none for an op whose value is nothing)."""
        return [] if self.microflow.dtype is None else [wrap(self.microflow)]

    @property
    def graph(self):
        """The (microflow) Graph."""
        return self.microflow.graph

    def run(self, feed_dict=None, session=None):
        """Run this op in ``session`` (default: the default Session)."""
        from microflow.compat.v1._session import default_session_for
        default_session_for("run", session).run(self, feed_dict)

    def __repr__(self):
        return f"<tf.Operation {self.name!r} type={self.type}>"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported("Operation", name)


class GraphState:
    """What TF1 keeps per graph beside microflow's Tensors: wrappers, variable scopes and the
    variables made by ``get_variable``, the graph-level seed."""

    def __init__(self):
        self.wrappers = {}          # microflow Tensor -> its TF1 Tensor
        self.operations = {}        # microflow Tensor -> its TF1 Operation
        self.initializers = {}      # microflow Variable -> (initial value Tensor, Assign op)
        self.variable_scopes = []   # the open VariableScope objects, innermost last
        self.store = {}             # full name -> Variable made by get_variable
        self.seed = None            # tf.set_random_seed
        self.global_step = None


def graph_state(graph):
    """The TF1 state of a microflow Graph (made on first use)."""
    state = vars(graph).get("_tf1")
    if state is None:
        state = graph._tf1 = GraphState()
    return state


def wrap(tensor):
    """The TF1 Tensor (or Variable) of microflow Tensor ``tensor``; None stays None."""
    if tensor is None:
        return None
    state = graph_state(tensor.graph)
    wrapper = state.wrappers.get(tensor)
    if wrapper is None:
        from microflow.compat.v1._variables import Variable
        if isinstance(tensor, mf.Variable):
            wrapper = Variable.__new__(Variable)
            Tensor.__init__(wrapper, tensor)
        else:
            wrapper = Tensor(tensor)
        state.wrappers[tensor] = wrapper
    return wrapper


def unwrap(value):
    """The microflow Tensor of a TF1 Tensor or Operation; anything else unchanged."""
    if isinstance(value, Tensor | Operation):
        tensor = value.microflow
        if tensor in initial_values:        # used beyond its initializer: part of the model
            show_in_drawings(tensor)
        return tensor
    return value


# Initial values that drawings leave out (see _variables.make_variable), until a script uses one
initial_values = weakref.WeakSet()


def show_in_drawings(tensor):
    """Draw an initial value, and what it is computed from, as part of the model again."""
    for node in topological_order([tensor]):
        if node in initial_values:
            node.is_backward = False
            initial_values.discard(node)


def to_tensor(value, dtype=None):
    """A microflow Tensor for ``value``: a Tensor's own, or a constant by TF1's dtype rules."""
    value = unwrap(value)
    if isinstance(value, _MfTensor):
        if dtype is not None and value.dtype != as_dtype(dtype):
            raise TypeError(f"Tensor {value.name!r} has dtype {value.dtype}, not the "
                            f"requested {as_dtype(dtype)}")
        return value
    if _packs_tensors(value):
        return mf.stack([to_tensor(v) for v in value])      # TF1 packs a list of Tensors
    return mf.constant(tf1_array(value, dtype))


def _packs_tensors(value):
    return isinstance(value, list | tuple) and any(isinstance(unwrap(v), _MfTensor)
                                                   for v in value)


def operands(a, b):
    """The two operands of a binary op: Tensors stay, numbers meet the other's dtype (two
    numbers follow TF1's rules)."""
    a, b = (to_tensor(v) if _packs_tensors(v) else unwrap(v) for v in (a, b))
    if not isinstance(a, _MfTensor) and not isinstance(b, _MfTensor):
        a = to_tensor(a)
    return a, b


def _binary(function, a, b):
    a, b = operands(a, b)
    return wrap(function(a, b))


def _power(a, b):
    return mf.power(a, b) if not isinstance(b, _MfTensor) else _op("power")(a, b)


def _op(name):
    """microflow's op function ``name``, or the not-yet error naming it."""
    function = getattr(mf, name, None)
    if function is None:
        raise AttributeError(f"this TF1 operation ({name}) is not supported by microflow's TF1 "
                             f"layer yet: it needs mf.{name}, which this version does not have")
    return function
