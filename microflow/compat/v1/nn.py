"""``tf.nn``: activations, the per-example losses, dropout, convolution and pooling, on
microflow's ops.

The losses return one loss per example, as TF1's do (``tf.reduce_mean`` them for the
batch's). ``softmax_cross_entropy_with_logits`` (TF1's v1) sends no gradient to the labels,
``_v2`` does. Convolutions take NHWC images, HWIO filters and TF1's 4-element strides.
"""

from __future__ import annotations

import inspect

import numpy as np

import microflow as mf
from microflow.compat.v1 import _random
from microflow.compat.v1._ops import _later, _unary
from microflow.compat.v1._tensors import _op, operands, to_tensor, unwrap, wrap
from microflow.compat.v1._unsupported import module_getattr

relu = _unary(mf.relu)
sigmoid = _unary(mf.sigmoid)
tanh = _unary(mf.tanh)
elu = _later("elu", 1)
softplus = _later("softplus", 1)


def leaky_relu(features, alpha=0.2, name=None):
    """``x`` where positive, ``alpha * x`` elsewhere (TF1's default alpha: 0.2)."""
    return wrap(_op("leaky_relu")(to_tensor(features), alpha=alpha, name=name))


def softmax(logits, axis=None, name=None, dim=None):
    """``exp(x) / sum(exp(x))`` along ``axis`` (default: the last)."""
    axis = axis if axis is not None else dim if dim is not None else -1
    return wrap(mf.softmax(to_tensor(logits), axis, name=name))


def log_softmax(logits, axis=None, name=None, dim=None):
    """``x - log(sum(exp(x)))`` along ``axis`` (default: the last)."""
    axis = axis if axis is not None else dim if dim is not None else -1
    return wrap(mf.log_softmax(to_tensor(logits), axis, name=name))


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias``, the bias along the last axis (NHWC)."""
    if data_format not in (None, "NHWC", "NC"):
        raise ValueError(f"bias_add: data_format {data_format!r} is not supported (NHWC only)")
    a, b = operands(value, bias)
    return wrap(mf.add(a, b, name=name))


def l2_loss(t, name=None):
    """``sum(t ** 2) / 2``."""
    return wrap(mf.l2_loss(to_tensor(t), name=name))


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Zeroes each element with probability ``rate = 1 - keep_prob`` and scales the rest by
    ``1 / keep_prob``; a fresh mask each run. ``keep_prob`` may be a placeholder."""
    if noise_shape is not None:
        raise TypeError("dropout(noise_shape=...) is not supported by microflow's TF1 layer")
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout: give exactly one of keep_prob and rate")
    if rate is None:
        keep = unwrap(keep_prob)
        rate = mf.subtract(1.0, keep) if isinstance(keep, mf.Tensor) else 1.0 - keep
    seed = _random.op_seed(seed)
    if seed is not None:            # TF1's seed pair, as one int for microflow's Generator
        seed = int(np.random.SeedSequence(list(seed)).generate_state(1)[0])
    return wrap(_op("dropout")(to_tensor(x), unwrap(rate), seed=seed, name=name))


def _named_only(function, sentinel):
    if sentinel is not None:
        raise ValueError(f"Only call `{function}` with named arguments (labels=..., "
                         "logits=..., ...)")


def softmax_cross_entropy_with_logits_v2(_sentinel=None, labels=None, logits=None, dim=-1,
                                         name=None, axis=None):
    """Per example, ``-sum(labels * log_softmax(logits))`` along ``dim``; the labels (rows
    of probabilities) get a gradient too."""
    _named_only("softmax_cross_entropy_with_logits_v2", _sentinel)
    axis = dim if axis is None else axis
    labels, logits = to_tensor(labels), to_tensor(logits)
    if logits.ndim == 2 and axis in (-1, 1) and labels.ndim == 2:
        return wrap(_per_example("softmax_cross_entropy")(logits, labels, reduction="none",
                                                          name=name))
    # Other ranks and axes: log_softmax is computed with log-sum-exp, finite for any logits.
    products = mf.multiply(labels, mf.log_softmax(logits, axis))
    return wrap(mf.negative(mf.reduce_sum(products, axis), name=name))


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1,
                                      name=None, axis=None):
    """TF1's v1: as ``_v2``, but no gradient flows into ``labels``."""
    _named_only("softmax_cross_entropy_with_logits", _sentinel)
    return softmax_cross_entropy_with_logits_v2(
        labels=mf.stop_gradient(to_tensor(labels)), logits=logits, dim=dim, name=name, axis=axis)


def _per_example(loss_name):
    """microflow's fused loss ``loss_name`` in its one-loss-per-example form."""
    loss = _op(loss_name)
    if "reduction" not in inspect.signature(loss).parameters:
        raise AttributeError(f"this TF1 loss is not supported by microflow's TF1 layer yet: it "
                             f"needs mf.{loss_name}(..., reduction='none'), which this version "
                             "does not have")
    return loss


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None,
                                             name=None):
    """Per example, ``-log_softmax(logits)[label]``, for integer class ``labels`` (N,)
    and ``logits`` (N, K); labels out of range are an error naming the op."""
    _named_only("sparse_softmax_cross_entropy_with_logits", _sentinel)
    loss = _per_example("softmax_cross_entropy")
    return wrap(loss(to_tensor(logits), to_tensor(labels), reduction="none", name=name))


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Per element, ``max(x, 0) - x z + log(1 + exp(-|x|))``: the cross-entropy of
    ``sigmoid(x)`` against ``z``, stable for any ``x``."""
    _named_only("sigmoid_cross_entropy_with_logits", _sentinel)
    loss = _per_example("sigmoid_cross_entropy")
    return wrap(loss(to_tensor(logits), to_tensor(labels), reduction="none", name=name))


# -- convolution and pooling (NHWC) -------------------------------------------------------
def _pair(values, what):
    """TF1's [1, h, w, 1] strides or window as microflow's (h, w)."""
    values = [int(v) for v in (values if np.ndim(values) else [values])]
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return tuple(values)
    if len(values) == 4 and values[0] == values[3] == 1:
        return values[1], values[2]
    raise ValueError(f"{what} must be [1, h, w, 1] (NHWC), got {values}")


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    """2-D convolution (cross-correlation) of NHWC ``input`` with an HWIO ``filter``;
    ``padding`` "SAME" (the odd extra cell at the bottom/right) or "VALID"."""
    if data_format != "NHWC":
        raise ValueError(f"conv2d: data_format {data_format!r} is not supported (NHWC only)")
    filter = filter if filter is not None else filters
    return wrap(_op("conv2d")(to_tensor(input), to_tensor(filter), strides=_pair(strides,
                              "strides"), padding=padding, dilations=_pair(dilations,
                              "dilations"), name=name))


def _pool(kind, value, ksize, strides, padding, data_format, name):
    if data_format != "NHWC":
        raise ValueError(f"{kind}: data_format {data_format!r} is not supported (NHWC only)")
    return wrap(_op(kind)(to_tensor(value), size=_pair(ksize, "ksize"),
                          strides=_pair(strides, "strides"), padding=padding, name=name))


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None):
    """The largest value of each window; SAME padding ignores the padded cells."""
    return _pool("max_pool", value, ksize, strides, padding, data_format, name)


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None):
    """The mean of each window; with SAME padding, over the real cells only."""
    return _pool("avg_pool", value, ksize, strides, padding, data_format, name)


__getattr__ = module_getattr("nn")
