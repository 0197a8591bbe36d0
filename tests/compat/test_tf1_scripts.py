"""The course's TF1 scripts, unchanged but for the import, run under microflow.compat.v1."""

import numpy as np

import microflow as mf
import microflow.compat.v1 as tf


def three_clouds(n_per_class=100, seed=0):
    """The course's tf_example.py data: three Gaussian clouds in 2-D, one-hot targets."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n_per_class, 2)) + centre
                   for centre in ([0, -2], [2, 2], [-2, 2])]).astype(np.float32)
    Y = np.repeat(np.arange(3), n_per_class)
    T = np.zeros((len(Y), 3))
    T[np.arange(len(Y)), Y] = 1
    return X, Y, T


def test_the_courses_tf_example_mlp_learns_the_three_clouds():
    X, Y, T = three_clouds()
    D, M, K = 2, 3, 3
    tf.set_random_seed(1)

    def init_weights(shape):
        return tf.Variable(tf.random_normal(shape, stddev=0.01))

    def forward(X, W1, b1, W2, b2):
        Z = tf.nn.sigmoid(tf.matmul(X, W1) + b1)
        return tf.matmul(Z, W2) + b2

    tfX = tf.placeholder(tf.float32, [None, D])
    tfY = tf.placeholder(tf.float32, [None, K])
    W1 = init_weights([D, M])
    b1 = init_weights([M])
    W2 = init_weights([M, K])
    b2 = init_weights([K])
    logits = forward(tfX, W1, b1, W2, b2)
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=tfY, logits=logits))
    train_op = tf.train.GradientDescentOptimizer(0.5).minimize(cost)
    predict_op = tf.argmax(logits, 1)

    sess = tf.Session()
    init = tf.global_variables_initializer()
    sess.run(init)
    costs = []
    for i in range(300):
        sess.run(train_op, feed_dict={tfX: X, tfY: T})
        if i % 100 == 0:
            costs.append(sess.run(cost, feed_dict={tfX: X, tfY: T}))
    pred = sess.run(predict_op, feed_dict={tfX: X, tfY: T})
    sess.close()
    assert pred.dtype == np.int64
    assert np.mean(Y == pred) > 0.95
    assert costs[0] > costs[-1]
    assert costs[0] > 1.0           # it starts near log(3) = 1.10, weights ~ N(0, 0.01)


def test_a_tf1_script_computes_what_the_same_microflow_graph_computes():
    X, Y, T = three_clouds(20)
    rng = np.random.default_rng(3)
    W1, W2 = rng.normal(0, 0.5, (2, 4)).astype(np.float32), \
        rng.normal(0, 0.5, (4, 3)).astype(np.float32)

    tx = tf.placeholder(tf.float32, [None, 2])
    tt = tf.placeholder(tf.float32, [None, 3])
    tW1, tW2 = tf.Variable(W1), tf.Variable(W2)
    tlogits = tf.matmul(tf.nn.tanh(tf.matmul(tx, tW1)), tW2)
    tloss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=tt, logits=tlogits))
    ttrain = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tloss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf1_losses = [sess.run([ttrain, tloss], {tx: X, tt: T})[1] for _ in range(10)]

    graph = mf.Graph()
    with graph.as_default():
        x, t = mf.placeholder((None, 2)), mf.placeholder((None, 3))
        mW1, mW2 = mf.Variable(W1), mf.Variable(W2)
        loss = mf.softmax_cross_entropy(mf.tanh(x @ mW1) @ mW2, t)
        train = mf.optimizers.SGD(0.1, momentum=0.9).minimize(loss)
        session = mf.Session()
        mf_losses = [session.run([train, loss], {x: X, t: T})[1] for _ in range(10)]
    np.testing.assert_allclose(tf1_losses, mf_losses, rtol=1e-5)
    np.testing.assert_allclose(tW1.microflow.value, mW1.value, rtol=1e-5, atol=1e-6)


def test_a_softmax_classifier_trained_on_mini_batches_with_scopes_and_a_saver(tmp_path):
    X, Y, _ = three_clouds(200, seed=2)
    tf.set_random_seed(0)
    with tf.name_scope("inputs"):
        x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
        y = tf.placeholder(tf.int64, shape=[None], name="y")
    with tf.variable_scope("softmax"):
        W = tf.get_variable("W", [2, 3], initializer=tf.truncated_normal_initializer(stddev=0.1))
        b = tf.get_variable("b", [3], initializer=tf.zeros_initializer())
    logits = tf.nn.bias_add(tf.matmul(x, W), b)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                         logits=logits))
    global_step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.05).minimize(loss, global_step=global_step)
    correct = tf.equal(tf.argmax(logits, axis=1), y)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    saver = tf.train.Saver()
    assert W.name == "softmax/W:0" and x.name == "inputs/x:0"

    rng = np.random.default_rng(0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for epoch in range(5):
            order = rng.permutation(len(X))
            for start in range(0, len(X), 50):
                batch = order[start:start + 50]
                sess.run(train, feed_dict={x: X[batch], y: Y[batch]})
        trained = sess.run(accuracy, {x: X, y: Y})
        steps = sess.run(global_step)
        path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=global_step)
    assert trained > 0.9
    assert steps == 5 * 12
    assert path.endswith("model.ckpt-60")
    assert tf.train.latest_checkpoint(str(tmp_path)) == path

    with tf.Session() as sess:
        saver.restore(sess, path)
        assert sess.run(accuracy, {x: X, y: Y}) == trained
        assert sess.run(global_step) == 60


def test_a_tf1_script_draws_with_microflow_viz():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.variable_scope("hidden"):
        W = tf.get_variable("W", [3, 4])
        h = tf.nn.relu(tf.matmul(x, W))
    loss = tf.reduce_sum(tf.square(h), name="loss")
    tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    whole = mf.viz.draw(tf.get_default_graph()).source
    for op in ["MatMul", "Relu", "Square", "hidden/W", "loss"]:
        assert op in whole
    forward = mf.viz.draw(loss.microflow).source
    assert "MatMul" in forward and "ApplySGD" not in forward


def test_drawings_leave_the_initializers_out_unless_asked():
    noise = tf.random_normal([3], seed=1, name="noise")
    x = tf.placeholder(tf.float32, [3], name="x")
    with tf.variable_scope("layer"):
        W = tf.get_variable("W", [3])
    V = tf.Variable(tf.truncated_normal([3], stddev=0.1), name="V")
    shared = tf.Variable(noise, name="shared")
    y = tf.reduce_sum(x * W * V + noise)
    forward = mf.viz.draw(tf.get_default_graph()).source
    assert "RandomUniform" not in forward and "TruncatedNormal" not in forward
    assert "noise" in forward           # also an input of y: part of the model
    everything = mf.viz.draw(tf.get_default_graph(), backward=True).source
    assert "RandomUniform" in everything and "TruncatedNormal" in everything
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(shared).shape == (3,) and sess.run(y, {x: [1, 2, 3]}).shape == ()
