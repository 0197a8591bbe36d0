"""Stateful ops: optimizer updates that change Variables in place, and the ops that order them.

A plan runs stateful ops after every other op of a step (see ``microflow.core.session``), so the
forward and backward passes all read the weights as they were when the step began. Each update
works in place, through a scratch buffer it keeps, so a step allocates no weight-sized arrays.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from microflow.core.errors import NumericsError
from microflow.core.ops import kernels
from microflow.core.ops.base import Op, register, static_size

_TOGETHER = 4096        # CheckFinite's inputs of at most this many elements share one test
_BIT_TEST = 1024        # bytes that the integer bit test reads faster than a numpy sum would
_CODES = {np.dtype(np.float64): "d", np.dtype(np.float32): "f"}    # memoryview formats
_add_reduce, _concatenate, _join = np.add.reduce, np.concatenate, b"".join
_from_bytes, _isfinite = int.from_bytes, math.isfinite


def _finite_test(code, size):
    """A function telling whether every entry of a few small arrays is finite: when they are
    C-contiguous, of the dtype that the memoryview format ``code`` names and ``size`` bytes in
    all: up to ``_BIT_TEST`` bytes exactly, by the IEEE bits of their bytes joined read as one
    integer (an entry is NaN or Inf exactly when its exponent bits are all ones; adding 1 at
    the exponent's lowest bit then carries into its sign bit, and never further), and more by
    numpy's sum of the joined bytes; otherwise by the sum of their concatenation. A sum is
    finite only if every entry is (an overflow of finite entries can make it fail too: a
    caller then tests input by input)."""
    dtype, order = np.dtype(code), sys.byteorder
    by_bits = size <= _BIT_TEST

    def pattern(value):             # ``value``'s bits in every lane, as one integer
        return _from_bytes(np.full(size // dtype.itemsize, value, dtype).tobytes(), order)
    exponents, lowest, signs = (pattern(np.inf), pattern(np.finfo(dtype).tiny),
                                pattern(-0.0)) if by_bits else (0, 0, 0)

    def finite(arrays):
        joined = _joined(arrays, size)
        if joined is None:
            return _summed_finite(arrays)
        if by_bits:
            return not ((_from_bytes(joined, order) & exponents) + lowest) & signs
        return _isfinite(float(_add_reduce(np.frombuffer(joined, dtype))))
    return finite


def _joined(arrays, size):
    """The bytes of ``arrays`` joined, or None where one is not a contiguous array or they are
    not ``size`` bytes in all (another dtype or shape than planned)."""
    try:
        joined = _join(arrays)
    except TypeError:
        return None
    return joined if len(joined) == size else None


def _screening_sum(a):
    """A sum of every entry of ``a`` that is finite only if every entry is: a float array's of
    two or more axes by BLAS (``kernels.sum_leading``: a ones vector against it, then one
    sum), several times faster than numpy's pairwise sum; others' by numpy's."""
    if a.ndim >= 2 and a.size and a.dtype in _CODES:
        return float(_add_reduce(kernels.sum_leading(a, a.ndim - 1)))
    return float(_add_reduce(a, axis=None))


_FINITE = np.zeros(())          # stands for a product found finite without making it
_FINITE.flags.writeable = False
_BOUNDS = {}                    # dtype -> a quarter of its largest number


def _surely_finite_product(a, b):
    """Whether every entry of the matrix product ``a @ b`` is surely finite, judged from its
    operands' sums of squares (one BLAS dot each): both finite, and the product of their
    square roots, which bounds every entry and every partial sum of one (Cauchy-Schwarz:
    ``|sum_k a_ik b_kj| <= |a_i| |b_j| <= |a| |b|``), at most a quarter of the dtype's largest
    number."""
    if not a.size or not b.size:
        return True             # an empty product, or one of zeros (k = 0)
    bound = 1.0
    for operand in (a, b):
        flat = operand.ravel(order="K")     # (a view of a contiguous array)
        squares = float(flat @ flat)        # (an Inf or NaN entry, or an overflow: not finite)
        if not _isfinite(squares):
            return False
        bound *= math.sqrt(squares)
    limit = _BOUNDS.get(a.dtype)
    if limit is None:
        limit = _BOUNDS[a.dtype] = float(np.finfo(a.dtype).max) / 4
    return bound <= limit


def _summed_finite(arrays):
    """Whether the sum of every entry of ``arrays`` is finite (so is every entry, then)."""
    return _isfinite(float(_add_reduce(_concatenate(arrays, axis=None), axis=None)))


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

    def inline_product(self, args, transposes):
        """The folded update ``w -= g`` of a gradient ``g = op(a) @ op(b)`` that only it reads,
        run as one GEMM that subtracts the product from w as it makes it
        (``kernels.subtract_product``): ``args`` are w, a and b, ``transposes`` the MatMul's
        flags. Returns the kernel and its source, or None when not folded."""
        if not self.folded:
            return None
        kernel = kernels.SUBTRACT_PRODUCT[transposes]
        name = "_" + kernel.__name__.lstrip("_")
        return kernel, (f"{name}({', '.join(args)})", {name: kernel}, "statement")

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
    views = (0,)        # it returns x itself (never one of the inputs it only checks)
    guard = True        # placed before the updates, so a failed check leaves the weights as they were

    def __init__(self, message="holds NaN or Inf", labels=()):
        self.message = message
        self._labels = tuple(labels)    # what each input after x is, for the error message
        self._scalars, self._small, self._large = (), (), None     # None: all, one by one
        self._small_finite = _summed_finite

    def infer(self, *inputs):
        # Scalars are tested as they are; inputs of a few known elements (biases, small
        # weights) share one test; the others have one sum each.
        sizes = [static_size(t.shape) for t in inputs]
        known = [i for i, n in enumerate(sizes) if n is not None and n <= _TOGETHER]
        self._large = tuple(i for i in range(len(inputs)) if i not in known)
        small = [i for i in known if inputs[i].shape != ()]
        dtypes = {inputs[i].dtype for i in small}
        self._small_finite = _summed_finite
        if len(dtypes) == 1 and dtypes <= set(_CODES):       # scalars of that dtype join them
            dtype = dtypes.pop()
            small = [i for i in known if inputs[i].dtype == dtype]
            self._small_finite = _finite_test(_CODES[dtype],
                                              sum(sizes[i] for i in small) * dtype.itemsize)
        self._small = tuple(small)
        self._scalars = tuple(i for i in known if i not in small)
        return inputs[0].shape, inputs[0].dtype

    def inline(self, args, into):
        # Every input small or scalar: the tests in the plan's line, forward() (which names
        # the culprit) only when one fails.
        if self._large is None or self._large:
            return None
        tests = [f"_isfinite({args[i]})" for i in self._scalars]
        checked = f"_check_finite_{id(self):x}"
        functions = {"_isfinite": math.isfinite, checked: self.forward}
        if self._small:
            small = "".join(args[i] + ", " for i in self._small)
            tests.append(f"{checked}_small(({small}))")
            functions[checked + "_small"] = self._small_finite
        return f"({args[0]} if {' and '.join(tests)} else {checked}({', '.join(args)}))", \
            functions

    def forward_with_products(self, layout):
        """``forward`` for a plan that makes some of the checked gradients only inside their
        updates (``kernels.subtract_product``): ``layout`` has, for each input, None (given
        as it is) or the MatMul flags of a product ``op(a) @ op(b)``, given as its two
        operands. Such a product is surely finite when its operands are finite and no entry
        can reach the dtype's largest number (``|entry| <= |a| |b|``, the operands' norms), as
        one dot of each operand with itself shows; otherwise it is made here and checked as
        it is, so a failed check names the same gradient."""
        forward = self.forward

        def checked(*args):
            values, at = [], 0
            for flags in layout:
                if flags is None:
                    values.append(args[at])
                    at += 1
                    continue
                a, b = args[at], args[at + 1]
                at += 2
                a, b = a.T if flags[0] else a, b.T if flags[1] else b
                values.append(_FINITE if _surely_finite_product(a, b) else a @ b)
            return forward(*values)
        return checked

    def forward(self, x, *more):
        # The small inputs' test is exact where they join; a sum is finite only if every term
        # is (an Inf or NaN term makes it Inf or NaN): the sums screen, and the exact test,
        # input by input, runs only when one fails (an overflow of finite entries can also
        # fail a sum).
        values = (x, *more)
        finite = self._small_finite([values[i] for i in self._small]) if self._small else True
        total = 0.0
        for i in range(len(values)) if self._large is None else self._scalars + self._large:
            total += _screening_sum(values[i])
        if finite and math.isfinite(total):
            return x
        if not np.isfinite(x).all():
            raise NumericsError(self.message)
        for label, value in zip(self._labels, more):
            if not np.isfinite(value).all():
                raise NumericsError(f"{label} is not finite")
        return x
