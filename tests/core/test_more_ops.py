"""The ops of issue 15: forward values against numpy, the gradient rules at ties and kinks,
and the messages of bad input."""

import warnings

import numpy as np
import pytest

import microflow as mf

rng = np.random.default_rng(15)


def run(fetches, feed=None):
    return mf.Session().run(fetches, feed)


def grad(build, *values):
    """The gradients of sum(build(*xs)) for Variables holding ``values``."""
    xs = [mf.Variable(np.asarray(v, dtype=np.float64)) for v in values]
    return run(mf.gradients(mf.reduce_sum(build(*xs)), xs))


# -- elementwise -----------------------------------------------------------------------------
@pytest.mark.parametrize("op, reference, values", [
    (mf.sin, np.sin, rng.standard_normal((3, 4))),
    (mf.cos, np.cos, rng.standard_normal((3, 4))),
    (mf.abs, np.abs, rng.standard_normal((3, 4))),
    (mf.sign, np.sign, np.array([-2.0, 0.0, 3.0])),
    (mf.log1p, np.log1p, np.array([1e-10, 0.5, 3.0])),
    (mf.expm1, np.expm1, np.array([1e-10, -0.5, 3.0])),
], ids=lambda v: getattr(v, "__name__", ""))
def test_unary_ops_match_numpy(op, reference, values):
    np.testing.assert_allclose(run(op(mf.constant(values))), reference(values), rtol=1e-12)


def test_log1p_and_expm1_keep_the_digits_of_tiny_inputs():
    tiny = mf.constant(np.array([1e-12], dtype=np.float32))
    assert run(mf.log1p(tiny))[0] == pytest.approx(1e-12, rel=1e-6)
    assert run(mf.expm1(tiny))[0] == pytest.approx(1e-12, rel=1e-6)


@pytest.mark.parametrize("op, reference", [
    (mf.maximum, np.maximum), (mf.minimum, np.minimum), (mf.power, np.power),
    (mf.greater, np.greater), (mf.less, np.less), (mf.greater_equal, np.greater_equal),
    (mf.less_equal, np.less_equal), (mf.not_equal, np.not_equal), (mf.equal, np.equal),
], ids=lambda v: getattr(v, "__name__", ""))
def test_binary_ops_broadcast_like_numpy(op, reference):
    a, b = rng.uniform(0.5, 2, (3, 1)), rng.uniform(-1, 1, (1, 4))
    a[0, 0] = b[0, 0]                    # one tie, for the comparisons
    out = op(mf.constant(a), mf.constant(b))
    assert out.shape == (3, 4)
    np.testing.assert_allclose(run(out), reference(a, b))


def test_comparison_operators_give_boolean_tensors_and_equality_stays_identity():
    x = mf.constant(np.array([1.0, 2.0, 3.0]))
    y = mf.constant(np.array([2.0, 2.0, 2.0]))
    values = run([x < y, x > y, x <= y, x >= y, x > 1.5, 2.5 > x])
    np.testing.assert_array_equal(values, [[True, False, False], [False, False, True],
                                           [True, True, False], [False, True, True],
                                           [False, True, True], [True, True, False]])
    assert (x < y).op == "Less" and (x >= y).op == "GreaterEqual" and (x < y).dtype == bool
    assert (x == y) is False and x == x and {x: 1, y: 2}[y] == 2


def test_where_picks_elementwise_and_routes_the_gradient():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    condition = mf.constant(np.array([True, False, True]))
    np.testing.assert_array_equal(run(mf.where(condition, mf.constant(a), mf.constant(b))),
                                  [1, 20, 3])
    d_a, d_b = grad(lambda x, y: mf.where(condition, x, y), a, b)
    np.testing.assert_array_equal(d_a, [1, 0, 1])
    np.testing.assert_array_equal(d_b, [0, 1, 0])


def test_where_with_a_number_branch_takes_the_tensors_dtype():
    x = mf.constant(np.array([-1.0, 2.0], dtype=np.float32))
    out = mf.where(x > 0, x, 0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(run(out), [0, 2])


def test_maximum_and_minimum_send_a_tie_to_the_first_input():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    np.testing.assert_array_equal(grad(mf.maximum, a, b), [[1, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(grad(mf.minimum, a, b), [[1, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(grad(lambda x, y: mf.maximum(y, x), a, b), [[0, 0, 1], [1, 1, 0]])


def test_maximum_sums_the_gradient_of_a_broadcast_input():
    (d_a, d_b) = grad(mf.maximum, np.zeros((3, 2)), np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(d_a, [[1, 0]] * 3)
    np.testing.assert_array_equal(d_b, [0, 3])


def test_clip_passes_the_gradient_on_the_closed_interval():
    values = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(run(mf.clip(mf.constant(values), -1, 1)), np.clip(values, -1, 1))
    (d_x,) = grad(lambda x: mf.clip(x, -1.0, 1.0), values)
    np.testing.assert_array_equal(d_x, [0, 1, 1, 1, 0])
    d_x, d_low, d_high = grad(mf.clip, values, -1.0, 1.0)
    assert (d_low, d_high) == (1.0, 1.0)         # the element below, the element above


def test_abs_relu_and_sign_have_gradient_zero_at_zero():
    values = np.array([-1.5, 0.0, 2.0])
    np.testing.assert_array_equal(grad(mf.abs, values)[0], [-1, 0, 1])
    np.testing.assert_array_equal(grad(mf.relu, values)[0], [0, 0, 1])
    np.testing.assert_array_equal(grad(mf.sign, values)[0], [0, 0, 0])


def test_power_with_a_tensor_exponent_and_a_number_base():
    a, b = np.array([0.5, 2.0, 3.0]), np.array([2.0, -1.0, 0.5])
    x, y = mf.constant(a), mf.constant(b)
    values = run([mf.power(x, y), x ** y, 0.7 ** y, 2 ** y, mf.power(2.0, y)])
    for value, want in zip(values, [a ** b, a ** b, 0.7 ** b, 2 ** b, 2 ** b]):
        np.testing.assert_allclose(value, want)
    assert (x ** y).op == "Power" and (x ** 2).op == "Pow" and (0.7 ** y).op == "Power"
    d_a, d_b = grad(mf.power, a, b)
    np.testing.assert_allclose(d_a, b * a ** (b - 1))
    np.testing.assert_allclose(d_b, a ** b * np.log(a))


def test_power_of_zero_follows_numpy_and_its_exponent_gradient_is_zero_there():
    a, b = np.array([0.0, 0.0, -2.0]), np.array([2.0, 0.0, 2.0])
    np.testing.assert_array_equal(run(mf.power(mf.constant(a), mf.constant(b))), a ** b)
    with np.errstate(divide="ignore", invalid="ignore"):    # 0 ** -1, in the branch not taken
        d_a, d_b = grad(mf.power, a, b)
    np.testing.assert_array_equal(d_a, [0, 0, -4])
    np.testing.assert_array_equal(d_b, [0, 0, 0])


def test_where_refuses_a_condition_that_is_not_boolean():
    x = mf.placeholder((3,), name="x")
    with pytest.raises(mf.ShapeError, match=r"Where op 'Where'.*condition 'x' must be a boolean"
                                            r".*float32"):
        mf.where(x, x, 0.0)


@pytest.mark.parametrize("build, message", [
    (lambda a, b: mf.maximum(a, b, name="m"), r"Maximum op 'm': shapes do not broadcast: \(None, 3\) and \(4,\)"),
    (lambda a, b: mf.minimum(a, b), r"Minimum op 'Minimum':.*\(None, 3\) and \(4,\)"),
    (lambda a, b: mf.power(a, b), r"Power op 'Power':.*\(None, 3\) and \(4,\)"),
    (lambda a, b: mf.greater(a, b), r"Greater op 'Greater':.*\(None, 3\) and \(4,\)"),
    (lambda a, b: a < b, r"Less op 'Less':.*\(None, 3\) and \(4,\)"),
    (lambda a, b: mf.where(mf.constant(True), a, b), r"Where op 'Where':.*\(None, 3\) and \(4,\)"),
    (lambda a, b: mf.clip(a, b, 1.0), r"Clip op 'Clip':.*\(None, 3\) and \(4,\)"),
])
def test_shape_mismatches_name_the_op_its_type_and_the_shapes(build, message):
    with pytest.raises(mf.ShapeError, match=message):
        build(mf.placeholder((None, 3)), mf.placeholder((4,)))


# -- activations -----------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("op, reference", [
    (mf.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    (lambda x: mf.leaky_relu(x, alpha=0.01), lambda x: np.where(x > 0, x, 0.01 * x)),
    (mf.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    (lambda x: mf.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    (mf.softplus, lambda x: np.log(1 + np.exp(x))),
    (mf.gelu, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    (mf.swish, lambda x: x * _sigmoid(x)),
], ids=["leaky_relu", "leaky_relu-0.01", "elu", "elu-0.5", "softplus", "gelu", "swish"])
def test_activations_match_their_formulas(op, reference):
    values = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(run(op(mf.constant(values))), reference(values), rtol=1e-12,
                               atol=1e-15)


def test_gelu_is_close_to_x_times_the_normal_cdf():
    from math import erf
    values = np.linspace(-3, 3, 13)
    exact = [0.5 * x * (1 + erf(x / np.sqrt(2))) for x in values]
    np.testing.assert_allclose(run(mf.gelu(mf.constant(values))), exact, atol=1e-3)


@pytest.mark.parametrize("op", [mf.softplus, mf.elu, mf.swish, mf.gelu, mf.leaky_relu])
def test_activations_are_finite_and_silent_for_huge_inputs(op):
    x = mf.Variable(np.array([-1000.0, 1000.0]))
    (d_x,) = mf.gradients(mf.reduce_sum(op(x)), [x])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, gradient = run([op(x), d_x])
    assert np.isfinite(value).all() and np.isfinite(gradient).all()
    assert value[1] == pytest.approx(1000.0)
    assert gradient[1] == pytest.approx(1.0)


def test_activation_slopes_at_zero_and_below():
    zero_and_below = np.array([0.0, -1.0])
    np.testing.assert_allclose(grad(mf.leaky_relu, zero_and_below)[0], [0.2, 0.2])
    np.testing.assert_allclose(grad(mf.elu, zero_and_below)[0], [1.0, np.exp(-1)])
    np.testing.assert_allclose(grad(mf.softplus, zero_and_below)[0], _sigmoid(zero_and_below))
    np.testing.assert_allclose(grad(mf.swish, np.array([0.0]))[0], [0.5])
    np.testing.assert_allclose(grad(mf.gelu, np.array([0.0]))[0], [0.5])


def test_activations_keep_float32():
    x = mf.constant(np.array([-1.0, 1.0], dtype=np.float32))
    for op in [mf.leaky_relu, mf.elu, mf.softplus, mf.gelu, mf.swish, mf.sin, mf.abs]:
        assert run(op(x)).dtype == np.float32, op.__name__


# -- dropout and placeholder_with_default ----------------------------------------------------
def test_dropout_zeroes_a_rate_of_the_elements_and_keeps_the_mean():
    x = mf.constant(np.ones((200, 500)))
    value = run(mf.dropout(x, 0.3))
    assert np.mean(value == 0) == pytest.approx(0.3, abs=0.01)
    assert set(np.unique(value)) == {0.0, 1 / 0.7}
    assert value.mean() == pytest.approx(1.0, abs=0.02)


def test_dropout_draws_a_fresh_mask_every_run_and_set_seed_repeats_them():
    x = mf.constant(np.ones((4, 50)))
    y = mf.dropout(x, 0.5)
    sess = mf.Session()
    mf.set_seed(11)
    first, second = sess.run(y), sess.run(y)
    assert not np.array_equal(first, second)
    mf.set_seed(11)
    np.testing.assert_array_equal(sess.run(y), first)
    np.testing.assert_array_equal(sess.run(y), second)


def test_dropout_with_a_seed_repeats_across_graphs():
    values = []
    for _ in range(2):
        with mf.Graph().as_default() as graph:
            values.append(mf.Session(graph).run(mf.dropout(mf.constant(np.ones(40)), 0.5, seed=7)))
    np.testing.assert_array_equal(*values)


def test_dropout_gradient_is_the_mask_of_the_same_run():
    x = mf.Variable(rng.uniform(1, 2, (6, 30)))
    y = mf.dropout(x, 0.4)
    (d_x,) = mf.gradients(mf.reduce_sum(y), [x])
    value, gradient = run([y, d_x])
    np.testing.assert_allclose(gradient, value / x.value)
    assert np.any(gradient == 0) and np.any(np.isclose(gradient, 1 / 0.6))


def test_dropout_rate_can_be_a_placeholder_with_default_switched_on_for_training():
    x = mf.constant(np.ones((3, 40)))
    rate = mf.placeholder_with_default(0.0, (), name="rate")
    y = mf.dropout(x, rate)
    sess = mf.Session()
    np.testing.assert_array_equal(sess.run(y), np.ones((3, 40)))
    assert np.mean(sess.run(y, {rate: 0.5}) == 0) == pytest.approx(0.5, abs=0.15)


def test_dropout_refuses_rates_outside_zero_to_one():
    x = mf.constant(np.ones(3))
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\), got 1.0"):
        mf.dropout(x, 1.0)
    rate = mf.placeholder((), name="rate")
    y = mf.dropout(x, rate)
    with pytest.raises(ValueError, match=r"DropoutMask op 'dropout_mask'.*rate must be in "
                                         r"\[0, 1\), got -0.5"):
        run(y, {rate: -0.5})
    with pytest.raises(mf.ShapeError, match=r"DropoutMask op.*rate 'r' \(2,\) float32 must be "
                                            "a scalar"):
        mf.dropout(x, mf.placeholder((2,), name="r"))
    with pytest.raises(mf.ShapeError, match=r"DropoutMask op.*needs a float tensor.*int64"):
        mf.dropout(mf.constant(np.arange(3)), 0.5)


def test_placeholder_with_default_is_its_value_unless_fed():
    default = np.arange(6.0).reshape(2, 3)
    p = mf.placeholder_with_default(default, (None, 3), name="p")
    assert p.shape == (None, 3) and p.op == "PlaceholderWithDefault"
    sess = mf.Session()
    value = sess.run(p)
    np.testing.assert_array_equal(value, default)
    value[0, 0] = 99.0                              # the caller's copy, not the graph's
    np.testing.assert_array_equal(sess.run(p), default)
    np.testing.assert_array_equal(sess.run(p * 2, {p: np.ones((4, 3))}), 2 * np.ones((4, 3)))
    with pytest.raises(mf.FeedError, match=r"shape \(4, 2\) into tensor 'p' of shape \(None, 3\)"):
        sess.run(p, {p: np.ones((4, 2))})


def test_placeholder_with_default_refuses_a_default_that_does_not_fit():
    with pytest.raises(mf.ShapeError, match=r"placeholder_with_default 'q'.*\(2, 3\) does not "
                                            r"fit the shape \(None, 4\)"):
        mf.placeholder_with_default(np.zeros((2, 3)), (None, 4), name="q")


# -- reductions ------------------------------------------------------------------------------
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_reductions_match_numpy(axis, keepdims):
    a = rng.standard_normal((3, 4, 2))
    x = mf.constant(a)
    values = run([mf.reduce_max(x, axis, keepdims), mf.reduce_min(x, axis, keepdims),
                  mf.logsumexp(x, axis, keepdims)])
    np.testing.assert_allclose(values[0], a.max(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(values[1], a.min(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(values[2], np.log(np.exp(a).sum(axis=axis, keepdims=keepdims)))
    assert mf.reduce_max(x, axis, keepdims).shape == values[0].shape


def test_argmin_finds_the_first_smallest():
    a = np.array([[3.0, 1.0, 1.0], [0.0, 5.0, -2.0]])
    np.testing.assert_array_equal(run(mf.argmin(mf.constant(a), axis=1)), [1, 2])
    np.testing.assert_array_equal(run(mf.argmin(mf.constant(a), axis=0)), [1, 0, 1])
    assert mf.argmin(mf.placeholder((None, 3))).shape == (None,)
    assert mf.gradients(mf.argmin(mf.Variable(a)), [mf.Variable(a)]) == [None]


def test_reduce_max_and_min_split_the_gradient_among_ties():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -1.0, 4.0]])
    np.testing.assert_allclose(grad(lambda x: mf.reduce_max(x, axis=1), a)[0],
                               [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [0, 0, 1]])
    np.testing.assert_allclose(grad(lambda x: mf.reduce_min(x, axis=1), a)[0],
                               [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0, 1, 0]])
    np.testing.assert_allclose(grad(mf.reduce_max, np.array([4.0, 1.0, 4.0]))[0], [0.5, 0, 0.5])


def test_logsumexp_is_stable_for_huge_and_infinite_inputs():
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf], [np.inf, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = run(mf.logsumexp(mf.constant(a), axis=1))
    np.testing.assert_allclose(value, [1000 + np.log(2), -1000 + np.log(2), -np.inf, np.inf])
    (d_x,) = grad(lambda x: mf.logsumexp(x, axis=1), a[:2])
    np.testing.assert_allclose(d_x, 0.5)


def test_reductions_name_the_op_for_a_bad_axis():
    for op, name in [(mf.reduce_max, "ReduceMax"), (mf.reduce_min, "ReduceMin"),
                     (mf.logsumexp, "Logsumexp"), (mf.argmin, "ArgMin")]:
        with pytest.raises(mf.ShapeError, match=rf"{name} op '{name}': axis 2 is out of range "
                                                "for a tensor of rank 2"):
            op(mf.placeholder((None, 3)), axis=2)


# -- shape ops and gathering -----------------------------------------------------------------
def test_concat_stack_split_squeeze_pad_and_tile_match_numpy():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    x, y = mf.constant(a), mf.constant(b)
    cases = [
        (mf.concat([x, y], axis=1), np.concatenate([a, b], axis=1)),
        (mf.concat([x, x, x], axis=0), np.concatenate([a, a, a])),
        (mf.stack([x, x + 1]), np.stack([a, a + 1])),
        (mf.stack([x, x + 1], axis=-1), np.stack([a, a + 1], axis=-1)),
        (mf.squeeze(mf.reshape(x, (1, 2, 1, 3))), a),
        (mf.squeeze(mf.reshape(x, (1, 2, 1, 3)), axis=2), a.reshape(1, 2, 3)),
        (mf.pad(x, [(1, 0), (0, 2)]), np.pad(a, [(1, 0), (0, 2)])),
        (mf.pad(x, [(1, 1), (1, 1)], constant=-1.0), np.pad(a, 1, constant_values=-1.0)),
        (mf.tile(x, (2, 3)), np.tile(a, (2, 3))),
    ]
    for tensor, want in cases:
        assert tensor.shape == want.shape
        np.testing.assert_array_equal(run(tensor), want)
    pieces = mf.split(x, 3, axis=1)
    assert [p.shape for p in pieces] == [(2, 1)] * 3
    for value, want in zip(run(pieces), np.split(a, 3, axis=1)):
        np.testing.assert_array_equal(value, want)
    for value, want in zip(run(mf.split(x, [1, 2], axis=-1)), np.split(a, [1], axis=-1)):
        np.testing.assert_array_equal(value, want)


def test_shape_ops_infer_unknown_dimensions():
    p = mf.placeholder((None, 3), name="p")
    q = mf.placeholder((None, 2), name="q")
    assert mf.concat([p, q], 1).shape == (None, 5)
    assert mf.concat([p, p], 0).shape == (None, 3)
    assert mf.stack([p, p], 1).shape == (None, 2, 3)
    assert mf.pad(p, [(1, 1), (0, 2)]).shape == (None, 5)
    assert mf.tile(p, (2, 2)).shape == (None, 6)
    assert mf.squeeze(mf.placeholder((None, 1, 4))).shape == (None, 4)
    assert [t.shape for t in mf.split(p, [2, 1], axis=1)] == [(None, 2), (None, 1)]


def test_concat_along_an_axis_of_unknown_length_differentiates_at_run_time():
    p = mf.placeholder((None, 2), dtype="float64", name="p")
    q = mf.placeholder((None, 2), dtype="float64", name="q")
    joined = mf.concat([p, q], 0)
    weights = mf.constant(np.arange(10.0).reshape(5, 2))
    d_p, d_q = mf.gradients(mf.reduce_sum(joined * weights), [p, q])
    values = run([joined, d_p, d_q], {p: np.ones((2, 2)), q: np.zeros((3, 2))})
    np.testing.assert_array_equal(values[0], np.concatenate([np.ones((2, 2)), np.zeros((3, 2))]))
    np.testing.assert_array_equal(values[1], np.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(values[2], np.arange(4.0, 10.0).reshape(3, 2))


def test_one_hot_rows_and_out_of_range_indices():
    value = run(mf.one_hot(mf.constant(np.array([[0, 2], [1, 3]])), 3))
    assert value.dtype == np.float32 and value.shape == (2, 2, 3)
    np.testing.assert_array_equal(value, [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 0, 0]]])
    assert run(mf.one_hot(mf.constant(np.array([-1, 1])), 2, dtype="int64")).tolist() == [[0, 0], [0, 1]]


def test_gather_and_integer_array_indexing_match_numpy():
    a = rng.standard_normal((4, 3))
    x = mf.constant(a)
    index = mf.constant(np.array([3, 0, 3]))
    cases = [
        (mf.gather(x, [2, 0]), a[[2, 0]]),
        (mf.gather(x, np.array([[0, 1], [2, 2]])), a[np.array([[0, 1], [2, 2]])]),
        (mf.gather(x, [2, 2, 0], axis=1), a[:, [2, 2, 0]]),
        (x[[0, 2]], a[[0, 2]]),
        (x[index], a[[3, 0, 3]]),
        (x[:, np.array([1])], a[:, [1]]),
    ]
    for tensor, want in cases:
        assert tensor.op == "Gather" and tensor.shape == want.shape
        np.testing.assert_array_equal(run(tensor), want)


def test_gather_gradient_adds_up_repeated_indices():
    params = np.arange(8.0).reshape(4, 2)
    (d_params,) = grad(lambda p: p[[1, 3, 1, 1]], params)
    np.testing.assert_array_equal(d_params, [[0, 0], [3, 3], [0, 0], [1, 1]])
    (d_params,) = grad(lambda p: mf.gather(p, [0, 0], axis=1), params)
    np.testing.assert_array_equal(d_params, [[2, 0]] * 4)


def test_an_embedding_lookup_trains_only_the_rows_it_uses():
    table = mf.Variable(np.zeros((5, 2)), name="table")
    ids = mf.placeholder((None,), dtype="int64", name="ids")
    loss = mf.reduce_sum(mf.square(table[ids] - 1.0))
    train_op = mf.optimizers.SGD(0.25).minimize(loss)
    sess = mf.Session()
    sess.run(train_op, {ids: np.array([1, 1, 3])})
    np.testing.assert_allclose(table.value, [[0, 0], [1, 1], [0, 0], [0.5, 0.5], [0, 0]])


def test_gather_out_of_range_is_named_at_run_time():
    x = mf.placeholder((None, 2), name="x")
    ids = mf.placeholder((None,), dtype="int64", name="ids")
    with pytest.raises(IndexError, match=r"Gather op 'Gather' \(inputs 'x' \(None, 2\), 'ids' "
                                         r"\(None,\)\) failed: index 7 is out of bounds"):
        run(mf.gather(x, ids), {x: np.ones((3, 2)), ids: np.array([0, 7])})


@pytest.mark.parametrize("build, error, message", [
    (lambda p: mf.concat([p, mf.placeholder((None, 3, 1))], 1), mf.ShapeError,
     r"Concat op 'Concat': tensors of different ranks: \(None, 4\), \(None, 3, 1\)"),
    (lambda p: mf.concat([p, mf.placeholder((2, 5))], 0), mf.ShapeError,
     r"Concat op 'Concat': shapes \(None, 4\), \(2, 5\) differ along axis 1"),
    (lambda p: mf.concat([p, p], 2), mf.ShapeError, r"Concat op 'Concat': axis 2 is out of range"),
    (lambda p: mf.stack([p, mf.placeholder((None, 5))]), mf.ShapeError,
     r"Stack op 'Stack': shapes \(None, 4\), \(None, 5\) differ along axis 1"),
    (lambda p: mf.split(p, 3, axis=1), mf.ShapeError,
     r"Split op 'Split': cannot cut axis 1 of length 4 into 3 equal pieces"),
    (lambda p: mf.split(p, [1, 2], axis=1), mf.ShapeError,
     r"Split op 'Split': sizes \[1, 2\] do not add up to the length 4 of axis 1"),
    (lambda p: mf.split(p, 2, axis=0), mf.ShapeError,
     r"Split op 'Split': the length of axis 0 of 'p' \(None, 4\) float32 must be known"),
    (lambda p: mf.squeeze(p, axis=1), mf.ShapeError,
     r"Squeeze op 'Squeeze': cannot squeeze axis 1 of \(None, 4\): its length is 4, not 1"),
    (lambda p: mf.pad(p, [(1, 1)]), mf.ShapeError,
     r"Pad op 'Pad': 1 \(before, after\) pairs for a tensor of rank 2 \(None, 4\)"),
    (lambda p: mf.pad(p, [(1, 1), (0, -1)]), mf.ShapeError, r"Pad op 'Pad': negative padding"),
    (lambda p: mf.tile(p, (2,)), mf.ShapeError,
     r"Tile op 'Tile': reps \(2,\) must be 2 counts >= 0, one per axis of \(None, 4\)"),
    (lambda p: mf.one_hot(p, 3), mf.ShapeError,
     r"OneHot op 'OneHot': indices 'p' \(None, 4\) float32 must be integers"),
    (lambda p: mf.gather(p, mf.placeholder((2,), name="i")), mf.ShapeError,
     r"Gather op 'Gather': indices 'i' \(2,\) float32 must be integers"),
    (lambda p: mf.gather(p, [0], axis=2), mf.ShapeError,
     r"Gather op 'Gather': axis 2 is out of range for a tensor of rank 2"),
    (lambda p: p[mf.placeholder((2,), name="f")], TypeError,
     r"must be an integer Tensor, not 'f' \(2,\) float32"),
])
def test_shape_op_errors_name_the_op_and_the_shapes(build, error, message):
    with pytest.raises(error, match=message):
        build(mf.placeholder((None, 4), name="p"))


# -- losses: reduction=, mean_squared_error, l1_loss -----------------------------------------
def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("dense", [False, True], ids=["indices", "rows"])
def test_softmax_cross_entropy_reductions(dense):
    logits = rng.standard_normal((4, 3))
    indices = np.array([0, 2, 1, 2])
    labels = np.eye(3)[indices] if dense else indices
    per_row = -_log_softmax(logits)[np.arange(4), indices]
    x, t = mf.constant(logits), mf.constant(labels)
    mean, total, each = run([mf.softmax_cross_entropy(x, t),
                             mf.softmax_cross_entropy(x, t, reduction="sum"),
                             mf.softmax_cross_entropy(x, t, reduction="none")])
    np.testing.assert_allclose(each, per_row)
    assert mean == pytest.approx(per_row.mean()) and total == pytest.approx(per_row.sum())
    assert mf.softmax_cross_entropy(mf.placeholder((None, 3)), mf.placeholder((None,), "int64"),
                                    reduction="none").shape == (None,)


def test_per_example_softmax_cross_entropy_is_stable_and_weights_rows_in_its_gradient():
    logits = mf.Variable(np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]))
    each = mf.softmax_cross_entropy(logits, mf.constant(np.array([1, 0])), reduction="none")
    (d_logits,) = mf.gradients(each, [logits], grad_ys=[np.array([2.0, 0.0])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, gradient = run([each, d_logits])
    np.testing.assert_allclose(value, [1000.0, np.log(3)])
    np.testing.assert_allclose(gradient, [[2, -2, 0], [0, 0, 0]], atol=1e-12)


def test_sigmoid_cross_entropy_reductions_and_infinite_logits():
    logits = np.array([[-2.0, 0.5], [3.0, 0.0]])
    targets = np.array([[0.0, 1.0], [1.0, 0.5]])
    p = 1 / (1 + np.exp(-logits))
    per_logit = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    x, z = mf.constant(logits), mf.constant(targets)
    each, total = run([mf.sigmoid_cross_entropy(x, z, reduction="none"),
                       mf.sigmoid_cross_entropy(x, z, reduction="sum")])
    np.testing.assert_allclose(each, per_logit)
    assert total == pytest.approx(per_logit.sum())
    infinite = mf.sigmoid_cross_entropy(mf.constant(np.array([np.inf, -np.inf, np.inf])),
                                        mf.constant(np.array([1.0, 0.0, 0.0])), reduction="none")
    np.testing.assert_array_equal(run(infinite), [0.0, 0.0, np.inf])


def test_mean_squared_error_and_its_reductions():
    p, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x, y = mf.constant(p), mf.constant(t)
    mean, total, each = run([mf.mean_squared_error(x, y),
                             mf.mean_squared_error(x, y, reduction="sum"),
                             mf.mean_squared_error(x, y, reduction="none")])
    np.testing.assert_allclose(each, (p - t) ** 2)
    assert mean == pytest.approx(np.mean((p - t) ** 2)) and total == pytest.approx(np.sum((p - t) ** 2))
    (d_p,) = grad(lambda a: mf.mean_squared_error(a, y), p)
    np.testing.assert_allclose(d_p, 2 * (p - t) / 12)


def test_mean_squared_error_refuses_targets_that_would_broadcast():
    predictions = mf.placeholder((None, 1), name="predictions")
    with pytest.raises(mf.ShapeError, match=r"SquaredError op 'mse': predictions \(None, 1\) and "
                                            r"targets \(None,\) do not match"):
        mf.mean_squared_error(predictions, mf.placeholder((None,)), name="mse")
    loss = mf.mean_squared_error(predictions, mf.placeholder((None, 1), name="t"))
    with pytest.raises(mf.ShapeError, match=r"SquaredError op.*predictions \(3, 1\) and targets "
                                            r"\(2, 1\) do not match"):
        run(loss, {predictions: np.ones((3, 1)), loss.inputs[1]: np.ones((2, 1))})


def test_l1_loss_and_l1_regularization():
    values = np.array([[-2.0, 0.0], [1.0, 3.0]])
    assert run(mf.l1_loss(mf.constant(values))) == 6.0
    np.testing.assert_array_equal(grad(mf.l1_loss, values)[0], [[-1, 0], [1, 1]])
    W = mf.Variable(values, name="W")
    b = mf.Variable(np.array([-1.0, 1.0]), name="b")
    penalty = mf.layers.l1_regularization([W, b], 0.5)
    assert penalty.name == "l1_penalty" and run(penalty) == 3.0
    assert run(mf.layers.l1_regularization([W, b], 0.5, include_biases=True)) == 4.0
    with pytest.raises(ValueError, match=r"l1_regularization\(\): no weights"):
        mf.layers.l1_regularization([b], 0.1)


@pytest.mark.parametrize("loss", [mf.softmax_cross_entropy, mf.sigmoid_cross_entropy,
                                  mf.mean_squared_error])
def test_losses_refuse_an_unknown_reduction(loss):
    x = mf.placeholder((2, 2))
    with pytest.raises(ValueError, match=rf"{loss.__name__}\(\): reduction must be 'mean', "
                                         r"'sum' or 'none', got 'avg'"):
        loss(x, x, reduction="avg")


@pytest.mark.parametrize("build, message", [
    (lambda p: mf.concat([p, p], 1.0), "Concat: axis 1.0 is not an integer"),
    (lambda p: mf.stack([p, p], axis=True), "Stack: axis True is not an integer"),
    (lambda p: mf.split(p, 2.0, axis=1), "Split: number of pieces 2.0 is not an integer"),
    (lambda p: mf.tile(p, (1, 1.5)), "Tile: repetition count 1.5 is not an integer"),
    (lambda p: mf.pad(p, [(0, 0), (0.5, 0)]), "Pad: padding 0.5 is not an integer"),
    (lambda p: mf.one_hot(mf.constant([1]), 2.5), "OneHot: depth 2.5 is not an integer"),
    (lambda p: mf.gather(p, [0], axis=0.0), "Gather: axis 0.0 is not an integer"),
    (lambda p: mf.argmin(p, axis=1.0), "ArgMin: axis 1.0 is not an integer"),
])
def test_settings_that_must_be_integers_refuse_floats_and_bools(build, message):
    with pytest.raises(TypeError, match=message):
        build(mf.placeholder((None, 4), name="p"))
