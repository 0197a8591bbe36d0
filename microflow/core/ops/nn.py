"""Neural-network ops: softmax, log-softmax, the fused stable losses, and accuracy."""

from __future__ import annotations

import math

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.ops import kernels
from microflow.core.ops.base import (Op, apply, broadcast_shapes, format_shape, integer,
                                     normalize_axes, register)
from microflow.core.ops.math import exp, multiply, negative, sigmoid, sigmoid_grad, subtract
from microflow.core.ops.reduce import divide_by_count, reduce_sum
from microflow.core.graph import Tensor, read_only_array
from microflow.core.ops.base import describe, result_dtype
from microflow.core.ops.math import sign
from microflow.core.ops.reduce import count_of
from microflow.core.ops.shape import expand_dims
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


def _scaled_softmax_minus_labels(exponentials, sums, scale, flat, positions):
    """``scale * (softmax - onehot(labels))``, written into ``exponentials`` (the rows'
    ``e ** shifted``, whose row sums are ``sums``): ``scale / sums`` is folded into one pass,
    and ``scale`` comes off at the labels' ``positions`` in ``flat``, a view of it."""
    np.divide(scale, sums, sums)
    exponentials *= sums[:, None]
    # ufunc.at on the flat view, the scale in the array's dtype: one fast pass (a Python float
    # or a number of another width takes a slow casting loop, 40 times slower)
    np.subtract.at(flat, positions, exponentials.dtype.type(scale))
    return exponentials


def _softmax_vjp(grad, probabilities, axis):
    """The softmax's backward: y * (g - sum(g * y)), from dy_k/da_j = y_k (delta_kj - y_j)."""
    inner = reduce_sum(multiply(grad, probabilities), axis, keepdims=True)
    return multiply(probabilities, subtract(grad, inner))


@register
class Softmax(Op):
    """out_k = e ** a_k / sum_j e ** a_j along ``axis``"""

    def __init__(self, axis=-1):
        self.axis = integer(axis, "Softmax: axis")

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
        self.axis = integer(axis, "LogSoftmax: axis")

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


def _fits(shape, expected):
    """Whether static ``shape`` can be ``expected`` (None meets any size; 1 stretches nothing)."""
    return len(shape) == len(expected) and all(
        d is None or e is None or d == e for d, e in zip(shape, expected))


def _mismatch(logits, labels, what, needs):
    """The message for labels that do not fit the logits, at build or at run time."""
    return (f"logits {format_shape(logits)} and {what} {format_shape(labels)} do not match: "
            f"{what} need {needs}")


class _SoftmaxCrossEntropyShapes:
    """Shape checks shared by the loss and its gradient: logits (N, K), labels (N,) or (N, K),
    one label row per logits row (a single label row is never stretched over the batch)."""

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
        if not _fits(labels.shape, logits.shape[:labels.ndim]):
            raise ShapeError(self._mismatch(logits.shape, labels.shape))

    def _mismatch(self, logits, labels):
        needs = "one class index per row" if self.sparse else "the logits' shape (N, K)"
        return _mismatch(logits, labels, "labels", needs)

    def rows(self, logits, labels):
        """N, after checking the run-time shapes (the static ones may hold None)."""
        if labels.shape != logits.shape[:labels.ndim]:
            raise ShapeError(self._mismatch(logits.shape, labels.shape))
        return kernels.rows(logits)


@register
class SoftmaxCrossEntropy(_SoftmaxCrossEntropyShapes, Op):
    """out = mean_n [log(sum_k e ** a_nk) - sum_k t_nk a_nk]: cross-entropy of softmax(a), fused"""

    def forward(self, logits, labels):
        rows = self.rows(logits, labels)
        shifted = logits - kernels.row_max(logits)
        log_sum_exp = np.log(kernels.row_sum(np.exp(shifted), keepdims=False))
        if self.sparse:
            flat, positions = kernels.labeled(shifted, labels)
            log_sum_exp -= flat[positions]
            return kernels.mean(log_sum_exp)
        # A masked logit (-inf) meets a label of 0 there: 0 * -inf, taken as 0 below.
        with np.errstate(invalid="ignore"):
            weighted = labels * shifted
        total = np.add.reduce(log_sum_exp * kernels.row_sum(labels, False)
                              - kernels.row_sum(weighted, False)) / rows
        if total != total and np.isinf(shifted).any():
            weighted[labels == 0] = 0
            total = np.add.reduce(log_sum_exp * kernels.row_sum(labels, False)
                                  - kernels.row_sum(weighted, False)) / rows
        return total

    def forward_saving(self, logits, labels):
        """The loss, as ``forward`` computes it, and what the SoftmaxCrossEntropyGrad a plan
        pairs with it needs: ``e ** shifted`` and its row sums (and, for labels, their flat
        positions); the gradient then costs two passes instead of a second softmax."""
        if not self.sparse:         # label rows (soft, masked): forward's own path, bit for bit
            return self.forward(logits, labels), (_softmax(logits, axis=1), None, None, None)
        # (The calls of forward, written out: after a big product, as in a training step,
        # each Python call costs several times what it does warm.)
        rows = len(logits)
        if labels.shape != (rows,) or not rows:
            self.rows(logits, labels)           # raises, naming the shapes (or NoRows)
        shifted = logits - kernels.row_max(logits)
        classes, fortran = shifted.shape[1], kernels.fortran_ordered(shifted)
        positions = kernels.label_positions(labels, classes, fortran)
        # shifted is a ufunc's result (contiguous in its layout): its flat array is a view,
        # read at the labels before exp overwrites it in place
        flat = shifted.ravel("F" if fortran else "C")
        picked = flat[positions]
        exponentials = np.exp(shifted, shifted)
        sums = exponentials @ kernels.ones(classes, exponentials.dtype)     # row sums
        log_sum_exp = np.log(sums)
        log_sum_exp -= picked
        return kernels.total(log_sum_exp) / rows, (exponentials, flat, positions, sums)

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
    """out = g * (sum_k t_nk softmax(a)_n - t_n) / N: the fused loss's backward (the course's
    y - t when each label row sums to 1)"""

    def forward(self, g, logits, labels):
        rows = self.rows(logits, labels)
        if self.sparse:                         # as forward_saved does: the same bits
            exponentials = np.exp(logits - kernels.row_max(logits))
            return _scaled_softmax_minus_labels(exponentials, kernels.row_sum(exponentials, False),
                                                float(g) / rows, *kernels.labeled(exponentials,
                                                                                  labels))
        out = _softmax(logits, axis=1)
        out *= kernels.row_sum(labels)          # a row of soft or masked (all 0) labels
        out -= labels
        out *= float(g) / rows                  # as forward_saved does: the same bits
        return out

    saved_from = "SoftmaxCrossEntropy"      # a plan may hand this op that op's softmax

    def forward_saved(self, saved, g, logits, labels):
        """``forward``, from the softmax SoftmaxCrossEntropy saved on the same inputs (which
        it also checked): written into that array, which has no other user."""
        out, flat, positions, sums = saved
        if self.sparse:
            return _scaled_softmax_minus_labels(out, sums, float(g) / len(logits), flat, positions)
        out *= kernels.row_sum(labels)
        out -= labels
        out *= float(g) / len(logits)           # a Python float: numpy's 0-d arithmetic is slower
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
        if self.sparse:
            d_logits = multiply(_softmax_vjp(grad, probabilities, 1), per_row)
            return d_g, d_logits, None
        # out = (g / N) (r s - t) with r = sum_k t_k: d/da through s, d/dt through r and t.
        row_sums = reduce_sum(labels, 1, keepdims=True)
        d_logits = multiply(_softmax_vjp(grad, probabilities, 1), multiply(per_row, row_sums))
        inner = reduce_sum(multiply(grad, probabilities), 1, keepdims=True)
        d_labels = multiply(subtract(inner, grad), per_row)
        return d_g, d_logits, d_labels


class _SigmoidCrossEntropyShapes:
    """Targets have exactly the logits' shape: one per logit, never stretched over the batch."""

    def check(self, x, z):
        if not _fits(z.shape, x.shape):
            raise ShapeError(_mismatch(x.shape, z.shape, "targets", "the logits' shape"))

    def size(self, x, z):
        """The number of logits, after checking the run-time shapes."""
        if z.shape != x.shape:
            raise ShapeError(_mismatch(x.shape, z.shape, "targets", "the logits' shape"))
        if not x.size:
            raise kernels.NoRows(kernels.NO_ROWS)
        return x.size


@register
class SigmoidCrossEntropy(_SigmoidCrossEntropyShapes, Op):
    """out = mean[max(x, 0) - x z + log(1 + e ** -|x|)]: cross-entropy of sigmoid(x), fused"""

    def forward(self, x, z):
        return self.forward_saving(x, z)[0]

    def forward_saving(self, x, z):
        """The loss, and what the SigmoidCrossEntropyGrad a plan pairs with it makes
        sigmoid(x) from (``_sigmoid_losses``): the two then share their passes."""
        size = self.size(x, z)
        total, saved = _sigmoid_losses(x, z)
        return total / size, saved

    def infer(self, x, z):
        self.check(x, z)
        return (), x.dtype

    def backward(self, grad, x, z, out):
        d_targets = multiply(negative(x), divide_by_count(grad, x))
        return sigmoid_cross_entropy_grad(grad, x, z), d_targets


def _sigmoid_losses(x, z):
    """``(sum of the losses, saved)``: what the gradient makes sigmoid(x) from is the list of
    them for a few logits (Python floats: a numpy call costs more than arithmetic on a few
    numbers), ``(min(x, 0), log(1 + e ** -|x|))`` for more (``_sigmoid_parts``), or None
    where some logit or target is infinite or NaN (the loss then taken the careful way)."""
    if x.size <= kernels.FEW:
        few = _sigmoid_few(x, z)
        if few is not None:
            return few
    x, z = (x.reshape(1), z.reshape(1)) if not x.ndim else (x, z)  # arrays, never numbers
    parts = _sigmoid_parts(x)
    if parts is None:                           # an infinite or NaN logit: the careful way
        loss = _sigmoid_cross_entropies(x, z)
        total = np.add.reduce(loss, axis=None)
        if total != total and np.isinf(x).any():
            total = np.add.reduce(_at_infinite_logits(loss, x, z), axis=None)
        return total, None
    negative, positive, soft = parts
    loss = x * z
    np.subtract(positive, loss, out=loss)       # max(x, 0) - x z: exact for 0/1 targets
    loss += soft
    return kernels.total(loss), (negative, soft)


def _sigmoid_few(x, z):
    """``_sigmoid_losses`` of a few logits, by the same formulas in Python floats (the
    sigmoids a list); None unless the losses are finite."""
    losses, sigmoids = [], []
    for value, target in zip(x.ravel().tolist(), z.ravel().tolist()):
        negative = value if value < 0 else 0.0
        positive = value - negative
        soft = math.log1p(math.exp(negative - positive))
        losses.append((positive - value * target) + soft)
        sigmoids.append(math.exp(negative - soft))
    try:
        total = math.fsum(losses)
    except (ValueError, OverflowError):         # inf - inf, or an overflow on the way
        return None
    return (x.dtype.type(total), sigmoids) if math.isfinite(total) else None


def _sigmoid_parts(x):
    """``(min(x, 0), max(x, 0), log(1 + e ** -|x|))`` for finite logits (None when one is
    infinite or NaN): the loss is max(x, 0) - x z + log(1 + e ** -|x|), and sigmoid(x) =
    e ** (min(x, 0) - log(1 + e ** -|x|)), accurate to a few ulps on both sides of 0 (where
    1 / (1 + e ** -x) is only for x > 0). All three are exact splits of x: no cancellation."""
    # sum x**2 is finite unless some x is infinite or NaN (or the sum overflows): one BLAS
    # pass that spares the errstate block the infinite case needs
    if not math.isfinite(np.vdot(x, x)):
        return None
    # 0 as a 0-d array of x's dtype: no conversion (a Python 0 costs as much as a small kernel)
    negative = np.minimum(x, read_only_array(0, x.dtype))
    positive = x - negative
    soft = negative - positive                  # -|x|
    np.exp(soft, out=soft)
    return negative, positive, np.log1p(soft, out=soft)


def _sigmoid_cross_entropies(x, z):
    """The elementwise losses, exact for finite logits; NaN at infinite ones (see below)."""
    # The overflow-free form of -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)).
    loss = np.abs(x) if x.ndim else np.abs(x, out=np.empty((), x.dtype))  # an array
    # sum |x| is finite unless some x is infinite or NaN (or the sum overflows): one pass
    # that spares the errstate block below, which costs as much as four small kernels.
    finite = np.isfinite(np.add.reduce(loss, axis=None))
    np.negative(loss, out=loss)
    np.exp(loss, out=loss)
    np.log1p(loss, out=loss)
    if finite:
        loss += np.maximum(x, 0)
        loss -= x * z
        return loss
    # max(x, 0) - x z meets inf - inf or inf * 0 only at infinite logits (flagged
    # "invalid" then, never for finite ones): those are redone exactly by the caller.
    with np.errstate(invalid="ignore"):
        loss += np.maximum(x, 0)
        loss -= x * z
    return loss


def _at_infinite_logits(loss, x, z):
    """``loss`` with its entries at x = +-inf set to their limits: (1 - z) x at +inf and -z x
    at -inf, which are 0 for the matching target (0 * inf taken as 0) and inf otherwise."""
    infinite = np.isinf(x)
    weight = np.where(x > 0, 1 - z, z)[infinite]
    loss[infinite] = np.where(weight == 0, 0.0, np.inf)
    return loss


@register
class SigmoidCrossEntropyGrad(_SigmoidCrossEntropyShapes, Op):
    """out = g * (sigmoid(x) - z) / size(x): the fused loss's backward"""

    broadcasts = (0,)       # the scalar g

    def forward(self, g, x, z):
        return self.forward_saved(_sigmoid_losses(x, z)[1], g, x, z)

    saved_from = "SigmoidCrossEntropy"      # a plan may hand this op that op's parts

    def forward_saved(self, saved, g, x, z):
        """``forward``, from the parts SigmoidCrossEntropy saved on the same inputs: written
        into its min(x, 0), which has no other user."""
        size = self.size(x, z)
        if type(saved) is list:                 # the sigmoids of a few logits
            scale = float(g) / size
            return np.array([(sigmoid - target) * scale for sigmoid, target in
                             zip(saved, z.ravel().tolist())], x.dtype).reshape(x.shape)
        if not x.ndim:
            return self.forward_saved(saved, g, x.reshape(1), z.reshape(1)).reshape(())
        if saved is None:                       # an infinite or NaN logit
            out = np.multiply(x, 0.5, dtype=x.dtype)
            np.tanh(out, out=out)               # sigmoid(x) = (1 + tanh(x / 2)) / 2
            out += 1
            out *= 0.5
        else:
            out, soft = saved                   # min(x, 0), log(1 + e ** -|x|)
            out -= soft
            np.exp(out, out=out)
        out -= z
        out *= float(g) / size                  # a Python float: numpy's 0-d arithmetic is slower
        return out

    def infer(self, g, x, z):
        if g.shape != ():
            raise ShapeError(f"the loss gradient must be a scalar, got {format_shape(g.shape)}")
        self.check(x, z)
        return x.shape, x.dtype

    def backward(self, grad, g, x, z, out):
        probability = sigmoid(x)
        d_g = divide_by_count(reduce_sum(multiply(grad, subtract(probability, z))), x)
        scaled = multiply(grad, divide_by_count(g, x))
        return d_g, sigmoid_grad(scaled, probability), negative(scaled)


@register
class SoftmaxCrossEntropyPerExample(_SoftmaxCrossEntropyShapes, Op):
    """out_n = log(sum_k e ** a_nk) - sum_k t_nk a_nk: one cross-entropy of softmax(a) per row"""

    def forward(self, logits, labels):
        self.rows(logits, labels)
        shifted = logits - kernels.row_max(logits)
        log_sum_exp = np.log(kernels.row_sum(np.exp(shifted), keepdims=False))
        if self.sparse:
            flat, positions = kernels.labeled(shifted, labels)
            log_sum_exp -= flat[positions]
            return log_sum_exp
        return log_sum_exp * kernels.row_sum(labels, False) - kernels.row_sum(labels * shifted,
                                                                              False)

    def infer(self, logits, labels):
        self.check(logits, labels)
        return logits.shape[:1], logits.dtype

    def backward(self, grad, logits, labels, out):
        # d out_n / d a_nk = r_n softmax_nk - t_nk with r_n = sum_k t_nk (1 for class indices):
        # N times the fused mean loss's gradient for g = 1, which handles both label forms.
        # d out_n / d t_nk = log_sum_exp_n - a_nk = -log_softmax_nk.
        per_row = expand_dims(grad, 1)
        unit = softmax_cross_entropy_grad(np.ones((), logits.dtype), logits, labels)
        d_logits = multiply(multiply(per_row, unit), count_of(logits, (0,)))
        if self.sparse:
            return d_logits, None
        return d_logits, multiply(per_row, negative(log_softmax(logits, axis=1)))


@register
class SigmoidCrossEntropyPerElement(_SigmoidCrossEntropyShapes, Op):
    """out = max(x, 0) - x z + log(1 + e ** -|x|): one cross-entropy of sigmoid(x) per logit"""

    def forward(self, x, z):
        self.size(x, z)
        loss = _sigmoid_cross_entropies(x, z)
        return _at_infinite_logits(loss, x, z) if np.isinf(x).any() else loss

    def infer(self, x, z):
        self.check(x, z)
        return x.shape, x.dtype

    def backward(self, grad, x, z, out):
        return multiply(grad, subtract(sigmoid(x), z)), negative(multiply(grad, x))


@register
class SquaredError(Op):
    """out = (p - t) ** 2, its mean (``reduction="mean"``), its sum, or each element ("none")"""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, p, t):
        if p.shape != t.shape:
            raise ShapeError(self._mismatch(p.shape, t.shape))
        difference = np.subtract(p, t, dtype=self._dtype)
        if self.reduction == "none":
            return np.square(difference, out=difference)
        flat = difference.reshape(-1)
        total = np.asarray(np.dot(flat, flat), dtype=self._dtype)
        if self.reduction == "sum":
            return total
        if not flat.size:
            raise ValueError("the predictions are empty: a mean over 0 elements is undefined")
        return total / np.asarray(flat.size, self._dtype)

    def infer(self, p, t):
        if not _fits(t.shape, p.shape):
            raise ShapeError(self._mismatch(p.shape, t.shape))
        self._dtype = result_dtype(p, t)
        if self._dtype.kind not in "fc":
            self._dtype = np.dtype(np.float64)
        return (p.shape if self.reduction == "none" else ()), self._dtype

    @staticmethod
    def _mismatch(p, t):
        return (f"predictions {format_shape(p)} and targets {format_shape(t)} do not match: "
                "targets need the predictions' shape (one target each, never stretched)")

    def backward(self, grad, p, t, out):
        # d/dp (p - t) ** 2 = 2 (p - t), divided by the number of elements for the mean
        scale = divide_by_count(grad, p) if self.reduction == "mean" else grad
        d_p = multiply(multiply(scale, subtract(p, t)), 2)
        return d_p, negative(d_p)


@register
class L1Loss(Op):
    """out = sum |x|"""

    def forward(self, x):
        return np.asarray(np.abs(x).sum(), dtype=x.dtype)

    def infer(self, x):
        return (), x.dtype

    def backward(self, grad, x, out):
        return (multiply(grad, sign(x)),)      # 0 at 0


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
        if labels.shape != logits.shape[:labels.ndim]:
            raise ShapeError(self._mismatch(logits.shape, labels.shape))
        predicted = logits.argmax(axis=-1)
        if labels.ndim == logits.ndim:
            labels = labels.argmax(axis=-1)
        matches = np.equal(predicted, labels).reshape(-1)
        return np.asarray(np.count_nonzero(matches) / kernels.rows(matches), dtype=self._dtype)

    def infer(self, logits, labels):
        if logits.ndim == 0 or labels.ndim not in (logits.ndim - 1, logits.ndim) or \
                not _fits(labels.shape, logits.shape[:labels.ndim]):
            raise ShapeError(self._mismatch(logits.shape, labels.shape))
        self._dtype = logits.dtype if logits.dtype.kind == "f" else np.dtype(np.float64)
        return (), self._dtype

    @staticmethod
    def _mismatch(logits, labels):
        return _mismatch(logits, labels, "labels", "one class index per row of logits, or "
                                                   "the logits' shape (one-hot rows)")


# -- the functions users call ---------------------------------------------------------
def softmax(a, axis=-1, name=None):
    """exp(a) / sum(exp(a)) along ``axis``, shifted by the max so it never overflows."""
    return apply(Softmax(axis), (a,), name)


def log_softmax(a, axis=-1, name=None):
    """log(softmax(a)) computed as a - logsumexp(a): finite for any finite logits."""
    return apply(LogSoftmax(axis), (a,), name)


def softmax_cross_entropy(logits, labels, reduction="mean", name=None):
    """Cross-entropy of softmax(logits) against ``labels``: the mean over the rows.

    ``labels`` are integer class indices of shape (N,) or one-hot / probability rows (N, K).
    Each logits row needs its own label (a single label is not stretched over the batch).
    Computed with log-sum-exp, so huge logits stay finite; its gradient is
    (sum_k t_k softmax - t) / N, which is (softmax - t) / N for rows that sum to 1.
    ``reduction="sum"`` gives the sum over the rows, ``"none"`` one loss per row, shape (N,)
    (TensorFlow's ``softmax_cross_entropy_with_logits``).
    """
    if _reduction(reduction, "softmax_cross_entropy") == "mean":
        return apply(SoftmaxCrossEntropy(), (logits, labels), name)
    per_example = apply(SoftmaxCrossEntropyPerExample(), (logits, labels),
                        name if reduction == "none" else None)
    return per_example if reduction == "none" else reduce_sum(per_example, name=name)


_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction, function):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{function}(): reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    return reduction


def softmax_cross_entropy_grad(g, logits, labels, name=None):
    """g * (sum_k t_k softmax(logits) - t) / N: the fused loss's backward, in one kernel."""
    return apply(SoftmaxCrossEntropyGrad(), (g, logits, labels), name)


def sigmoid_cross_entropy(logits, targets, reduction="mean", name=None):
    """Mean binary cross-entropy of sigmoid(logits) against ``targets`` in [0, 1], one target
    per logit (the same shape); exact at infinite logits (0 for the matching target).

    ``reduction="sum"`` gives the sum over all logits, ``"none"`` one loss per logit, shaped
    like them (TensorFlow's ``sigmoid_cross_entropy_with_logits``).
    """
    if _reduction(reduction, "sigmoid_cross_entropy") == "mean":
        return apply(SigmoidCrossEntropy(), (logits, targets), name)
    per_element = apply(SigmoidCrossEntropyPerElement(), (logits, targets),
                        name if reduction == "none" else None)
    return per_element if reduction == "none" else reduce_sum(per_element, name=name)


def sigmoid_cross_entropy_grad(g, logits, targets, name=None):
    """g * (sigmoid(logits) - targets) / size: the fused loss's backward, in one kernel."""
    return apply(SigmoidCrossEntropyGrad(), (g, logits, targets), name)


def mean_squared_error(predictions, targets, reduction="mean", name=None):
    """mean((predictions - targets) ** 2) over all elements; ``targets`` has the predictions'
    shape (one target each, never stretched). ``reduction="sum"`` gives the sum of the squares,
    ``"none"`` each square, shaped like the predictions."""
    return apply(SquaredError(_reduction(reduction, "mean_squared_error")),
                 (predictions, targets), name)


def l1_loss(x, name=None):
    """sum |x| (the L1 norm; its gradient is sign(x), 0 at 0)."""
    return apply(L1Loss(), (x,), name)


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

    def restart(self):
        """Draw the seed's masks from the first one again (an int seed; others: no change)."""
        if self.seed is not None:
            self._generator = as_generator(self.seed)

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
