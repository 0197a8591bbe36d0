"""Every differentiable op's backward rule against central differences, driven by the registry."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import microflow as mf
from microflow.core.ops import REGISTRY, Op, differentiable_ops, register
from microflow.core.ops.conv import (AvgPoolGrad, MaxPoolGrad, MaxPoolGradGrad,
                                     conv2d_backprop_filter, conv2d_backprop_input)
from microflow.core.ops.math import relu_grad, sigmoid_grad, tanh_grad
from microflow.core.ops.base import apply
from microflow.core.ops.nn import Dropout, sigmoid_cross_entropy_grad, softmax_cross_entropy_grad
from microflow.core.ops.reduce import broadcast_to, sum_to
from microflow.core.ops.shape import reshape_like, scatter_add, scatter_like, split_like, tile_grad
from microflow.core.testing import check_gradients

rng = np.random.default_rng(1234)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """Values at least 0.1 from 0, where relu's kink would spoil a finite difference."""
    return rng.choice([-1, 1], shape) * rng.uniform(0.1, 2.0, shape)


def probabilities(*shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


def spread(*shape):
    """Distinct values, far apart compared with the finite-difference step: no window's
    max can change places when one is nudged."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
            + rng.uniform(-0.02, 0.02, shape))


def conv(strides=1, padding="VALID", dilations=1):
    return lambda x, w: mf.conv2d(x, w, strides, padding, dilations)


def conv_input(like, strides=1, padding="VALID", dilations=1):
    """The transposed convolution back to an input shaped like ``like`` (fixed)."""
    return lambda g, w: conv2d_backprop_input(g, w, mf.constant(like), strides, padding,
                                              dilations)


def conv_filter(window, strides=1, padding="VALID", dilations=1):
    """The filter gradient for filters of shape ``window`` (their values are not used)."""
    return lambda x, g: conv2d_backprop_filter(x, g, mf.constant(np.zeros(window)), strides,
                                               padding, dilations)


def pool_grad(op, size=2, strides=None, padding="VALID"):
    """MaxPoolGrad or MaxPoolGradGrad of a differentiated first input, for a fixed x."""
    return lambda a, x: apply(op(size, strides, padding), (a, x, mf.max_pool(x, size, strides,
                                                                              padding)))


def unnormalized(*shape):
    """Label rows that do not sum to 1 (soft labels, weights), the first one all 0 (masked)."""
    t = rng.uniform(0.0, 1.5, shape)
    t[0] = 0.0
    return t


class Fixed:
    """An input that is not differentiated (integer labels, shapes): a constant in the graph."""

    def __init__(self, value):
        self.value = np.asarray(value)


def case(build, *inputs, dynamic=False, id=None):
    """``build(*tensors)`` applied to ``inputs``; with ``dynamic`` the differentiated inputs
    are placeholders of unknown shape, so the run-time-shape paths are checked too."""
    return pytest.param(build, inputs, dynamic, id=id)


CASES = {
    "Add": [case(mf.add, randn(3, 4), randn(4)), case(mf.add, randn(3, 1), randn(1, 4)),
            case(mf.add, randn(2, 3), randn(2, 3), dynamic=True),
            case(mf.add, randn(3, 1), randn(4), dynamic=True)],
    "Sub": [case(mf.subtract, randn(3, 4), randn(4)), case(mf.subtract, randn(), randn(2, 3))],
    "Mul": [case(mf.multiply, randn(3, 4), randn(4)), case(mf.multiply, randn(2, 1, 3), randn(4, 1))],
    "Div": [case(mf.divide, randn(3, 4), positive(4)), case(mf.divide, randn(3, 1), positive(1, 2))],
    "Neg": [case(mf.negative, randn(3, 2))],
    "Pow": [case(lambda a: mf.power(a, 3), randn(3, 2)),
            case(lambda a: mf.power(a, 0.5), positive(4))],
    "Exp": [case(mf.exp, randn(3, 2))],
    "Log": [case(mf.log, positive(3, 2))],
    "Sqrt": [case(mf.sqrt, positive(3, 2))],
    "Square": [case(mf.square, randn(3, 2))],
    "Sigmoid": [case(mf.sigmoid, randn(3, 2)), case(mf.sigmoid, randn())],
    "Tanh": [case(mf.tanh, randn(3, 2))],
    "Relu": [case(mf.relu, away_from_zero(3, 4))],
    "SigmoidGrad": [case(sigmoid_grad, randn(3, 2), rng.uniform(0.1, 0.9, (3, 2)))],
    "TanhGrad": [case(tanh_grad, randn(3, 2), rng.uniform(-0.9, 0.9, (3, 2)))],
    "ReluGrad": [case(relu_grad, randn(3, 2), away_from_zero(3, 2))],
    "Cast": [case(lambda a: mf.cast(mf.cast(a, np.longdouble) * 3.0, "float64"), randn(3))],
    "MatMul": [case(mf.matmul, randn(2, 3), randn(3, 4)),
               case(mf.matmul, randn(3), randn(3, 4)),
               case(mf.matmul, randn(2, 3), randn(3)),
               case(mf.matmul, randn(3), randn(3)),
               case(mf.matmul, randn(2, 2, 3), randn(3, 4)),
               case(mf.matmul, randn(3), randn(2, 3, 4)),
               case(mf.matmul, randn(2, 3), randn(3, 4), dynamic=True),
               case(lambda a, b: mf.matmul(a, b, transpose_a=True), randn(3, 2), randn(3, 4)),
               case(lambda a, b: mf.matmul(a, b, transpose_b=True), randn(2, 3), randn(4, 3)),
               case(lambda a, b: mf.matmul(a, b, True, True), randn(3, 2), randn(4, 3))],
    "Reshape": [case(lambda a: mf.reshape(a, (3, -1)), randn(2, 3, 2))],
    "ReshapeLike": [case(lambda a, b: reshape_like(a, b), randn(6), randn(2, 3), dynamic=True)],
    "ExpandDims": [case(lambda a: mf.expand_dims(a, 1), randn(2, 3))],
    "Transpose": [case(mf.transpose, randn(2, 3)),
                  case(lambda a: mf.transpose(a, (1, 2, 0)), randn(2, 3, 4)),
                  case(lambda a: mf.transpose(a, (-2, -1, 1, 0)), randn(2, 3, 4, 5))],
    "GetItem": [case(lambda a: a[1], randn(3, 4)),
                case(lambda a: a[:, 1:3], randn(3, 4)),
                case(lambda a: a[..., ::2, None], randn(2, 3, 4)),
                case(lambda a: a[-1, :2], randn(3, 4), dynamic=True)],
    "ScatterLike": [case(lambda a, b: scatter_like(a, b, (slice(None), 1)), randn(3), Fixed(randn(3, 4))),
                    case(lambda a, b: scatter_like(a, b, (slice(1, 3),)), randn(2, 4), randn(5, 4), dynamic=True)],
    "Identity": [case(mf.identity, randn(2, 3))],
    "ReduceSum": [case(mf.reduce_sum, randn(3, 4)),
                  case(lambda a: mf.reduce_sum(a, axis=1), randn(3, 4, 2)),
                  case(lambda a: mf.reduce_sum(a, axis=(0, 2), keepdims=True), randn(3, 4, 2)),
                  case(lambda a: mf.reduce_sum(a, axis=0), randn(3, 4), dynamic=True)],
    "ReduceMean": [case(mf.reduce_mean, randn(3, 4)),
                   case(lambda a: mf.reduce_mean(a, axis=-1, keepdims=True), randn(3, 4)),
                   case(lambda a: mf.reduce_mean(a, axis=0), randn(3, 4), dynamic=True)],
    "SumTo": [case(lambda a, b: sum_to(a, b), randn(2, 3, 4), Fixed(randn(3, 1))),
              case(lambda a, b: sum_to(a, b), randn(5, 3), randn(3), dynamic=True)],
    "BroadcastTo": [case(lambda a, b: broadcast_to(a, b), randn(3, 1), Fixed(randn(2, 3, 4))),
                    case(lambda a, b: broadcast_to(a, b), randn(1, 4), randn(3, 4), dynamic=True)],
    "Softmax": [case(mf.softmax, randn(3, 4)), case(lambda a: mf.softmax(a, axis=0), randn(3, 4))],
    "LogSoftmax": [case(mf.log_softmax, randn(3, 4))],
    "SoftmaxCrossEntropy": [
        case(mf.softmax_cross_entropy, randn(4, 3), Fixed([0, 2, 1, 2])),
        case(mf.softmax_cross_entropy, randn(4, 3), probabilities(4, 3)),
        case(mf.softmax_cross_entropy, randn(4, 3), unnormalized(4, 3)),
        case(mf.softmax_cross_entropy, randn(4, 3), Fixed([0, 2, 1, 2]), dynamic=True)],
    "SoftmaxCrossEntropyGrad": [
        case(softmax_cross_entropy_grad, randn(), randn(4, 3), Fixed([0, 2, 1, 2])),
        case(softmax_cross_entropy_grad, randn(), randn(4, 3), probabilities(4, 3)),
        case(softmax_cross_entropy_grad, randn(), randn(4, 3), unnormalized(4, 3))],
    "SigmoidCrossEntropy": [
        case(mf.sigmoid_cross_entropy, randn(4, 2), rng.uniform(0, 1, (4, 2))),
        case(mf.sigmoid_cross_entropy, randn(), rng.uniform(0, 1, ())),
        case(mf.sigmoid_cross_entropy, randn(4, 2), rng.uniform(0, 1, (4, 2)), dynamic=True)],
    "SigmoidCrossEntropyGrad": [
        case(sigmoid_cross_entropy_grad, randn(), randn(4, 2), rng.uniform(0, 1, (4, 2))),
        case(sigmoid_cross_entropy_grad, randn(), randn(), rng.uniform(0, 1, ())),
        case(sigmoid_cross_entropy_grad, randn(), randn(4, 2), rng.uniform(0, 1, (4, 2)),
             dynamic=True)],
    "L2Loss": [case(mf.l2_loss, randn(3, 4))],
    # Convolutions: odd and even sizes, both paddings (SAME's odd cell included), strides
    # 1 and 2, dilation, explicit padding.
    "Conv2D": [case(conv(), randn(1, 5, 5, 2), randn(3, 3, 2, 2), id="valid-odd"),
               case(conv(2, "SAME"), randn(2, 6, 6, 1), randn(3, 3, 1, 2), id="same-stride2"),
               case(conv(1, "SAME"), randn(1, 4, 5, 2), randn(2, 2, 2, 1), id="same-even"),
               case(conv(2, "VALID"), randn(1, 7, 6, 1), randn(2, 3, 1, 2), id="valid-stride2"),
               case(conv(1, "SAME", 2), randn(1, 6, 5, 1), randn(2, 2, 1, 2), id="dilated"),
               case(conv((2, 1), ((1, 0), (0, 2))), randn(1, 5, 4, 1), randn(2, 2, 1, 1),
                    id="explicit")],
    "Conv2DBackpropInput": [
        case(conv_input(randn(1, 5, 5, 2)), randn(1, 3, 3, 2), randn(3, 3, 2, 2), id="valid"),
        case(conv_input(randn(1, 6, 5, 1), 2, "SAME"), randn(1, 3, 3, 2), randn(3, 3, 1, 2),
             id="same-stride2"),
        case(conv_input(randn(1, 6, 6, 1), 1, "SAME", 2), randn(1, 6, 6, 1), randn(2, 2, 1, 1),
             id="dilated")],
    "Conv2DBackpropFilter": [
        case(conv_filter((3, 3, 2, 2)), randn(1, 5, 5, 2), randn(1, 3, 3, 2), id="valid"),
        case(conv_filter((3, 3, 1, 2), 2, "SAME"), randn(2, 5, 6, 1), randn(2, 3, 3, 2),
             id="same-stride2"),
        case(conv_filter((2, 2, 1, 1), 1, "VALID", 2), randn(1, 5, 6, 1), randn(1, 3, 4, 1),
             id="dilated")],
    "MaxPool": [case(mf.max_pool, spread(2, 4, 4, 2), id="valid-even"),
                case(lambda x: mf.max_pool(x, 3, 2, "SAME"), spread(1, 5, 5, 2), id="same-odd"),
                case(lambda x: mf.max_pool(x, 2, 1), spread(1, 3, 4, 1), id="overlapping"),
                case(mf.max_pool, spread(1, 5, 4, 1), dynamic=True, id="dynamic")],
    "MaxPoolGrad": [case(pool_grad(MaxPoolGrad), randn(1, 2, 2, 2), Fixed(spread(1, 4, 4, 2))),
                    case(pool_grad(MaxPoolGrad, 3, 2, "SAME"), randn(1, 3, 3, 1),
                         Fixed(spread(1, 5, 6, 1)))],
    "MaxPoolGradGrad": [
        case(pool_grad(MaxPoolGradGrad), randn(1, 4, 4, 2), Fixed(spread(1, 4, 4, 2))),
        case(pool_grad(MaxPoolGradGrad, 2, 1, "SAME"), randn(1, 3, 3, 1),
             Fixed(spread(1, 3, 3, 1)))],
    "AvgPool": [case(mf.avg_pool, randn(2, 4, 4, 2), id="valid-even"),
                case(lambda x: mf.avg_pool(x, 3, 2, "SAME"), randn(1, 5, 6, 1), id="same"),
                case(lambda x: mf.avg_pool(x, (2, 3), 1), randn(1, 3, 4, 1), id="overlapping"),
                case(lambda x: mf.avg_pool(x, 2, padding="SAME"), randn(1, 5, 5, 1),
                     dynamic=True, id="dynamic")],
    "AvgPoolGrad": [
        case(lambda g, x: apply(AvgPoolGrad(2), (g, x)), randn(1, 2, 2, 2), Fixed(randn(1, 5, 4, 2))),
        case(lambda g, x: apply(AvgPoolGrad(3, 2, "SAME"), (g, x)), randn(1, 3, 3, 1),
             Fixed(randn(1, 5, 6, 1)))],
}


def mask(*shape):
    """A fixed boolean condition with both values in it."""
    return Fixed(np.arange(np.prod(shape)).reshape(shape) % 3 == 0)


CASES.update({      # the ops of issue 15
    "Sin": [case(mf.sin, randn(3, 2))],
    "Cos": [case(mf.cos, randn(3, 2))],
    "Abs": [case(mf.abs, away_from_zero(3, 4))],
    "Sign": [case(mf.sign, away_from_zero(3, 2))],
    "Log1p": [case(mf.log1p, rng.uniform(-0.5, 2.0, (3, 2)))],
    "Expm1": [case(mf.expm1, randn(3, 2))],
    "Power": [case(mf.power, positive(3, 4), randn(4)),
              case(mf.power, positive(3, 1), randn(1, 4)),
              case(lambda a: 0.7 ** a, randn(2, 3), id="number-base"),
              case(lambda a: 2 ** a, randn(3), id="two-to-the"),
              case(lambda a, b: a ** b, randn(3, 2), Fixed([2.0, 3.0]), id="negative-base"),
              case(mf.power, positive(2, 3), randn(2, 3), dynamic=True)],
    "Where": [case(mf.where, mask(3, 4), randn(3, 4), randn(4)),
              case(mf.where, mask(3, 1), randn(1, 4), randn(3, 1)),
              case(lambda a, b: mf.where(a > b, a, b), randn(2, 3), randn(2, 3), id="compare")],
    "Maximum": [case(mf.maximum, randn(3, 4), randn(4)), case(mf.maximum, randn(3, 1), randn(1, 2)),
                case(mf.maximum, randn(2, 3), randn(2, 3), dynamic=True)],
    "Minimum": [case(mf.minimum, randn(3, 4), randn(4)), case(mf.minimum, randn(3, 1), randn(1, 2))],
    "Clip": [case(lambda a: mf.clip(a, -0.5, 0.5), randn(4, 3)),
             case(mf.clip, randn(3, 4), randn(4) - 1, randn(1) + 1)],
    "LeakyRelu": [case(mf.leaky_relu, away_from_zero(3, 4)),
                  case(lambda a: mf.leaky_relu(a, alpha=0.01), away_from_zero(5))],
    "Elu": [case(mf.elu, away_from_zero(3, 4)),
            case(lambda a: mf.elu(a, alpha=0.5), away_from_zero(5))],
    "Softplus": [case(mf.softplus, 3 * randn(3, 4))],
    "Gelu": [case(mf.gelu, 2 * randn(3, 4))],
    "Swish": [case(mf.swish, 2 * randn(3, 4))],
    "Dropout": [case(lambda a, m: apply(Dropout(0.5), (a, m)), randn(3, 4),
                     Fixed(np.array([[0.0, 2.0, 2.0, 0.0]] * 3)))],
    "PlaceholderWithDefault": [case(mf.placeholder_with_default, randn(2, 3))],
    "ReduceMax": [case(mf.reduce_max, randn(3, 4)),
                  case(lambda a: mf.reduce_max(a, axis=1), randn(3, 4, 2)),
                  case(lambda a: mf.reduce_max(a, axis=(0, 2), keepdims=True), randn(3, 4, 2)),
                  case(lambda a: mf.reduce_max(a, axis=0), randn(3, 4), dynamic=True)],
    "ReduceMin": [case(mf.reduce_min, randn(3, 4)),
                  case(lambda a: mf.reduce_min(a, axis=-1, keepdims=True), randn(3, 4)),
                  case(lambda a: mf.reduce_min(a, axis=1), randn(2, 3), dynamic=True)],
    "Concat": [case(lambda a, b: mf.concat([a, b], 1), randn(2, 3), randn(2, 2)),
               case(lambda a, b, c: mf.concat([a, b, c], -2), randn(1, 3), randn(2, 3), randn(3, 3)),
               case(lambda a, b: mf.concat([a, b], 0), randn(2, 3), randn(1, 3), dynamic=True)],
    "SplitLike": [case(lambda g, a, b: split_like(g, [a, b], 0, 1), randn(5, 3), Fixed(randn(2, 3)),
                       Fixed(randn(3, 3))),
                  case(lambda g, a, b: split_like(g, [a, b], 1, 0), randn(2, 5), randn(2, 3),
                       randn(2, 2), dynamic=True)],
    "Stack": [case(lambda a, b: mf.stack([a, b], 1), randn(2, 3), randn(2, 3)),
              case(lambda a, b, c: mf.stack([a, b, c], -1), randn(3), randn(3), randn(3)),
              case(lambda a, b: mf.stack([a, b]), randn(2, 3), randn(2, 3), dynamic=True)],
    "Split": [case(lambda a: mf.split(a, [1, 3], axis=1)[1], randn(2, 4)),
              case(lambda a: mf.split(a, 3)[2], randn(3, 2)),
              case(lambda a: mf.split(mf.reshape(a, (-1, 4)), 2, axis=1)[0], randn(3, 4), dynamic=True)],
    "Squeeze": [case(mf.squeeze, randn(2, 1, 3)),
                case(lambda a: mf.squeeze(a, 0), randn(1, 3), dynamic=True)],
    "Pad": [case(lambda a: mf.pad(a, [(1, 0), (2, 1)]), randn(2, 3)),
            case(lambda a: mf.pad(a, [(0, 2), (1, 1)], constant=5.0), randn(2, 3), dynamic=True)],
    "Tile": [case(lambda a: mf.tile(a, (2, 3)), randn(2, 2)),
             case(lambda a: mf.tile(a, (1, 2, 2)), randn(2, 1, 3), dynamic=True)],
    "TileGrad": [case(lambda g, like: tile_grad(g, like, (2, 1)), randn(4, 3), Fixed(randn(2, 3))),
                 case(lambda g, like: tile_grad(g, like, (1, 3)), randn(2, 6), randn(2, 2), dynamic=True)],
    "Gather": [case(lambda p: mf.gather(p, [2, 0, 2]), randn(3, 4)),
               case(lambda p: mf.gather(p, np.array([[0, 1], [1, 1]]), axis=1), randn(2, 3)),
               case(lambda p: p[[0, 2, 2]], randn(3, 2), id="list-index"),
               case(lambda p, i: p[:, i], randn(2, 3), Fixed([2, 2, 0]), id="tensor-index"),
               case(lambda p: mf.gather(p, [1, 1]), randn(3, 2), dynamic=True)],
    "ScatterAdd": [case(lambda g, like: scatter_add(g, np.array([1, 1, 0]), like), randn(3, 4),
                        Fixed(randn(2, 4))),
                   case(lambda g, like: scatter_add(g, np.array([0, 2]), like, axis=1), randn(3, 2),
                        randn(3, 3), dynamic=True)],
    "SoftmaxCrossEntropyPerExample": [
        case(lambda a, t: mf.softmax_cross_entropy(a, t, reduction="none"), randn(4, 3),
             Fixed([0, 2, 1, 2])),
        case(lambda a, t: mf.softmax_cross_entropy(a, t, reduction="none"), randn(4, 3),
             probabilities(4, 3)),
        case(lambda a, t: mf.softmax_cross_entropy(a, t, reduction="sum"), randn(4, 3),
             unnormalized(4, 3)),
        case(lambda a, t: mf.softmax_cross_entropy(a, t, reduction="none"), randn(4, 3),
             Fixed([0, 2, 1, 2]), dynamic=True)],
    "SigmoidCrossEntropyPerElement": [
        case(lambda x, z: mf.sigmoid_cross_entropy(x, z, reduction="none"), randn(4, 2),
             rng.uniform(0, 1, (4, 2))),
        case(lambda x, z: mf.sigmoid_cross_entropy(x, z, reduction="sum"), randn(3),
             rng.uniform(0, 1, 3), dynamic=True)],
    "SquaredError": [case(mf.mean_squared_error, randn(4, 3), randn(4, 3)),
                     case(lambda p, t: mf.mean_squared_error(p, t, reduction="sum"), randn(5), randn(5)),
                     case(lambda p, t: mf.mean_squared_error(p, t, reduction="none"), randn(2, 3),
                          randn(2, 3)),
                     case(mf.mean_squared_error, randn(4, 1), randn(4, 1), dynamic=True)],
    "L1Loss": [case(mf.l1_loss, away_from_zero(3, 4))],
    "Logsumexp": [case(mf.logsumexp, randn(3, 4)),
                  case(lambda a: mf.logsumexp(a, axis=1), 3 * randn(3, 4, 2)),
                  case(lambda a: mf.logsumexp(a, axis=(0, 2), keepdims=True), randn(3, 4, 2)),
                  case(lambda a: mf.logsumexp(a, axis=0), randn(3, 4), dynamic=True)],
})


def all_cases():
    """Every case as a pytest.param: a list, since parametrize takes no generators."""
    return [pytest.param(name, *param.values, id=f"{name}-{param.id or len(param.values[1])}")
            for name, cases in CASES.items() for param in cases]


def test_every_differentiable_op_has_a_case():
    assert set(differentiable_ops()) == set(CASES), (
        "ops registered without gradient-check cases: "
        f"{sorted(set(differentiable_ops()) - set(CASES))}")


def test_an_op_registered_without_cases_fails_the_check():
    @register
    class Unchecked(Op):
        """out = a"""

        def forward(self, a):
            return a

    try:
        assert set(differentiable_ops()) - set(CASES) == {"Unchecked"}
    finally:
        del REGISTRY["Unchecked"]


def test_the_registry_knows_every_public_op():
    for name in ["Add", "MatMul", "Softmax", "Accuracy", "ArgMax", "Equal", "StopGradient"]:
        assert name in REGISTRY


def _build(build, inputs, dynamic):
    graph = mf.Graph()
    with graph.as_default():
        tensors, xs, feed = [], [], {}
        for value in inputs:
            if isinstance(value, Fixed):
                tensors.append(mf.constant(value.value))
            elif dynamic:
                x = mf.placeholder((None,) * np.ndim(value), dtype="float64")
                feed[x] = value
                tensors.append(x)
                xs.append(x)
            else:
                x = mf.Variable(np.array(value, dtype=np.float64))
                tensors.append(x)
                xs.append(x)
        y = build(*tensors)
    return y, xs, feed


@pytest.mark.parametrize("name, build, inputs, dynamic", all_cases())
def test_backward_matches_central_differences(name, build, inputs, dynamic):
    y, xs, feed = _build(build, inputs, dynamic)
    ops_used = {t.op for t in y.graph.tensors}
    assert name in ops_used, f"the case for {name} builds {sorted(ops_used)}"
    assert check_gradients(y, xs, feed) < 1e-6


SECOND_ORDER = {
    # op: (build, input, analytic second derivative of sum(f(x)))
    "Sigmoid": (mf.sigmoid, lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
    "Tanh": (mf.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    "Exp": (mf.exp, np.exp),
    "Log": (mf.log, lambda x: -1 / x ** 2),
    "Square": (mf.square, lambda x: 2 * np.ones_like(x)),
    "Mul": (lambda x: x * x * x, lambda x: 6 * x),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_the_analytic_ones(name):
    build, second = SECOND_ORDER[name]
    values = positive(5)
    x = mf.Variable(values)
    (first,) = mf.gradients(mf.reduce_sum(build(x)), [x])
    (again,) = mf.gradients(mf.reduce_sum(first), [x])
    np.testing.assert_allclose(mf.Session().run(again), second(values), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("build", [
    lambda a, b: mf.matmul(a, b),
    lambda a, b: mf.add(mf.matmul(a, b), mf.matmul(a, b)),
    lambda a, b: mf.matmul(mf.transpose(a), mf.transpose(b), True, True),
], ids=["MatMul", "Add", "MatMul-transposed"])
def test_hessian_vector_products_of_matmul_and_add(build):
    a = mf.Variable(randn(2, 3))
    b = mf.Variable(randn(3, 4))
    loss = mf.reduce_sum(mf.square(build(a, b)))
    (da,) = mf.gradients(loss, [a])
    assert check_gradients(da, [a, b]) < 1e-6


def test_second_derivatives_of_sigmoid_cross_entropy():
    logits = mf.Variable(randn(4, 2))
    loss = mf.sigmoid_cross_entropy(logits, mf.constant(rng.uniform(0, 1, (4, 2))))
    (d_logits,) = mf.gradients(loss, [logits])
    assert check_gradients(d_logits, [logits]) < 1e-6


def test_second_derivatives_of_softmax_cross_entropy():
    logits = mf.Variable(randn(4, 3))
    loss = mf.softmax_cross_entropy(logits, mf.constant(np.array([0, 1, 2, 1])))
    (d_logits,) = mf.gradients(loss, [logits])
    assert check_gradients(d_logits, [logits]) < 1e-6


ELEMENTWISE = {
    "Add": mf.add, "Sub": mf.subtract, "Mul": mf.multiply,
    "Div": lambda a, b: mf.divide(a, mf.exp(b)),
    "Maximum": mf.maximum, "Minimum": mf.minimum,
    "Power": lambda a, b: mf.power(mf.exp(a), b),
    "Where": lambda a, b: mf.where(a > b, a * b, b),
}


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(ELEMENTWISE)),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 2**31))
def test_elementwise_gradients_on_any_broadcastable_shapes(name, shapes, seed):
    generator = np.random.default_rng(seed)
    arrays = [generator.standard_normal(shape) for shape in shapes.input_shapes]
    y, xs, feed = _build(ELEMENTWISE[name], arrays, dynamic=False)
    assert check_gradients(y, xs, feed) < 1e-6


# Second order for the ops of issue 15: the first derivative, itself a graph, checked against
# central differences (piecewise linear ones too: their second derivative is 0 off the kinks).
SECOND_ORDER_BY_DIFFERENCES = {
    "Sin": (mf.sin, [randn(4)]),
    "Cos": (mf.cos, [randn(4)]),
    "Abs": (mf.abs, [away_from_zero(4)]),
    "Log1p": (mf.log1p, [positive(4)]),
    "Expm1": (mf.expm1, [randn(4)]),
    "Power": (mf.power, [positive(3, 2), randn(2)]),
    "Where": (lambda a, b: mf.where(a > b, a * a, b * a), [randn(3, 2), randn(2)]),
    "Maximum": (lambda a, b: mf.maximum(a * a, b), [randn(3, 2), randn(2)]),
    "Minimum": (lambda a, b: mf.minimum(a * b, b), [randn(3, 2), randn(2)]),
    "Clip": (lambda a: mf.clip(a * a, 0.2, 1.0), [away_from_zero(5)]),
    "LeakyRelu": (lambda a: mf.leaky_relu(a) * a, [away_from_zero(5)]),
    "Elu": (mf.elu, [away_from_zero(6)]),
    "Softplus": (mf.softplus, [3 * randn(5)]),
    "Gelu": (mf.gelu, [2 * randn(5)]),
    "Swish": (mf.swish, [2 * randn(5)]),
    "ReduceMax": (lambda a: mf.reduce_max(a * a, axis=1), [randn(3, 4)]),
    "ReduceMin": (lambda a: mf.reduce_min(a * a, axis=0), [randn(3, 4)]),
    "Logsumexp": (lambda a: mf.logsumexp(a, axis=1), [randn(3, 4)]),
    "Concat": (lambda a, b: mf.concat([a * b, a], 0), [randn(2, 3), randn(3)]),
    "Stack": (lambda a, b: mf.stack([a * b, b], 1), [randn(2, 3), randn(2, 3)]),
    "Split": (lambda a: mf.split(a * a, [1, 2], 1)[1], [randn(2, 3)]),
    "Pad": (lambda a: mf.pad(a * a, [(1, 1)]), [randn(3)]),
    "Tile": (lambda a: mf.tile(a * a, (2, 1)), [randn(2, 3)]),
    "Gather": (lambda a: mf.gather(a * a, [0, 0, 1]), [randn(2, 3)]),
    "SoftmaxCrossEntropyPerExample": (
        lambda a, t: mf.softmax_cross_entropy(a, t, reduction="none") * [1.0, 2.0, 3.0],
        [randn(3, 4), probabilities(3, 4)]),
    "SigmoidCrossEntropyPerElement": (
        lambda x, z: mf.sigmoid_cross_entropy(x, z, reduction="none"),
        [randn(3, 2), rng.uniform(0, 1, (3, 2))]),
    "SquaredError": (mf.mean_squared_error, [randn(3, 2), randn(3, 2)]),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER_BY_DIFFERENCES))
def test_second_derivatives_match_central_differences(name):
    build, values = SECOND_ORDER_BY_DIFFERENCES[name]
    xs = [mf.Variable(np.array(v, dtype=np.float64)) for v in values]
    y = build(*xs)
    assert name in {t.op for t in y.graph.tensors}
    first = mf.gradients(mf.reduce_sum(y), xs)
    assert check_gradients(first, xs) < 1e-6


@pytest.mark.parametrize("build, x, w", [
    (conv(), randn(1, 5, 5, 2), randn(3, 3, 2, 2)),
    (conv(2, "SAME"), randn(1, 6, 5, 1), randn(3, 3, 1, 2)),
    (conv(1, "SAME", 2), randn(1, 5, 5, 1), randn(2, 2, 1, 1)),
], ids=["valid", "same-stride2", "dilated"])
def test_second_derivatives_of_a_convolution(build, x, w):
    # d/dx of a smooth loss is a transposed convolution and a correlation of the weights; its
    # own gradient goes through both of them and back through the convolution.
    x, w = mf.Variable(x), mf.Variable(w)
    loss = mf.reduce_sum(mf.tanh(build(x, w)))
    d_x, d_w = mf.gradients(loss, [x, w])
    ops = {t.op for t in x.graph.tensors}
    assert {"Conv2DBackpropInput", "Conv2DBackpropFilter"} <= ops
    assert check_gradients(d_x, [x, w]) < 1e-6
    assert check_gradients(d_w, [x, w]) < 1e-6


@pytest.mark.parametrize("pool", [mf.max_pool, lambda x: mf.avg_pool(x, 3, 2, "SAME")],
                         ids=["max", "avg"])
def test_second_derivatives_of_pooling(pool):
    x = mf.Variable(spread(1, 5, 5, 2))
    (d_x,) = mf.gradients(mf.reduce_sum(mf.square(pool(x))), [x])
    assert check_gradients(d_x, [x]) < 1e-6


@pytest.mark.parametrize("name, build, inputs, dynamic", all_cases())
def test_ops_whose_output_may_share_memory_with_an_input_say_so(name, build, inputs, dynamic):
    """``views = True`` is what makes a Session copy a fetched view of a fed array or a
    Variable, so that the caller never gets (and never writes into) someone else's buffer."""
    y, xs, feed = _build(build, inputs, dynamic)
    sess = mf.Session(y.graph)
    for node in y.graph.tensors:
        if not node.inputs or node.operation.stateful:
            continue
        values = sess.run(list(node.inputs), feed)
        out = node.operation.forward(*values)
        if isinstance(out, np.ndarray) and any(isinstance(v, np.ndarray) and
                                               np.shares_memory(out, v) for v in values):
            assert node.operation.views, f"{node.op} returns a view of an input: set views = True"


def _fortran(value):
    return np.asfortranarray(value) if isinstance(value, np.ndarray) and value.ndim >= 2 \
        else value


@pytest.mark.parametrize("name, build, inputs, dynamic", all_cases())
def test_every_kernel_gives_the_same_values_for_inputs_of_any_memory_layout(name, build, inputs,
                                                                           dynamic):
    """A plan may lay a value out column after column (Fortran order) where that is faster,
    and a caller may feed one: every forward kernel, of the op and of its gradient ops, must
    give the same values for Fortran-ordered and strided-view inputs as for C-ordered ones."""
    y, xs, feed = _build(build, inputs, dynamic)
    with y.graph.as_default():
        mf.gradients(y, xs)
    sess = mf.Session(y.graph)
    for node in y.graph.tensors:
        if not node.inputs or node.operation.stateful:
            continue
        values = sess.run(list(node.inputs), feed)
        expected = node.operation.forward(*[np.copy(v) if isinstance(v, np.ndarray) else v
                                            for v in values])
        strided = [np.repeat(v, 2, axis=-1)[..., ::2] if isinstance(v, np.ndarray) and v.ndim
                   else v for v in values]
        for layout in ([_fortran(v) for v in values], strided):
            got = node.operation.forward(*layout)
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15,
                                       err_msg=f"{node.op} op {node.name!r}")
