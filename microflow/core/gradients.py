"""Symbolic reverse-mode differentiation: ``gradients()`` adds the backward graph.

The walk visits the Tensors between ``xs`` and ``ys`` in reverse topological order, asks each
op's ``backward`` for its inputs' gradients (as new Tensors in the same graph), undoes numpy
broadcasting once, here, and sums the gradients of Tensors used more than once.
"""

from __future__ import annotations

import numpy as np

from microflow.core.errors import GraphError
from microflow.core.graph import Tensor, ancestors_in_order, as_tensor, constant
from microflow.core.ops import add, identity, ones_like, sum_to


def gradients(ys, xs, grad_ys=None):
    """Gradients of ``sum(ys)`` with respect to each of ``xs``.

    Parameters
    ----------
    ys : Tensor or list of Tensors
        What to differentiate; with several, their gradients are summed.
    xs : Tensor or list of Tensors
        What to differentiate with respect to (Variables, placeholders, any Tensor).
    grad_ys : optional, one per y
        The cotangent each y is weighted by (default ones): the result is
        d(sum(grad_y * y))/dx.

    Returns
    -------
    list
        One Tensor per x, in the same graph, or ``None`` where ``ys`` does not depend on x.

    Examples
    --------
    >>> x = mf.Variable(3.0)
    >>> (dx,) = mf.gradients(x * x, [x])
    >>> float(mf.Session().run(dx))
    6.0
    """
    single_y = isinstance(ys, Tensor)
    ys = [ys] if single_y else list(ys)
    xs = [xs] if isinstance(xs, Tensor) else list(xs)
    graph = ys[0].graph
    for tensor in ys + xs:
        if not isinstance(tensor, Tensor) or tensor.graph is not graph:
            raise GraphError(f"gradients(): {tensor!r} is not a Tensor of the graph of "
                             f"{ys[0].name!r}")
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    elif single_y and not (isinstance(grad_ys, list | tuple) and len(grad_ys) == 1
                           and isinstance(grad_ys[0], Tensor | np.ndarray)):
        grad_ys = [grad_ys]
    if len(grad_ys) != len(ys):
        raise ValueError(f"gradients(): {len(ys)} ys but {len(grad_ys)} grad_ys")

    wanted = set(xs)
    depends_on_x = set()                # Tensors some x flows into: only these need gradients
    order = []                          # ... inputs before users
    for node in ancestors_in_order(ys):
        if node in wanted or not depends_on_x.isdisjoint(node.inputs):
            depends_on_x.add(node)
            order.append(node)

    first_new = len(graph.tensors)
    graph._backward_depth += 1
    try:
        with graph.name_scope("gradients"):
            grads = {}
            for y, grad_y in zip(ys, grad_ys):
                if y in depends_on_x:
                    seed = _seed(y, grad_y)
                    grads[y] = add(grads[y], seed) if y in grads else seed
            finished = {}                   # each x's gradient, once it is complete
            for node in reversed(order):
                grad = grads.pop(node, None)    # complete here: every user came before
                if node in wanted:
                    finished[node] = grad
                inputs = node.inputs
                if grad is None or not inputs:
                    continue
                op = node.operation
                if not op.differentiable:
                    continue
                if depends_on_x.issuperset(inputs):     # every input wants its gradient
                    reached = None
                    input_grads = op.backward(grad, *inputs, node)
                else:
                    reached = [inp in depends_on_x for inp in inputs]
                    if not any(reached):
                        continue
                    op._wanted = reached            # see Op.needs_gradient
                    try:
                        input_grads = op.backward(grad, *inputs, node)
                    finally:
                        del op._wanted
                for index, (inp, input_grad) in enumerate(zip(inputs, input_grads)):
                    if input_grad is None or (reached is not None and not reached[index]):
                        continue
                    if _may_broadcast(op, index) and not _same_shape_surely(input_grad, inp, node):
                        input_grad = sum_to(input_grad, inp)
                    grads[inp] = add(grads[inp], input_grad) if inp in grads else input_grad
            results = []
            for x in xs:
                grad = finished.get(x)
                if grad is not None:
                    grad = identity(grad, name=_base_name(x) + "_grad")
                    grad.gradient_of = x
                results.append(grad)
    finally:
        graph._backward_depth -= 1
    _drop_unused(graph, first_new, [g for g in results if g is not None])
    return results


def _seed(y, grad_y):
    if grad_y is not None:
        return as_tensor(grad_y, like=y)
    if None in y.shape:
        return ones_like(y, name=_base_name(y) + "_seed")
    return constant(np.ones(y.shape, y.dtype), name=_base_name(y) + "_seed")


def _base_name(tensor):
    return tensor.name.rsplit("/", 1)[-1]


def _may_broadcast(op, index):
    """Whether input ``index`` of ``op`` may have been stretched by numpy broadcasting."""
    return op.broadcasts is True or (op.broadcasts and index in op.broadcasts)


def _same_shape_surely(grad, inp, node):
    """True when ``inp`` cannot have been broadcast in ``node``, judging by static shapes."""
    if grad.shape != inp.shape:
        return False
    if None not in inp.shape:
        return True
    for axis, dim in enumerate(inp.shape):
        if dim is None:             # unknown: safe only if no other input can stretch it
            offset = axis - len(inp.shape)
            for other in node.inputs:
                if other is not inp and len(other.shape) >= -offset \
                        and other.shape[offset] != 1:
                    return False
    return True


def _drop_unused(graph, first_new, results):
    """Remove the gradient Tensors of this call that no result needs (e.g. the gradient
    with respect to the input data), so that drawings show only the backward pass in use."""
    new = graph.tensors[first_new:]
    needed, kept = set(results), 0
    for tensor in reversed(new):            # users come after their inputs: one sweep back
        if tensor in needed:
            needed.update(tensor.inputs)
            kept += 1
    if kept < len(new):
        graph.tensors[first_new:] = [t for t in new if t in needed]
        counts = graph._name_counts
        for tensor in new:              # free the names no other name counts on
            if tensor not in needed and counts.get(tensor.name) == 0:
                del counts[tensor.name]


__all__ = ['gradients']


def __dir__():
    return __all__
