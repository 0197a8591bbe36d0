"""Built-in example models, each in its own Graph, for the command line and the docs.

>>> from microflow import models
>>> model = models.MODELS["xor"]()
>>> sorted(v.name for v in model.variables)
['hidden/W', 'hidden/b', 'output/W', 'output/b']
>>> sess = mf.Session(model.graph)
>>> for step in range(500):
...     _ = sess.run(model.train_op, model.feed())
>>> float(sess.run(model.accuracy, model.feed()))
1.0

Add a model by writing a function that returns a :class:`Model` and registering it in
``MODELS``; ``microflow draw NAME`` then draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microflow.data import datasets

from microflow.training import layers, optimizers
from microflow.core.graph import Graph, Tensor, placeholder
from microflow.core.ops import accuracy, relu, sigmoid, softmax_cross_entropy, tanh

ACTIVATIONS = {"tanh": tanh, "relu": relu, "sigmoid": sigmoid}


@dataclass
class Model:
    """A classifier's graph and the Tensors a script needs from it.

    ``x`` and ``y`` are the placeholders for features and integer labels; ``train_op`` takes
    one optimizer step on ``loss``; ``data`` is the model's dataset ``(X, labels)``.
    """

    name: str
    x: Tensor
    y: Tensor
    logits: Tensor
    loss: Tensor
    accuracy: Tensor
    train_op: Tensor | None
    variables: list
    graph: Graph
    data: tuple | None = None

    def feed(self, X=None, labels=None):
        """The feed_dict ``{x: X, y: labels}``, by default for the model's own data."""
        if X is None:
            X, labels = self.data
        return {self.x: X, self.y: labels}


def xor(hidden=4, activation="tanh", seed=0, learning_rate=0.5):
    """A two-layer network for the four XOR points: 2 inputs, ``hidden`` units, 2 classes.

    Parameters
    ----------
    hidden : int
        Width of the hidden layer.
    activation : {"tanh", "relu", "sigmoid"}
    seed : int
        For the initial weights.
    learning_rate : float
        Of the SGD optimizer behind ``train_op``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"xor(): unknown activation {activation!r}; choose from "
                         f"{', '.join(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    graph = Graph()
    with graph.as_default():
        x = placeholder((None, 2), name="x")
        y = placeholder((None,), dtype="int64", name="y")
        h = layers.dense(x, hidden, activation=ACTIVATIONS[activation], name="hidden", seed=rng)
        logits = layers.dense(h, 2, name="output", seed=rng)
        loss = softmax_cross_entropy(logits, y, name="loss")
        acc = accuracy(logits, y, name="accuracy")
        train_op = optimizers.SGD(learning_rate).minimize(loss)
    return Model("xor", x, y, logits, loss, acc, train_op,
                 optimizers.trainable_variables(graph), graph, datasets.xor())


MODELS = {"xor": xor}


# -- the course trainers' networks (``microflow train donut|clouds|faces``) -------------------
def _trainer_model(problem, examples, **overrides):
    """The network ``microflow.apps.problems`` trains for ``problem``, as a Model, with
    ``examples`` (standardized like the trainer's) for ``microflow draw --values``."""
    from microflow.data import preprocessing as data
    from microflow.apps import problems as trainers
    cfg = trainers.config(problem, **overrides)
    X, labels = examples
    if cfg.standardize:
        X = data.standardize(X)
    net = trainers.build_network(cfg, X.shape[1], len(trainers.CLASS_NAMES[problem]),
                                 seed=cfg.seed)
    return Model(problem, net.x, net.y, net.logits, net.loss, net.accuracy, net.train_op,
                 net.variables, net.graph, (X, labels))


def donut(**overrides):
    """The donut trainer's network: 2 inputs, 8 relu units, 2 classes; ``overrides`` are
    :class:`microflow.apps.problems.Config` fields (``hidden=(16,)``, ``activation="tanh"``...)."""
    return _trainer_model("donut", datasets.donut(200, seed=0), **overrides)


def clouds(**overrides):
    """The clouds trainer's network: 2 inputs, 8 relu units, 3 classes."""
    return _trainer_model("clouds", datasets.clouds(50, seed=0), **overrides)


def faces(**overrides):
    """The faces trainer's network: 2304 pixels, 256 relu units, 7 expressions, with an L2
    penalty; its data are 14 synthetic faces."""
    return _trainer_model("faces", datasets.synthetic_faces(14, seed=0), **overrides)


MODELS.update(donut=donut, clouds=clouds, faces=faces)
