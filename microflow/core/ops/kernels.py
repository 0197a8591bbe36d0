"""Fast numpy kernels for the reductions the ops use most, and one GEMM that updates a weight.

numpy's reductions along a short axis are slow: ``g.sum(axis=0)`` of a 1000x8 array takes
several times longer than the same sum as a matrix-vector product with a ones vector, which
BLAS does in one pass, and ``a.max(axis=1)`` of a 1000x2 array is many times slower than
``np.maximum`` of its two columns. Bias gradients and softmax row sums are exactly such
reductions, so the ops call these instead.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import math
import os

import numpy as np

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


def _numpy_s_gemms():
    """``cblas_sgemm`` and ``cblas_dgemm`` of the BLAS numpy itself calls (the OpenBLAS a numpy
    wheel bundles, built with 64-bit integers: ``*cblas_?gemm64_``), by dtype: BLAS's GEMM with
    its beta, which numpy's matmul does not take. Empty where numpy has no such library; a
    second BLAS (scipy's, say) is not used instead, as its threads would fight numpy's for
    the cores (measured: W4's step 4.4x slower with both at their default threads)."""
    here = os.path.dirname(np.__file__)
    for path in glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*openblas64*")) + \
            glob.glob(os.path.join(here, ".dylibs", "*openblas64*")):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_cblas_", "cblas_"):
            try:
                found = {np.dtype(np.float32): (getattr(library, prefix + "sgemm64_"),
                                                ctypes.c_float),
                         np.dtype(np.float64): (getattr(library, prefix + "dgemm64_"),
                                                ctypes.c_double)}
            except AttributeError:
                continue
            gemms = {}
            for dtype, (function, real) in found.items():
                size, pointer = ctypes.c_int64, ctypes.c_void_p
                function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, size, size, size,
                                     real, pointer, size, pointer, size, real, pointer, size]
                function.restype = None
                gemms[dtype] = function
            return gemms
    return {}


_GEMMS = _numpy_s_gemms()
FUSED_GEMM = bool(_GEMMS)       # whether subtract_product runs as one GEMM here
_ROW_MAJOR, _AS_IS, _TRANSPOSED = 101, 111, 112     # CBLAS's enums


def _blas_layout(a, rows, columns):
    """How CBLAS reads the (rows, columns) array ``a`` in row-major order: (transposed or as
    is, its leading dimension), or None when it is not contiguous."""
    if a.flags.c_contiguous:
        return _AS_IS, max(1, columns)
    if a.flags.f_contiguous:
        return _TRANSPOSED, max(1, rows)
    return None


def subtract_product(w, a, b):
    """w -= a @ b, in place, for 2-D arrays: one BLAS GEMM with beta = 1, numpy's own BLAS
    called directly, which subtracts each block of the product as it makes it, where a
    product then a subtraction write the product out and read it back with w. The same sums,
    rounded as BLAS adds them up: a long inner dimension (a big batch) in blocks, each added
    into w as it is done, so the last bits may differ from the product subtracted whole."""
    gemm = _GEMMS.get(w.dtype)
    if gemm is not None and w.ndim == a.ndim == b.ndim == 2 and w.size and \
            a.dtype == w.dtype and b.dtype == w.dtype and w.flags.c_contiguous and \
            w.flags.aligned and a.flags.aligned and b.flags.aligned:
        rows, columns = w.shape
        inner = a.shape[1]
        if a.shape[0] == rows and b.shape == (inner, columns) and \
                not np.may_share_memory(w, a) and not np.may_share_memory(w, b):
            first, second = _blas_layout(a, rows, inner), _blas_layout(b, inner, columns)
            if first is not None and second is not None:
                gemm(_ROW_MAJOR, first[0], second[0], rows, columns, inner, -1.0, a.ctypes.data,
                     first[1], b.ctypes.data, second[1], 1.0, w.ctypes.data, max(1, columns))
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
