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


def test_softmax_cross_entropy_with_masked_logits_and_one_hot_labels_is_finite(silent):
    logits_value = np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, 0.0]])
    logits = mf.Variable(logits_value)
    one_hot = mf.softmax_cross_entropy(logits, mf.constant(np.array([[0.0, 1.0, 0.0], [1.0, 0, 0]])))
    sparse = mf.softmax_cross_entropy(logits, mf.constant(np.array([1, 0])))
    (grad,) = mf.gradients(one_hot, [logits])
    dense_value, sparse_value, gradient = run([one_hot, sparse, grad])
    expected = -np.mean([np.log(softmax(logits_value[0])[1]), np.log(softmax(logits_value[1])[0])])
    assert dense_value == pytest.approx(expected) and sparse_value == pytest.approx(expected)
    assert np.isfinite(gradient).all() and gradient[0, 0] == 0 and gradient[1, 1] == 0


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


# -- 5. a Session never writes into, or hands back, an array the caller fed -----------------
def test_feeding_a_variable_while_training_leaves_the_fed_array_alone():
    W = mf.Variable(np.ones(3), name="W")
    train = mf.optimizers.SGD(0.1).minimize(mf.l2_loss(W))
    fed = np.full(3, 2.0)
    sess = mf.Session()
    fetched = sess.run([train, W], {W: fed})[1]
    np.testing.assert_array_equal(fed, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(fetched, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(W.value, [1.0, 1.0, 1.0])      # the feed stood in for W
    sess.run(train)
    np.testing.assert_allclose(W.value, [0.9, 0.9, 0.9])           # and W still trains


def test_feeding_an_optimizer_slot_leaves_the_fed_array_alone():
    W = mf.Variable(np.ones(2), name="W")
    mf.optimizers.Adam(0.1).minimize(mf.l2_loss(W))
    train = mf.get_default_graph().get_tensor_by_name("Adam/train")
    slots = [v for v in mf.get_default_graph().variables if not v.trainable]
    feeds = {v: np.zeros(v.shape, v.dtype) for v in slots}
    copies = {v: a.copy() for v, a in feeds.items()}
    mf.Session().run(train, feeds)
    for v in slots:
        np.testing.assert_array_equal(feeds[v], copies[v])


@pytest.mark.parametrize("view", [
    mf.identity, mf.stop_gradient, lambda x: mf.reshape(x, (-1,)), mf.transpose,
    lambda x: x[1:], lambda x: mf.expand_dims(x, 0), lambda x: mf.cast(x, "float64"),
    lambda x: mf.reduce_sum(x, axis=()),
    lambda x: mf.ops.sum_to(x, mf.placeholder((3, 2), "float64")),
    lambda x: mf.ops.broadcast_to(x, mf.placeholder((3, 2), "float64")),
], ids=["identity", "stop_gradient", "reshape", "transpose", "slice", "expand_dims", "cast",
        "reduce_sum-no-axes", "sum_to-same-shape", "broadcast_to-same-shape"])
def test_a_fetched_value_never_aliases_a_fed_array_or_a_variable(view):
    x = mf.placeholder((3, 2), "float64", name="x")
    fed = np.arange(6.0).reshape(3, 2)
    value = run(view(x), {x: fed})
    assert not np.shares_memory(value, fed)
    expected = value.copy()
    value[...] = -1                                  # the caller owns it: writable
    np.testing.assert_array_equal(fed, np.arange(6.0).reshape(3, 2))
    W = mf.Variable(np.arange(6.0).reshape(3, 2), name="W")
    train = mf.optimizers.SGD(1.0).minimize(mf.l2_loss(W))
    sess = mf.Session()
    seen = sess.run([view(W), train])[0]
    assert not np.shares_memory(seen, W.value)
    np.testing.assert_array_equal(seen, expected)       # as before the update


# -- 6. feeds that do not fit the placeholder's dtype -----------------------------------------
@pytest.mark.parametrize("dtype, value, message", [
    ("int32", np.array([0, 2**40]), r"'ids' \(int32\).*int64 from 0 to 1099511627776.*int32"),
    ("int64", np.array([2**63 + 5], dtype=np.uint64),
     r"'ids' \(int64\).*uint64 from 9223372036854775813 to 9223372036854775813"),
    ("int32", np.array([2**63 + 5], dtype=np.uint64), r"'ids' \(int32\).*uint64"),
    ("uint8", np.array([-1, 3]), r"'ids' \(uint8\).*int64 from -1 to 3"),
    ("int8", [1, 200], r"'ids' \(int8\).*int64 from 1 to 200"),
    ("float32", np.array([1.0, 1e300]), r"'ids' \(float32\).*float64 from 1.0 to 1e\+300"),
    ("float16", np.array([-1e5, 0.0]), r"'ids' \(float16\).*float64 from -100000.0 to 0.0"),
    ("bool", np.array([0, 2]), r"'ids' \(bool\).*int64 from 0 to 2"),
])
def test_a_feed_that_does_not_fit_the_dtype_is_refused(dtype, value, message, silent):
    x = mf.placeholder((None,), dtype, name="ids")
    with pytest.raises(mf.FeedError, match=message):
        run(mf.identity(x), {x: value})


@pytest.mark.parametrize("dtype, value", [
    ("int32", np.array([0, 9, 2**31 - 1])), ("int32", [0, 1, 2]), ("uint8", np.array([0, 255])),
    ("int64", np.array([2**63 - 1], dtype=np.uint64)), ("float32", np.array([1e-30, -3e38])),
    ("float32", np.array([np.inf, -np.inf, np.nan, 1.0])), ("float32", np.array([0, 2**40])),
    ("float64", np.array([True, False])), ("bool", np.array([0, 1])), ("float16", [65504.0]),
])
def test_lossless_or_in_range_feeds_are_converted(dtype, value, silent):
    x = mf.placeholder((None,), dtype, name="x")
    result = run(mf.identity(x), {x: value})
    assert result.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(result, np.asarray(value).astype(dtype))


def test_assigning_a_value_that_does_not_fit_a_variable_is_refused():
    counts = mf.Variable(np.zeros(2, np.int32), name="counts")
    with pytest.raises(ValueError, match=r"Variable 'counts' \(int32\).*int64 from 0 to 1099511627776"):
        counts.assign(np.array([0, 2**40]))
    weights = mf.Variable(np.zeros(2, np.float32), name="weights")
    with pytest.raises(ValueError, match=r"Variable 'weights' \(float32\).*1e\+300"):
        weights.assign(np.array([0.0, 1e300]))
    np.testing.assert_array_equal(counts.value, [0, 0])
    counts.assign(np.array([3, -4]))
    np.testing.assert_array_equal(counts.value, [3, -4])


@pytest.mark.parametrize("make", [
    lambda: mf.constant(np.array([0, 2**40]), dtype="int32", name="big"),
    lambda: mf.Variable(np.array([0, 2**40]), dtype="int32", name="big"),
    lambda: mf.constant(np.array([1e300]), dtype="float32", name="big"),
    lambda: mf.Variable(np.array([1e300]), dtype="float32", name="big"),
], ids=["constant-int", "Variable-int", "constant-float", "Variable-float"])
def test_a_constant_or_variable_whose_dtype_cannot_hold_its_value_is_refused(make, silent):
    with pytest.raises(ValueError, match=r"'big'.*from .* outside (int32|float32)'s range"):
        make()
    assert mf.get_default_graph().tensors == []


# -- 12. feeding a Tensor as a value ----------------------------------------------------------
def test_feeding_a_tensor_as_a_value_is_a_clear_error_and_leaves_the_graph_alone():
    x = mf.placeholder((2,), name="x")
    other = mf.constant(np.ones(2, np.float32), name="other")
    y = x * 2
    before = list(mf.get_default_graph().tensors)
    with pytest.raises(mf.FeedError, match=r"placeholder 'x'.*a Tensor \('other'\).*array"):
        run(y, {x: other})
    with pytest.raises(mf.FeedError, match=r"placeholder 'x'.*a Tensor"):
        run(y, {x: [other, other]})
    assert mf.get_default_graph().tensors == before


def test_numpy_refuses_to_turn_a_tensor_into_an_array():
    t = mf.constant(1.0, name="t")
    with pytest.raises(TypeError, match=r"a Tensor \('t'\).*Session"):
        np.asarray(t)
    W = mf.Variable(np.ones(2), name="W")
    with pytest.raises(TypeError, match=r"Tensor"):
        W.assign(mf.constant(np.ones(2)))


# -- 14. the plan cache is bounded, under threads too ----------------------------------------
def test_the_plan_cache_stays_bounded_under_threads(monkeypatch):
    import threading
    import time
    from microflow.core import session
    monkeypatch.setattr(session, "MAX_PLANS", 4)
    original = session.Plan

    class SlowPlan(original):
        def __init__(self, *args, **kwargs):
            time.sleep(0.02)                # so that the threads overlap while compiling
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(session, "Plan", SlowPlan)
    x = mf.constant(1.0)
    fetches = [[x * float(i)] for i in range(40)]
    sess = mf.Session()
    errors = []

    def work(part):
        try:
            for fetch in fetches[part::4]:
                assert sess.run(fetch) == [fetch[0].inputs[1].operation.value]
                assert len(sess._plans) <= 4
        except Exception as error:          # noqa: BLE001 - reported below
            errors.append(error)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(sess._plans) <= 4


# -- 24. numpy warnings inside a plan name the op -----------------------------------------
def test_a_numpy_warning_from_a_plan_names_the_op():
    import linecache
    x = mf.placeholder((1, 1), "float32", name="x")
    big = mf.matmul(x, mf.constant(np.full((1, 1), 3e38, np.float32)), name="big_product")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(big, {x: np.full((1, 1), 10.0, np.float32)})
    (warning,) = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    shown = warnings.formatwarning(warning.message, warning.category, warning.filename,
                                   warning.lineno, linecache.getline(warning.filename,
                                                                     warning.lineno))
    assert "MatMul op 'big_product'" in shown


# -- 28. a loss over a batch of no rows ------------------------------------------------------
@pytest.mark.parametrize("loss_of", [
    lambda x, y: mf.softmax_cross_entropy(x, y),
    lambda x, y: mf.sigmoid_cross_entropy(x, x * 0),
    lambda x, y: mf.accuracy(x, y),
    lambda x, y: mf.reduce_mean(mf.square(x)),
    lambda x, y: mf.gradients(mf.softmax_cross_entropy(x, y), [x])[0],
    lambda x, y: mf.gradients(mf.sigmoid_cross_entropy(x, x * 0), [x])[0],
    lambda x, y: mf.gradients(mf.reduce_mean(mf.square(x)), [x])[0],
], ids=["softmax_cross_entropy", "sigmoid_cross_entropy", "accuracy", "reduce_mean",
        "softmax_cross_entropy-gradient", "sigmoid_cross_entropy-gradient", "reduce_mean-gradient"])
def test_a_mean_over_a_batch_of_no_rows_says_so_and_names_the_feed(loss_of, silent):
    x = mf.placeholder((None, 3), name="images")
    y = mf.placeholder((None,), "int64", name="labels")
    with pytest.raises(ValueError, match=r"no rows.*fed with no rows: 'images' \(0, 3\)"):
        run(loss_of(x, y), {x: np.zeros((0, 3), np.float32), y: np.zeros(0, np.int64)})


# -- 8. static sizes are Python integers -----------------------------------------------------
def test_static_shapes_of_huge_tensors_do_not_overflow():
    huge = mf.placeholder((2**40, 2**40), name="huge")
    assert mf.reshape(huge, (-1,)).shape == (2**80,)
    assert mf.reshape(huge, (2**20, -1)).shape == (2**20, 2**60)
    with pytest.raises(mf.ShapeError, match=r"\(1208925819614629174706176 elements\) into \(2, 3\)"):
        mf.reshape(huge, (2, 3))
    from microflow.core.ops.base import static_size
    assert static_size((2**40, 2**40, 2**40)) == 2**120


# -- 10. negative or non-integer dims, and TF1's argument order -------------------------------
@pytest.mark.parametrize("shape, message", [
    ((-1, 3), r"placeholder 'x': dimension -1 of \(-1, 3\) is negative; use None"),
    ((2.5, 3), r"placeholder 'x': dimension 2.5 of \(2.5, 3\) is not an integer"),
    (3, r"placeholder 'x': the shape must be a tuple or list of dimensions, got 3"),
    ((True, 3), r"placeholder 'x': dimension True of \(True, 3\) is not an integer"),
])
def test_bad_placeholder_shapes_are_refused_at_build(shape, message):
    with pytest.raises(mf.ShapeError, match=message):
        mf.placeholder(shape, name="x")
    assert mf.get_default_graph().tensors == []


def test_placeholder_says_the_shape_comes_first_to_tf1_users():
    with pytest.raises(TypeError, match=r"shape first.*placeholder\(\(None, 2\), 'float32'\)"):
        mf.placeholder("float32", (None, 2))
    with pytest.raises(TypeError, match=r"shape first.*placeholder\(\(None, 2\), 'float64'\)"):
        mf.placeholder(np.float64, [None, 2])
    with pytest.raises(TypeError, match=r"shape first.*placeholder\(shape, 'float32'\)"):
        mf.placeholder("float32")


@pytest.mark.parametrize("build", [
    lambda x: mf.reshape(x, (2.5, -1)), lambda x: mf.reshape(x, (True, -1)),
    lambda x: mf.transpose(x, (1.0, 0)), lambda x: mf.expand_dims(x, 0.5),
    lambda x: mf.softmax(x, axis=1.5), lambda x: mf.log_softmax(x, axis=0.5),
    lambda x: mf.argmax(x, axis=1.5), lambda x: mf.reduce_sum(x, axis=0.5),
    lambda x: mf.reduce_mean(x, axis=(0, 1.5)),
], ids=["reshape", "reshape-bool", "transpose", "expand_dims", "softmax", "log_softmax",
        "argmax", "reduce_sum", "reduce_mean"])
def test_dims_and_axes_that_are_not_integers_are_refused(build):
    x = mf.placeholder((2, 3), name="x")
    with pytest.raises((TypeError, mf.ShapeError), match=r"(dimension|axis|axes) .* not an integer"):
        build(x)


def test_numpy_integer_dims_are_accepted():
    x = mf.placeholder((None, np.int64(3)), name="x")
    assert x.shape == (None, 3) and type(x.shape[1]) is int


# -- 11. Variables that cannot hold or learn numbers ------------------------------------------
@pytest.mark.parametrize("value, dtype", [
    (np.array(["a", "b"]), None), (np.array([object(), 1]), None), ([1, 2], "U3"),
    ({"a": 1}, None), (np.array([1, 2], "datetime64[D]"), None),
])
def test_variables_of_non_numeric_dtypes_are_refused_naming_the_variable(value, dtype):
    with pytest.raises(TypeError, match=r"Variable 'words'.*dtype"):
        mf.Variable(value, name="words", dtype=dtype)
    assert mf.get_default_graph().tensors == []


def test_minimize_refuses_an_integer_variable_naming_it():
    x = mf.placeholder((None, 2), name="x")
    steps = mf.Variable(np.array([1, 2]), name="steps")
    loss = mf.reduce_sum(x * steps)
    with pytest.raises(TypeError, match=r"Variable 'steps': it has dtype int64.*float"):
        mf.optimizers.SGD(0.1).minimize(loss)
    with pytest.raises(TypeError, match=r"Variable 'steps': it has dtype int64"):
        mf.optimizers.Adam(0.1).minimize(loss, var_list=[steps])


def test_minimize_skips_integer_variables_without_a_gradient():
    W = mf.Variable(np.ones(2), name="W")
    mf.Variable(0, name="counter")                      # trainable by default, but unused
    train = mf.optimizers.SGD(0.5).minimize(mf.l2_loss(W))
    run(train)
    np.testing.assert_allclose(W.value, [0.5, 0.5])


# -- 13. names with control characters ---------------------------------------------------------
@pytest.mark.parametrize("name", ["out\n", "out\r", "a\nb", "tab\t", "nul\x00", "\nout", "bell\x07",
                                  "out/\n"])
def test_names_with_control_characters_are_refused(name):
    with pytest.raises(ValueError, match="invalid name"):
        mf.constant(1.0, name=name)
    with pytest.raises(ValueError, match="invalid name"):
        with mf.name_scope(name):
            pass


def test_default_generator_as_swaps_the_generator_for_a_block_and_restores_it():
    mf.set_seed(3)
    before = mf.random.default_generator()
    inner = np.random.default_rng(5)
    with mf.random.default_generator_as(inner):
        assert mf.random.default_generator() is inner
        drawn = mf.random.as_generator(None).integers(1000)
    assert mf.random.default_generator() is before
    with mf.random.default_generator_as(np.random.default_rng(5)):
        assert mf.random.as_generator(None).integers(1000) == drawn
