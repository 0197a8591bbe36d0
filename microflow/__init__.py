"""microflow: a small TensorFlow-style computational-graph library on numpy.

>>> import microflow as mf
>>> x = mf.placeholder((None, 2), name="x")
>>> W = mf.Variable([[1.0], [2.0]], name="W")
>>> y = mf.reduce_sum(x @ W)
>>> (dW,) = mf.gradients(y, [W])
>>> mf.Session().run([y, dW], {x: [[1.0, 1.0]]})
[np.float32(3.0), array([[1.],
       [1.]], dtype=float32)]
"""

from microflow.errors import FeedError, GraphError, NumericsError, ShapeError
from microflow.graph import (Graph, Tensor, Variable, constant, get_default_graph, name_scope,
                             placeholder, reset_default_graph)
from microflow.ops import (accuracy, add, argmax, cast, divide, equal, exp, expand_dims, get_item,
                           identity, l2_loss, log, log_softmax, matmul, multiply, negative,
                           ones_like, power, reduce_mean, reduce_sum, relu, reshape, sigmoid,
                           sigmoid_cross_entropy, softmax, softmax_cross_entropy, sqrt, square,
                           stop_gradient, subtract, tanh, transpose)
from microflow.gradients import gradients
from microflow.session import Session
from microflow import (data, datasets, init, layers, model_selection, models, optimizers,
                       random, testing, train, viz)
from microflow.checkpoint import CheckpointError, restore, save
from microflow.layers import l2_regularization
from microflow.optimizers import trainable_variables
from microflow.random import set_seed
from microflow.train import DivergenceError

__version__ = "0.1.0"
