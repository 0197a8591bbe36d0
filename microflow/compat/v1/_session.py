"""TF1's Session over microflow's: TF1 fetches, default Sessions, and initialization checks.

Each ``tf.Session`` runs its graph through one ``microflow.Session`` (the same compiled plans)
and remembers which Variables it has initialized: the Variables' arrays live in the Variables
themselves (shared by every Session of the graph), but reading one that this Session has not
initialized, restored or loaded raises ``tf.errors.FailedPreconditionError`` naming it, as in
TF1. A new Session restarts the graph's seeded random ops and dropout masks, so it draws
what the last one drew.
"""

from __future__ import annotations

import contextlib

import microflow as mf
from microflow.compat.v1._tensors import Operation, Tensor, unsupported, unwrap, wrap
from microflow.compat.v1.errors import FailedPreconditionError
from microflow.core.graph import Tensor as _MfTensor
from microflow.core.graph import topological_order
from microflow.core.ops.nn import DropoutMask
from microflow.core.ops.random import RandomOp
from microflow.core.ops.state import Assign

_default_sessions = []
_MAX_CHECKS = 128


class Session:
    """``tf.Session(target="", graph=None, config=None)``: runs the ``graph`` (default: the
    default graph). A ``with`` block makes it the default Session and closes it at the end."""

    def __init__(self, target="", graph=None, config=None):
        if target:
            raise ValueError(f"tf.Session(target={target!r}): microflow runs in this process; "
                             "there is no server to connect to")
        if config is not None:
            raise TypeError("tf.Session(config=...) is not supported by microflow's TF1 layer: "
                            "microflow runs on numpy on the CPU, so drop the config")
        self.graph = graph if graph is not None else mf.get_default_graph()
        self._session = mf.Session(self.graph)
        self._initialized = set()       # the microflow Variables this Session has set
        self._uses = {}                 # fetch and feed key -> (Variables read, Variables set)
        self._closed = False
        for tensor in self.graph.tensors:      # random ops and dropout masks
            if isinstance(tensor.operation, RandomOp | DropoutMask) and \
                    tensor.operation.seed is not None:
                tensor.operation.restart()

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Evaluate ``fetches`` (a Tensor, an Operation, or lists, tuples and dicts of them),
        with ``feed_dict`` mapping placeholders (or other Tensors) to values. Returns numpy
        values in the structure of ``fetches``; an Operation's value is ``None``."""
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        if options is not None or run_metadata is not None:
            raise TypeError("Session.run(options=, run_metadata=) are not supported by "
                            "microflow's TF1 layer; use mf.Session(...).profile for timings")
        flat, operations = [], []
        structure = self._collect(fetches, flat, operations)
        feeds = {self._feed_key(key): value for key, value in (feed_dict or {}).items()}
        key = (tuple(map(id, flat)), tuple(map(id, feeds)))
        uses = self._uses.get(key)
        if uses is None:
            if len(self._uses) >= _MAX_CHECKS:
                del self._uses[next(iter(self._uses))]
            uses = self._uses[key] = _variable_uses(flat, feeds)
        reads, sets = uses
        missing = [v for v in reads if v not in self._initialized]
        if missing:
            raise FailedPreconditionError(None, None, _uninitialized_message(missing))
        values = self._session.run(flat, feeds) if flat else []
        self._initialized.update(sets)
        for index in operations:
            values[index] = None
        return _rebuild(structure, iter(values))

    def _collect(self, fetch, flat, operations):
        """The structure of ``fetch`` with each Tensor replaced by its index in ``flat``."""
        if isinstance(fetch, str):
            fetch = self._by_name(fetch)
        if isinstance(fetch, Operation):
            operations.append(len(flat))
            flat.append(fetch.microflow)
            return _Leaf(len(flat) - 1)
        if isinstance(fetch, Tensor | _MfTensor):
            flat.append(unwrap(fetch))
            return _Leaf(len(flat) - 1)
        if isinstance(fetch, dict):
            return type(fetch)((k, self._collect(v, flat, operations)) for k, v in fetch.items())
        if isinstance(fetch, list | tuple):
            items = [self._collect(v, flat, operations) for v in fetch]
            return type(fetch)(*items) if hasattr(fetch, "_fields") else type(fetch)(items)
        raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch).__name__}: "
                        "fetch Tensors, Operations, their names, or lists, tuples and dicts "
                        "of them")

    def _by_name(self, name):
        base = name[:-2] if name.endswith(":0") else name
        try:
            tensor = self.graph.get_tensor_by_name(base)
        except KeyError:
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist in the "
                           "graph") from None
        return wrap(tensor) if name.endswith(":0") else Operation.of(tensor)

    def _feed_key(self, key):
        if isinstance(key, str):
            key = self._by_name(key if ":" in key else key + ":0")
        key = unwrap(key)
        if not isinstance(key, _MfTensor):
            raise TypeError(f"Cannot interpret feed_dict key {key!r} as a Tensor")
        return key

    def close(self):
        """Close the Session: running it again raises RuntimeError."""
        self._closed = True
        self._session.close()
        if self in _default_sessions:
            _default_sessions.remove(self)

    @contextlib.contextmanager
    def as_default(self):
        """Make this the default Session (for ``Tensor.eval()``, ``Operation.run()``) inside
        a ``with`` block; it stays open afterwards."""
        _default_sessions.append(self)
        try:
            yield self
        finally:
            if _default_sessions and _default_sessions[-1] is self:
                _default_sessions.pop()

    def __enter__(self):
        _default_sessions.append(self)
        return self

    def __exit__(self, *exc):
        self.close()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported("Session", name)


class InteractiveSession(Session):
    """A Session that makes itself the default one when created (for notebooks and shells)."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        _default_sessions.append(self)


def get_default_session():
    """The innermost default Session, or None."""
    return _default_sessions[-1] if _default_sessions else None


def default_session_for(what, session):
    """``session``, or the default one; ValueError when there is none."""
    session = session if session is not None else get_default_session()
    if session is None:
        raise ValueError(f"Cannot {what} without a Session: no default session is registered. "
                         f"Use `with sess.as_default():` or pass an explicit session "
                         f"({what}(session=sess))")
    return session


class _Leaf:
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


def _rebuild(structure, values):
    if isinstance(structure, _Leaf):
        return next(values)
    if isinstance(structure, dict):
        return type(structure)((k, _rebuild(v, values)) for k, v in structure.items())
    items = [_rebuild(v, values) for v in structure]
    return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)


def _variable_uses(fetches, feeds):
    """(Variables the fetches read, Variables their initializers set), each in graph order."""
    reads, sets = {}, {}
    fed, fetched = set(feeds), set(fetches)
    for node in topological_order(fetches, stop=fed):
        if isinstance(node, mf.Variable) and node in fetched and node not in fed:
            reads[node] = True
        for position, source in enumerate(node.inputs):
            if not isinstance(source, mf.Variable) or source in fed:
                continue
            if position == 0 and isinstance(node.operation, Assign):
                sets[source] = True
            else:
                reads[source] = True
    return list(reads), list(sets)


def _uninitialized_message(missing):
    first = missing[0]
    text = (f"Attempting to use uninitialized value {first.name} (Variable {first.name + ':0'!r}"
            f", shape {tuple(first.shape)})")
    if len(missing) > 1:
        text += f" and {len(missing) - 1} more: " + ", ".join(v.name for v in missing[1:6])
        text += ", ..." if len(missing) > 6 else ""
    return text + (": run tf.global_variables_initializer() (made after the model and its "
                   "optimizer) in this Session, or restore them with a tf.train.Saver")
