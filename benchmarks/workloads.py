"""The workloads: what one benchmarked training step computes, and the chains of the scaling
figures.

A workload carries its data and starting weights, so that every implementation starts from
the same place. ``WORKLOADS`` is a plain dict: a new workload is one more entry
(``register(Workload(...))``); a workload that is not a dense MLP names its own step builders
in ``steps`` (implementation name -> function(workload) -> (step, state); one that also
takes ``timings=`` a dict fills in its build and first-step times), and the table
takes whichever of them exist.
"""

from __future__ import annotations

import dataclasses

import numpy as np


_ROWS_DRAWN = 64           # rows of a weight drawn at a time


@dataclasses.dataclass
class Workload:
    name: str
    title: str
    sizes: tuple            # layer widths, input first
    hidden: str             # "tanh" or "relu"
    loss: str               # "binary" (one sigmoid output) or "softmax"
    batch: int
    dtype: str
    lr: float
    big: bool = False       # time longer, measure peak memory, show the GEMMs alone
    steps: dict | None = None   # builders for a workload that is not a dense MLP
    floor: object = None        # with ``steps``: a builder of the step's GEMMs alone

    def data(self):
        """``(X, y)``: inputs, and labels (0/1 columns for "binary", class indices otherwise)."""
        rng = np.random.default_rng(0)
        X = rng.standard_normal((self.batch, self.sizes[0])).astype(self.dtype)
        if self.loss == "binary":
            y = rng.integers(0, 2, (self.batch, 1)).astype(self.dtype)
        else:
            y = rng.integers(0, self.sizes[-1], self.batch).astype(np.int64)
        return X, y

    def weights(self):
        """``[W1, b1, W2, b2, ...]``, Glorot-uniform weights and zero biases (fresh arrays)."""
        return self.draw_weights([np.empty(shape, self.dtype) for fan_in, fan_out in
                                  zip(self.sizes[:-1], self.sizes[1:])
                                  for shape in ((fan_in, fan_out), (fan_out,))])

    def draw_weights(self, params):
        """Write the starting weights into the arrays ``params`` (shaped as ``weights()``'s,
        a Variable's own arrays, say) and return them."""
        rng = np.random.default_rng(1)
        for weight, bias in zip(params[::2], params[1::2]):
            fan_in, fan_out = weight.shape
            limit = np.sqrt(6 / (fan_in + fan_out))
            # Drawn in float64 a few rows at a time (the same numbers as in one draw): a float64
            # copy of a whole FER-sized weight (35 MiB) would be a builder's peak memory.
            for start in range(0, fan_in, _ROWS_DRAWN):
                rows = min(_ROWS_DRAWN, fan_in - start)
                weight[start:start + rows] = rng.uniform(-limit, limit, (rows, fan_out))
            bias[...] = 0
        return params


WORKLOADS: dict[str, Workload] = {}


def register(workload):
    """Add ``workload`` to ``WORKLOADS`` (by its name) and return it."""
    WORKLOADS[workload.name] = workload
    return workload


register(Workload("W1", "XOR 2-4-1 tanh, sigmoid BCE, N=4, float64", (2, 4, 1), "tanh",
                  "binary", 4, "float64", 0.5))
register(Workload("W2", "donut 2-8-2 relu, softmax CE, N=1000, float64", (2, 8, 2), "relu",
                  "softmax", 1000, "float64", 0.1))
register(Workload("W3", "FER MLP 2304-2000-1000-7 relu, batch 500, float32",
                  (2304, 2000, 1000, 7), "relu", "softmax", 500, "float32", 0.01, big=True))
register(Workload("W3-64", "FER MLP 2304-2000-1000-7 relu, batch 500, float64",
                  (2304, 2000, 1000, 7), "relu", "softmax", 500, "float64", 0.01, big=True))
register(Workload("W4", "MNIST MLP 784-256-10 relu, batch 128, float32", (784, 256, 10),
                  "relu", "softmax", 128, "float32", 0.01, big=True))


# -- the scaling chains ------------------------------------------------------------------------
CHAIN_SIZES = (1_000, 10_000, 100_000, 1_000_000)    # the default; --chains picks others


def chain(n):
    """A graph of ``n`` forward ops: ``x`` through ``n - 1`` alternating tanh and scale ops, then
    a sum; returns ``(graph, x, loss)``."""
    import microflow as mf
    graph = mf.Graph()
    with graph.as_default():
        x = mf.Variable(np.linspace(-1.0, 1.0, 8), name="x")
        h = x
        for i in range(n - 1):
            h = mf.tanh(h) if i % 2 == 0 else h * 0.9
        loss = mf.reduce_sum(h)
    return graph, x, loss
