"""Layers: functions that create their Variables under a name scope and return a Tensor.

Examples
--------
>>> x = mf.placeholder((None, 2), name="x")
>>> hidden = mf.layers.dense(x, 4, activation=mf.tanh)      # Variables dense/W, dense/b
>>> logits = mf.layers.dense(hidden, 2)                     # dense_1/W, dense_1/b
>>> [v.name for v in mf.trainable_variables()]
['dense/W', 'dense/b', 'dense_1/W', 'dense_1/b']
"""

from __future__ import annotations

from microflow.training import init
from microflow.core.errors import ShapeError
from microflow.core.graph import Variable, name_scope
from microflow.core.ops import add, matmul, multiply, reduce_sum, relu, square
from microflow.core.random import as_generator
from microflow.core.ops.base import format_shape


def dense(x, units, activation=None, name=None, kernel_init=init.glorot_uniform,
          use_bias=True, bias_init=init.zeros, seed=None):
    """``activation(x @ W + b)``: a fully connected layer.

    Parameters
    ----------
    x : Tensor of shape (N, D)
    units : int
        Output width M; ``W`` is (D, M) and ``b`` is (M,).
    activation : callable, optional
        Any unary op (``mf.relu``, ``mf.tanh``, ``mf.sigmoid``...); None for a linear layer.
    name : str, optional
        The name scope of the layer's Variables and ops (default ``dense``, then
        ``dense_1``...).
    kernel_init, bias_init : initializers from ``mf.init``
    seed : None, int or numpy Generator
        For the initial weights (None follows ``mf.set_seed``).
    """
    if x.ndim < 1 or x.shape[-1] is None:
        raise ShapeError(f"dense layer {name or 'dense'!r}: the last dimension of its input "
                         f"{x.name!r} {format_shape(x.shape)} must be known")
    fan_in = x.shape[-1]
    dtype = x.dtype if x.dtype.kind == "f" else "float32"
    with name_scope(name or "dense"):
        W = Variable(kernel_init((fan_in, int(units)), seed=seed, dtype=dtype), name="W")
        out = matmul(x, W)
        if use_bias:
            b = Variable(bias_init((int(units),), seed=seed, dtype=dtype), name="b")
            out = add(out, b)
        if activation is not None:
            out = activation(out)
    return out


def mlp(x, hidden_sizes, out_units, activation=relu, name=None, kernel_init=None, seed=None):
    """Stacked dense layers: ``hidden_sizes`` hidden layers with ``activation``, then a linear
    layer of ``out_units``; returns the logits.

    The weights start from He initialization for relu and Glorot for other activations.
    """
    seed = as_generator(seed)           # one stream for all layers: no two start alike
    if kernel_init is None:
        kernel_init = init.he_uniform if activation is relu else init.glorot_uniform
    out = x
    with name_scope(name or "mlp"):
        for units in hidden_sizes:
            out = dense(out, units, activation=activation, kernel_init=kernel_init, seed=seed)
        return dense(out, out_units, kernel_init=init.glorot_uniform, seed=seed, name="logits")


def l2_regularization(variables, scale, include_biases=False):
    """``scale * sum(W ** 2)`` over ``variables`` (the course's penalty).

    Biases (Variables of rank 0 or 1) are left out unless ``include_biases``.
    """
    variables = [v for v in variables if include_biases or v.ndim >= 2]
    if not variables:
        raise ValueError("l2_regularization(): no weights to regularize (biases are excluded "
                         "by default)")
    total = reduce_sum(square(variables[0]))
    for v in variables[1:]:
        total = add(total, reduce_sum(square(v)))
    return multiply(total, scale, name="l2_penalty")


__all__ = ['dense', 'l2_regularization', 'mlp']


def __dir__():
    return __all__
