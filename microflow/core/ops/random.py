"""Random ops: every run of the graph draws fresh numbers, from a Generator each op owns.

An op made with a ``seed`` draws the same sequence every time it is ``restart()``-ed (TF1's
``Session`` restarts them, so a seeded graph repeats its draws in a new Session); without a
seed its Generator is a child of ``microflow.random``'s default one, so ``mf.set_seed`` makes
a script reproducible. The ops have no inputs and no gradient.
"""

from __future__ import annotations

import numpy as np

from microflow.core.ops.base import Op, apply, register
from microflow.core.random import as_generator


class RandomOp(Op):
    """Base of the random ops: a static ``shape`` and ``dtype``, and a Generator."""

    differentiable = False

    def __init__(self, shape, dtype="float32", seed=None):
        self.shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in self.shape):
            raise ValueError(f"{type(self).__name__}: invalid shape {self.shape}")
        self.dtype = np.dtype(dtype)
        self.seed = seed
        self.restart()

    def restart(self):
        """Start the draws again: from the seed's first number when seeded, else afresh."""
        seed = self.seed
        if isinstance(seed, tuple | list):
            seed = [int(s) for s in seed]      # e.g. (graph seed, op seed), as TF1 pairs them
        self._generator = as_generator(None) if seed is None else np.random.default_rng(seed)

    def infer(self):
        return self.shape, self.dtype


@register
class RandomNormal(RandomOp):
    """out ~ N(mean, stddev**2), elementwise"""

    def __init__(self, shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(shape, dtype, seed)

    def forward(self):
        return self._generator.normal(self.mean, self.stddev, self.shape).astype(self.dtype)


@register
class TruncatedNormal(RandomOp):
    """out ~ N(mean, stddev**2) restricted to within 2 stddev of the mean (redrawn outside)"""

    def __init__(self, shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(shape, dtype, seed)

    def forward(self):
        z = self._generator.standard_normal(self.shape)
        outside = np.abs(z) > 2
        while outside.any():                    # about 4.6 % of the draws, each time
            z[outside] = self._generator.standard_normal(int(outside.sum()))
            outside = np.abs(z) > 2
        return (self.mean + self.stddev * z).astype(self.dtype)


@register
class RandomUniform(RandomOp):
    """out ~ U[low, high), elementwise (integers: low <= out < high)"""

    def __init__(self, shape, low=0.0, high=1.0, dtype="float32", seed=None):
        self.low = low
        self.high = high
        super().__init__(shape, dtype, seed)
        if self.dtype.kind in "iu" and not high > low:
            raise ValueError(f"RandomUniform: integer draws need high > low, got [{low}, {high})")

    def forward(self):
        if self.dtype.kind in "iu":
            return self._generator.integers(self.low, self.high, self.shape, dtype=self.dtype)
        return self._generator.uniform(self.low, self.high, self.shape).astype(self.dtype)


# -- the functions users call ---------------------------------------------------------
def random_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """Fresh Gaussian numbers of a static ``shape`` at every run."""
    return apply(RandomNormal(shape, mean, stddev, dtype, seed), (), name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """Fresh Gaussian numbers within 2 ``stddev`` of ``mean`` at every run."""
    return apply(TruncatedNormal(shape, mean, stddev, dtype, seed), (), name)


def random_uniform(shape, low=0.0, high=1.0, dtype="float32", seed=None, name=None):
    """Fresh uniform numbers on [low, high) at every run."""
    return apply(RandomUniform(shape, low, high, dtype, seed), (), name)
