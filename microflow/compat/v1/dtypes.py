"""TF1's dtypes (numpy dtypes: ``x.dtype == tf.float32``) and TF1's rules for Python values."""

from __future__ import annotations

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool = np.dtype("bool")     # noqa: A001  (TF1's name: tf.bool)
_INT32 = np.iinfo(np.int32)


def as_dtype(dtype):
    """A numpy dtype from a TF1 dtype, a numpy one or a name (``"float32"``)."""
    return None if dtype is None else np.dtype(dtype)


def tf1_array(value, dtype=None):
    """``value`` as an array by TF1's rules: Python floats become float32, Python ints int32
    (int64 when they do not fit), numpy arrays keep their dtype."""
    if dtype is not None:
        return np.array(value, dtype=as_dtype(dtype))
    if isinstance(value, np.ndarray | np.generic):
        return np.array(value)
    array = np.array(value)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype.kind == "i" and (array.size == 0 or
                                    _INT32.min <= array.min() and array.max() <= _INT32.max):
        return array.astype(np.int32)
    return array
