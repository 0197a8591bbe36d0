"""Elementwise arithmetic and activations, with the fused gradient kernels of the activations."""

from __future__ import annotations

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.graph import Tensor, as_tensor
from microflow.core.ops.base import Op, apply, broadcast_shapes, into_clause, register, \
    result_dtype, typed_constant
from microflow.core.ops.shape import zeros_like


class Binary(Op):
    """An elementwise op of two broadcasting inputs (a numpy ufunc: it takes ``out=``)."""

    broadcasts = True

    def infer(self, a, b):
        return broadcast_shapes(a.shape, b.shape), result_dtype(a, b)


@register
class Add(Binary):
    """out = a + b"""

    fresh = True
    inplace = (0, 1)        # a ufunc: it takes out=
    forward = staticmethod(np.add)

    def backward(self, grad, a, b, out):
        return grad, grad


@register
class Sub(Binary):
    """out = a - b"""

    fresh = True
    inplace = (0, 1)        # a ufunc: it takes out=
    forward = staticmethod(np.subtract)

    def backward(self, grad, a, b, out):
        return grad, negative(grad)


@register
class Mul(Binary):
    """out = a * b"""

    fresh = True
    inplace = (0, 1)        # a ufunc: it takes out=
    forward = staticmethod(np.multiply)

    def backward(self, grad, a, b, out):
        return (multiply(grad, b) if self.needs_gradient(0) else None,
                multiply(grad, a) if self.needs_gradient(1) else None)


@register
class Div(Binary):
    """out = a / b (true division: integers give float64, as numpy's do)"""

    fresh = True
    inplace = (0, 1)        # a ufunc: it takes out=
    forward = staticmethod(np.divide)

    def infer(self, a, b):
        dtype = result_dtype(a, b)
        return broadcast_shapes(a.shape, b.shape), \
            dtype if dtype.kind in "fc" else np.dtype(np.float64)

    def backward(self, grad, a, b, out):
        # d(a/b)/db = -a/b**2 = -out/b
        return (divide(grad, b) if self.needs_gradient(0) else None,
                negative(divide(multiply(grad, out), b)) if self.needs_gradient(1) else None)


@register
class Neg(Op):
    """out = -a"""

    fresh = True
    inplace = (0,)          # a ufunc: it takes out=
    forward = staticmethod(np.negative)

    def backward(self, grad, a, out):
        return (negative(grad),)


@register
class Pow(Op):
    """out = a ** p, for a constant exponent p"""

    def __init__(self, exponent):
        self.exponent = exponent

    fresh = True

    def forward(self, a):
        return np.power(a, self.exponent, dtype=a.dtype)

    def backward(self, grad, a, out):
        return (multiply(grad, multiply(power(a, self.exponent - 1), self.exponent)),)


@register
class Exp(Op):
    """out = e ** a"""

    fresh = True
    inplace = (0,)          # a ufunc: it takes out=
    forward = staticmethod(np.exp)

    def backward(self, grad, a, out):
        return (multiply(grad, out),)


@register
class Log(Op):
    """out = ln(a), defined for a > 0"""

    fresh = True
    inplace = (0,)          # a ufunc: it takes out=
    forward = staticmethod(np.log)

    def backward(self, grad, a, out):
        return (divide(grad, a),)


@register
class Sqrt(Op):
    """out = sqrt(a), defined for a >= 0"""

    fresh = True
    inplace = (0,)          # a ufunc: it takes out=
    forward = staticmethod(np.sqrt)

    def backward(self, grad, a, out):
        return (divide(grad, multiply(out, 2)),)


@register
class Square(Op):
    """out = a ** 2"""

    fresh = True
    inplace = (0,)          # a ufunc: it takes out=
    forward = staticmethod(np.square)

    def backward(self, grad, a, out):
        return (multiply(grad, multiply(a, 2)),)


@register
class Sigmoid(Op):
    """out = 1 / (1 + e ** -a)"""

    fresh = True
    inplace = (0,)

    def forward(self, a, out=None):
        # 0.5 * (1 + tanh(a / 2)) is the same function and never overflows.
        out = np.asarray(np.multiply(a, 0.5, out=out, dtype=a.dtype))   # 0-d results too
        np.tanh(out, out=out)
        out += 1
        out *= 0.5
        return out

    def backward(self, grad, a, out):
        return (sigmoid_grad(grad, out),)


@register
class SigmoidGrad(Op):
    """out = g * y * (1 - y): the sigmoid's backward, from its output y"""

    fresh = True

    def forward(self, g, y):
        out = np.subtract(1, y, dtype=y.dtype)
        out *= y
        out *= g
        return out

    def backward(self, grad, g, y, out):
        # d/dy [g y (1 - y)] = g (1 - 2y)
        return sigmoid_grad(grad, y), multiply(multiply(grad, g), subtract(1, multiply(y, 2)))


@register
class Tanh(Op):
    """out = tanh(a)"""

    fresh = True
    inplace = (0,)          # a ufunc: it takes out=
    forward = staticmethod(np.tanh)

    def backward(self, grad, a, out):
        return (tanh_grad(grad, out),)


@register
class TanhGrad(Op):
    """out = g * (1 - y ** 2): the tanh's backward, from its output y"""

    fresh = True
    inplace = (0,)

    def forward(self, g, y, out=None):
        factor = np.asarray(np.multiply(y, y))
        np.subtract(1, factor, out=factor)
        if out is None:
            factor *= g
            return factor
        return np.multiply(g, factor, out=out)

    def infer(self, g, y):
        self._dtype, self._array = g.dtype, bool(g.shape)
        return g.shape, g.dtype

    _functions = {}         # dtype -> (the name of 1 in it, the functions the source calls)

    def inline(self, args, into):
        if not self._array:                     # numpy's scalar arithmetic gives no 0-d array
            return None
        made = self._functions.get(self._dtype)
        if made is None:                        # (a long chain's plan inlines it many times)
            one, value = typed_constant(1, self._dtype)
            made = self._functions[self._dtype] = \
                one, {"_multiply": np.multiply, "_subtract": np.subtract, one: value}
        (one, functions), (g, y) = made, args
        return f"_multiply({g}, _subtract({one}, _multiply({y}, {y})){into_clause(into)})", \
            functions

    def backward(self, grad, g, y, out):
        # d/dy [g (1 - y**2)] = -2 g y
        return tanh_grad(grad, y), multiply(multiply(grad, g), multiply(y, -2))


@register
class Relu(Op):
    """out = max(a, 0)"""

    fresh = True
    inplace = (0,)

    def forward(self, a, out=None):
        return np.maximum(a, 0, out=out, dtype=a.dtype)

    def infer(self, a):
        self._dtype = a.dtype
        return a.shape, a.dtype

    def inline(self, args, into):
        zero, value = typed_constant(0, self._dtype)    # no conversion, no dtype=
        return f"_maximum({args[0]}, {zero}{into_clause(into, np.maximum)})", \
            {"_maximum": np.maximum, zero: value}

    def backward(self, grad, a, out):
        return (relu_grad(grad, out),)


@register
class ReluGrad(Op):
    """out = g where y > 0, else 0: the relu's backward, from its output y"""

    fresh = True
    inplace = (0,)

    def forward(self, g, y, out=None):
        return np.multiply(g, y > 0, out=out, dtype=g.dtype)

    def infer(self, g, y):
        self._dtype = y.dtype
        return g.shape, g.dtype

    def inline(self, args, into):
        (zero, value), (g, y) = typed_constant(0, self._dtype), args
        # g times a bool array is g's dtype already: dtype= would only slow the call down
        return f"_multiply({g}, _greater({y}, {zero}){into_clause(into)})", \
            {"_multiply": np.multiply, "_greater": np.greater, zero: value}

    def backward(self, grad, g, y, out):
        # Linear in g; the step in y has derivative 0 wherever it is defined.
        return relu_grad(grad, y), None


@register
class Cast(Op):
    """out = a converted to another dtype"""

    views = True            # a itself, when it has the dtype already

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, a):
        return a.astype(self.dtype, copy=False)

    def infer(self, a):
        return a.shape, self.dtype

    def backward(self, grad, a, out):
        if a.dtype.kind not in "fc" or self.dtype.kind not in "fc":
            return (None,)
        return (cast(grad, a.dtype),)


# -- the functions users call ---------------------------------------------------------
def add(a, b, name=None):
    """a + b, broadcasting like numpy."""
    return apply(Add(), (a, b), name)


def subtract(a, b, name=None):
    """a - b, broadcasting like numpy."""
    return apply(Sub(), (a, b), name)


def multiply(a, b, name=None):
    """a * b elementwise, broadcasting like numpy."""
    return apply(Mul(), (a, b), name)


def divide(a, b, name=None):
    """a / b elementwise, broadcasting like numpy."""
    return apply(Div(), (a, b), name)


def negative(a, name=None):
    """-a."""
    return apply(Neg(), (a,), name)


def power(a, exponent, name=None):
    """a ** exponent, broadcasting; also written ``a ** b`` and ``2 ** b`` on Tensors.

    A constant number ``exponent`` makes a ``Pow`` op; a Tensor (or array) exponent, or a
    number raised to a Tensor, makes a ``Power`` op, which differentiates both inputs (the
    exponent's gradient a ** b ln(a) is taken as 0 where a <= 0, where it is not defined).
    """
    if isinstance(exponent, Tensor) or np.ndim(exponent) != 0 or not isinstance(a, Tensor):
        return apply(Power(), (a, exponent), name)
    return apply(Pow(exponent), (a,), name)


def exp(a, name=None):
    """e ** a."""
    return apply(Exp(), (a,), name)


def log(a, name=None):
    """Natural logarithm."""
    return apply(Log(), (a,), name)


def sqrt(a, name=None):
    """Square root."""
    return apply(Sqrt(), (a,), name)


def square(a, name=None):
    """a ** 2."""
    return apply(Square(), (a,), name)


def sigmoid(a, name=None):
    """The logistic function 1 / (1 + exp(-a))."""
    return apply(Sigmoid(), (a,), name)


def tanh(a, name=None):
    """Hyperbolic tangent."""
    return apply(Tanh(), (a,), name)


def relu(a, name=None):
    """max(a, 0)."""
    return apply(Relu(), (a,), name)


def cast(a, dtype, name=None):
    """``a`` converted to ``dtype``."""
    return apply(Cast(dtype), (a,), name)


def sigmoid_grad(g, y, name=None):
    """g * y * (1 - y): the sigmoid's backward from its output y (a fused kernel)."""
    return apply(SigmoidGrad(), (g, y), name)


def tanh_grad(g, y, name=None):
    """g * (1 - y ** 2): the tanh's backward from its output y (a fused kernel)."""
    return apply(TanhGrad(), (g, y), name)


def relu_grad(g, y, name=None):
    """g where y > 0, else 0: the relu's backward from its output y."""
    return apply(ReluGrad(), (g, y), name)



# -- more elementwise ops: trigonometry, magnitudes, comparisons, selection ------------------
@register
class Sin(Op):
    """out = sin(a)"""

    forward = staticmethod(np.sin)

    def backward(self, grad, a, out):
        return (multiply(grad, cos(a)),)


@register
class Cos(Op):
    """out = cos(a)"""

    forward = staticmethod(np.cos)

    def backward(self, grad, a, out):
        return (negative(multiply(grad, sin(a))),)


@register
class Abs(Op):
    """out = |a|"""

    forward = staticmethod(np.abs)

    def backward(self, grad, a, out):
        # sign(0) = 0: the subgradient 0 at the kink, as TensorFlow and PyTorch take it.
        return (multiply(grad, sign(a)),)


@register
class Sign(Op):
    """out = -1, 0 or 1 as a < 0, a = 0 or a > 0"""

    forward = staticmethod(np.sign)

    def backward(self, grad, a, out):
        # Flat wherever it is defined: the gradient is 0 (not None, so gradients() gives zeros).
        return (zeros_like(a),)


@register
class Log1p(Op):
    """out = ln(1 + a), accurate for small a; defined for a > -1"""

    forward = staticmethod(np.log1p)

    def backward(self, grad, a, out):
        return (divide(grad, add(a, 1)),)


@register
class Expm1(Op):
    """out = e ** a - 1, accurate for small a"""

    forward = staticmethod(np.expm1)

    def backward(self, grad, a, out):
        return (multiply(grad, add(out, 1)),)


@register
class Power(Binary):
    """out = a ** b, both inputs Tensors (broadcasting); for a constant exponent see Pow"""

    inplace = ()            # its forward takes no out= (it fixes the dtype instead)

    def forward(self, a, b):
        return np.power(a, b, dtype=self._dtype)

    def infer(self, a, b):
        shape, dtype = super().infer(a, b)
        self._dtype = dtype if dtype.kind in "fc" else np.dtype(np.float64)
        return shape, self._dtype

    def backward(self, grad, a, b, out):
        # d/da = b a ** (b - 1); d/db = a ** b ln(a), which is defined for a > 0 only: there
        # it is taken as 0 (TensorFlow's rule), through ln(1) so that no warning is raised.
        # Where b = 0, out = 1 whatever a is: d/da = 0 (the formula would give 0 * inf at a = 0).
        d_a = where(not_equal(b, 0), multiply(grad, multiply(b, power(a, subtract(b, 1)))), 0)
        safe_a = where(greater(a, 0), a, 1)
        d_b = multiply(grad, multiply(out, log(safe_a)))
        return d_a, d_b


class Compare(Binary):
    """An elementwise comparison: a boolean array, no gradient."""

    differentiable = False

    def infer(self, a, b):
        return broadcast_shapes(a.shape, b.shape), np.dtype(bool)


@register
class Greater(Compare):
    """out = a > b"""

    forward = staticmethod(np.greater)


@register
class Less(Compare):
    """out = a < b"""

    forward = staticmethod(np.less)


@register
class GreaterEqual(Compare):
    """out = a >= b"""

    forward = staticmethod(np.greater_equal)


@register
class LessEqual(Compare):
    """out = a <= b"""

    forward = staticmethod(np.less_equal)


@register
class NotEqual(Compare):
    """out = a != b"""

    forward = staticmethod(np.not_equal)


@register
class Where(Op):
    """out = a where condition holds, else b (all three broadcast)"""

    broadcasts = True

    def forward(self, condition, a, b):
        return np.where(condition, a, b).astype(self._dtype, copy=False)

    def infer(self, condition, a, b):
        if condition.dtype != np.dtype(bool):
            raise ShapeError(f"the condition {condition.name!r} must be a boolean Tensor (a "
                             f"comparison such as mf.greater), got dtype {condition.dtype}")
        self._dtype = result_dtype(a, b)
        return broadcast_shapes(condition.shape, a.shape, b.shape), self._dtype

    def backward(self, grad, condition, a, b, out):
        return None, where(condition, grad, 0), where(condition, 0, grad)


@register
class Maximum(Binary):
    """out = max(a, b) elementwise"""

    forward = staticmethod(np.maximum)

    def backward(self, grad, a, b, out):
        # A tie sends the whole gradient to a (TensorFlow's rule; JAX splits it in halves).
        to_a = greater_equal(a, b)
        return where(to_a, grad, 0), where(to_a, 0, grad)


@register
class Minimum(Binary):
    """out = min(a, b) elementwise"""

    forward = staticmethod(np.minimum)

    def backward(self, grad, a, b, out):
        # A tie sends the whole gradient to a (TensorFlow's rule; JAX splits it in halves).
        to_a = less_equal(a, b)
        return where(to_a, grad, 0), where(to_a, 0, grad)


@register
class Clip(Op):
    """out = min(max(a, low), high)"""

    broadcasts = True

    def forward(self, a, low, high):
        return np.clip(a, low, high).astype(self._dtype, copy=False)

    def infer(self, a, low, high):
        self._dtype = a.dtype
        return broadcast_shapes(a.shape, low.shape, high.shape), a.dtype

    def backward(self, grad, a, low, high, out):
        # On the closed interval low <= a <= high the gradient goes to a (the bounds pass it,
        # as in TensorFlow); below it to low, above it to high.
        below, above = less(a, low), greater(a, high)
        d_a = where(below, 0, where(above, 0, grad))
        return d_a, where(below, grad, 0), where(above, grad, 0)


# -- more activations ---------------------------------------------------------------------------
@register
class LeakyRelu(Op):
    """out = a where a > 0, else alpha * a"""

    def __init__(self, alpha=0.2):
        self.alpha = float(alpha)

    def forward(self, a):
        return np.where(a > 0, a, a * np.asarray(self.alpha, a.dtype))

    def backward(self, grad, a, out):
        # At a = 0 the slope taken is alpha (the left one, as TensorFlow does).
        return (where(greater(a, 0), grad, multiply(grad, self.alpha)),)


@register
class Elu(Op):
    """out = a where a > 0, else alpha * (e ** a - 1)"""

    def __init__(self, alpha=1.0):
        self.alpha = float(alpha)

    def forward(self, a):
        # expm1 of min(a, 0): the branch not taken never overflows.
        negative_part = np.expm1(np.minimum(a, 0)) * np.asarray(self.alpha, a.dtype)
        return np.where(a > 0, a, negative_part)

    def backward(self, grad, a, out):
        # For a <= 0, d/da alpha (e ** a - 1) = alpha e ** a = out + alpha.
        return (where(greater(a, 0), grad, multiply(grad, add(out, self.alpha))),)


@register
class Softplus(Op):
    """out = ln(1 + e ** a), computed as logaddexp(0, a): finite for any finite a"""

    def forward(self, a):
        return np.logaddexp(np.zeros((), a.dtype), a)

    def backward(self, grad, a, out):
        return (multiply(grad, sigmoid(a)),)


_GELU_C = float(np.sqrt(2 / np.pi))
_GELU_K = 0.044715


@register
class Gelu(Op):
    """out = a (1 + tanh(c (a + k a ** 3))) / 2, c = sqrt(2 / pi), k = 0.044715 (the tanh
    approximation of a Phi(a))"""

    def forward(self, a):
        inner = np.tanh(_GELU_C * (a + _GELU_K * a ** 3))
        return (0.5 * a * (1 + inner)).astype(a.dtype, copy=False)

    def backward(self, grad, a, out):
        # With t = tanh(u), u = c (a + k a^3): d/da = (1 + t) / 2 + a (1 - t^2) c (1 + 3 k a^2) / 2
        t = tanh(multiply(add(a, multiply(power(a, 3), _GELU_K)), _GELU_C))
        slope = multiply(add(multiply(square(a), 3 * _GELU_K), 1), _GELU_C)
        derivative = add(multiply(add(t, 1), 0.5),
                         multiply(multiply(a, tanh_grad(slope, t)), 0.5))
        return (multiply(grad, derivative),)


@register
class Swish(Op):
    """out = a sigmoid(a)"""

    def forward(self, a):
        return a * Sigmoid.forward(self, a)

    def backward(self, grad, a, out):
        # d/da a s = s + a s (1 - s) = s + out (1 - s), with s = sigmoid(a)
        s = sigmoid(a)
        return (multiply(grad, add(s, multiply(out, subtract(1, s)))),)


def sin(a, name=None):
    """Sine (radians)."""
    return apply(Sin(), (a,), name)


def cos(a, name=None):
    """Cosine (radians)."""
    return apply(Cos(), (a,), name)


def abs(a, name=None):     # noqa: A001  (mf.abs, like np.abs and tf.abs)
    """|a| elementwise; its gradient is sign(a), 0 at 0."""
    return apply(Abs(), (a,), name)


def sign(a, name=None):
    """-1, 0 or 1 elementwise; its gradient is 0."""
    return apply(Sign(), (a,), name)


def log1p(a, name=None):
    """ln(1 + a), accurate where a is tiny."""
    return apply(Log1p(), (a,), name)


def expm1(a, name=None):
    """e ** a - 1, accurate where a is tiny."""
    return apply(Expm1(), (a,), name)


def greater(a, b, name=None):
    """a > b elementwise (boolean), broadcasting; also written ``a > b`` on Tensors."""
    return apply(Greater(), (a, b), name)


def less(a, b, name=None):
    """a < b elementwise (boolean), broadcasting; also written ``a < b`` on Tensors."""
    return apply(Less(), (a, b), name)


def greater_equal(a, b, name=None):
    """a >= b elementwise (boolean), broadcasting; also written ``a >= b`` on Tensors."""
    return apply(GreaterEqual(), (a, b), name)


def less_equal(a, b, name=None):
    """a <= b elementwise (boolean), broadcasting; also written ``a <= b`` on Tensors."""
    return apply(LessEqual(), (a, b), name)


def not_equal(a, b, name=None):
    """a != b elementwise (boolean), broadcasting. (``!=`` and ``==`` on Tensors stay Python's
    identity tests, so that Tensors can be dict keys: use this and ``mf.equal``.)"""
    return apply(NotEqual(), (a, b), name)


def where(condition, a, b, name=None):
    """``a`` where the boolean ``condition`` holds, else ``b``; all three broadcast.

    The gradient flows to ``a`` where the condition holds and to ``b`` elsewhere.

    >>> x = mf.constant([-2.0, 3.0])
    >>> mf.Session().run(mf.where(x > 0, x, 0.0))
    array([0., 3.], dtype=float32)
    """
    if not isinstance(condition, Tensor):
        condition = np.asarray(condition)   # stays boolean, whatever the branches' dtype
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is not None:        # numbers take the dtype of the branch that is a Tensor
        a, b = as_tensor(a, like=like), as_tensor(b, like=like)
    return apply(Where(), (condition, a, b), name)


def maximum(a, b, name=None):
    """max(a, b) elementwise, broadcasting.

    The gradient goes to the larger input; on a tie all of it goes to ``a`` (TensorFlow's
    rule; JAX splits a tie's gradient equally between the two).
    """
    return apply(Maximum(), (a, b), name)


def minimum(a, b, name=None):
    """min(a, b) elementwise, broadcasting.

    The gradient goes to the smaller input; on a tie all of it goes to ``a`` (TensorFlow's
    rule; JAX splits a tie's gradient equally between the two).
    """
    return apply(Minimum(), (a, b), name)


def clip(a, low, high, name=None):
    """``a`` limited to ``[low, high]`` (numbers or Tensors, broadcasting).

    The gradient is passed to ``a`` on the closed interval ``low <= a <= high`` (the bounds
    included, TensorFlow's rule) and is 0 outside it.
    """
    return apply(Clip(), (a, low, high), name)


def leaky_relu(a, alpha=0.2, name=None):
    """a where a > 0, else alpha * a."""
    return apply(LeakyRelu(alpha), (a,), name)


def elu(a, alpha=1.0, name=None):
    """a where a > 0, else alpha * (exp(a) - 1)."""
    return apply(Elu(alpha), (a,), name)


def softplus(a, name=None):
    """ln(1 + exp(a)), a smooth relu; stable for large |a|. Its gradient is sigmoid(a)."""
    return apply(Softplus(), (a,), name)


def gelu(a, name=None):
    """The Gaussian error linear unit, in its tanh approximation
    a (1 + tanh(sqrt(2 / pi) (a + 0.044715 a ** 3))) / 2."""
    return apply(Gelu(), (a,), name)


def swish(a, name=None):
    """a * sigmoid(a) (also called SiLU)."""
    return apply(Swish(), (a,), name)
