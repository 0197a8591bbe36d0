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

import numpy as np

from microflow.training import init
from microflow.core.errors import ShapeError
from microflow.core.graph import Tensor, Variable, as_tensor, name_scope
from microflow.core.ops import (add, cast, conv2d as conv2d_op, matmul, max_pool as max_pool_op,
                                multiply, reduce_mean, reduce_sum, relu, reshape, sqrt, square,
                                subtract)
from microflow.core.ops.base import apply, format_shape
from microflow.core.ops.nn import l1_loss
from microflow.core.ops.state import AssignMovingAverage
from microflow.core.random import as_generator


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


def conv2d(x, filters, kernel_size, strides=1, padding="SAME", activation=None, name=None,
           kernel_init=init.glorot_uniform, use_bias=True, bias_init=init.zeros, seed=None):
    """``activation(conv2d(x, W) + b)``: a convolutional layer over NHWC images.

    Parameters
    ----------
    x : Tensor of shape (N, H, W, C_in), C_in known
    filters : int
        The number of filters C_out; ``W`` is (KH, KW, C_in, C_out) and ``b`` is (C_out,).
    kernel_size : int or (int, int)
        The window (KH, KW).
    strides : int or (int, int)
    padding : "SAME" (default: the output keeps H / stride rows), "VALID" or explicit pairs
    activation : callable, optional
        e.g. ``mf.relu``.
    name : str, optional
        The name scope (default ``conv2d``, then ``conv2d_1``...). Drawn collapsed
        (``mf.viz.draw(..., collapse=["conv2d"])``), the layer is one box with its filters'
        shape and strides.
    kernel_init, bias_init, seed
        As for :func:`dense`; the default Glorot uniform counts the window in the fans.

    Examples
    --------
    >>> images = mf.placeholder((None, 28, 28, 1))
    >>> mf.layers.conv2d(images, 8, 5, strides=2, activation=mf.relu).shape
    (None, 14, 14, 8)
    """
    if x.ndim != 4 or x.shape[-1] is None:
        raise ShapeError(f"conv2d layer {name or 'conv2d'!r}: its input {x.name!r} "
                         f"{format_shape(x.shape)} must be images (N, H, W, C) with C known")
    window = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else tuple(kernel_size)
    shape = (*(int(k) for k in window), x.shape[-1], int(filters))
    dtype = x.dtype if x.dtype.kind == "f" else "float32"
    with name_scope(name or "conv2d"):
        W = Variable(kernel_init(shape, seed=seed, dtype=dtype), name="W")
        out = conv2d_op(x, W, strides, padding)
        if use_bias:
            b = Variable(bias_init((int(filters),), seed=seed, dtype=dtype), name="b")
            out = add(out, b)
        if activation is not None:
            out = activation(out)
    return out


def max_pool(x, size=2, strides=None, padding="VALID", name=None):
    """The largest value of each ``size`` window (strides default to the size): see
    :func:`microflow.max_pool`; named ``max_pool`` (``max_pool_1``...)."""
    return max_pool_op(x, size, strides, padding, name=name or "max_pool")


def flatten(x, name=None):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): images into rows for a dense layer.

    >>> mf.layers.flatten(mf.placeholder((None, 12, 12, 50))).shape
    (None, 7200)
    """
    if x.ndim < 1 or None in x.shape[1:]:
        raise ShapeError(f"flatten {name or 'flatten'!r}: every dimension of its input "
                         f"{x.name!r} {format_shape(x.shape)} but the first must be known")
    return reshape(x, (-1, int(np.prod(x.shape[1:], dtype=np.int64))), name=name or "flatten")


def batch_norm(x, training, momentum=0.99, epsilon=1e-3, name=None):
    """Batch normalization (Ioffe & Szegedy, 2015) over every axis but the last (channels).

    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta``, with the batch's mean and
    (biased) variance while ``training`` is true, and with their moving averages otherwise.
    Each training step updates the moving averages, ``m = momentum * m + (1 - momentum) *
    batch value``: the update ops go into ``graph.update_ops``, which ``minimize()`` adds to
    its training op (and ``fit()`` to a training op made otherwise), so nothing has to be
    remembered.

    Parameters
    ----------
    x : Tensor (N, C) or (N, H, W, C), C known
    training : boolean scalar Tensor, or a bool
        Usually a placeholder with a default of False, fed True in the training steps.
    momentum, epsilon : float
    name : str, optional
        The scope of ``gamma``, ``beta`` (trained) and ``moving_mean``, ``moving_variance``
        (not trained), default ``batch_norm``.
    """
    if x.ndim < 2 or x.shape[-1] is None:
        raise ShapeError(f"batch_norm {name or 'batch_norm'!r}: its input {x.name!r} "
                         f"{format_shape(x.shape)} needs a batch axis and a known last axis")
    if not isinstance(training, Tensor):
        training = as_tensor(np.asarray(bool(training)), like=x)
    if training.dtype != np.dtype(bool) or training.shape != ():
        raise ShapeError(f"batch_norm {name or 'batch_norm'!r}: training must be a boolean "
                         f"scalar Tensor, got {training!r}")
    channels = x.shape[-1]
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype("float32")
    axes = tuple(range(x.ndim - 1))
    graph = x.graph
    with name_scope(name or "batch_norm"):
        gamma = Variable(np.ones(channels, dtype), name="gamma")
        beta = Variable(np.zeros(channels, dtype), name="beta")
        moving_mean = Variable(np.zeros(channels, dtype), name="moving_mean", trainable=False)
        moving_variance = Variable(np.ones(channels, dtype), name="moving_variance",
                                   trainable=False)
        batch_mean = reduce_mean(x, axes, name="batch_mean")
        batch_variance = reduce_mean(square(subtract(x, batch_mean)), axes,
                                     name="batch_variance")
        # t * batch + (1 - t) * moving: the batch's statistics in training (t = 1), and no
        # gradient through them otherwise.
        t = cast(training, dtype, name="is_training")
        rest = subtract(1.0, t)
        mean = add(multiply(t, batch_mean), multiply(rest, moving_mean), name="mean")
        variance = add(multiply(t, batch_variance), multiply(rest, moving_variance),
                       name="variance")
        scale = multiply(gamma, 1.0 / sqrt(add(variance, epsilon)), name="scale")
        out = add(multiply(subtract(x, mean), scale), beta, name="normalized")
        for variable, value in ((moving_mean, batch_mean), (moving_variance, batch_variance)):
            with name_scope(variable.name.rsplit("/", 1)[-1]):
                graph.update_ops.append(apply(AssignMovingAverage(momentum),
                                              (variable, value, training), name="update"))
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


def l1_regularization(variables, scale, include_biases=False):
    """``scale * sum(|W|)`` over ``variables``: the lasso penalty, which drives weights to
    exactly 0 (its gradient is scale * sign(W)).

    Biases (Variables of rank 0 or 1) are left out unless ``include_biases``.
    """
    variables = [v for v in variables if include_biases or v.ndim >= 2]
    if not variables:
        raise ValueError("l1_regularization(): no weights to regularize (biases are excluded "
                         "by default)")
    total = l1_loss(variables[0])
    for v in variables[1:]:
        total = add(total, l1_loss(v))
    return multiply(total, scale, name="l1_penalty")


__all__ = ['batch_norm', 'conv2d', 'dense', 'flatten', 'l1_regularization', 'l2_regularization', 'max_pool', 'mlp']


def __dir__():
    return __all__
