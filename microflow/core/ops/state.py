"""Stateful ops: optimizer updates that change Variables in place, and the ops that order them.

A plan runs stateful ops after every other op of a step (see ``microflow.core.session``), so the
forward and backward passes all read the weights as they were when the step began. Each update
works in place, through a scratch buffer it keeps, so a step allocates no weight-sized arrays.
"""

from __future__ import annotations

import math

import numpy as np

from microflow.core.errors import NumericsError
from microflow.core.ops.base import Op, register


class Update(Op):
    """An in-place update of its first input, a Variable's array; outputs nothing."""

    differentiable = False
    stateful = True
    writes = (0,)

    def infer(self, *inputs):
        return (), None

    _buffer = None

    def _scratch(self, like):
        buffer = self._buffer
        if buffer is None or buffer.shape != like.shape or buffer.dtype != like.dtype:
            buffer = self._buffer = np.empty_like(like)
        return buffer


@register
class ApplySGD(Update):
    """w -= lr * g (folded: w -= g, the learning rate already in g)"""

    def __init__(self, folded=False):
        # SGD.minimize seeds the gradient walk with lr instead of 1, so that every gradient
        # comes out scaled by it at no cost, and the update is one in-place subtraction.
        self.folded = bool(folded)
        if self.folded:
            self.forward = self._forward_folded

    @staticmethod
    def _forward_folded(w, g, lr):
        w -= g

    def inline(self, args, into):
        if not self.folded:
            return None
        # a statement: the update's own output is None (out= as the third argument, which
        # numpy parses faster than the keyword)
        return f"_subtract({args[0]}, {args[1]}, {args[0]})", {"_subtract": np.subtract}, \
            "statement"

    def forward(self, w, g, lr):
        if w.size < 4096:           # small: a temporary costs less than the buffer's upkeep
            w -= g * lr
            return
        w -= np.multiply(g, lr, out=self._scratch(w))


@register
class ApplyMomentum(Update):
    """v = mu * v + g; w -= lr * v  (Nesterov: w -= lr * (g + mu * v))"""

    writes = (0, 3)

    def __init__(self, momentum, nesterov=False):
        self.momentum = momentum
        self.nesterov = nesterov

    def forward(self, w, g, lr, velocity):
        velocity *= self.momentum
        velocity += g
        step = self._scratch(w)
        if self.nesterov:
            np.multiply(velocity, self.momentum, out=step)
            step += g
            step *= lr
        else:
            np.multiply(velocity, lr, out=step)
        w -= step


@register
class ApplyRMSProp(Update):
    """ms = rho ms + (1 - rho) g**2; v = mu v + g / (sqrt(ms) + eps); w -= lr v  (mu = 0: w -= lr g / (sqrt(ms) + eps))"""

    writes = (0, 3, 4)

    def __init__(self, decay, momentum, epsilon):
        self.decay = decay
        self.momentum = momentum
        self.epsilon = epsilon

    def forward(self, w, g, lr, mean_square, velocity=None):
        step = self._scratch(w)
        mean_square *= self.decay
        np.square(g, out=step)
        step *= 1 - self.decay
        mean_square += step
        np.sqrt(mean_square, out=step)
        step += self.epsilon
        np.divide(g, step, out=step)
        if velocity is not None:
            velocity *= self.momentum
            velocity += step
            np.multiply(velocity, lr, out=step)
        else:
            step *= lr
        w -= step


@register
class ApplyAdam(Update):
    """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2; w -= lr m^ / (sqrt(v^) + eps), with the
    bias-corrected m^ = m / (1 - b1**t), v^ = v / (1 - b2**t) at step t = count + 1"""

    writes = (0, 3, 4)

    def __init__(self, beta1, beta2, epsilon):
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def forward(self, w, g, lr, m, v, count):
        t = float(count) + 1
        step = self._scratch(w)
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=step)
        m += step
        v *= self.beta2
        np.square(g, out=step)
        step *= 1 - self.beta2
        v += step
        # lr m^ / (sqrt(v^) + eps) = (lr / (1 - b1**t)) m / (sqrt(v) / sqrt(1 - b2**t) + eps)
        np.sqrt(v, out=step)
        step /= np.sqrt(1 - self.beta2 ** t)
        step += self.epsilon
        np.divide(m, step, out=step)
        step *= lr / (1 - self.beta1 ** t)
        w -= step


@register
class ApplyAdaGrad(Update):
    """acc += g**2; w -= lr g / (sqrt(acc) + eps)"""

    writes = (0, 3)

    def __init__(self, epsilon):
        self.epsilon = epsilon

    def forward(self, w, g, lr, accumulator):
        step = self._scratch(w)
        np.square(g, out=step)
        accumulator += step
        np.sqrt(accumulator, out=step)
        step += self.epsilon
        np.divide(g, step, out=step)
        step *= lr
        w -= step


@register
class Assign(Update):
    """w = value (a Variable's initializer; its other inputs only order it after them)"""

    def forward(self, w, value, *after):
        np.copyto(w, value, casting="same_kind")


@register
class AssignAdd(Update):
    """w += delta (its other inputs only order it after them)"""

    def forward(self, w, delta, *after):
        w += delta


@register
class AssignMovingAverage(Update):
    """w = momentum * w + (1 - momentum) * value, only when ``when`` is true (batch norm's
    moving mean and variance, updated in training steps only)"""

    def __init__(self, momentum):
        self.momentum = momentum

    def forward(self, w, value, when):
        if when:
            w *= self.momentum
            w += (1 - self.momentum) * value


@register
class Group(Op):
    """Runs its inputs (a training op's updates); outputs nothing"""

    differentiable = False
    stateful = True

    def forward(self, *inputs):
        return None

    def infer(self, *inputs):
        return (), None


@register
class CheckFinite(Op):
    """out = x, after checking that x and every further input hold no NaN or Inf; runs before
    any update of a step"""

    differentiable = False
    stateful = True
    views = True        # it returns x itself
    guard = True        # placed before the updates, so a failed check leaves the weights as they were

    def __init__(self, message="holds NaN or Inf", labels=()):
        self.message = message
        self._labels = tuple(labels)    # what each input after x is, for the error message

    def forward(self, x, *more):
        # A sum is finite only if every term is (an Inf or NaN term makes it Inf or NaN): one
        # reduction per input and one test for all; the exact test, input by input, runs only
        # when that total is not finite (an overflow of finite entries can also make it so).
        total = 0.0
        for value in (x, *more):
            total += float(np.add.reduce(value, axis=None))
        if math.isfinite(total):
            return x
        if not np.isfinite(x).all():
            raise NumericsError(self.message)
        for label, value in zip(self._labels, more):
            if not np.isfinite(value).all():
                raise NumericsError(f"{label} is not finite")
        return x
