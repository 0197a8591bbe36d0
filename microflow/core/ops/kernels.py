"""Fast numpy kernels for the reductions the ops use most, and one GEMM that updates a weight.

numpy's reductions along a short axis are slow: ``g.sum(axis=0)`` of a 1000x8 array takes
several times longer than the same sum as a matrix-vector product with a ones vector, which
BLAS does in one pass, and ``a.max(axis=1)`` of a 1000x2 array is many times slower than
``np.maximum`` of its two columns. Bias gradients and softmax row sums are exactly such
reductions, so the ops call these instead.
"""

from __future__ import annotations

import functools
import math

import numpy as np

try:                            # BLAS's GEMM with its beta, which numpy's matmul does not take
    from scipy.linalg import blas as _blas
    _GEMMS = {np.dtype(np.float32): _blas.sgemm, np.dtype(np.float64): _blas.dgemm}
except ImportError:             # (scipy is a dependency; without it, a product and a subtract)
    _GEMMS = {}

_NARROW = 16    # up to this many columns, a row max is a loop of np.maximum over columns
_max = np.maximum.reduce         # ndarray.max() without its Python wrapper


@functools.lru_cache(maxsize=64)
def ones(n, dtype):
    array = np.ones(n, dtype)
    array.flags.writeable = False
    return array


FEW = 32        # up to this many elements, Python's math beats a numpy call's set-up


def total(a):
    """The sum of all of ``a``'s elements in its dtype: numpy's pairwise sum, or for a few
    elements math.fsum (exactly rounded, and four times faster for four)."""
    if a.size <= FEW:
        try:
            return a.dtype.type(math.fsum(a.flat))
        except (ValueError, OverflowError):     # inf - inf, or an overflow on the way
            pass
    return np.add.reduce(a, axis=None)


def sum_leading(a, count):
    """``a`` summed over its first ``count`` axes."""
    if count == 0:
        return a
    if a.dtype.kind == "f" and a.size and (a.flags.c_contiguous or a.ndim == 2 == count + 1):
        rows = math.prod(a.shape[:count])       # (a 2-D array reshapes to itself: any layout)
        return (ones(rows, a.dtype) @ a.reshape(rows, -1)).reshape(a.shape[count:])
    return a.sum(axis=tuple(range(count)))


def sum_to_shape(a, target):
    """``a`` summed over the axes along which it was broadcast from ``target`` (a shape)."""
    lead = a.ndim - len(target)
    if a.shape[lead:] == target:            # the common case: only leading axes to sum
        return sum_leading(a, lead)
    inner = tuple(lead + i for i, d in enumerate(target) if d == 1 and a.shape[lead + i] != 1)
    return a.sum(axis=tuple(range(lead)) + inner, keepdims=True).reshape(target)


def row_sum(a, keepdims=True):
    """Sum over the last axis."""
    if a.dtype.kind == "f":
        out = a @ ones(a.shape[-1], a.dtype)
        return out[..., None] if keepdims else out
    return a.sum(axis=-1, keepdims=keepdims)


def row_max(a, keepdims=True):
    """Max over the last axis."""
    columns = a.shape[-1]
    # (a Fortran-ordered array's rows of more than two reduce fast along its long columns;
    # a vector's columns are numbers)
    if 1 < columns <= _NARROW and a.ndim >= 2 and (columns == 2 or not fortran_ordered(a)):
        out = np.maximum(a[..., 0], a[..., 1])
        for j in range(2, columns):
            np.maximum(out, a[..., j], out=out)
        return out[..., None] if keepdims else out
    return _max(a, axis=-1, keepdims=keepdims)


@functools.lru_cache(maxsize=64)
def _row_starts(n, k):
    starts = np.arange(0, n * k, k)
    starts.flags.writeable = False
    return starts


_UNSIGNED = {}                   # labels' dtype -> the unsigned one of its width


def label_positions(labels, classes, fortran=False):
    """Flat indices of ``(n, labels[n])`` in an (N, classes) array laid out in C order (or in
    Fortran order, column after column); raises ValueError for a label outside 0..classes-1
    (checked in one pass: a negative label is huge as an unsigned integer)."""
    unsigned = _UNSIGNED.get(labels.dtype)
    if unsigned is None:                # e.g. uint8 labels, or another byte order
        unsigned = _UNSIGNED[labels.dtype] = np.dtype(labels.dtype.str.replace("i", "u"))
    if len(labels) and _max(labels.view(unsigned)) >= classes:
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise ValueError(f"labels hold class {bad}, but the logits have only {classes} "
                         f"classes (0..{classes - 1})")
    if fortran:
        return labels * len(labels) + _row_starts(len(labels), 1)
    return _row_starts(len(labels), classes) + labels


def fortran_ordered(a):
    """Whether ``a`` is laid out column after column (Fortran-contiguous, and not C too)."""
    return a.flags.f_contiguous and not a.flags.c_contiguous


def flat(a):
    """``a`` as a 1-D array in its memory order: a view when ``a`` is C- or Fortran-contiguous
    (as every ufunc result is), a copy otherwise (which a write would not reach)."""
    return a.ravel(order="F" if fortran_ordered(a) else "C")


def labeled(a, labels):
    """``(flat(a), positions)``: the indices of the (N, classes) array ``a``'s
    ``(n, labels[n])`` entries in its flat array."""
    return flat(a), label_positions(labels, a.shape[1], fortran_ordered(a))


NO_ROWS = "the batch has no rows: a mean over 0 rows is undefined"


class NoRows(ValueError):
    """A mean over an empty batch (the Session adds which feeds had no rows)."""


def rows(a):
    """The number of rows of ``a``, which a mean divides by; NoRows when there are none."""
    n = len(a)
    if not n:
        raise NoRows(NO_ROWS)
    return n


def mean(vector):
    """The mean of a 1-D array (NoRows when it is empty)."""
    return total(vector) / rows(vector)


_matmul, _subtract = np.matmul, np.subtract


def subtract_product(w, a, b):
    """w -= a @ b, in place, for 2-D arrays: one BLAS GEMM with beta = 1 (on w.T, a
    Fortran-ordered array when w is C-ordered: w.T = w.T - b.T @ a.T), which subtracts each
    block of the product as it makes it, where a product then a subtraction write the product
    out and read it back with w. The same sums, rounded as BLAS adds them up: a long inner
    dimension (a big batch) in blocks, each added into w as it is done, so the last bits may
    differ from the product subtracted whole."""
    gemm = _GEMMS.get(w.dtype)
    if gemm is not None and w.flags.c_contiguous and w.size and \
            a.dtype == w.dtype and b.dtype == w.dtype:
        # op(b.T), op(a.T) as the Fortran-ordered arrays BLAS reads without a copy
        first, transpose_first = (b.T, 0) if b.flags.c_contiguous else \
            (b, 1) if b.flags.f_contiguous else (None, 0)
        second, transpose_second = (a.T, 0) if a.flags.c_contiguous else \
            (a, 1) if a.flags.f_contiguous else (None, 0)
        if first is not None and second is not None:
            target = w.T
            if gemm(-1.0, first, second, 1.0, target, transpose_first, transpose_second,
                    1) is target:
                return
    _subtract(w, _matmul(a, b), w)


def _subtract_product_a_transposed(w, a, b):
    subtract_product(w, a.T, b)


def _subtract_product_b_transposed(w, a, b):
    subtract_product(w, a, b.T)


def _subtract_product_both_transposed(w, a, b):
    subtract_product(w, a.T, b.T)


# w -= op(a) @ op(b), by MatMul's (transpose_a, transpose_b)
SUBTRACT_PRODUCT = {(False, False): subtract_product, (True, False): _subtract_product_a_transposed,
                    (False, True): _subtract_product_b_transposed,
                    (True, True): _subtract_product_both_transposed}
