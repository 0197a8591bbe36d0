"""Matrix products."""

from __future__ import annotations

import numpy as np

from microflow.errors import ShapeError
from microflow.ops.base import Op, apply, broadcast_shapes, format_shape, register, result_dtype
from microflow.ops.reduce import sum_to
from microflow.ops.shape import expand_dims, reshape_like, swap_last_axes


@register
class MatMul(Op):
    """out = a @ b (numpy's matmul: 1-D operands are vectors, leading axes broadcast)"""

    broadcasts = True   # only the leading (batch) axes of 3-D and higher operands broadcast

    forward = staticmethod(np.matmul)

    def infer(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul needs arrays of rank >= 1, got shapes "
                             f"{format_shape(a.shape)} and {format_shape(b.shape)}")
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a is not None and k_b is not None and k_a != k_b:
            raise ShapeError(
                f"inner dimensions differ: {format_shape(a.shape)} @ {format_shape(b.shape)} "
                f"({k_a} != {k_b})")
        rows = a.shape[-2:-1]                       # () for a vector
        cols = b.shape[-1:] if b.ndim >= 2 else ()
        batch = ()
        if a.ndim > 2 or b.ndim > 2:
            batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return batch + rows + cols, result_dtype(a, b)

    def backward(self, grad, a, b, out):
        # For 2-D operands: da = g @ b.T, db = a.T @ g. A vector is made a matrix first (a
        # row on the left, a column on the right), and its gradient summed back to it.
        a2 = a if a.ndim >= 2 else expand_dims(a, 0)
        b2 = b if b.ndim >= 2 else expand_dims(b, -1)
        g2 = grad
        if a.ndim == 1:
            g2 = expand_dims(g2, -2 if b.ndim >= 2 else 0)
        if b.ndim == 1:
            g2 = expand_dims(g2, -1)
        da = matmul(g2, swap_last_axes(b2))
        db = matmul(swap_last_axes(a2), g2)
        if a.ndim == 1:
            da = reshape_like(sum_to(da, a2), a)
        if b.ndim == 1:
            db = reshape_like(sum_to(db, b2), b)
        return da, db


def matmul(a, b, name=None):
    """Matrix product ``a @ b``; shapes are checked when the graph is built."""
    return apply(MatMul(), (a, b), name)
