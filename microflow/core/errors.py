"""The exceptions microflow raises; each message names the op, placeholder or file at fault."""


class GraphError(ValueError):
    """A Tensor used with the wrong graph, a cycle, or a graph that cannot be evaluated."""


class ShapeError(ValueError):
    """Shapes or dtypes that do not fit an op, found when the graph is built."""


class FeedError(ValueError):
    """A placeholder not fed, or fed a value of the wrong shape or type."""


class NumericsError(FloatingPointError):
    """An op produced NaN or Inf (raised by ``Session(check_numerics=True)``)."""


__all__ = ['FeedError', 'GraphError', 'NumericsError', 'ShapeError']


def __dir__():
    return __all__
