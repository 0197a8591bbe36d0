"""Neural-network ops: softmax, log-softmax, the fused stable losses, and accuracy."""

from __future__ import annotations

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.ops import kernels
from microflow.core.ops.base import (Op, apply, broadcast_shapes, format_shape, normalize_axes,
                                register)
from microflow.core.ops.math import exp, multiply, negative, sigmoid, sigmoid_grad, subtract
from microflow.core.ops.reduce import divide_by_count, reduce_sum
from microflow.core.graph import Tensor
from microflow.core.ops.base import describe
from microflow.core.random import as_generator, default_generator


def _softmax(a, axis):
    """exp(a - max) / sum(exp(a - max)): shifting by the max keeps exp from overflowing."""
    if axis in (-1, a.ndim - 1):
        out = a - kernels.row_max(a)
        np.exp(out, out=out)
        out /= kernels.row_sum(out)
        return out
    out = a - a.max(axis=axis, keepdims=True)
    np.exp(out, out=out)
    out /= out.sum(axis=axis, keepdims=True)
    return out


def _softmax_vjp(grad, probabilities, axis):
    """The softmax's backward: y * (g - sum(g * y)), from dy_k/da_j = y_k (delta_kj - y_j)."""
    inner = reduce_sum(multiply(grad, probabilities), axis, keepdims=True)
    return multiply(probabilities, subtract(grad, inner))


@register
class Softmax(Op):
    """out_k = e ** a_k / sum_j e ** a_j along ``axis``"""

    def __init__(self, axis=-1):
        self.axis = int(axis)

    def forward(self, a):
        return _softmax(a, self.axis)

    def infer(self, a):
        normalize_axes(self.axis, a.ndim)
        return a.shape, a.dtype

    def backward(self, grad, a, out):
        return (_softmax_vjp(grad, out, self.axis),)


@register
class LogSoftmax(Op):
    """out_k = a_k - log(sum_j e ** a_j) along ``axis``, computed with log-sum-exp"""

    def __init__(self, axis=-1):
        self.axis = int(axis)

    def forward(self, a):
        shifted = a - a.max(axis=self.axis, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        return shifted

    def infer(self, a):
        normalize_axes(self.axis, a.ndim)
        return a.shape, a.dtype

    def backward(self, grad, a, out):
        # d out_k / d a_j = delta_kj - softmax_j
        total = reduce_sum(grad, self.axis, keepdims=True)
        return (subtract(grad, multiply(exp(out), total)),)


class _SoftmaxCrossEntropyShapes:
    """Shape checks shared by the loss and its gradient: logits (N, K), labels (N,) or (N, K)."""

    def check(self, logits, labels):
        if logits.ndim != 2:
            raise ShapeError(f"logits must be (N, K), got {format_shape(logits.shape)}")
        self.sparse = labels.ndim == 1
        if self.sparse and labels.dtype.kind not in "iu":
            raise ShapeError(f"labels of shape {format_shape(labels.shape)} must be integer "
                             f"class indices, got dtype {labels.dtype}")
        if labels.ndim not in (1, 2):
            raise ShapeError(f"labels must be (N,) class indices or (N, K) rows, got "
                             f"{format_shape(labels.shape)}")
        expected = logits.shape[:1] if self.sparse else logits.shape
        try:
            broadcast_shapes(labels.shape, expected)
        except ShapeError:
            raise ShapeError(f"logits {format_shape(logits.shape)} and labels "
                             f"{format_shape(labels.shape)} do not match") from None
        if labels.shape != expected and 1 in labels.shape:
            raise ShapeError(f"logits {format_shape(logits.shape)} and labels "
                             f"{format_shape(labels.shape)} do not match")


@register
class SoftmaxCrossEntropy(_SoftmaxCrossEntropyShapes, Op):
    """out = mean_n [log(sum_k e ** a_nk) - sum_k t_nk a_nk]: cross-entropy of softmax(a), fused"""

    def forward(self, logits, labels):
        shifted = logits - kernels.row_max(logits)
        log_sum_exp = np.log(kernels.row_sum(np.exp(shifted), keepdims=False))
        if self.sparse:
            picked = shifted.reshape(-1)[kernels.label_positions(labels, logits.shape[1])]
            log_sum_exp -= picked
            return kernels.mean(log_sum_exp)
        return np.mean(log_sum_exp * kernels.row_sum(labels, False)
                       - kernels.row_sum(labels * shifted, False))

    def infer(self, logits, labels):
        self.check(logits, labels)
        return (), logits.dtype

    def backward(self, grad, logits, labels, out):
        d_logits = softmax_cross_entropy_grad(grad, logits, labels)
        if self.sparse:
            return d_logits, None
        per_row = divide_by_count(grad, logits, (0,))
        d_labels = multiply(log_softmax(logits, axis=1), negative(per_row))
        return d_logits, d_labels


@register
class SoftmaxCrossEntropyGrad(_SoftmaxCrossEntropyShapes, Op):
    """out = g * (softmax(a) - t) / N: the fused loss's backward (the course's y - t)"""

    def forward(self, g, logits, labels):
        out = _softmax(logits, axis=1)
        if self.sparse:
            out.reshape(-1)[kernels.label_positions(labels, logits.shape[1])] -= 1
        else:
            out -= labels
        out *= g / len(logits)
        return out

    def infer(self, g, logits, labels):
        if g.shape != ():
            raise ShapeError(f"the loss gradient must be a scalar, got {format_shape(g.shape)}")
        self.check(logits, labels)
        return logits.shape, logits.dtype

    def backward(self, grad, g, logits, labels, out):
        unit = softmax_cross_entropy_grad(np.ones((), g.dtype), logits, labels)
        d_g = reduce_sum(multiply(grad, unit))
        probabilities = softmax(logits, axis=1)
        per_row = divide_by_count(g, logits, (0,))
        d_logits = multiply(_softmax_vjp(grad, probabilities, 1), per_row)
        d_labels = None if self.sparse else multiply(grad, negative(per_row))
        return d_g, d_logits, d_labels


@register
class SigmoidCrossEntropy(Op):
    """out = mean[max(x, 0) - x z + log(1 + e ** -|x|)]: cross-entropy of sigmoid(x), fused"""

    broadcasts = (1,)       # the targets may broadcast to the logits' shape

    def forward(self, x, z):
        # The overflow-free form of -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)).
        loss = np.abs(x)
        np.negative(loss, out=loss)
        np.exp(loss, out=loss)
        np.log1p(loss, out=loss)
        loss += np.maximum(x, 0)
        loss -= x * z
        return np.add.reduce(loss, axis=None) / loss.size

    def infer(self, x, z):
        if broadcast_shapes(x.shape, z.shape) != x.shape:
            raise ShapeError(f"targets {format_shape(z.shape)} must broadcast to the logits' "
                             f"shape {format_shape(x.shape)}")
        return (), x.dtype

    def backward(self, grad, x, z, out):
        d_targets = multiply(negative(x), divide_by_count(grad, x))
        return sigmoid_cross_entropy_grad(grad, x, z), d_targets


@register
class SigmoidCrossEntropyGrad(Op):
    """out = g * (sigmoid(x) - z) / size(x): the fused loss's backward"""

    broadcasts = (0, 2)     # the scalar g and the targets

    def forward(self, g, x, z):
        out = np.multiply(x, 0.5, dtype=x.dtype)
        np.tanh(out, out=out)                    # sigmoid(x) = (1 + tanh(x / 2)) / 2
        out += 1
        out *= 0.5
        out -= z
        out *= g / out.size
        return out

    def infer(self, g, x, z):
        if g.shape != ():
            raise ShapeError(f"the loss gradient must be a scalar, got {format_shape(g.shape)}")
        return x.shape, x.dtype

    def backward(self, grad, g, x, z, out):
        probability = sigmoid(x)
        d_g = divide_by_count(reduce_sum(multiply(grad, subtract(probability, z))), x)
        scaled = multiply(grad, divide_by_count(g, x))
        return d_g, sigmoid_grad(scaled, probability), negative(scaled)


@register
class L2Loss(Op):
    """out = sum(x ** 2) / 2"""

    def forward(self, x):
        flat = x.ravel()
        return np.asarray(np.dot(flat, flat) * 0.5, dtype=x.dtype)

    def infer(self, x):
        return (), x.dtype

    def backward(self, grad, x, out):
        return (multiply(grad, x),)


@register
class Equal(Op):
    """out = (a == b) elementwise, a boolean array"""

    differentiable = False
    forward = staticmethod(np.equal)

    def infer(self, a, b):
        return broadcast_shapes(a.shape, b.shape), np.dtype(bool)


@register
class Accuracy(Op):
    """out = fraction of rows where argmax(logits) equals the label (index or one-hot row)"""

    differentiable = False

    def forward(self, logits, labels):
        predicted = logits.argmax(axis=-1)
        if labels.ndim == logits.ndim:
            labels = labels.argmax(axis=-1)
        return np.asarray(np.mean(predicted == labels), dtype=self._dtype)

    def infer(self, logits, labels):
        if labels.ndim not in (logits.ndim - 1, logits.ndim):
            raise ShapeError(f"labels {format_shape(labels.shape)} do not fit logits "
                             f"{format_shape(logits.shape)}")
        self._dtype = logits.dtype if logits.dtype.kind == "f" else np.dtype(np.float64)
        return (), self._dtype


# -- the functions users call ---------------------------------------------------------
def softmax(a, axis=-1, name=None):
    """exp(a) / sum(exp(a)) along ``axis``, shifted by the max so it never overflows."""
    return apply(Softmax(axis), (a,), name)


def log_softmax(a, axis=-1, name=None):
    """log(softmax(a)) computed as a - logsumexp(a): finite for any finite logits."""
    return apply(LogSoftmax(axis), (a,), name)


def softmax_cross_entropy(logits, labels, name=None):
    """Mean cross-entropy of softmax(logits) against ``labels``.

    ``labels`` are integer class indices of shape (N,) or one-hot / probability rows (N, K).
    Computed with log-sum-exp, so huge logits stay finite; its gradient is (softmax - t) / N.
    """
    return apply(SoftmaxCrossEntropy(), (logits, labels), name)


def softmax_cross_entropy_grad(g, logits, labels, name=None):
    """g * (softmax(logits) - t) / N: the fused loss's backward, in one kernel."""
    return apply(SoftmaxCrossEntropyGrad(), (g, logits, labels), name)


def sigmoid_cross_entropy(logits, targets, name=None):
    """Mean binary cross-entropy of sigmoid(logits) against ``targets`` in [0, 1]."""
    return apply(SigmoidCrossEntropy(), (logits, targets), name)


def sigmoid_cross_entropy_grad(g, logits, targets, name=None):
    """g * (sigmoid(logits) - targets) / size: the fused loss's backward, in one kernel."""
    return apply(SigmoidCrossEntropyGrad(), (g, logits, targets), name)


def l2_loss(x, name=None):
    """sum(x ** 2) / 2."""
    return apply(L2Loss(), (x,), name)


def equal(a, b, name=None):
    """a == b elementwise (boolean); not differentiable."""
    return apply(Equal(), (a, b), name)


def accuracy(logits, labels, name=None):
    """Fraction of rows whose argmax matches ``labels`` (indices or one-hot); not differentiable."""
    return apply(Accuracy(), (logits, labels), name)


# -- dropout --------------------------------------------------------------------------------
@register
class DropoutMask(Op):
    """out = (u >= rate) / (1 - rate) for u uniform in [0, 1), drawn afresh every run, shaped
    like x"""

    differentiable = False

    def __init__(self, rate=None, seed=None):
        self.rate = rate        # a number, or None when the rate is the op's second input
        self.seed = seed if isinstance(seed, int) else None
        # With no seed the mask is drawn from microflow's default generator at run time, so
        # that mf.set_seed() makes a run reproducible, even after the graph is built.
        self._generator = None if seed is None else as_generator(seed)

    def forward(self, x, rate=None):
        rate = self.rate if rate is None else float(rate)
        if not 0 <= rate < 1:
            raise ValueError(f"the dropout rate must be in [0, 1), got {rate}")
        if rate == 0:
            return np.ones(x.shape, x.dtype)
        generator = self._generator or default_generator()
        keep = generator.random(x.shape) >= rate
        return np.multiply(keep, 1 / (1 - rate), dtype=x.dtype)

    def infer(self, x, rate=None):
        if x.dtype.kind != "f":
            raise ShapeError(f"dropout needs a float tensor, got {describe(x)}")
        if rate is not None and rate.shape != ():
            raise ShapeError(f"the rate {describe(rate)} must be a scalar")
        return x.shape, x.dtype


@register
class Dropout(Op):
    """out = x * mask: x with the dropped elements zeroed and the others scaled by
    1 / (1 - rate)"""

    def __init__(self, rate=None):
        self.rate = rate        # shown in drawings; the mask holds the values

    forward = staticmethod(np.multiply)

    def backward(self, grad, x, mask, out):
        return multiply(grad, mask), None


def dropout(x, rate, seed=None, name=None):
    """``x`` with each element zeroed with probability ``rate``, the others scaled by
    1 / (1 - rate) so that the expected value is unchanged; a fresh mask every run.

    ``rate`` is a number in [0, 1) or a scalar Tensor, so that a graph can switch dropout off
    for evaluation: ``rate = mf.placeholder_with_default(0.0, ())``, fed 0.5 while training
    (``mf.train.fit(..., train_feeds={rate: 0.5})``). The masks come from ``seed`` (an int or
    a numpy Generator) or, when it is None, from microflow's default generator at run time,
    so that ``mf.set_seed`` makes a run reproducible.

    >>> mf.set_seed(0)
    >>> x = mf.constant(np.ones((2, 4)))
    >>> mf.Session().run(mf.dropout(x, 0.5))
    array([[2., 0., 0., 0.],
           [2., 2., 2., 2.]])
    """
    if isinstance(rate, Tensor):
        mask = apply(DropoutMask(None, seed), (x, rate), name="dropout_mask")
        shown = None
    else:
        rate = float(rate)
        if not 0 <= rate < 1:
            raise ValueError(f"dropout(): the rate must be in [0, 1), got {rate}")
        mask = apply(DropoutMask(rate, seed), (x,), name="dropout_mask")
        shown = rate
    return apply(Dropout(shown), (x, mask), name)
