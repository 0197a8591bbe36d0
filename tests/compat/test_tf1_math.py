"""TF1's math and array functions on microflow's ops, with the conventions TF1 scripts rely on."""

import numpy as np
import pytest

import microflow.compat.v1 as tf


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


def grad(y, x, feed_dict=None):
    (g,) = tf.gradients(y, [x])
    return run(g, feed_dict)


def test_elementwise_math_and_operators():
    a = tf.constant([1.0, 4.0, 9.0])
    b = tf.constant([2.0, 2.0, 2.0])
    values = run({"add": tf.add(a, b), "sub": tf.subtract(a, b), "mul": tf.multiply(a, b),
                  "div": tf.divide(a, b), "truediv": tf.truediv(a, 2.0),
                  "square": tf.square(a), "sqrt": tf.sqrt(a), "exp": tf.exp(tf.zeros([2])),
                  "log": tf.log(tf.constant([1.0, np.e])), "neg": tf.negative(a),
                  "sigmoid": tf.sigmoid(tf.constant(0.0)), "tanh": tf.tanh(tf.constant(0.0)),
                  "pow": tf.pow(a, 0.5), "pow_t": tf.pow(b[:2], a[:2]),
                  "ops": [a + 1, 1 - a, a * b, 9.0 / a, -a, a ** 2, 2.0 ** b, abs(-a), a[1:],
                          tf.matmul(tf.ones([1, 3]), tf.reshape(a, [3, 1]))]})
    np.testing.assert_allclose(values["add"], [3, 6, 11])
    np.testing.assert_allclose(values["sub"], [-1, 2, 7])
    np.testing.assert_allclose(values["mul"], [2, 8, 18])
    np.testing.assert_allclose(values["div"], [0.5, 2, 4.5])
    np.testing.assert_allclose(values["truediv"], [0.5, 2, 4.5])
    np.testing.assert_allclose(values["square"], [1, 16, 81])
    np.testing.assert_allclose(values["sqrt"], [1, 2, 3])
    np.testing.assert_allclose(values["exp"], [1, 1])
    np.testing.assert_allclose(values["log"], [0, 1], atol=1e-7)
    np.testing.assert_allclose(values["neg"], [-1, -4, -9])
    assert values["sigmoid"] == 0.5 and values["tanh"] == 0.0
    np.testing.assert_allclose(values["pow"], [1, 2, 3])
    np.testing.assert_allclose(values["pow_t"], [2, 16])
    expected = [[2, 5, 10], [0, -3, -8], [2, 8, 18], [9, 2.25, 1], [-1, -4, -9], [1, 16, 81],
                [4, 4, 4], [1, 4, 9], [4, 9], [[14]]]
    for got, want in zip(values["ops"], expected):
        np.testing.assert_allclose(got, want)
    assert all(v.dtype == np.float32 for v in values["ops"])


def test_matmul_transposes_and_reductions_take_tf1s_arguments():
    m = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    values = run([tf.matmul(m, m, transpose_a=True), tf.matmul(m, m, transpose_b=True),
                  tf.reduce_sum(m), tf.reduce_sum(m, axis=0), tf.reduce_sum(m, 1, keepdims=True),
                  tf.reduce_sum(m, reduction_indices=[1]), tf.reduce_mean(m, 0, keep_dims=True),
                  tf.reduce_max(m, axis=1), tf.reduce_min(m), tf.transpose(m),
                  tf.transpose(tf.reshape(m, [1, 3, 2]), perm=[2, 0, 1]),
                  tf.expand_dims(tf.constant([1, 2]), 0),
                  tf.expand_dims(tf.constant([1, 2]), dim=1)])
    np.testing.assert_array_equal(values[0], [[35, 44], [44, 56]])
    np.testing.assert_array_equal(values[1], [[5, 11, 17], [11, 25, 39], [17, 39, 61]])
    assert values[2] == 21
    np.testing.assert_array_equal(values[3], [9, 12])
    np.testing.assert_array_equal(values[4], [[3], [7], [11]])
    np.testing.assert_array_equal(values[5], [3, 7, 11])
    np.testing.assert_array_equal(values[6], [[3, 4]])
    np.testing.assert_array_equal(values[7], [2, 4, 6])
    assert values[8] == 1
    np.testing.assert_array_equal(values[9], [[1, 3, 5], [2, 4, 6]])
    assert values[10].shape == (2, 1, 3)
    assert values[11].shape == (1, 2) and values[12].shape == (2, 1)


def test_argmax_works_down_axis_zero_by_default_and_returns_int64():
    m = tf.constant([[1, 9, 3], [7, 2, 8]])
    down, across = run([tf.argmax(m), tf.argmax(m, 1)])
    np.testing.assert_array_equal(down, [1, 0, 1])
    np.testing.assert_array_equal(across, [1, 2])
    assert down.dtype == np.int64 and tf.argmax(m).dtype == tf.int64
    assert run(tf.argmax(m, axis=1, output_type=tf.int32)).dtype == np.int32
    np.testing.assert_array_equal(run(tf.argmax(m, dimension=1)), [1, 2])


def test_integer_arithmetic_follows_tf1():
    ints = tf.constant([[1, 2], [3, 4]])
    assert ints.dtype == tf.int32
    mean_all, mean_rows = run([tf.reduce_mean(ints), tf.reduce_mean(ints, axis=1)])
    assert mean_all == 2 and mean_all.dtype == np.int32         # 2.5 rounds down
    np.testing.assert_array_equal(mean_rows, [1, 3])             # 1.5, 3.5
    assert run(tf.reduce_mean(tf.constant([-1, -2]))) == -1      # toward zero, as TF1's C++
    quotient = ints / tf.constant(2)
    assert quotient.dtype == tf.float64
    np.testing.assert_array_equal(run(quotient), [[0.5, 1.0], [1.5, 2.0]])
    assert run(quotient).dtype == np.float64
    assert run(tf.reduce_sum(ints)).dtype == np.int32


def test_cast_truncates_toward_zero():
    x = tf.constant([-1.7, -0.5, 0.5, 1.7, 2.999])
    np.testing.assert_array_equal(run(tf.cast(x, tf.int32)), [-1, 0, 0, 1, 2])
    assert tf.cast(x, tf.int64).dtype == tf.int64
    np.testing.assert_array_equal(run(tf.cast(tf.constant([True, False]), tf.float32)), [1, 0])


def test_one_hot_gives_zeros_for_an_index_out_of_range():
    hot = run(tf.one_hot(tf.constant([0, 2, 3, -1]), 3))
    np.testing.assert_array_equal(hot, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert hot.dtype == np.float32
    values = run(tf.one_hot([1, 0], 2, on_value=5.0, off_value=-1.0))
    np.testing.assert_array_equal(values, [[-1, 5], [5, -1]])
    columns = run(tf.one_hot([1, 0], 3, axis=0, dtype=tf.int32))
    np.testing.assert_array_equal(columns, [[0, 1], [1, 0], [0, 0]])
    assert columns.dtype == np.int32


def test_equal_and_comparisons_feed_where():
    x = tf.placeholder(tf.float32, [4])
    feed = {x: [-2.0, -0.5, 0.5, 2.0]}
    values = run([tf.equal(x, 0.5), tf.not_equal(x, 0.5), x > 0, x >= 0.5, x < 0, x <= -0.5,
                  tf.greater(x, 0.0), tf.less(x, 0.0), tf.greater_equal(x, 2.0),
                  tf.less_equal(x, -2.0), tf.where(x > 0, x, tf.zeros_like(x)),
                  tf.where(tf.abs(x) > 1, tf.ones_like(x), -x)], feed)
    assert [v.tolist() for v in values[:10]] == [
        [False, False, True, False], [True, True, False, True], [False, False, True, True],
        [False, False, True, True], [True, True, False, False], [True, True, False, False],
        [False, False, True, True], [True, True, False, False], [False, False, False, True],
        [True, False, False, False]]
    np.testing.assert_array_equal(values[10], [0, 0, 0.5, 2])
    np.testing.assert_array_equal(values[11], [1, 0.5, -0.5, 1])
    with pytest.raises(AttributeError, match=r"tf.where\(condition\) without x and y"):
        tf.where(x > 0)


def test_maximum_minimum_clip_and_abs_values_and_gradients_at_the_kinks():
    x = tf.Variable([-1.0, 0.0, 1.0, 2.0])
    y = tf.Variable([0.0, 0.0, 0.0, 0.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = sess.run([tf.maximum(x, y), tf.minimum(x, y), tf.clip_by_value(x, 0.0, 1.0),
                           tf.abs(x), tf.nn.relu(x)])
        # a tie in maximum/minimum sends the gradient to the first argument
        gx_max, gy_max = sess.run(tf.gradients(tf.reduce_sum(tf.maximum(x, y)), [x, y]))
        gx_min, gy_min = sess.run(tf.gradients(tf.reduce_sum(tf.minimum(x, y)), [x, y]))
        g_clip = sess.run(tf.gradients(tf.reduce_sum(tf.clip_by_value(x, 0.0, 1.0)), x))[0]
        g_abs = sess.run(tf.gradients(tf.reduce_sum(tf.abs(x)), x))[0]
        g_relu = sess.run(tf.gradients(tf.reduce_sum(tf.nn.relu(x)), x))[0]
    np.testing.assert_array_equal(values[0], [0, 0, 1, 2])
    np.testing.assert_array_equal(values[1], [-1, 0, 0, 0])
    np.testing.assert_array_equal(values[2], [0, 0, 1, 1])
    np.testing.assert_array_equal(values[3], [1, 0, 1, 2])
    np.testing.assert_array_equal(values[4], [0, 0, 1, 2])
    np.testing.assert_array_equal(gx_max, [0, 1, 1, 1])
    np.testing.assert_array_equal(gy_max, [1, 0, 0, 0])
    np.testing.assert_array_equal(gx_min, [1, 1, 0, 0])
    np.testing.assert_array_equal(gy_min, [0, 0, 1, 1])
    np.testing.assert_array_equal(g_clip, [0, 1, 1, 0])         # the bounds pass it
    np.testing.assert_array_equal(g_abs, [-1, 0, 1, 1])         # 0 at 0
    np.testing.assert_array_equal(g_relu, [0, 0, 1, 1])         # 0 at 0


def test_reduce_max_and_min_split_the_gradient_among_ties():
    x = tf.Variable([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        g_max = sess.run(tf.gradients(tf.reduce_sum(tf.reduce_max(x, axis=1)), x))[0]
        g_min = sess.run(tf.gradients(tf.reduce_min(x), x))[0]
    np.testing.assert_allclose(g_max, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(g_min, [[1, 0, 0], [0, 0, 0]])


def test_gradients_are_none_where_the_output_does_not_reach():
    x = tf.Variable(2.0, name="x")
    z = tf.Variable(3.0, name="z")
    blocked = tf.Variable(4.0, name="blocked")
    y = x * x + tf.stop_gradient(blocked * 2.0)
    dx, dz, dblocked = tf.gradients(y, [x, z, blocked])
    assert dz is None and dblocked is None
    assert dx.name == "gradients/x_grad:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(dx) == 4.0
        assert sess.run(tf.gradients([y, x], x)) == [5.0]
        assert sess.run(tf.gradients(y, x, grad_ys=tf.constant(3.0))) == [12.0]
        assert sess.run(y) == 12.0
    with pytest.raises(TypeError, match="stop_gradients"):
        tf.gradients(y, x, stop_gradients=[x])


def test_shape_functions():
    a, b = tf.constant([[1, 2]]), tf.constant([[3, 4]])
    values = run([tf.concat([a, b], 0), tf.concat([a, b], axis=1), tf.stack([a, b]),
                  tf.stack([a, b], axis=1), tf.squeeze(tf.zeros([1, 2, 1])),
                  tf.squeeze(tf.zeros([1, 2, 1]), axis=[2]), tf.reshape(a, [-1]),
                  tf.identity(a)])
    np.testing.assert_array_equal(values[0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(values[1], [[1, 2, 3, 4]])
    assert values[2].shape == (2, 1, 2) and values[3].shape == (1, 2, 2)
    assert values[4].shape == (2,) and values[5].shape == (1, 2)
    np.testing.assert_array_equal(values[6], [1, 2])
    np.testing.assert_array_equal(values[7], [[1, 2]])
    assert tf.reshape(tf.placeholder(tf.float32, [None, 4]), [-1, 2, 2]).get_shape().as_list() \
        == [None, 2, 2]
    with pytest.raises(TypeError, match="shapes must be lists of ints"):
        tf.reshape(a, tf.constant([2]))


def test_placeholder_with_default_is_its_value_unless_fed():
    rate = tf.placeholder_with_default(0.0, shape=[])
    assert run(rate) == 0.0 and run(rate, {rate: 0.5}) == 0.5
    assert rate.dtype == tf.float32


def test_group_and_no_op_are_operations():
    v = tf.Variable(1.0)
    op = tf.group(tf.global_variables_initializer(), tf.no_op())
    assert isinstance(op, tf.Operation) and op.type == "Group"
    with tf.Session() as sess:
        assert sess.run(op) is None
        assert sess.run(v) == 1.0


def test_lists_of_tensors_are_packed_and_plain_lists_meet_the_tensors_dtype():
    a = tf.constant(1.0)
    x = tf.constant(np.zeros(2))            # float64
    values = run([tf.add([a, 2.0 * a], a), tf.reduce_sum([a, a, 2.0]), x + [0.1, 0.2],
                  tf.add([1, 2], 1)])
    np.testing.assert_array_equal(values[0], [2.0, 3.0])
    assert values[1] == 4.0
    assert values[2].dtype == np.float64 and values[2][0] == 0.1     # not float32's 0.1
    assert values[3].dtype == np.int32
