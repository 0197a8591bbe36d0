"""microflow: a small TensorFlow-style computational-graph library on numpy.

>>> import microflow as mf
>>> x = mf.placeholder((None, 2), name="x")
>>> W = mf.Variable([[1.0], [2.0]], name="W")
>>> y = mf.reduce_sum(x @ W)
>>> (dW,) = mf.gradients(y, [W])
>>> mf.Session().run([y, dW], {x: [[1.0, 1.0]]})
[np.float32(3.0), array([[1.],
       [1.]], dtype=float32)]

The package is layered, each layer importing only those below it:
``core`` (graph, ops, gradients, session), ``training`` (init, layers, optimizers, the fit
loop, checkpoints), ``data`` (preprocessing, datasets, model selection), ``viz`` (drawings,
plots) and ``apps`` (the course's problems, built-in models, the command line).
"""

from microflow.core.errors import FeedError, GraphError, NumericsError, ShapeError
from microflow.core.graph import (Graph, Tensor, Variable, constant, get_default_graph, name_scope,
                                  placeholder, reset_default_graph)
from microflow.core.ops import (accuracy, add, argmax, cast, divide, equal, exp, expand_dims,
                                get_item, identity, l2_loss, log, log_softmax, matmul, multiply,
                                negative, ones_like, power, reduce_mean, reduce_sum, relu, reshape,
                                sigmoid, sigmoid_cross_entropy, softmax, softmax_cross_entropy,
                                sqrt, square, stop_gradient, subtract, tanh, transpose)
from microflow.core.ops import (abs, clip, cos, elu, expm1, gelu, greater,  # noqa: A004
                                greater_equal, leaky_relu, less, less_equal, log1p, maximum,
                                minimum, not_equal, sign, sin, softplus, swish, where,
                                zeros_like, placeholder_with_default, dropout, reduce_max,
                                reduce_min, logsumexp, argmin, concat, stack, split, squeeze,
                                pad, tile, one_hot, gather, mean_squared_error, l1_loss)
from microflow.core.ops import avg_pool, conv2d, max_pool
from microflow.core.gradients import gradients
from microflow.core.session import Session
from microflow.core import errors, files, graph, ops, random, session, testing
from microflow.training import checkpoint, init, layers, optimizers
from microflow.training import loop as train
from microflow.training.checkpoint import CheckpointError, restore, save
from microflow.training.layers import l1_regularization, l2_regularization
from microflow.training.optimizers import trainable_variables
from microflow.training.loop import DivergenceError
from microflow.core.random import set_seed
from microflow import data, viz
from microflow.data import datasets, model_selection
from microflow.apps import models

__version__ = "0.1.0"


def __getattr__(name):
    # mf.plots needs matplotlib, half of the import's time: loaded when first used.
    if name == "plots":
        from microflow.viz import plots
        return plots
    raise AttributeError(f"module 'microflow' has no attribute {name!r}")
