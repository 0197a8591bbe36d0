"""Convolution and pooling over NHWC images, each turned into one big matrix product.

numpy has no convolution, so ``Conv2D`` copies every receptive field of the (padded) input
into one row of a matrix (*im2col*: a strided view made with ``as_strided``, copied once)
and multiplies it by the filters reshaped to (KH * KW * C_in, C_out): one GEMM per conv.
Its gradients are two more ops, each also one GEMM: a transposed convolution for the input
(``Conv2DBackpropInput``: the GEMM, then the rows added back into their windows) and a
correlation of the input with the output gradient for the filters
(``Conv2DBackpropFilter``). The three are linear in each argument and each one's backward
is written with the other two, so second derivatives come free.

Pooling slides a window over each channel: ``MaxPool`` keeps the largest value (its
gradient goes to that cell, the first one on a tie), ``AvgPool`` the mean of the cells
inside the image. Both are a loop over the KH * KW offsets of a window, each a strided view.

Layouts are TensorFlow's: images (N, H, W, C), filters (KH, KW, C_in, C_out). Padding is
"VALID" (none), "SAME" (the output has ceil(H / stride) rows; an odd total padding puts the
extra row at the bottom and the extra column at the right) or, for convolutions, explicit
``((top, bottom), (left, right))``.

Scratch matrices (the im2col rows, the padded input) are kept by each op and reused by the
next step of the same shape; a plan hands a convolution's rows to its filter gradient in the
same step (``forward_saving`` / ``forward_saved``), so they are made once.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from microflow.core.errors import ShapeError
from microflow.core.ops.base import Op, apply, format_shape, register, result_dtype

CHUNK_ELEMENTS = 1 << 25    # im2col rows per GEMM are capped at this many numbers (128 MB of
                            # float32); a larger batch is done in pieces of images


# -- settings: strides, dilations and padding ---------------------------------------------
def _pair(value, what, op_name):
    """An int or a pair of positive ints, as a pair."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    try:
        pair = tuple(int(v) for v in pair)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{op_name}: {what} must be a positive int or a pair of them, "
                         f"got {value!r}")
    return pair


def _padding(padding, op_name, explicit=True):
    """"VALID", "SAME", or (conv only) ((top, bottom), (left, right)) of non-negative ints."""
    if isinstance(padding, str):
        upper = padding.upper()
        if upper in ("VALID", "SAME"):
            return upper
    elif explicit:
        try:
            pads = tuple(tuple(int(p) for p in pair) for pair in padding)
        except (TypeError, ValueError):
            pads = ()
        if len(pads) == 2 and all(len(p) == 2 and min(p) >= 0 for p in pads):
            return pads
    allowed = '"VALID", "SAME" or ((top, bottom), (left, right))' if explicit else \
        '"VALID" or "SAME"'
    raise ValueError(f"{op_name}: padding must be {allowed}, got {padding!r}")


def _axis_pads(padding, axis, size, kernel, stride, dilation):
    """(pad before, pad after, output size) along one spatial axis of ``size`` cells."""
    span = (kernel - 1) * dilation + 1              # the window's extent, dilation included
    if padding == "VALID":
        before = after = 0
    elif padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + span - size, 0)
        before, after = total // 2, total - total // 2  # TensorFlow: the odd one at the end
    else:
        before, after = padding[axis]
    return before, after, (size + before + after - span) // stride + 1


class _Window(Op):
    """The geometry shared by the convolution and pooling ops: window size, strides,
    dilations and padding; gives the padding and output size for an input's spatial shape."""

    def _settings(self, kernel, strides, padding, dilations, explicit=True):
        name = type(self).__name__
        self.strides = _pair(strides, "strides", name)
        self.padding = _padding(padding, name, explicit)
        self.dilations = _pair(dilations, "dilations", name)
        self._kernel = kernel

    def geometry(self, height, width, kernel=None, shape=None):
        """((top, bottom), (left, right)), (out_height, out_width) for an input of that size;
        ShapeError when the padded input is smaller than the window."""
        kernel = kernel or self._kernel
        rows = _axis_pads(self.padding, 0, height, kernel[0], self.strides[0], self.dilations[0])
        cols = _axis_pads(self.padding, 1, width, kernel[1], self.strides[1], self.dilations[1])
        for axis, length in enumerate((rows[2], cols[2])):
            if length < 1:
                span = (kernel[axis] - 1) * self.dilations[axis] + 1
                shape = format_shape(shape) if shape is not None else f"(N, {height}, {width}, C)"
                raise ShapeError(f"the input {shape} is too small for a {kernel[0]}x{kernel[1]} "
                                 f"window (extent {span} along {'HW'[axis]}, padding "
                                 f"{self.padding})")
        return (rows[:2], cols[:2]), (rows[2], cols[2])

    def _static_output(self, image, kernel, what):
        """The output's (height, width) from a static image shape; None where unknown."""
        height, width = image[1], image[2]
        _, out = self.geometry(height or 1 << 20, width or 1 << 20, kernel, image)
        return tuple(None if size is None else length for size, length in zip((height, width),
                                                                               out))

    def _scratch(self, key, shape, dtype, fill=None):
        """A buffer of ``shape`` kept between calls; ``fill`` sets it when first made (the
        padded borders, which later calls never write)."""
        buffers = self.__dict__.setdefault("_buffers", {})
        buffer = buffers.get(key)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
            buffers[key] = buffer
        return buffer

    def _padded(self, x, pads, fill=0, key="padded"):
        """``x`` inside a border of ``fill``: ``x`` itself when there is no padding."""
        (top, bottom), (left, right) = pads
        if not (top or bottom or left or right):
            return x
        n, h, w, c = x.shape
        buffer = self._scratch(key, (n, h + top + bottom, w + left + right, c), x.dtype, fill)
        buffer[:, top:top + h, left:left + w] = x
        return buffer


def _check_image(tensor, what):
    if tensor.ndim != 4:
        raise ShapeError(f"the {what} must be a batch of images (N, H, W, C), got "
                         f"{format_shape(tensor.shape)}")


def _windows(padded, kernel, out, strides, dilations):
    """The read-only view (N, OH, OW, KH, KW, C) of every window of ``padded``."""
    n, _, _, c = padded.shape
    s_n, s_h, s_w, s_c = padded.strides
    return as_strided(padded, (n, *out, *kernel, c),
                      (s_n, s_h * strides[0], s_w * strides[1], s_h * dilations[0],
                       s_w * dilations[1], s_c), writeable=False)


def _offset(array, i, j, out, strides, dilations):
    """The cells that window offset (i, j) covers, one per output position: (N, OH, OW, C)."""
    row, col = i * dilations[0], j * dilations[1]
    return array[:, row:row + strides[0] * (out[0] - 1) + 1:strides[0],
                 col:col + strides[1] * (out[1] - 1) + 1:strides[1]]


def _chunks(n, rows_per_image, width):
    """Slices of the batch whose im2col matrix stays under CHUNK_ELEMENTS numbers."""
    step = max(1, CHUNK_ELEMENTS // max(rows_per_image * width, 1))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


# -- convolution --------------------------------------------------------------------------
class _Conv(_Window):
    """Shared by the convolution and its two gradients: settings, im2col, shape checks."""

    def __init__(self, strides=1, padding="VALID", dilations=1, kernel=None):
        self._settings(kernel, strides, padding, dilations)

    def attributes(self):
        return {"strides": self.strides, "padding": self.padding, "dilations": self.dilations}

    def _im2col(self, padded, kernel, out, key="cols"):
        """The (N * OH * OW, KH * KW * C) matrix of every window of ``padded``, in a buffer
        kept for the next call."""
        n, c = padded.shape[0], padded.shape[3]
        cols = self._scratch(key, (n * out[0] * out[1], kernel[0] * kernel[1] * c),
                             padded.dtype)
        np.copyto(cols.reshape(n, *out, *kernel, c),
                  _windows(padded, kernel, out, self.strides, self.dilations))
        return cols

    def _check_filters(self, filters, channels, what="input"):
        if filters.ndim != 4:
            raise ShapeError(f"filters must be (KH, KW, C_in, C_out), got "
                             f"{format_shape(filters.shape)}")
        if None in filters.shape[:2]:
            raise ShapeError(f"the filters' window (KH, KW) must be known, got "
                             f"{format_shape(filters.shape)}")
        if None not in (channels, filters.shape[2]) and channels != filters.shape[2]:
            raise ShapeError(f"the {what} has {channels} channels but the filters "
                             f"{format_shape(filters.shape)} expect {filters.shape[2]}")


@register
class Conv2D(_Conv):
    """out[n, i, j, o] = sum_{a, b, c} x[n, s i + d a, s j + d b, c] w[a, b, c, o] (x padded)"""

    fresh = True

    def forward(self, x, filters):
        return self.forward_saving(x, filters)[0]

    def forward_saving(self, x, filters):
        """The output, and the im2col rows with the settings they were made with, for the
        Conv2DBackpropFilter a plan pairs with this op (None when the batch was done in
        pieces): the filter gradient is then one GEMM, with no second im2col."""
        kernel = filters.shape[:2]
        pads, out = self.geometry(x.shape[1], x.shape[2], kernel)
        padded = self._padded(x, pads)
        weights = filters.reshape(-1, filters.shape[3])
        n = x.shape[0]
        parts = _chunks(n, out[0] * out[1], weights.shape[0])
        if len(parts) == 1:
            cols = self._im2col(padded, kernel, out)
            result = np.matmul(cols, weights).reshape(n, *out, filters.shape[3])
            return result, (cols, self.attributes())
        result = np.empty((n, *out, filters.shape[3]), np.result_type(x, filters))
        for part in parts:
            cols = self._im2col(padded[part], kernel, out)
            np.matmul(cols, weights, out=result[part].reshape(-1, filters.shape[3]))
        return result, None

    def infer(self, x, filters):
        _check_image(x, "input")
        self._check_filters(filters, x.shape[3])
        self._kernel = filters.shape[:2]
        height, width = self._static_output(x.shape, filters.shape[:2], "input")
        return (x.shape[0], height, width, filters.shape[3]), result_dtype(x, filters)

    def backward(self, grad, x, filters, out):
        settings = (self.strides, self.padding, self.dilations)
        d_x = conv2d_backprop_input(grad, filters, x, *settings)
        d_filters = conv2d_backprop_filter(x, grad, filters, *settings)
        return d_x, d_filters

    def scope_summary(self, tensor):
        """One line for a drawing of the layer collapsed: its filters and how they move."""
        shape = "x".join("?" if d is None else str(d) for d in tensor.inputs[1].shape)
        strides = self.strides[0] if self.strides[0] == self.strides[1] else self.strides
        return f"filters {shape}, strides {strides}, {_padding_text(self.padding)}"


@register
class Conv2DBackpropInput(_Conv):
    """out = the gradient of sum(g * conv2d(x, w)) with respect to x: a transposed convolution
    of g with w, shaped like ``like`` (x)"""

    fresh = True

    def forward(self, g, filters, like):
        n, height, width, channels = like.shape
        kernel = filters.shape[:2]
        pads, out = self.geometry(height, width, kernel)
        (top, bottom), (left, right) = pads
        padded = np.zeros((n, height + top + bottom, width + left + right, channels),
                          np.result_type(g, filters))
        weights = filters.reshape(-1, filters.shape[3])
        for part in _chunks(n, out[0] * out[1], weights.shape[0]):
            rows = g[part].reshape(-1, g.shape[3])
            d_cols = self._scratch("d_cols", (rows.shape[0], weights.shape[0]), padded.dtype)
            np.matmul(rows, weights.T, out=d_cols)
            # col2im: each window offset adds its column block back where it was read from.
            d_cols = d_cols.reshape(-1, *out, *kernel, channels)
            target = padded[part]
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    _offset(target, i, j, out, self.strides, self.dilations)[...] += \
                        d_cols[:, :, :, i, j]
        if top or bottom or left or right:
            return padded[:, top:top + height, left:left + width].copy()
        return padded

    def infer(self, g, filters, like):
        _check_image(g, "gradient")
        _check_image(like, "input")
        self._check_filters(filters, like.shape[3])
        if None not in (g.shape[3], filters.shape[3]) and g.shape[3] != filters.shape[3]:
            raise ShapeError(f"the gradient {format_shape(g.shape)} has {g.shape[3]} channels "
                             f"but the filters {format_shape(filters.shape)} make "
                             f"{filters.shape[3]}")
        self._kernel = filters.shape[:2]
        return like.shape, result_dtype(g, filters)

    def backward(self, grad, g, filters, like, out):
        settings = (self.strides, self.padding, self.dilations)
        # <z, T(g, w)> = <conv(z, w), g>: the adjoint of a transposed convolution is the
        # convolution, and as a function of w it is the correlation of z with g.
        d_g = conv2d(grad, filters, *settings)
        d_filters = conv2d_backprop_filter(grad, g, filters, *settings)
        return d_g, d_filters, None


@register
class Conv2DBackpropFilter(_Conv):
    """out[a, b, c, o] = sum_{n, i, j} x[n, s i + d a, s j + d b, c] g[n, i, j, o]: the
    gradient of sum(g * conv2d(x, w)) with respect to w (x padded; w gives only the shape)"""

    fresh = True
    saved_from = "Conv2D"       # a plan may hand this op the rows Conv2D(x, w) made

    def forward(self, g, x, filters):
        kernel = filters.shape[:2]
        pads, out = self.geometry(x.shape[1], x.shape[2], kernel)
        padded = self._padded(x, pads)
        width = kernel[0] * kernel[1] * x.shape[3]
        result = np.zeros((width, g.shape[3]), np.result_type(x, g))
        for part in _chunks(x.shape[0], out[0] * out[1], width):
            cols = self._im2col(padded[part], kernel, out)
            result += cols.T @ g[part].reshape(-1, g.shape[3])
        return result.reshape(*kernel, x.shape[3], g.shape[3])

    def forward_saved(self, saved, g, x, filters):
        """``forward``, from the im2col rows that Conv2D made of the same x in this step (when
        it made them in one piece, with these settings)."""
        if saved is None or saved[1] != self.attributes():
            return self.forward(g, x, filters)
        cols = saved[0]
        return (cols.T @ g.reshape(-1, g.shape[3])).reshape(*filters.shape[:2], x.shape[3],
                                                            g.shape[3])

    def infer(self, g, x, filters):
        _check_image(x, "input")
        _check_image(g, "gradient")
        self._check_filters(filters, x.shape[3])
        self._kernel = filters.shape[:2]
        _, height, width, _ = g.shape
        expected = self._static_output(x.shape, self._kernel, "input")
        if any(None not in (a, b) and a != b for a, b in zip((height, width), expected)):
            raise ShapeError(f"the gradient {format_shape(g.shape)} does not fit the output "
                             f"{format_shape((x.shape[0], *expected, filters.shape[3]))} of the "
                             f"input {format_shape(x.shape)}")
        return filters.shape[:2] + (x.shape[3], g.shape[3]), result_dtype(x, g)

    def backward(self, grad, g, x, filters, out):
        settings = (self.strides, self.padding, self.dilations)
        # <z, F(x, g)> = <g, conv(x, z)>: linear in x and in g.
        d_g = conv2d(x, grad, *settings)
        d_x = conv2d_backprop_input(g, grad, x, *settings)
        return d_g, d_x, None


def _padding_text(padding):
    return padding if isinstance(padding, str) else f"pads {padding}"


# -- pooling ------------------------------------------------------------------------------
class _Pool(_Window):
    """Shared by the pooling ops and their gradients: window size and strides (default: the
    size, so windows tile the image), "VALID" or "SAME" padding."""

    def __init__(self, size=2, strides=None, padding="VALID"):
        name = type(self).__name__
        self.size = _pair(size, "size", name)
        self._settings(self.size, self.size if strides is None else strides, padding, 1,
                       explicit=False)

    def attributes(self):
        return {"size": self.size, "strides": self.strides, "padding": self.padding}

    def _offsets(self):
        return [(i, j) for i in range(self.size[0]) for j in range(self.size[1])]

    def _view(self, array, i, j, out):
        return _offset(array, i, j, out, self.strides, (1, 1))

    def _pool_shape(self, x, what="input"):
        _check_image(x, what)
        height, width = self._static_output(x.shape, self.size, what)
        return (x.shape[0], height, width, x.shape[3])


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


@register
class MaxPool(_Pool):
    """out[n, i, j, c] = max of x[n, s i + a, s j + b, c] over the window (padding ignored)"""

    fresh = True

    def forward(self, x):
        pads, out = self.geometry(x.shape[1], x.shape[2])
        padded = self._padded(x, pads, fill=_lowest(x.dtype))
        offsets = self._offsets()
        result = self._view(padded, *offsets[0], out).copy()
        for i, j in offsets[1:]:
            np.maximum(result, self._view(padded, i, j, out), out=result)
        return result

    def infer(self, x):
        return self._pool_shape(x), x.dtype

    def backward(self, grad, x, out):
        return (apply(MaxPoolGrad(self.size, self.strides, self.padding), (grad, x, out)),)


class _ArgMaxRouting(_Pool):
    """The cells where each window's max is: the first, in row-major order, on a tie."""

    def _winners(self, x, pooled):
        """(padded shape, pads, out, [(i, j, mask)]): mask[n, oh, ow, c] says that the
        window at (oh, ow) takes its max from offset (i, j)."""
        pads, out = self.geometry(x.shape[1], x.shape[2])
        padded = self._padded(x, pads, fill=_lowest(x.dtype))
        taken = np.zeros(pooled.shape, bool)
        winners = []
        for i, j in self._offsets():
            mask = self._view(padded, i, j, out) == pooled
            mask &= ~taken
            taken |= mask
            winners.append((i, j, mask))
        return padded.shape, pads, out, winners


@register
class MaxPoolGrad(_ArgMaxRouting):
    """out = g routed back to the arg-max cell of each window of x (ties: the first cell);
    zero elsewhere"""

    fresh = True

    def forward(self, g, x, pooled):
        pads, out = self.geometry(x.shape[1], x.shape[2])
        padded_x = self._padded(x, pads, fill=_lowest(x.dtype))
        (top, _), (left, _) = pads
        tiles = self.strides == self.size   # each cell in one window at most: write, not add
        covered = tiles and padded_x.shape[1:3] == (out[0] * self.size[0], out[1] * self.size[1])
        make = np.empty if covered else np.zeros
        padded = make(padded_x.shape, g.dtype)
        # Each window's gradient goes to the first offset holding its max, then is used up,
        # so that a tie further on gets nothing.
        left_over = g.copy()
        offsets = self._offsets()
        hit = np.empty(pooled.shape, bool)
        given = np.empty(pooled.shape, g.dtype)
        for number, (i, j) in enumerate(offsets):
            np.equal(self._view(padded_x, i, j, out), pooled, out=hit)
            np.multiply(left_over, hit, out=given)
            target = self._view(padded, i, j, out)
            if tiles:
                target[...] = given
            else:
                target += given
            if number < len(offsets) - 1:
                left_over -= given
        if padded.shape == x.shape:
            return padded
        return padded[:, top:top + x.shape[1], left:left + x.shape[2]].copy()

    def infer(self, g, x, pooled):
        shape = self._pool_shape(x)
        _check_image(g, "gradient")
        if g.shape[1:] != shape[1:] and None not in g.shape[1:] + shape[1:]:
            raise ShapeError(f"the gradient {format_shape(g.shape)} does not match the pooled "
                             f"shape {format_shape(shape)} of the input {format_shape(x.shape)}")
        return x.shape, g.dtype

    def backward(self, grad, g, x, pooled, out):
        # Linear in g; where the arg-max sits is piecewise constant in x.
        return apply(MaxPoolGradGrad(self.size, self.strides, self.padding),
                     (grad, x, pooled)), None, None


@register
class MaxPoolGradGrad(_ArgMaxRouting):
    """out[n, i, j, c] = z at the arg-max cell of window (i, j) of x: the adjoint of
    MaxPoolGrad, a max pool of z that picks x's winners"""

    fresh = True

    def forward(self, z, x, pooled):
        _, pads, out, winners = self._winners(x, pooled)
        padded = self._padded(z, pads, fill=0, key="padded_z")
        result = np.zeros(pooled.shape, z.dtype)
        for i, j, mask in winners:
            result += np.where(mask, self._view(padded, i, j, out), 0)
        return result

    def infer(self, z, x, pooled):
        shape = self._pool_shape(x)
        return shape, z.dtype

    def backward(self, grad, z, x, pooled, out):
        return apply(MaxPoolGrad(self.size, self.strides, self.padding),
                     (grad, x, pooled)), None, None


class _Averaging(_Pool):
    """The number of cells of each window inside the image (the divisor at the borders)."""

    def _counts(self, height, width, out, pads):
        key = (height, width)
        cached = self.__dict__.get("_count_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        counts = []
        for axis, size in enumerate((height, width)):
            start = np.arange(out[axis]) * self.strides[axis] - pads[axis][0]
            stop = start + self.size[axis]
            counts.append(np.minimum(stop, size) - np.maximum(start, 0))
        result = (counts[0][:, None] * counts[1][None, :])[:, :, None].astype(np.float64)
        self._count_cache = (key, result)
        return result


@register
class AvgPool(_Averaging):
    """out[n, i, j, c] = mean of x[n, s i + a, s j + b, c] over the window's cells inside
    the image"""

    fresh = True

    def forward(self, x):
        pads, out = self.geometry(x.shape[1], x.shape[2])
        padded = self._padded(x, pads, fill=0)
        offsets = self._offsets()
        result = self._view(padded, *offsets[0], out).copy()
        for i, j in offsets[1:]:
            result += self._view(padded, i, j, out)
        result /= self._counts(x.shape[1], x.shape[2], out, pads).astype(result.dtype)
        return result

    def infer(self, x):
        return self._pool_shape(x), x.dtype

    def backward(self, grad, x, out):
        return (apply(AvgPoolGrad(self.size, self.strides, self.padding), (grad, x)),)


@register
class AvgPoolGrad(_Averaging):
    """out = g / (cells in the window) spread over each window's cells of ``like`` (x)"""

    fresh = True

    def forward(self, g, like):
        pads, out = self.geometry(like.shape[1], like.shape[2])
        (top, bottom), (left, right) = pads
        n, height, width, channels = like.shape
        padded = np.zeros((n, height + top + bottom, width + left + right, channels), g.dtype)
        share = g / self._counts(height, width, out, pads).astype(g.dtype)
        for i, j in self._offsets():
            self._view(padded, i, j, out)[...] += share
        if padded.shape == like.shape:
            return padded
        return padded[:, top:top + height, left:left + width].copy()

    def infer(self, g, like):
        shape = self._pool_shape(like)
        _check_image(g, "gradient")
        if g.shape[1:] != shape[1:] and None not in g.shape[1:] + shape[1:]:
            raise ShapeError(f"the gradient {format_shape(g.shape)} does not match the pooled "
                             f"shape {format_shape(shape)} of the input "
                             f"{format_shape(like.shape)}")
        return like.shape, g.dtype

    def backward(self, grad, g, like, out):
        # The spreading is the adjoint of the averaging.
        return apply(AvgPool(self.size, self.strides, self.padding), (grad,)), None


# -- the functions users call -------------------------------------------------------------
def conv2d(x, filters, strides=1, padding="VALID", dilations=1, name=None):
    """The 2-D convolution (TensorFlow's, a cross-correlation) of images with filters.

    Parameters
    ----------
    x : Tensor (N, H, W, C_in)
    filters : Tensor (KH, KW, C_in, C_out)
    strides, dilations : int or (int, int)
        Step between windows; spacing between a window's taps (1: adjacent cells).
    padding : "VALID", "SAME" or ((top, bottom), (left, right))
        "SAME" pads so that the output has ceil(H / stride) rows, the odd cell at the
        bottom and right, as TensorFlow does.

    Returns
    -------
    Tensor (N, OH, OW, C_out)

    Examples
    --------
    >>> x = mf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
    >>> box = mf.constant(np.ones((2, 2, 1, 1)))
    >>> mf.Session().run(mf.conv2d(x, box, strides=2))[0, :, :, 0]
    array([[10., 18.],
           [42., 50.]])
    """
    return apply(Conv2D(strides, padding, dilations), (x, filters), name)


def conv2d_backprop_input(g, filters, like, strides=1, padding="VALID", dilations=1, name=None):
    """The transposed convolution: d sum(g * conv2d(x, filters)) / dx, shaped like ``like``."""
    return apply(Conv2DBackpropInput(strides, padding, dilations), (g, filters, like), name)


def conv2d_backprop_filter(x, g, filters, strides=1, padding="VALID", dilations=1, name=None):
    """The correlation of ``x`` with ``g``: d sum(g * conv2d(x, filters)) / dfilters
    (``filters`` gives only the shape)."""
    return apply(Conv2DBackpropFilter(strides, padding, dilations), (g, x, filters), name)


def max_pool(x, size=2, strides=None, padding="VALID", name=None):
    """The largest value of each ``size`` window of every channel (NHWC).

    ``strides`` defaults to ``size``; with "SAME" padding the windows at the border look
    only at the cells inside the image. The gradient goes to each window's largest cell
    (the first in row-major order on a tie).

    >>> x = mf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
    >>> mf.Session().run(mf.max_pool(x))[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return apply(MaxPool(size, strides, padding), (x,), name)


def avg_pool(x, size=2, strides=None, padding="VALID", name=None):
    """The mean of each ``size`` window of every channel (NHWC); with "SAME" padding the
    windows at the border are averaged over the cells inside the image only."""
    return apply(AvgPool(size, strides, padding), (x,), name)


__all__ = ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool", "MaxPoolGrad",
           "MaxPoolGradGrad", "AvgPool", "AvgPoolGrad", "conv2d", "conv2d_backprop_input",
           "conv2d_backprop_filter", "max_pool", "avg_pool"]


def __dir__():
    return __all__
