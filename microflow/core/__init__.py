"""The engine: graphs and Tensors, the ops and their backward rules, the gradient walk and the
Session. It imports nothing from the layers above it (training, data, viz, apps, compat)."""

from microflow.core.errors import FeedError, GraphError, NumericsError, ShapeError
from microflow.core.graph import (Graph, Tensor, Variable, constant, get_default_graph, name_scope,
                                  placeholder, reset_default_graph)
from microflow.core.gradients import gradients
from microflow.core.session import Session
from microflow.core import ops, random, testing

__all__ = ["FeedError", "GraphError", "NumericsError", "ShapeError", "Graph", "Tensor", "Variable",
           "constant", "get_default_graph", "name_scope", "placeholder", "reset_default_graph",
           "gradients", "Session", "ops", "random", "testing"]


def __dir__():
    return __all__
