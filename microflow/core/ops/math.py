"""Elementwise arithmetic and activations, with the fused gradient kernels of the activations."""

from __future__ import annotations

import numpy as np

from microflow.core.graph import Tensor
from microflow.core.ops.base import Op, apply, broadcast_shapes, register, result_dtype


class Binary(Op):
    """An elementwise op of two broadcasting inputs."""

    broadcasts = True

    def infer(self, a, b):
        return broadcast_shapes(a.shape, b.shape), result_dtype(a, b)


@register
class Add(Binary):
    """out = a + b"""

    forward = staticmethod(np.add)

    def backward(self, grad, a, b, out):
        return grad, grad


@register
class Sub(Binary):
    """out = a - b"""

    forward = staticmethod(np.subtract)

    def backward(self, grad, a, b, out):
        return grad, negative(grad)


@register
class Mul(Binary):
    """out = a * b"""

    forward = staticmethod(np.multiply)

    def backward(self, grad, a, b, out):
        return multiply(grad, b), multiply(grad, a)


@register
class Div(Binary):
    """out = a / b (true division: integers give float64, as numpy's do)"""

    forward = staticmethod(np.divide)

    def infer(self, a, b):
        dtype = result_dtype(a, b)
        return broadcast_shapes(a.shape, b.shape), \
            dtype if dtype.kind in "fc" else np.dtype(np.float64)

    def backward(self, grad, a, b, out):
        # d(a/b)/db = -a/b**2 = -out/b
        return divide(grad, b), negative(divide(multiply(grad, out), b))


@register
class Neg(Op):
    """out = -a"""

    forward = staticmethod(np.negative)

    def backward(self, grad, a, out):
        return (negative(grad),)


@register
class Pow(Op):
    """out = a ** p, for a constant exponent p"""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, a):
        return np.power(a, self.exponent, dtype=a.dtype)

    def backward(self, grad, a, out):
        return (multiply(grad, multiply(power(a, self.exponent - 1), self.exponent)),)


@register
class Exp(Op):
    """out = e ** a"""

    forward = staticmethod(np.exp)

    def backward(self, grad, a, out):
        return (multiply(grad, out),)


@register
class Log(Op):
    """out = ln(a), defined for a > 0"""

    forward = staticmethod(np.log)

    def backward(self, grad, a, out):
        return (divide(grad, a),)


@register
class Sqrt(Op):
    """out = sqrt(a), defined for a >= 0"""

    forward = staticmethod(np.sqrt)

    def backward(self, grad, a, out):
        return (divide(grad, multiply(out, 2)),)


@register
class Square(Op):
    """out = a ** 2"""

    forward = staticmethod(np.square)

    def backward(self, grad, a, out):
        return (multiply(grad, multiply(a, 2)),)


@register
class Sigmoid(Op):
    """out = 1 / (1 + e ** -a)"""

    def forward(self, a):
        # 0.5 * (1 + tanh(a / 2)) is the same function and never overflows.
        out = np.asarray(np.multiply(a, 0.5, dtype=a.dtype))   # 0-d results too
        np.tanh(out, out=out)
        out += 1
        out *= 0.5
        return out

    def backward(self, grad, a, out):
        return (sigmoid_grad(grad, out),)


@register
class SigmoidGrad(Op):
    """out = g * y * (1 - y): the sigmoid's backward, from its output y"""

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

    forward = staticmethod(np.tanh)

    def backward(self, grad, a, out):
        return (tanh_grad(grad, out),)


@register
class TanhGrad(Op):
    """out = g * (1 - y ** 2): the tanh's backward, from its output y"""

    def forward(self, g, y):
        out = np.asarray(np.multiply(y, y))
        np.subtract(1, out, out=out)
        out *= g
        return out

    def backward(self, grad, g, y, out):
        # d/dy [g (1 - y**2)] = -2 g y
        return tanh_grad(grad, y), multiply(multiply(grad, g), multiply(y, -2))


@register
class Relu(Op):
    """out = max(a, 0)"""

    def forward(self, a):
        return np.maximum(a, 0, dtype=a.dtype)

    def backward(self, grad, a, out):
        return (relu_grad(grad, out),)


@register
class ReluGrad(Op):
    """out = g where y > 0, else 0: the relu's backward, from its output y"""

    def forward(self, g, y):
        return np.multiply(g, y > 0, dtype=g.dtype)

    def backward(self, grad, g, y, out):
        # Linear in g; the step in y has derivative 0 wherever it is defined.
        return relu_grad(grad, y), None


@register
class Cast(Op):
    """out = a converted to another dtype"""

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
    """a ** exponent for a constant (Python or numpy) number ``exponent``."""
    if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
        raise TypeError("power() takes a constant number as exponent; for a Tensor "
                        "exponent p write exp(p * log(a))")
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

