"""TF1's initializers for ``get_variable``: each, called with a shape and dtype, returns the
Tensor the Variable's initializer assigns (a constant, or a random op drawn at each run)."""

from __future__ import annotations

import numpy as np

import microflow as mf
from microflow.compat.v1 import _random
from microflow.compat.v1._tensors import wrap
from microflow.compat.v1._unsupported import module_getattr
from microflow.compat.v1.dtypes import as_dtype, float32


class Initializer:
    """Base: ``initializer(shape, dtype=None, partition_info=None)`` gives a Tensor."""

    def __init__(self, dtype=float32):
        self.dtype = as_dtype(dtype)

    def _dtype(self, dtype):
        return as_dtype(dtype) if dtype is not None else self.dtype

    def __repr__(self):
        return f"{type(self).__name__}({vars(self)})"


class zeros_initializer(Initializer):  # noqa: N801  (TF1's name)
    """All zeros."""

    def __call__(self, shape, dtype=None, partition_info=None):
        return wrap(mf.constant(np.zeros(shape, self._dtype(dtype)), name="zeros"))


class ones_initializer(Initializer):  # noqa: N801
    """All ones."""

    def __call__(self, shape, dtype=None, partition_info=None):
        return wrap(mf.constant(np.ones(shape, self._dtype(dtype)), name="ones"))


class constant_initializer(Initializer):  # noqa: N801
    """Every element ``value`` (a number), or the elements of ``value`` (an array of the
    Variable's shape)."""

    def __init__(self, value=0, dtype=float32):
        super().__init__(dtype)
        self.value = value

    def __call__(self, shape, dtype=None, partition_info=None):
        value = np.asarray(self.value, self._dtype(dtype))
        if value.ndim and value.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"constant_initializer: {value.size} values do not fill shape "
                             f"{list(shape)}")
        value = np.full(shape, value) if value.ndim == 0 else value.reshape(shape)
        return wrap(mf.constant(value, name="Const"))


class random_normal_initializer(Initializer):  # noqa: N801
    """Gaussian N(mean, stddev**2)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=float32):
        super().__init__(dtype)
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None, partition_info=None):
        return _random.random_normal(shape, self.mean, self.stddev, self._dtype(dtype),
                                     self.seed)


class truncated_normal_initializer(Initializer):  # noqa: N801
    """Gaussian N(mean, stddev**2), redrawn outside 2 stddev."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=float32):
        super().__init__(dtype)
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None, partition_info=None):
        return _random.truncated_normal(shape, self.mean, self.stddev, self._dtype(dtype),
                                        self.seed)


class random_uniform_initializer(Initializer):  # noqa: N801
    """Uniform on [minval, maxval)."""

    def __init__(self, minval=0, maxval=None, seed=None, dtype=float32):
        super().__init__(dtype)
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None, partition_info=None):
        return _random.random_uniform(shape, self.minval, self.maxval, self._dtype(dtype),
                                      self.seed)


class glorot_uniform_initializer(Initializer):  # noqa: N801
    """Uniform on +-sqrt(6 / (fan_in + fan_out)), the fans as in ``mf.init.fans`` (TF1's:
    a filter's leading axes count as its receptive field); get_variable's default."""

    def __init__(self, seed=None, dtype=float32):
        super().__init__(dtype)
        self.seed = seed

    def __call__(self, shape, dtype=None, partition_info=None):
        fan_in, fan_out = mf.init.fans(tuple(shape))
        limit = float(np.sqrt(6.0 / (fan_in + fan_out)))
        return _random.random_uniform(shape, -limit, limit, self._dtype(dtype), self.seed)


zeros = zeros_initializer
ones = ones_initializer
constant = constant_initializer
random_normal = random_normal_initializer
truncated_normal = truncated_normal_initializer
random_uniform = random_uniform_initializer
glorot_uniform = glorot_uniform_initializer

__getattr__ = module_getattr("initializers")
