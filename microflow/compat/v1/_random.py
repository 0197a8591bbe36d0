"""TF1's random ops and seeds: ``tf.set_random_seed`` and the op-level ``seed=`` combine as
in TF1, so a seeded graph repeats its draws in every new Session (the numbers are
microflow's own Generator's, with the same statistics, not TensorFlow's stream)."""

from __future__ import annotations

import microflow as mf
from microflow.compat.v1._tensors import graph_state, wrap
from microflow.compat.v1.dtypes import as_dtype, float32
from microflow.core.ops.random import random_normal as _normal
from microflow.core.ops.random import random_uniform as _uniform
from microflow.core.ops.random import truncated_normal as _truncated

DEFAULT_GRAPH_SEED = 87654321       # TF1's, used when only the op has a seed


def set_random_seed(seed):
    """The default graph's seed: its random ops made from now on draw repeatable numbers."""
    graph_state(mf.get_default_graph()).seed = None if seed is None else int(seed)


def op_seed(seed=None):
    """TF1's pair (graph seed, op seed) for a new random op, or None (fresh every Session)."""
    graph = mf.get_default_graph()
    graph_seed = graph_state(graph).seed
    if graph_seed is None and seed is None:
        return None
    if graph_seed is None:
        graph_seed = DEFAULT_GRAPH_SEED
    if seed is None:
        seed = len(graph.tensors)       # the op's place in the graph, like TF1's op id
    return (graph_seed, int(seed))


def _static_shape(shape):
    from microflow.compat.v1._tensors import unwrap
    if isinstance(unwrap(shape), mf.Tensor):
        raise TypeError("a random op's shape must be a list of ints: microflow's shapes are "
                        "static")
    return tuple(int(d) for d in shape)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Gaussian numbers N(mean, stddev**2), fresh at every run."""
    return wrap(_normal(_static_shape(shape), mean, stddev, as_dtype(dtype), op_seed(seed),
                        name or "random_normal"))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Gaussian numbers redrawn until within 2 stddev of the mean, fresh at every run."""
    return wrap(_truncated(_static_shape(shape), mean, stddev, as_dtype(dtype), op_seed(seed),
                           name or "truncated_normal"))


def random_uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None):
    """Uniform numbers on [minval, maxval) (maxval 1 for floats), fresh at every run."""
    dtype = as_dtype(dtype)
    if maxval is None:
        if dtype.kind != "f":
            raise ValueError(f"random_uniform: maxval must be given for dtype {dtype}")
        maxval = 1.0
    return wrap(_uniform(_static_shape(shape), minval, maxval, dtype, op_seed(seed),
                         name or "random_uniform"))
