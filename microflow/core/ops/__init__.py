"""All ops, grouped by family; ``REGISTRY`` maps each op's class name to its class."""

from microflow.core.ops.base import REGISTRY, Op, apply, differentiable_ops, register
from microflow.core.ops.math import (add, cast, divide, exp, log, multiply, negative, power, relu,
                                sigmoid, sqrt, square, subtract, tanh)
from microflow.core.ops.shape import (expand_dims, get_item, identity, ones_like, reshape,
                                 stop_gradient, transpose)
from microflow.core.ops.reduce import argmax, broadcast_to, reduce_mean, reduce_sum, sum_to
from microflow.core.ops.linalg import matmul
from microflow.core.ops import state  # noqa: F401  (registers the update ops)
from microflow.core.ops.random import random_normal, random_uniform, truncated_normal
from microflow.core.ops.conv import avg_pool, conv2d, max_pool
from microflow.core.ops.nn import (accuracy, equal, l2_loss, log_softmax, sigmoid_cross_entropy,
                              softmax, softmax_cross_entropy)

__all__ = [
    "REGISTRY", "Op", "apply", "differentiable_ops", "register",
    "add", "subtract", "multiply", "divide", "negative", "power", "exp", "log", "sqrt",
    "square", "sigmoid", "tanh", "relu", "cast", "matmul", "reshape", "transpose",
    "expand_dims", "get_item", "identity", "stop_gradient", "ones_like", "reduce_sum", "reduce_mean",
    "argmax", "sum_to", "broadcast_to", "softmax", "log_softmax", "softmax_cross_entropy",
    "sigmoid_cross_entropy", "l2_loss", "equal", "accuracy",
    "random_normal", "truncated_normal", "random_uniform",
    "conv2d", "max_pool", "avg_pool",
]

# The ops of issue 15: more elementwise math, activations, comparisons and selection.
from microflow.core.ops.math import (abs, clip, cos, elu, expm1, gelu, greater,  # noqa: A004
                                     greater_equal, leaky_relu, less, less_equal, log1p,
                                     maximum, minimum, not_equal, sign, sin, softplus, swish,
                                     where)
from microflow.core.ops.shape import placeholder_with_default, zeros_like
from microflow.core.ops.nn import dropout, l1_loss, mean_squared_error
from microflow.core.ops.reduce import argmin, logsumexp, reduce_max, reduce_min
from microflow.core.ops.shape import (concat, gather, one_hot, pad, split, squeeze, stack,
                                      tile)

__all__ += [
    "sin", "cos", "abs", "sign", "log1p", "expm1", "maximum", "minimum", "clip", "where",
    "greater", "less", "greater_equal", "less_equal", "not_equal", "leaky_relu", "elu",
    "softplus", "gelu", "swish", "zeros_like", "placeholder_with_default", "dropout",
    "reduce_max", "reduce_min", "logsumexp", "argmin", "concat", "stack", "split", "squeeze",
    "pad", "tile", "one_hot", "gather", "mean_squared_error", "l1_loss",
]


def __dir__():
    return __all__
