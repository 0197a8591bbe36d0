"""The engine's answers to the hardening report (issue 11): wrong results, crashes and weak
messages found with hostile input, each with the siblings of the same mistake."""

import warnings

import numpy as np
import pytest

import microflow as mf
from microflow.core.testing import check_gradients

rng = np.random.default_rng(11)


def run(fetches, feed=None):
    return mf.Session().run(fetches, feed)


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture
def silent():
    """Any numpy warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- 1. transpose with negative axes ------------------------------------------------------
def test_transpose_with_negative_axes_has_the_input_shaped_gradient():
    value = rng.standard_normal((3, 4, 5, 6))
    x = mf.Variable(value)
    y = mf.transpose(x, (-2, -1, 1, 0))
    assert y.shape == (5, 6, 4, 3)
    np.testing.assert_array_equal(run(y), np.transpose(value, (2, 3, 1, 0)))
    (grad,) = mf.gradients(mf.reduce_sum(y * mf.constant(np.arange(360.0).reshape(5, 6, 4, 3))), [x])
    assert grad.shape == (3, 4, 5, 6)
    np.testing.assert_array_equal(run(grad), np.transpose(np.arange(360.0).reshape(5, 6, 4, 3),
                                                          (3, 2, 0, 1)))


# -- 2. softmax cross-entropy with label rows that do not sum to 1 ------------------------
def test_softmax_cross_entropy_gradient_scales_softmax_by_the_label_row_sum():
    logits_value = rng.standard_normal((4, 3))
    labels_value = np.array([[0.2, 0.3, 0.1], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    logits = mf.Variable(logits_value)
    loss = mf.softmax_cross_entropy(logits, mf.constant(labels_value))
    (grad,) = mf.gradients(loss, [logits])
    expected = (labels_value.sum(1, keepdims=True) * softmax(logits_value) - labels_value) / 4
    np.testing.assert_allclose(run(grad), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(run(grad)[1], [0.0, 0.0, 0.0])     # a masked row: no gradient


def test_softmax_cross_entropy_second_derivatives_with_unnormalized_labels():
    logits = mf.Variable(rng.standard_normal((3, 4)))
    labels = mf.constant(np.array([[0.5, 0.0, 1.0, 0.0], [0.0] * 4, [0.1, 0.2, 0.3, 0.9]]))
    (d_logits,) = mf.gradients(mf.softmax_cross_entropy(logits, labels), [logits])
    assert check_gradients(d_logits, [logits]) < 1e-6


# -- 3. labels must have exactly one row per logits row -----------------------------------
@pytest.mark.parametrize("loss_of, logits_shape, labels_shape, labels_dtype, message", [
    (mf.softmax_cross_entropy, (4, 3), (1,), "int64",
     r"SoftmaxCrossEntropy op 'loss'.*logits \(4, 3\) and labels \(1,\)"),
    (mf.softmax_cross_entropy, (4, 3), (1, 3), "float32",
     r"SoftmaxCrossEntropy op 'loss'.*logits \(4, 3\) and labels \(1, 3\)"),
    (mf.softmax_cross_entropy, (None, 3), (None, 1), "float32",
     r"SoftmaxCrossEntropy op 'loss'.*logits \(None, 3\) and labels \(None, 1\)"),
    (mf.sigmoid_cross_entropy, (4, 2), (1, 2), "float32",
     r"SigmoidCrossEntropy op 'loss'.*logits \(4, 2\) and targets \(1, 2\)"),
    (mf.sigmoid_cross_entropy, (4, 2), (2,), "float32",
     r"SigmoidCrossEntropy op 'loss'.*logits \(4, 2\) and targets \(2,\)"),
    (mf.accuracy, (4, 3), (1,), "int64", r"Accuracy op 'loss'.*logits \(4, 3\) and labels \(1,\)"),
    (mf.accuracy, (4, 3), (4, 2), "float32",
     r"Accuracy op 'loss'.*logits \(4, 3\) and labels \(4, 2\)"),
])
def test_labels_with_other_rows_than_the_logits_are_refused_at_build(
        loss_of, logits_shape, labels_shape, labels_dtype, message):
    logits = mf.placeholder(logits_shape, name="logits")
    labels = mf.placeholder(labels_shape, labels_dtype, name="labels")
    with pytest.raises(mf.ShapeError, match=message):
        loss_of(logits, labels, name="loss")


@pytest.mark.parametrize("loss_of, logits_shape, labels_value, message", [
    (mf.softmax_cross_entropy, (None, 3), np.array([1]),
     r"SoftmaxCrossEntropy op 'loss'.*logits \(4, 3\) and labels \(1,\)"),
    (mf.softmax_cross_entropy, (None, 3), np.array([[0.0, 1.0, 0.0]]),
     r"SoftmaxCrossEntropy op 'loss'.*logits \(4, 3\) and labels \(1, 3\)"),
    (mf.softmax_cross_entropy, (None, 3), np.ones((4, 1)),
     r"SoftmaxCrossEntropy op 'loss'.*logits \(4, 3\) and labels \(4, 1\)"),
    (mf.sigmoid_cross_entropy, (None, 3), np.ones((1, 3)),
     r"SigmoidCrossEntropy op 'loss'.*logits \(4, 3\) and targets \(1, 3\)"),
    (mf.accuracy, (None, 3), np.array([1]),
     r"Accuracy op 'loss'.*logits \(4, 3\) and labels \(1,\)"),
    (mf.accuracy, (None, 3), np.array([[0.0, 1.0, 0.0]]),
     r"Accuracy op 'loss'.*logits \(4, 3\) and labels \(1, 3\)"),
])
def test_labels_with_other_rows_than_the_logits_are_refused_at_run_time(
        loss_of, logits_shape, labels_value, message):
    logits = mf.placeholder(logits_shape, "float64", name="logits")
    labels = mf.placeholder((None,) * labels_value.ndim, labels_value.dtype, name="labels")
    loss = loss_of(logits, labels, name="loss")
    with pytest.raises(mf.ShapeError, match=message):
        run(loss, {logits: np.zeros((4, 3)), labels: labels_value})


@pytest.mark.parametrize("loss_of, labels_value", [
    (mf.softmax_cross_entropy, np.array([1])),
    (mf.softmax_cross_entropy, np.array([[0.0, 1.0, 0.0]])),
    (mf.sigmoid_cross_entropy, np.ones((1, 3))),
])
def test_the_fused_gradients_check_the_rows_too(loss_of, labels_value):
    logits = mf.placeholder((None, 3), "float64", name="logits")
    labels = mf.placeholder((None,) * labels_value.ndim, labels_value.dtype, name="labels")
    (grad,) = mf.gradients(loss_of(logits, labels), [logits])
    with pytest.raises(mf.ShapeError, match=r"Grad op .*logits \(4, 3\) and (labels|targets) \(1"):
        run(grad, {logits: np.zeros((4, 3)), labels: labels_value})


# -- 7. sigmoid cross-entropy at infinite logits --------------------------------------------
def test_sigmoid_cross_entropy_at_infinite_logits_is_exact(silent):
    logits = mf.Variable(np.array([np.inf, -np.inf, np.inf, -np.inf, 2.0]))
    targets = mf.constant(np.array([1.0, 0.0, 1.0, 0.0, 1.0]))
    loss = mf.sigmoid_cross_entropy(logits, targets)
    (grad,) = mf.gradients(loss, [logits])
    value, gradient = run([loss, grad])
    assert value == pytest.approx(np.log1p(np.exp(-2.0)) / 5, rel=1e-15)
    np.testing.assert_allclose(gradient, [0, 0, 0, 0, (1 / (1 + np.exp(-2.0)) - 1) / 5])
    wrong = mf.sigmoid_cross_entropy(logits, mf.constant(np.array([0.0, 1.0, 0.5, 0.5, 1.0])))
    assert run(wrong) == np.inf


# -- 9. every fast kernel on the shapes it may meet -----------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 8, 16, 17])
def test_softmax_of_a_vector_of_any_length(n, silent):
    value = rng.standard_normal(n)
    np.testing.assert_allclose(run(mf.softmax(mf.constant(value))), softmax(value), rtol=1e-12)
    np.testing.assert_allclose(run(mf.log_softmax(mf.constant(value))), np.log(softmax(value)),
                               rtol=1e-12)


@pytest.mark.parametrize("shape", [(0, 3), (2, 3, 4), (5, 1), (4, 16), (3, 17)])
def test_softmax_on_any_batch_shape(shape):
    value = rng.standard_normal(shape)
    np.testing.assert_allclose(run(mf.softmax(mf.constant(value))), softmax(value), rtol=1e-12)


def test_the_losses_of_a_single_logit():
    x = mf.Variable(0.5, dtype="float64")
    loss = mf.sigmoid_cross_entropy(x, mf.constant(1.0, dtype="float64"))
    (grad,) = mf.gradients(loss, [x])
    value, gradient = run([loss, grad])
    assert value == pytest.approx(np.log1p(np.exp(-0.5)))
    assert gradient == pytest.approx(1 / (1 + np.exp(-0.5)) - 1)


@pytest.mark.parametrize("dense", [False, True])
def test_the_loss_gradient_of_column_major_logits_is_right(dense):
    value = np.asfortranarray(rng.standard_normal((4, 3)))
    labels_value = np.array([0, 2, 1, 2])
    labels = mf.constant(np.eye(3)[labels_value] if dense else labels_value)
    logits = mf.placeholder((None, 3), "float64", name="logits")
    (grad,) = mf.gradients(mf.softmax_cross_entropy(logits, labels), [logits])
    expected = (softmax(value) - np.eye(3)[labels_value]) / 4
    np.testing.assert_allclose(run(grad, {logits: value}), expected, rtol=1e-12)
    np.testing.assert_allclose(run(grad, {logits: value.T.copy().T}), expected, rtol=1e-12)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), ()])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_reduce_sum_on_any_layout(axis, layout):
    value = rng.standard_normal((6, 5))
    fed = {"C": value, "F": np.asfortranarray(value), "strided": value[::2]}[layout]
    x = mf.placeholder((None, 5), "float64")
    np.testing.assert_allclose(run(mf.reduce_sum(x, axis=axis), {x: fed}),
                               np.sum(fed, axis=axis), rtol=1e-12)
