"""TensorFlow 1's API on microflow: ``import microflow.compat.v1 as tf`` and run a TF1 script.

A thin layer: every TF1 function builds microflow ops in a microflow Graph, ``tf.Session``
runs them with a microflow Session, the optimizers are microflow optimizers with TF1's
update formulas, and ``tf.train.Saver`` writes microflow checkpoints. So a TF1 script's graph
draws with ``mf.viz.draw(tf.get_default_graph())`` (or ``mf.viz.draw(loss.microflow)``).

>>> import microflow.compat.v1 as tf
>>> tf.reset_default_graph()
>>> x = tf.placeholder(tf.float32, [None, 2], name="x")
>>> W = tf.Variable([[1.0], [2.0]], name="W")
>>> y = tf.reduce_sum(tf.matmul(x, W))
>>> with tf.Session() as sess:
...     sess.run(tf.global_variables_initializer())
...     print(sess.run(y, feed_dict={x: [[1.0, 1.0]]}))
3.0

Names outside the subset (docs/tf1.md lists it) raise an ``AttributeError`` saying so.
"""

from microflow.compat.v1 import errors, initializers, nn, train
from microflow.compat.v1._ops import (abs, add, argmax, cast, clip_by_value, concat, constant,
                                      divide, equal, exp, expand_dims, gradients, greater,
                                      greater_equal, group, identity, less, less_equal, log,
                                      matmul, maximum, minimum, multiply, negative, no_op,
                                      not_equal, one_hot, ones, ones_like, placeholder,
                                      placeholder_with_default, pow, reduce_max, reduce_mean,
                                      reduce_min, reduce_sum, reshape, sigmoid, sqrt, square,
                                      squeeze, stack, stop_gradient, subtract, tanh, transpose,
                                      truediv, where, zeros, zeros_like)
from microflow.compat.v1._random import (random_normal, random_uniform, set_random_seed,
                                         truncated_normal)
from microflow.compat.v1._session import InteractiveSession, Session, get_default_session
from microflow.compat.v1._tensors import Operation, Tensor, TensorShape
from microflow.compat.v1._unsupported import module_getattr
from microflow.compat.v1._variables import (AUTO_REUSE, Variable, VariableScope, assign,
                                            assign_add, assign_sub,
                                            get_variable, get_variable_scope, global_variables,
                                            global_variables_initializer,
                                            initialize_all_variables, local_variables_initializer,
                                            name_scope, trainable_variables, variable_scope,
                                            variables_initializer)
from microflow.compat.v1.dtypes import (as_dtype, bool, float16, float32, float64, int8, int16,
                                        int32, int64, uint8)
from microflow.compat.v1.initializers import (constant_initializer, glorot_uniform_initializer,
                                              ones_initializer, random_normal_initializer,
                                              random_uniform_initializer,
                                              truncated_normal_initializer, zeros_initializer)
from microflow.core.graph import Graph, get_default_graph, reset_default_graph

__getattr__ = module_getattr("")
