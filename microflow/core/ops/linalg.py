"""Matrix products."""

from __future__ import annotations

import numpy as np

from microflow.core.errors import ShapeError
from microflow.core.ops.base import Op, apply, broadcast_shapes, format_shape, into_clause, \
    register, result_dtype
from microflow.core.ops.reduce import sum_to
from microflow.core.ops.shape import expand_dims, reshape_like, swap_last_axes


def _transposed_a(a, b, out=None):
    return np.matmul(a.T, b, out=out)


def _transposed_b(a, b, out=None):
    return np.matmul(a, b.T, out=out)


def _transposed_both(a, b, out=None):
    return np.matmul(a.T, b.T, out=out)


_KERNELS = {(False, False): np.matmul, (True, False): _transposed_a,
            (False, True): _transposed_b, (True, True): _transposed_both}


@register
class MatMul(Op):
    """out = op(a) @ op(b), op transposing a matrix when its flag is set (numpy's matmul:
    1-D operands are vectors, leading axes broadcast)"""

    fresh = True
    takes_out = True        # forward(a, b, out=) writes into any array of the output's shape

    # Only the leading (batch) axes of 3-D and higher operands broadcast; the rule below sums
    # them back itself, so the gradient walk does not mistake the matrix axes for broadcast.

    def __init__(self, transpose_a=False, transpose_b=False):
        self.transpose_a = bool(transpose_a)
        self.transpose_b = bool(transpose_b)
        self.forward = _KERNELS[self.transpose_a, self.transpose_b]

    def inline(self, args, into):
        if not (self.transpose_a or self.transpose_b):
            return None                         # forward is np.matmul itself
        a, b = (f"{arg}.T" if flag else arg
                for arg, flag in zip(args, (self.transpose_a, self.transpose_b)))
        return f"_matmul({a}, {b}{into_clause(into)})", {"_matmul": np.matmul}

    def forward_batch_minor(self, a, b):
        """``forward`` of 2-D operands computed as (op(b).T @ op(a).T).T: the same product,
        laid out column after column (Fortran order), so that the (rows, few columns) result
        is a few long contiguous columns, which the bias adds, activations and softmax after
        it stream through (numpy broadcasts a (rows, 1) or (columns,) operand over C-ordered
        rows of a few numbers many times slower)."""
        a = a if self.transpose_a else a.T
        b = b if self.transpose_b else b.T
        return np.matmul(b, a).T

    def inline_batch_minor(self, args):
        """``forward_batch_minor`` as source for a generated plan."""
        a, b = (arg if flag else f"{arg}.T"
                for arg, flag in zip(args, (self.transpose_a, self.transpose_b)))
        return f"_matmul({b}, {a}).T", {"_matmul": np.matmul}

    def infer(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul needs arrays of rank >= 1, got shapes "
                             f"{format_shape(a.shape)} and {format_shape(b.shape)}")
        if (self.transpose_a and a.ndim != 2) or (self.transpose_b and b.ndim != 2):
            raise ShapeError("transpose_a and transpose_b need 2-D operands, got "
                             f"{format_shape(a.shape)} and {format_shape(b.shape)}")
        a_shape = a.shape[::-1] if self.transpose_a else a.shape
        b_shape = b.shape[::-1] if self.transpose_b else b.shape
        k_a = a_shape[-1]
        k_b = b_shape[0] if b.ndim == 1 else b_shape[-2]
        if k_a is not None and k_b is not None and k_a != k_b:
            flags = ("a.T" if self.transpose_a else "a") + " @ " + \
                ("b.T" if self.transpose_b else "b")
            raise ShapeError(
                f"inner dimensions differ: {format_shape(a.shape)} @ {format_shape(b.shape)} "
                f"({k_a} != {k_b}{', for ' + flags if flags != 'a @ b' else ''})")
        rows = a_shape[-2:-1]                       # () for a vector
        cols = b_shape[-1:] if b.ndim >= 2 else ()
        batch = ()
        if a.ndim > 2 or b.ndim > 2:
            batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return batch + rows + cols, result_dtype(a, b)

    def backward(self, grad, a, b, out):
        if a.ndim == 2 and b.ndim == 2:
            return self._backward_2d(grad, a, b)
        # A vector is made a matrix first (a row on the left, a column on the right), and
        # its gradient summed back to it: da = g @ b.T, db = a.T @ g.
        a2 = a if a.ndim >= 2 else expand_dims(a, 0)
        b2 = b if b.ndim >= 2 else expand_dims(b, -1)
        g2 = grad
        if a.ndim == 1:
            g2 = expand_dims(g2, -2 if b.ndim >= 2 else 0)
        if b.ndim == 1:
            g2 = expand_dims(g2, -1)
        da = _undo_batch_broadcast(matmul(g2, swap_last_axes(b2)), a, a2) \
            if self.needs_gradient(0) else None
        db = _undo_batch_broadcast(matmul(swap_last_axes(a2), g2), b, b2) \
            if self.needs_gradient(1) else None
        return da, db

    def _backward_2d(self, g, a, b):
        """The four cases of out = op(a) @ op(b), with the transposes folded into the flags
        (only the gradients the walk wants: not the input data's, say)."""
        wants_a, wants_b = self.needs_gradient(0), self.needs_gradient(1)
        if not self.transpose_a and not self.transpose_b:       # out = a b
            return (matmul(g, b, transpose_b=True) if wants_a else None,
                    matmul(a, g, transpose_a=True) if wants_b else None)
        if not self.transpose_a:                                # out = a b^T
            return (matmul(g, b) if wants_a else None,
                    matmul(g, a, transpose_a=True) if wants_b else None)
        if not self.transpose_b:                                # out = a^T b
            return (matmul(b, g, transpose_b=True) if wants_a else None,
                    matmul(a, g) if wants_b else None)
        return (matmul(b, g, transpose_a=True, transpose_b=True) if wants_a else None,
                matmul(g, a, transpose_a=True, transpose_b=True) if wants_b else None)


def _undo_batch_broadcast(grad, operand, as_matrix):
    """``grad`` (shaped like the batched product's operand) summed back to ``operand``."""
    if grad.ndim > 2 or as_matrix.ndim > 2:
        grad = sum_to(grad, as_matrix)
    return grad if operand is as_matrix else reshape_like(grad, operand)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """Matrix product ``a @ b`` (``a.T @ b`` etc. with the flags, for 2-D operands); shapes
    are checked when the graph is built."""
    return apply(MatMul(transpose_a, transpose_b), (a, b), name)
