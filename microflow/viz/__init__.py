"""Drawing: Graphviz drawings of graphs (``draw``, ``render``, Jupyter display) and matplotlib
plots of what a network learned (``mf.plots``)."""

from microflow.core.graph import set_display_hook
from microflow.viz import graphs, plots
from microflow.viz.graphs import (FORMATS, INSTALL_HINT, MAX_INLINE_NODES, GraphvizNotFound, draw,
                                  mimebundle, render)

set_display_hook(mimebundle)      # a Graph or a Tensor in Jupyter shows its drawing

__all__ = ["graphs", "plots", "FORMATS", "INSTALL_HINT", "MAX_INLINE_NODES", "GraphvizNotFound",
           "draw", "mimebundle", "render"]


def __dir__():
    return __all__
