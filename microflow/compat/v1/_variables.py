"""TF1's Variables, variable scopes, get_variable, name scopes and the initializer ops.

A TF1 Variable is a microflow Variable plus an *initializer*: an ``Assign`` op writing its
initial value (a constant, or a random op drawn again each time the initializer runs). A
``tf.Session`` refuses to read a Variable whose initializer it has not run (see
``microflow.compat.v1._session``).
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

import microflow as mf
from microflow.compat.v1._tensors import (Operation, Tensor, TensorShape, graph_state,
                                          initial_values, unwrap, wrap)
from microflow.compat.v1.dtypes import as_dtype, float32, tf1_array
from microflow.core.graph import Placeholder, topological_order
from microflow.core.graph import Tensor as _MfTensor
from microflow.core.ops.base import apply
from microflow.core.ops.state import Assign, AssignAdd, Group


class _AutoReuse:
    def __repr__(self):
        return "tf.AUTO_REUSE"


AUTO_REUSE = _AutoReuse()
"""``variable_scope(..., reuse=tf.AUTO_REUSE)``: make a Variable if it is new, else share it."""


class Variable(Tensor):
    """``tf.Variable(initial_value, trainable=True, ..., name=None, dtype=None)``.

    ``initial_value`` is a value (Python floats become float32, ints int32), a Tensor (e.g.
    ``tf.random_normal([2, 3])``, drawn again each time the initializer runs) or a callable
    returning one. The second positional argument is ``trainable``, as in TF1.
    """

    def __init__(self, initial_value=None, trainable=True, collections=None,
                 validate_shape=True, caching_device=None, name=None, variable_def=None,
                 dtype=None, expected_shape=None, import_scope=None, constraint=None):
        for argument, value in [("collections", collections), ("caching_device", caching_device),
                                ("variable_def", variable_def), ("import_scope", import_scope),
                                ("constraint", constraint)]:
            if value is not None:
                raise TypeError(f"tf.Variable({argument}=...) is not supported by microflow's "
                                "TF1 layer")
        variable = make_variable(initial_value, dtype, name, True if trainable is None
                                 else trainable)
        super().__init__(variable)
        graph_state(variable.graph).wrappers[variable] = self

    @property
    def initializer(self):
        """The op that sets this Variable to its initial value."""
        return Operation.of(initializer_of(self.microflow)[1])

    @property
    def initial_value(self):
        """The Tensor this Variable is initialized from."""
        return wrap(initializer_of(self.microflow)[0])

    @property
    def trainable(self):
        """Whether optimizers train it by default."""
        return self.microflow.trainable

    def value(self):
        """The Variable's value, as a Tensor (itself)."""
        return self

    read_value = value

    def assign(self, value, use_locking=False, name=None, read_value=True):
        """The op that sets this Variable to ``value`` when run (see ``tf.assign``)."""
        return assign(self, value, name=name)

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        """The op that adds ``delta`` to this Variable when run."""
        return assign_add(self, delta, name=name)

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        """The op that subtracts ``delta`` from this Variable when run."""
        return assign_sub(self, delta, name=name)

    def load(self, value, session=None):
        """Write ``value`` into the Variable now (it counts as initialized in ``session``)."""
        from microflow.compat.v1._session import default_session_for
        session = default_session_for("load", session)
        self.microflow.assign(np.asarray(value, dtype=self.dtype))
        session._initialized.add(self.microflow)

    def __repr__(self):
        return (f"<tf.Variable {self.name!r} shape={tuple(self.microflow.shape)} "
                f"dtype={self.dtype}>")


def make_variable(initial_value, dtype, name, trainable):
    """A microflow Variable with its initializer (an Assign of the initial value)."""
    if initial_value is None:
        raise ValueError("tf.Variable: initial_value must be specified")
    if callable(initial_value) and not isinstance(initial_value, Tensor | _MfTensor):
        initial_value = initial_value()
    dtype = as_dtype(dtype)
    initial = unwrap(initial_value)
    graph = mf.get_default_graph()
    if isinstance(initial, _MfTensor):
        if dtype is not None and initial.dtype != dtype:
            initial = mf.cast(initial, dtype)
        if None in initial.shape:
            raise ValueError(f"tf.Variable {name or 'Variable'!r}: the initial value "
                             f"{initial.name!r} has shape {TensorShape(initial.shape)}, not "
                             "fully known; microflow's Variables need a static shape")
        variable = mf.Variable(np.zeros(initial.shape, initial.dtype), name=name or "Variable",
                               trainable=trainable)
    else:
        array = tf1_array(initial, dtype)
        variable = mf.Variable(array, name=name or "Variable", trainable=trainable)
        with graph.name_scope(variable.name + "/"):
            initial = mf.constant(array, name="initial_value")
    with graph.name_scope(variable.name + "/"):
        assign = apply(Assign(), (variable, initial), name="Assign")
    _leave_out_of_drawings(graph, initial, assign)
    graph_state(graph).initializers[variable] = (initial, assign)
    return variable


def _leave_out_of_drawings(graph, initial, assign):
    """Mark an initial value made of constants and random draws only, and used by nothing but
    its initializer, as drawings mark the backward pass: it runs only when the initializer
    does, and a drawing of the model leaves it out (``backward=True`` shows it)."""
    nodes = set(topological_order([initial]))
    if any(isinstance(n, mf.Variable) or isinstance(n.operation, Placeholder) for n in nodes):
        return
    unseen = set(nodes)
    for tensor in reversed(graph.tensors):      # the initial value is among the newest
        unseen.discard(tensor)
        if tensor is not assign and any(i in nodes for i in tensor.inputs) \
                and tensor not in nodes:
            return
        if not unseen:
            break
    for node in nodes:
        if not node.is_backward:
            node.is_backward = True
            initial_values.add(node)


def initializer_of(variable):
    """(initial value, Assign op) of a microflow Variable. One made by microflow itself (not
    through this layer) is initialized to the value it holds when this is first asked."""
    state = graph_state(variable.graph)
    entry = state.initializers.get(variable)
    if entry is None:
        with variable.graph.name_scope(variable.name + "/"):
            initial = mf.constant(variable.value.copy(), name="initial_value")
            assign = apply(Assign(), (variable, initial), name="Assign")
        _leave_out_of_drawings(variable.graph, initial, assign)
        entry = state.initializers[variable] = (initial, assign)
    return entry


def _target(ref, value, what):
    """The microflow Variable ``ref`` and ``value`` (checked to fit it) for an assignment."""
    variable = unwrap(ref)
    if not isinstance(variable, mf.Variable):
        raise TypeError(f"{what} needs a Variable to write to, not {ref!r}")
    value = unwrap(value)
    shape = value.shape if isinstance(value, _MfTensor) else np.shape(value)
    if shape != () and None not in shape and tuple(shape) != variable.shape:
        raise ValueError(f"{what}: a value of shape {list(shape)} does not fit Variable "
                         f"{variable.name!r} of shape {list(variable.shape)}")
    return variable, value


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """The op that writes ``value`` into the Variable ``ref`` when run, after every read of
    the step (a microflow Session runs updates last). It fetches as ``None``, where TF1's
    gives the new value: fetch ``ref`` after it. Assigning counts as initializing ``ref``."""
    variable, value = _target(ref, value, "assign")
    return Operation.of(apply(Assign(), (variable, value), name=name or "Assign"))


def assign_add(ref, value, use_locking=None, name=None):
    """The op that adds ``value`` to the Variable ``ref`` when run (fetches as ``None``)."""
    variable, value = _target(ref, value, "assign_add")
    return Operation.of(apply(AssignAdd(), (variable, value), name=name or "AssignAdd"))


def assign_sub(ref, value, use_locking=None, name=None):
    """The op that subtracts ``value`` from the Variable ``ref`` when run."""
    variable, value = _target(ref, value, "assign_sub")
    delta = mf.negative(value) if isinstance(value, _MfTensor) else \
        np.negative(np.asarray(value, variable.dtype))
    return Operation.of(apply(AssignAdd(), (variable, delta), name=name or "AssignSub"))


# -- collections --------------------------------------------------------------------------
def global_variables(scope=None):
    """Every Variable of the default graph (optimizer slots included), in creation order;
    ``scope``: only those whose name matches it (``re.match``)."""
    return [wrap(v) for v in mf.get_default_graph().variables
            if scope is None or re.match(scope, v.name)]


def trainable_variables(scope=None):
    """The trainable Variables of the default graph, in creation order."""
    return [v for v in global_variables(scope) if v.microflow.trainable]


def variables_initializer(var_list, name="init"):
    """The op that runs the initializers of the Variables in ``var_list``."""
    variables = []
    for variable in var_list:
        variable = unwrap(variable)
        if not isinstance(variable, mf.Variable):
            raise TypeError(f"variables_initializer: {variable!r} is not a Variable")
        variables.append(variable)
    assigns = [initializer_of(v)[1] for v in variables]
    return Operation.of(apply(Group(), assigns, name=name))


def global_variables_initializer():
    """The op that initializes every Variable of the default graph made so far (optimizer
    slots included, if ``minimize`` came first)."""
    return variables_initializer(global_variables(), name="init")


def initialize_all_variables():
    """TF1's old name for ``global_variables_initializer()``."""
    return global_variables_initializer()


def local_variables_initializer():
    """An op that does nothing: microflow has no local Variables (scripts run it anyway)."""
    return variables_initializer([], name="init_local")


# -- scopes -------------------------------------------------------------------------------
@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """Ops made inside are named ``name/...``; yields the scope as TF1 does (``"name/"``).
    A name ending in ``/`` re-enters that scope exactly."""
    name = name if name is not None else default_name
    if name is None:
        raise ValueError("name_scope: name or default_name is required")
    with mf.get_default_graph().name_scope(name) as scope:
        yield scope + "/" if scope else ""


class VariableScope:
    """A variable scope: its full ``name``, whether it ``reuse``s Variables, its default
    ``initializer``."""

    def __init__(self, name, reuse=None, initializer=None, original_name_scope=""):
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.original_name_scope = original_name_scope

    def reuse_variables(self):
        """From now on, ``get_variable`` in this scope shares existing Variables."""
        self.reuse = True

    def set_initializer(self, initializer):
        """The default initializer of ``get_variable`` in this scope."""
        self.initializer = initializer

    def __repr__(self):
        return f"<tf.VariableScope {self.name!r} reuse={self.reuse!r}>"


def get_variable_scope():
    """The innermost open VariableScope (the root one, named ``""``, outside any)."""
    state = graph_state(mf.get_default_graph())
    if not state.variable_scopes:
        state.variable_scopes.append(VariableScope(""))
    return state.variable_scopes[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope=None, default_name=None, values=None, initializer=None,
                   regularizer=None, reuse=None, dtype=None, auxiliary_name_scope=True):
    """Open a variable scope: ``get_variable(name)`` inside makes or shares ``scope/name``.

    ``reuse=True`` shares existing Variables (and fails for new ones), ``tf.AUTO_REUSE``
    makes them when new and shares them after; a scope inherits its parent's reuse. The ops
    made inside go in a name scope of the same name (``name_1`` when it is entered again).
    """
    if regularizer is not None:
        raise TypeError("variable_scope(regularizer=...) is not supported by microflow's TF1 "
                        "layer; add tf.nn.l2_loss terms to the loss")
    graph = mf.get_default_graph()
    state = graph_state(graph)
    parent = get_variable_scope()
    if isinstance(name_or_scope, VariableScope):
        full, ops_scope = name_or_scope.name, name_or_scope.original_name_scope or \
            name_or_scope.name + "/"
        reuse = name_or_scope.reuse if reuse is None else reuse
        initializer = initializer or name_or_scope.initializer
    elif name_or_scope is None and default_name is None:
        raise ValueError("variable_scope: name_or_scope or default_name is required")
    else:
        ops_scope, full = name_or_scope or default_name, None
    if parent.reuse is True:           # reuse is inherited and cannot be switched off
        reuse = True
    elif reuse is None or reuse is False:
        reuse = parent.reuse
    with graph.name_scope(ops_scope) as opened:
        if full is None:
            leaf = name_or_scope if name_or_scope is not None else opened.rsplit("/", 1)[-1]
            full = f"{parent.name}/{leaf}" if parent.name else leaf
        scope = VariableScope(full, reuse, initializer or parent.initializer, opened + "/")
        state.variable_scopes.append(scope)
        try:
            yield scope
        finally:
            state.variable_scopes.pop()


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable=None, collections=None):
    """The Variable ``scope/name``: made if new (with ``initializer``, default Glorot-uniform
    for floats, zeros otherwise), shared when the scope reuses Variables.

    Raises ``ValueError`` as TF1 does: a Variable that exists in a scope that does not reuse,
    one that does not exist in a scope that must reuse, a shared one of another shape.
    """
    from microflow.compat.v1 import initializers
    if regularizer is not None or collections is not None:
        raise TypeError("get_variable(regularizer=/collections=) is not supported by "
                        "microflow's TF1 layer")
    scope = get_variable_scope()
    full = f"{scope.name}/{name}" if scope.name else name
    state = graph_state(mf.get_default_graph())
    existing = state.store.get(full)
    if existing is not None:
        if scope.reuse is None or scope.reuse is False:
            raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set "
                             "reuse=True or reuse=tf.AUTO_REUSE in VarScope?")
        if shape is not None and list(TensorShape(shape)) != existing.get_shape().as_list():
            raise ValueError(f"Trying to share variable {full}, but specified shape "
                             f"{list(shape)} and found shape {existing.get_shape().as_list()}.")
        if dtype is not None and as_dtype(dtype) != existing.dtype:
            raise ValueError(f"Trying to share variable {full}, but specified dtype "
                             f"{as_dtype(dtype)} and found dtype {existing.dtype}.")
        return existing
    if scope.reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with "
                         "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                         "VarScope?")
    dtype = as_dtype(dtype) or float32
    initializer = initializer if initializer is not None else scope.initializer
    if initializer is None:
        initializer = initializers.glorot_uniform_initializer() if dtype.kind == "f" else \
            initializers.zeros_initializer()
    graph = mf.get_default_graph()
    if isinstance(initializer, Tensor | _MfTensor) or not callable(initializer):
        initial = initializer if isinstance(initializer, Tensor | _MfTensor) else \
            tf1_array(initializer, dtype)
        initial_shape = list(unwrap(initial).shape) if isinstance(initializer, Tensor | _MfTensor) \
            else list(np.shape(initial))
        if shape is not None and list(TensorShape(shape)) != initial_shape:
            raise ValueError(f"get_variable {full}: the initial value's shape {initial_shape} "
                             f"differs from shape {list(shape)}")
        make_initial = initial
    else:
        if shape is None or None in TensorShape(shape):
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but "
                             f"instead was {shape}.")

        def make_initial():
            with graph.name_scope(full + "/Initializer/"):
                return initializer(list(TensorShape(shape)), dtype=dtype)
    parent, _, leaf = full.rpartition("/")
    with graph.name_scope(parent + "/" if parent else ""):
        variable = Variable(make_initial, True if trainable is None else trainable, name=leaf,
                            dtype=dtype)
    state.store[full] = variable
    return variable
