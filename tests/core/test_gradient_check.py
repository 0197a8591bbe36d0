"""Every differentiable op's backward rule against central differences, driven by the registry."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import microflow as mf
from microflow.core.ops import REGISTRY, differentiable_ops
from microflow.core.ops.math import relu_grad, sigmoid_grad, tanh_grad
from microflow.core.ops.nn import sigmoid_cross_entropy_grad, softmax_cross_entropy_grad
from microflow.core.ops.reduce import broadcast_to, sum_to
from microflow.core.ops.shape import reshape_like, scatter_like
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
                  case(lambda a: mf.transpose(a, (1, 2, 0)), randn(2, 3, 4))],
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
        case(mf.softmax_cross_entropy, randn(4, 3), Fixed([0, 2, 1, 2]), dynamic=True)],
    "SoftmaxCrossEntropyGrad": [
        case(softmax_cross_entropy_grad, randn(), randn(4, 3), Fixed([0, 2, 1, 2])),
        case(softmax_cross_entropy_grad, randn(), randn(4, 3), probabilities(4, 3))],
    "SigmoidCrossEntropy": [
        case(mf.sigmoid_cross_entropy, randn(4, 2), rng.uniform(0, 1, (4, 2))),
        case(mf.sigmoid_cross_entropy, randn(4, 2), rng.uniform(0, 1, (2,)))],
    "SigmoidCrossEntropyGrad": [
        case(sigmoid_cross_entropy_grad, randn(), randn(4, 2), rng.uniform(0, 1, (4, 2))),
        case(sigmoid_cross_entropy_grad, randn(), randn(4, 2), rng.uniform(0, 1, (2,)))],
    "L2Loss": [case(mf.l2_loss, randn(3, 4))],
}


def all_cases():
    for name, cases in CASES.items():
        for param in cases:
            yield pytest.param(name, *param.values, id=f"{name}-{param.id or len(param.values[1])}")


def test_every_differentiable_op_has_a_case():
    assert set(differentiable_ops()) == set(CASES), (
        "ops registered without gradient-check cases: "
        f"{sorted(set(differentiable_ops()) - set(CASES))}")


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
