"""Optimizers: ``minimize(loss)`` adds the gradients and one in-place update op per Variable,
and returns the training op to fetch in ``Session.run``.

Examples
--------
>>> opt = mf.optimizers.SGD(0.1)
>>> W = mf.Variable(np.array([1.0, -2.0]))
>>> train = opt.minimize(mf.l2_loss(W))
>>> sess = mf.Session()
>>> sess.run(train); W.value
array([ 0.9, -1.8])
"""

from __future__ import annotations

import numpy as np

from microflow.core.graph import Tensor, Variable, as_tensor, topological_order
from microflow.core.gradients import gradients
from microflow.core.ops.base import apply
from microflow.core.ops.state import (ApplyAdaGrad, ApplyAdam, ApplyMomentum, ApplyRMSProp, ApplySGD,
                                 AssignAdd, Group)


def trainable_variables(graph=None, scope=None):
    """The trainable Variables of ``graph`` (default: the default graph), optionally only those
    whose name starts with ``scope + "/"``."""
    from microflow.core.graph import get_default_graph
    graph = graph if graph is not None else get_default_graph()
    return [v for v in graph.variables if v.trainable and
            (scope is None or v.name.startswith(scope.rstrip("/") + "/"))]


def update_ops_of(loss):
    """The graph's update ops (``graph.update_ops``: batch norm's moving averages) that
    belong to the model of ``loss``: those reading a Tensor that ``loss`` depends on."""
    ops = loss.graph.update_ops
    if not ops:
        return []
    connected = set(topological_order([loss]))
    return [op for op in ops if any(i in connected for i in op.inputs[1:])]


class Optimizer:
    """Base class: subclasses say how one Variable is updated from its gradient."""

    name = "Optimizer"

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def __repr__(self):
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({settings})"

    def minimize(self, loss, var_list=None, name=None):
        """The training op that takes one step downhill on ``loss``.

        ``var_list`` defaults to the trainable Variables of the loss's graph; Variables that
        the loss does not depend on are skipped. Raises ``ValueError`` naming the loss when
        none of them has a gradient.
        """
        if not isinstance(loss, Tensor):
            raise TypeError(f"minimize() needs the loss Tensor, got {loss!r}")
        graph = loss.graph
        if var_list is None:
            var_list = trainable_variables(graph)
        var_list = list(var_list)
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"minimize(): {v!r} in var_list is not a Variable")
        connected = set(topological_order([loss]))
        var_list = [v for v in var_list if v in connected]
        if not var_list:
            raise ValueError(f"no Variable has a gradient for loss {loss.name!r}: it does not "
                             "depend on any trainable Variable")
        rate = self._folded_rate(loss, var_list)
        grads = gradients(loss, var_list, None if rate is None else [rate])
        pairs = [(v, g) for v, g in zip(var_list, grads) if g is not None]
        if not pairs:
            raise ValueError(f"no Variable has a gradient for loss {loss.name!r}")
        return self._apply(pairs, name, folded=rate, also=update_ops_of(loss))

    def apply_gradients(self, pairs, name=None, also=()):
        """The training op applying ``(variable, gradient)`` pairs; it also runs the update
        ops in ``also`` (see :func:`update_ops_of`)."""
        return self._apply(pairs, name, folded=None, also=also)

    def _folded_rate(self, loss, var_list):
        """A learning rate to seed the gradient walk with (so that the gradients come out
        already scaled by it), or None: only plain gradient descent folds it."""
        return None

    def _apply(self, pairs, name, folded, also=()):
        """The training op; ``folded`` is the learning rate the gradients are scaled by, if any."""
        for variable, _ in pairs:
            if variable.dtype.kind != "f":
                raise TypeError(f"cannot train Variable {variable.name!r}: it has dtype "
                                f"{variable.dtype}, and only float Variables can be trained "
                                "(create it with a float dtype, or with trainable=False)")
        graph = pairs[0][0].graph
        graph._backward_depth += 1
        try:
            with graph.name_scope(self.name):
                state = self._begin()
                rates, updates = {}, []
                for variable, grad in pairs:
                    if folded is not None:
                        rates[variable.dtype] = folded      # already in the gradient
                    elif variable.dtype not in rates:
                        rates[variable.dtype] = _as_rate(self.learning_rate, variable)
                    with graph.name_scope(variable.name):
                        updates.append(self._update(variable, grad, rates[variable.dtype], state)
                                       if folded is None else
                                       apply(ApplySGD(folded=True), (variable, grad, folded),
                                             name="update"))
                updates += self._finish(updates, state)
                return apply(Group(), updates + list(also), name=name or "train")
        finally:
            graph._backward_depth -= 1

    def _begin(self):
        """State shared by the updates of one apply_gradients() call."""
        return None

    def _update(self, variable, grad, lr, state):
        raise TypeError(f"{type(self).__name__} defines no update rule")

    def _finish(self, updates, state):
        """Ops to run after every update of a step (e.g. Adam's step counter)."""
        return []

    @staticmethod
    def _slot(variable, what, value=0.0):
        """A non-trainable Variable shaped like ``variable`` holding optimizer state."""
        return Variable(np.full(variable.shape, value, variable.dtype), name=what,
                        trainable=False)


def _as_rate(rate, variable):
    if isinstance(rate, Tensor):
        if rate.shape not in ((), (1,)) and None not in rate.shape:
            raise ValueError(f"a learning rate must be a scalar, got shape {rate.shape}")
        return rate
    return as_tensor(float(rate), like=variable)


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    ``w -= lr * g``; with momentum: ``v = momentum * v + g; w -= lr * v``, and with
    ``nesterov=True``: ``w -= lr * (g + momentum * v)``.
    """

    name = "SGD"

    def __init__(self, learning_rate, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        if momentum < 0:
            raise ValueError(f"momentum must be >= 0, got {momentum}")
        self.momentum = momentum
        self.nesterov = nesterov

    def _folded_rate(self, loss, var_list):
        # d(lr * loss)/dw = lr * dloss/dw: seeding the walk with lr instead of 1 scales every
        # gradient by it at no cost (the loss gradient multiplies by its seed anyway), and each
        # update is then one in-place w -= g. A scalar loss and one dtype throughout only.
        rate = self.learning_rate
        if self.momentum or self.nesterov or loss.shape != () or loss.dtype.kind != "f" or \
                any(v.dtype != loss.dtype for v in var_list):
            return None
        if isinstance(rate, Tensor):
            return rate if rate.shape == () and rate.dtype == loss.dtype else None
        return _as_rate(rate, loss)

    def _update(self, variable, grad, lr, state):
        if self.momentum == 0 and not self.nesterov:
            return apply(ApplySGD(), (variable, grad, lr), name="update")
        velocity = self._slot(variable, "velocity")
        return apply(ApplyMomentum(self.momentum, self.nesterov),
                     (variable, grad, lr, velocity), name="update")


class RMSProp(Optimizer):
    """``ms = decay * ms + (1 - decay) * g**2``; ``w -= lr * g / (sqrt(ms) + epsilon)``,
    with momentum: ``v = momentum * v + g / (sqrt(ms) + epsilon); w -= lr * v``."""

    name = "RMSProp"

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-8):
        super().__init__(learning_rate)
        self.decay = decay
        self.momentum = momentum
        self.epsilon = epsilon

    def _update(self, variable, grad, lr, state):
        inputs = [variable, grad, lr, self._slot(variable, "mean_square")]
        if self.momentum:
            inputs.append(self._slot(variable, "velocity"))
        return apply(ApplyRMSProp(self.decay, self.momentum, self.epsilon), inputs, name="update")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): moving averages of g and g**2, bias-corrected:
    ``w -= lr * m_hat / (sqrt(v_hat) + epsilon)``."""

    name = "Adam"

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(learning_rate)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def _begin(self):
        return Variable(np.zeros((), np.float64), name="steps_taken", trainable=False)

    def _update(self, variable, grad, lr, steps_taken):
        m = self._slot(variable, "m")
        v = self._slot(variable, "v")
        return apply(ApplyAdam(self.beta1, self.beta2, self.epsilon),
                     (variable, grad, lr, m, v, steps_taken), name="update")

    def _finish(self, updates, steps_taken):
        return [apply(AssignAdd(), [steps_taken, np.ones((), np.float64), *updates],
                      name="count_step")]


class AdaGrad(Optimizer):
    """``acc += g**2``; ``w -= lr * g / (sqrt(acc) + epsilon)``, starting from
    ``acc = initial_accumulator``."""

    name = "AdaGrad"

    def __init__(self, learning_rate=0.01, initial_accumulator=0.1, epsilon=1e-7):
        super().__init__(learning_rate)
        self.initial_accumulator = initial_accumulator
        self.epsilon = epsilon

    def _update(self, variable, grad, lr, state):
        accumulator = self._slot(variable, "accumulator", self.initial_accumulator)
        return apply(ApplyAdaGrad(self.epsilon), (variable, grad, lr, accumulator),
                     name="update")


__all__ = ['update_ops_of', 'Optimizer', 'SGD', 'RMSProp', 'Adam', 'AdaGrad', 'trainable_variables']


def __dir__():
    return __all__
