"""tf.nn on microflow's ops: activations, per-example losses, dropout, convolution, pooling."""

import numpy as np
import pytest

import microflow.compat.v1 as tf


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed_dict)


def test_activations():
    x = tf.constant([-2.0, -1.0, 0.0, 1.0, 30.0])
    values = run([tf.nn.relu(x), tf.nn.sigmoid(x), tf.nn.tanh(x), tf.nn.leaky_relu(x),
                  tf.nn.leaky_relu(x, alpha=0.1), tf.nn.elu(x), tf.nn.softplus(x)])
    xs = np.array([-2.0, -1.0, 0.0, 1.0, 30.0])
    np.testing.assert_allclose(values[0], np.maximum(xs, 0))
    np.testing.assert_allclose(values[1], 1 / (1 + np.exp(-xs)), rtol=1e-6)
    np.testing.assert_allclose(values[2], np.tanh(xs), rtol=1e-6)
    np.testing.assert_allclose(values[3], [-0.4, -0.2, 0, 1, 30], rtol=1e-6)   # alpha 0.2
    np.testing.assert_allclose(values[4], [-0.2, -0.1, 0, 1, 30], rtol=1e-6)
    np.testing.assert_allclose(values[5], np.where(xs > 0, xs, np.expm1(xs)), rtol=1e-6)
    np.testing.assert_allclose(values[6], np.log1p(np.exp(xs)), rtol=1e-6)


def test_softmax_log_softmax_bias_add_and_l2_loss():
    logits = tf.constant([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    values = run([tf.nn.softmax(logits), tf.nn.softmax(logits, axis=0), tf.nn.log_softmax(logits),
                  tf.nn.softmax(logits, dim=0), tf.nn.bias_add(logits, tf.constant([1.0, 0, 0])),
                  tf.nn.l2_loss(logits)])
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(values[0][0], e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(values[1].sum(axis=0), [1, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(values[2][1], np.log([1 / 3] * 3), rtol=1e-6)
    np.testing.assert_allclose(values[3], values[1])
    np.testing.assert_array_equal(values[4], [[2, 2, 3], [2, 1, 1]])
    assert values[5] == pytest.approx(8.5)


def test_softmax_cross_entropy_returns_one_loss_per_example_and_v1_stops_the_labels_gradient():
    logits = tf.Variable([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    labels = tf.Variable([[1.0, 0.0, 0.0], [0.2, 0.7, 0.1]])
    v1 = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    v2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    assert v1.get_shape().as_list() == [2]
    assert tf.gradients(v1, [labels]) == [None]
    (d_labels,) = tf.gradients(v2, [labels])
    d_logits_v1, d_logits_v2 = tf.gradients(v1, logits)[0], tf.gradients(v2, logits)[0]
    values = run([v1, v2, d_labels, d_logits_v1, d_logits_v2])
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    t = np.array([[1.0, 0.0, 0.0], [0.2, 0.7, 0.1]])
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(values[0], -(t * log_p).sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(values[1], values[0])
    np.testing.assert_allclose(values[2], -log_p, rtol=1e-6)
    np.testing.assert_allclose(values[3], np.exp(log_p) - t, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(values[4], values[3])
    with pytest.raises(ValueError, match="Only call `softmax_cross_entropy_with_logits` with "
                                         "named arguments"):
        tf.nn.softmax_cross_entropy_with_logits(labels, logits)


def test_sparse_and_sigmoid_cross_entropy_per_example():
    logits = tf.constant([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    labels = tf.constant([0, 2])
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    x = tf.constant([[-50.0, 0.0, 3.0]])
    z = tf.constant([[0.0, 1.0, 0.5]])
    sigmoid = tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)
    values = run([sparse, sigmoid])
    zs = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    log_p = zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(values[0], [-log_p[0, 0], -log_p[1, 2]], rtol=1e-6)
    xs, ts = np.array([-50.0, 0.0, 3.0]), np.array([0.0, 1.0, 0.5])
    np.testing.assert_allclose(values[1][0], np.maximum(xs, 0) - xs * ts +
                               np.log1p(np.exp(-np.abs(xs))), rtol=1e-6)


def test_dropout_with_keep_prob_or_rate_and_a_placeholder_to_switch_it_off():
    tf.set_random_seed(0)
    x = tf.ones([200, 100])
    keep_prob = tf.placeholder(tf.float32, [])
    dropped = tf.nn.dropout(x, keep_prob)
    rate = tf.placeholder_with_default(0.0, [])
    by_rate = tf.nn.dropout(x, rate=rate)
    with tf.Session() as sess:
        half = sess.run(dropped, {keep_prob: 0.5})
        assert set(np.unique(half)) == {0.0, 2.0}
        assert abs((half == 0).mean() - 0.5) < 0.02
        assert not np.array_equal(half, sess.run(dropped, {keep_prob: 0.5}))   # a fresh mask
        np.testing.assert_array_equal(sess.run(dropped, {keep_prob: 1.0}), np.ones((200, 100)))
        np.testing.assert_array_equal(sess.run(by_rate), np.ones((200, 100)))
        quarter = sess.run(by_rate, {rate: 0.25})
        assert abs((quarter == 0).mean() - 0.25) < 0.02 and quarter.max() == pytest.approx(4 / 3)
        assert sess.run(tf.nn.dropout(x, 0.8)).max() == pytest.approx(1.25)
    with pytest.raises(ValueError, match="exactly one of keep_prob and rate"):
        tf.nn.dropout(x)


def test_conv2d_same_puts_the_odd_padding_cell_at_the_bottom_right():
    image = tf.constant(np.arange(16.0, dtype=np.float32).reshape(1, 4, 4, 1))
    box = tf.constant(np.ones((3, 3, 1, 1), np.float32))
    same = tf.nn.conv2d(image, box, strides=[1, 2, 2, 1], padding="SAME")
    valid = tf.nn.conv2d(image, box, [1, 1, 1, 1], "VALID")
    assert same.get_shape().as_list() == [1, 2, 2, 1]
    values = run([same, valid])
    np.testing.assert_array_equal(values[0][0, :, :, 0], [[45, 39], [66, 50]])
    np.testing.assert_array_equal(values[1][0, :, :, 0], [[45, 54], [81, 90]])
    with pytest.raises(ValueError, match=r"strides must be \[1, h, w, 1\]"):
        tf.nn.conv2d(image, box, strides=[2, 1, 1, 1], padding="SAME")
    with pytest.raises(ValueError, match="NHWC only"):
        tf.nn.conv2d(image, box, [1, 1, 1, 1], "SAME", data_format="NCHW")


def test_same_pooling_ignores_the_padding_and_averages_over_the_real_cells():
    x = tf.constant(-np.arange(1.0, 10.0, dtype=np.float32).reshape(1, 3, 3, 1))
    max_same = tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    avg_same = tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    max_valid = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
    values = run([max_same, avg_same, max_valid])
    np.testing.assert_array_equal(values[0][0, :, :, 0], [[-1, -3], [-7, -9]])
    np.testing.assert_array_equal(values[1][0, :, :, 0], [[-3, -4.5], [-7.5, -9]])
    np.testing.assert_array_equal(values[2][0, :, :, 0], [[-1, -2], [-4, -5]])


def test_a_cnn_on_small_images_learns_where_the_bar_is():
    rng = np.random.default_rng(0)
    n = 240
    labels = rng.integers(0, 2, n)
    images = rng.normal(0, 0.3, (n, 8, 8, 1)).astype(np.float32)
    for i, label in enumerate(labels):          # a vertical bar (0) or a horizontal one (1)
        row, col = rng.integers(1, 7, 2)
        if label:
            images[i, row, 1:7, 0] += 1.5
        else:
            images[i, 1:7, col, 0] += 1.5
    tf.set_random_seed(0)
    x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    y = tf.placeholder(tf.int32, [None], name="labels")
    with tf.variable_scope("conv1"):
        W = tf.get_variable("W", [3, 3, 1, 8], initializer=tf.truncated_normal_initializer(
            stddev=0.3))
        b = tf.get_variable("b", [8], initializer=tf.zeros_initializer())
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, W, [1, 1, 1, 1], "SAME"), b))
        h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    flat = tf.reshape(h, [-1, 4 * 4 * 8])
    with tf.variable_scope("out"):
        W2 = tf.get_variable("W", [4 * 4 * 8, 2])
        logits = tf.matmul(flat, W2)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=tf.one_hot(y, 2), logits=logits))
    train = tf.train.MomentumOptimizer(0.05, 0.9).minimize(loss)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.cast(y, tf.int64)),
                                      tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(accuracy, {x: images, y: labels})
        for epoch in range(8):
            for start in range(0, n, 40):
                sess.run(train, {x: images[start:start + 40], y: labels[start:start + 40]})
        after = sess.run(accuracy, {x: images, y: labels})
    assert h.get_shape().as_list() == [None, 4, 4, 8]
    assert after > 0.95 and after > before


def test_softmax_cross_entropy_along_another_axis_or_rank():
    z = np.random.default_rng(0).normal(size=(2, 2, 3)).astype(np.float32)
    t = np.full((2, 2, 3), 1 / 3, np.float32)
    deep = tf.nn.softmax_cross_entropy_with_logits_v2(labels=t, logits=z)
    columns = tf.nn.softmax_cross_entropy_with_logits_v2(labels=t[0], logits=z[0], dim=0)
    values = run([deep, columns])
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(values[0], -(t * log_p).sum(axis=-1), rtol=1e-5)
    log_q = z[0] - np.log(np.exp(z[0]).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(values[1], -(t[0] * log_q).sum(axis=0), rtol=1e-5)
    assert deep.get_shape().as_list() == [2, 2] and columns.get_shape().as_list() == [3]


def test_a_seeded_graphs_dropout_masks_repeat_in_a_new_session():
    tf.set_random_seed(3)
    dropped = tf.nn.dropout(tf.ones([50]), keep_prob=0.5)
    with tf.Session() as sess:
        first, second = sess.run(dropped), sess.run(dropped)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(dropped), first)
        np.testing.assert_array_equal(sess.run(dropped), second)
    assert not np.array_equal(first, second)
