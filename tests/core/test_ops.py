"""Forward values of the ops, numerical stability, and build-time shape errors."""

import warnings

import numpy as np
import pytest

import microflow as mf


def run(tensor, feed=None):
    return mf.Session().run(tensor, feed)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_cross_entropy_of_huge_logits_is_exact_and_silent(dtype):
    logits = mf.constant(np.array([[1000.0, 0.0, -1000.0]], dtype=dtype))
    loss = mf.softmax_cross_entropy(logits, mf.constant(np.array([1])))
    one_hot = mf.softmax_cross_entropy(logits, mf.constant(np.array([[0, 1, 0]], dtype=dtype)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, dense_value = run([loss, one_hot])
    assert value == 1000.0 and dense_value == 1000.0
    assert value.dtype == np.dtype(dtype)


def test_softmax_cross_entropy_is_the_batch_mean_of_minus_log_softmax():
    logits = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.0]])
    labels = np.array([2, 0])
    expected = -np.mean(np.log(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))[[0, 1], labels])
    assert run(mf.softmax_cross_entropy(mf.constant(logits), mf.constant(labels))) == pytest.approx(expected)


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    logits_value = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.0]])
    logits = mf.Variable(logits_value)
    loss = mf.softmax_cross_entropy(logits, mf.constant(np.array([2, 0])))
    (grad,) = mf.gradients(loss, [logits])
    softmax = np.exp(logits_value) / np.exp(logits_value).sum(1, keepdims=True)
    np.testing.assert_allclose(run(grad), (softmax - np.eye(3)[[2, 0]]) / 2)


def test_softmax_and_log_softmax_are_stable_for_huge_inputs():
    x = mf.constant(np.array([[1000.0, 0.0, -1000.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probabilities, logs = run([mf.softmax(x), mf.log_softmax(x)])
    np.testing.assert_allclose(probabilities, [[1, 0, 0]])
    np.testing.assert_allclose(logs, [[0, -1000, -2000]])


def test_sigmoid_is_finite_and_silent_for_huge_inputs():
    x = mf.constant(np.array([-1000.0, 0.0, 1000.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(run(mf.sigmoid(x)), [0, 0.5, 1])


def test_sigmoid_cross_entropy_matches_the_textbook_form_and_survives_huge_logits():
    logits = np.array([[-2.0, 0.5], [3.0, 0.0]])
    targets = np.array([[0.0, 1.0], [1.0, 0.0]])
    p = 1 / (1 + np.exp(-logits))
    expected = -np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    assert run(mf.sigmoid_cross_entropy(mf.constant(logits), mf.constant(targets))) == pytest.approx(expected)
    huge = mf.sigmoid_cross_entropy(mf.constant(np.array([1000.0, -1000.0])), mf.constant(np.array([0.0, 1.0])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(huge) == pytest.approx(1000.0)


def test_l2_loss_is_half_the_sum_of_squares():
    assert run(mf.l2_loss(mf.constant(np.array([1.0, 2.0, 3.0])))) == 7.0


def test_argmax_equal_and_accuracy():
    logits = mf.constant(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]))
    labels = mf.constant(np.array([1, 1, 1]))
    one_hot = mf.constant(np.eye(2)[[1, 1, 1]])
    predicted, same, acc, acc_one_hot = run([
        mf.argmax(logits, axis=1), mf.equal(mf.argmax(logits, 1), labels),
        mf.accuracy(logits, labels), mf.accuracy(logits, one_hot)])
    np.testing.assert_array_equal(predicted, [1, 0, 1])
    np.testing.assert_array_equal(same, [True, False, True])
    assert acc == pytest.approx(2 / 3) and acc_one_hot == pytest.approx(2 / 3)


def test_non_differentiable_ops_have_no_gradient():
    x = mf.Variable(np.array([[0.1, 0.9]]))
    for y in [mf.argmax(x, 1), mf.equal(x, 0.1), mf.accuracy(x, mf.constant(np.array([1]))),
              mf.stop_gradient(x)]:
        assert mf.gradients(y, [x]) == [None]


def test_reductions_reshape_and_transpose_values():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mf.constant(a)
    values = run([mf.reduce_sum(x, axis=1), mf.reduce_mean(x, axis=(0, 2), keepdims=True),
                  mf.reshape(x, (4, -1)), mf.transpose(x, (2, 0, 1)), mf.reduce_sum(x)])
    expected = [a.sum(1), a.mean((0, 2), keepdims=True), a.reshape(4, -1),
                a.transpose(2, 0, 1), a.sum()]
    for value, want in zip(values, expected):
        np.testing.assert_array_equal(value, want)


def test_static_shapes_are_inferred_with_unknown_dimensions():
    x = mf.placeholder((None, 3, 4))
    assert mf.reduce_sum(x, axis=1).shape == (None, 4)
    assert mf.reshape(x, (-1, 12)).shape == (None, 12)
    assert mf.transpose(x).shape == (4, 3, None)
    assert (x + mf.placeholder((5, 1, 1))).shape == (5, 3, 4)
    assert mf.matmul(x, mf.placeholder((4, 7))).shape == (None, 3, 7)
    assert mf.softmax_cross_entropy(mf.placeholder((None, 3)), mf.placeholder((None,), "int64")).shape == ()


def test_matmul_shape_mismatch_names_the_op_its_type_and_both_shapes():
    x = mf.placeholder((None, 3), name="x")
    W = mf.Variable(np.ones((4, 5)), name="W")
    with pytest.raises(mf.ShapeError, match=r"MatMul op 'layer/logits'.*\(None, 3\) @ \(4, 5\)") as info:
        with mf.name_scope("layer"):
            mf.matmul(x, W, name="logits")
    assert isinstance(info.value, ValueError)


def test_broadcast_mismatch_names_the_op_and_shapes():
    with pytest.raises(mf.ShapeError, match=r"Add op 'sum'.*\(None, 3\) and \(4,\)"):
        mf.add(mf.placeholder((None, 3)), mf.placeholder((4,)), name="sum")


@pytest.mark.parametrize("build, message", [
    (lambda: mf.reshape(mf.placeholder((2, 3)), (4, 2)), r"Reshape op.*\(2, 3\) \(6 elements\) into \(4, 2\)"),
    (lambda: mf.reduce_sum(mf.placeholder((2, 3)), axis=2), r"ReduceSum op.*axis 2 is out of range"),
    (lambda: mf.transpose(mf.placeholder((2, 3)), (0, 0)), r"Transpose op.*"),
    (lambda: mf.softmax_cross_entropy(mf.placeholder((None, 3)), mf.placeholder((None,))),
     r"SoftmaxCrossEntropy op.*integer class indices"),
    (lambda: mf.softmax_cross_entropy(mf.placeholder((4, 3)), mf.placeholder((5,), "int64")),
     r"SoftmaxCrossEntropy op.*\(4, 3\) and labels \(5,\)"),
    (lambda: mf.sigmoid_cross_entropy(mf.placeholder((4,)), mf.placeholder((2, 4))),
     r"SigmoidCrossEntropy op.*logits \(4,\) and targets \(2, 4\) do not match"),
])
def test_build_time_errors_name_the_op_and_shapes(build, message):
    with pytest.raises(mf.ShapeError, match=message):
        build()


def test_indexing_a_tensor_follows_numpy_basic_indexing():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mf.placeholder((None, 3, 4), dtype="float64")
    keys = [0, (slice(None), 1), (Ellipsis, -1), (slice(None), None, slice(1, 3)), (1, 2, 3)]
    tensors = [x[key] for key in keys]
    assert [t.shape for t in tensors] == [(3, 4), (None, 4), (None, 3), (None, 1, 2, 4), ()]
    for value, key in zip(mf.Session().run(tensors, {x: a}), keys):
        np.testing.assert_array_equal(value, a[key])


def test_bad_indices_are_reported_when_the_graph_is_built():
    x = mf.placeholder((None, 3), name="x")
    with pytest.raises(mf.ShapeError, match=r"GetItem op.*index 3 is out of range for axis 1"):
        x[:, 3]
    with pytest.raises(mf.ShapeError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(TypeError, match="ints, slices, None"):
        x[0.5]
    with pytest.raises(TypeError, match="must hold integers, not bool"):
        x[[True, False]]
    with pytest.raises(TypeError, match="alone or after full slices"):
        x[0, [0, 1]]
    with pytest.raises(TypeError, match="not iterable"):
        list(x)


@pytest.mark.parametrize("copies", [1, 40])             # a few logits in Python floats, or numpy
@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
def test_sigmoid_cross_entropy_and_its_gradient_are_accurate_far_from_zero(target, copies):
    # against 80-bit long doubles: the loss to a few ulps (no cancellation for 0/1 targets),
    # the gradient sigmoid(x) - z to a few ulps of 1 on both sides of 0
    for value in np.concatenate([-np.geomspace(1e-3, 700, 25), [0.0], np.geomspace(1e-3, 700, 25)]):
        logit = mf.placeholder((None, 1), dtype="float64")
        loss = mf.sigmoid_cross_entropy(logit, np.full((copies, 1), target))
        (grad,) = mf.gradients(loss, [logit])
        got_loss, got_grad = mf.Session().run([loss, grad], {logit: np.full((copies, 1), value)})
        x = np.longdouble(value)
        sigmoid = 1 / (1 + np.exp(-x))
        want_loss = np.log1p(np.exp(-abs(x))) + (max(x, 0) - x * np.longdouble(target))
        assert abs(got_loss - want_loss) <= 4e-16 * abs(want_loss), (value, got_loss, want_loss)
        assert np.all(abs(got_grad * copies - (sigmoid - np.longdouble(target))) <= 4.5e-16), value
