"""Drawing: Graphviz drawings of graphs (``draw``, ``render``, Jupyter display) and matplotlib
plots of what a network learned (``mf.plots``)."""

from microflow.core.graph import set_display_hook
from microflow.viz import graphs
from microflow.viz.graphs import (FORMATS, INSTALL_HINT, MAX_INLINE_NODES, GraphvizNotFound, draw,
                                  mimebundle, render)

set_display_hook(mimebundle)      # a Graph or a Tensor in Jupyter shows its drawing

__all__ = ["graphs", "plots", "FORMATS", "INSTALL_HINT", "MAX_INLINE_NODES", "GraphvizNotFound",
           "draw", "mimebundle", "render"]


def __dir__():
    return __all__


def __getattr__(name):
    # The plots need matplotlib, half of `import microflow`'s time: imported on first use.
    if name == "plots":
        import importlib
        return importlib.import_module("microflow.viz.plots")
    raise AttributeError(f"module 'microflow.viz' has no attribute {name!r}")
