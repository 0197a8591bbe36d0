"""TF1's optimizers follow TF1's update formulas, written here by hand in numpy, step by step."""

import numpy as np
import pytest

import microflow as mf
import microflow.compat.v1 as tf

A = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [1.5, 0.2, -0.7], [-0.4, 0.8, 1.1]],
             np.float32)
B = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
W0 = np.array([0.5, -0.3, 0.8], np.float32)
STEPS = 20


def gradient(w):
    """d/dw of 0.5 * |A w - B|^2."""
    return A.T @ (A @ w - B)


def sgd(lr):
    w = W0.copy()
    for _ in range(STEPS):
        w = w - np.float32(lr) * gradient(w)
        yield w


def momentum(lr, mu, nesterov=False):
    w, accum = W0.copy(), np.zeros(3, np.float32)
    for _ in range(STEPS):
        g = gradient(w)
        accum = accum * np.float32(mu) + g
        w = w - (g * np.float32(lr) + accum * np.float32(mu * lr) if nesterov
                 else accum * np.float32(lr))
        yield w


def adagrad(lr, initial=0.1):
    w, accum = W0.copy(), np.full(3, initial, np.float32)
    for _ in range(STEPS):
        g = gradient(w)
        accum = accum + g * g
        w = w - np.float32(lr) * g / np.sqrt(accum)
        yield w


def rmsprop(lr, decay=0.9, mu=0.0, eps=1e-10, centered=False):
    w = W0.copy()
    ms, mom, mg = np.ones(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32)
    for _ in range(STEPS):
        g = gradient(w)
        ms = ms + (g * g - ms) * (1 - np.float32(decay))        # ms starts at 1
        denominator = ms
        if centered:
            mg = mg + (g - mg) * (1 - np.float32(decay))
            denominator = ms - mg * mg
        mom = mom * np.float32(mu) + np.float32(lr) * g / np.sqrt(denominator + np.float32(eps))
        w = w - mom
        yield w


def adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    w, m, v = W0.copy(), np.zeros(3, np.float32), np.zeros(3, np.float32)
    b1, b2 = np.float32(b1), np.float32(b2)
    b1_power, b2_power = b1, b2             # float32 Variables, as in TF1: beta ** t
    for _ in range(STEPS):
        g = gradient(w)
        lr_t = np.float32(lr) * np.sqrt(1 - b2_power) / (1 - b1_power)
        m = m + (g - m) * np.float32(1 - b1)
        v = v + (g * g - v) * np.float32(1 - b2)
        w = w - lr_t * m / (np.sqrt(v) + np.float32(eps))   # epsilon after the correction
        b1_power, b2_power = b1_power * b1, b2_power * b2
        yield w


CASES = {
    "GradientDescent": (lambda: tf.train.GradientDescentOptimizer(0.02), sgd(0.02)),
    "Momentum": (lambda: tf.train.MomentumOptimizer(0.01, 0.9), momentum(0.01, 0.9)),
    "Nesterov": (lambda: tf.train.MomentumOptimizer(0.01, 0.9, use_nesterov=True),
                 momentum(0.01, 0.9, nesterov=True)),
    "Adagrad": (lambda: tf.train.AdagradOptimizer(0.1), adagrad(0.1)),
    "Adagrad-0.5": (lambda: tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.5),
                    adagrad(0.1, 0.5)),
    "RMSProp": (lambda: tf.train.RMSPropOptimizer(0.01), rmsprop(0.01)),
    "RMSProp-momentum": (lambda: tf.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5,
                                                           epsilon=1e-6),
                         rmsprop(0.01, 0.8, 0.5, 1e-6)),
    "RMSProp-centered": (lambda: tf.train.RMSPropOptimizer(0.01, centered=True),
                         rmsprop(0.01, centered=True)),
    "Adam": (lambda: tf.train.AdamOptimizer(0.05), adam(0.05)),
    "Adam-eps": (lambda: tf.train.AdamOptimizer(0.05, 0.8, 0.9, epsilon=0.1),
                 adam(0.05, 0.8, 0.9, 0.1)),
}


def quadratic():
    w = tf.Variable(W0, name="w")
    loss = 0.5 * tf.reduce_sum(tf.square(tf.matmul(A, tf.reshape(w, [3, 1]))[:, 0] - B))
    return w, loss


@pytest.mark.parametrize("name", sorted(CASES))
def test_twenty_steps_follow_tf1s_formula(name):
    make, expected = CASES[name]
    w, loss = quadratic()
    train = make().minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step, want in enumerate(expected):
            sess.run(train)
            np.testing.assert_allclose(sess.run(w), want, rtol=2e-5, atol=2e-6,
                                       err_msg=f"{name}, step {step + 1}")


def test_rmsprops_mean_square_starts_at_one_and_epsilon_is_inside_the_root():
    w = tf.Variable([1.0])
    loss = tf.reduce_sum(w * 0.0)          # a zero gradient: the step is 0 / sqrt(1 + eps)
    opt = tf.train.RMSPropOptimizer(0.1, epsilon=1.0)
    train = opt.minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(opt.get_slot(w, "RMSProp")) == [1.0]
        sess.run(train)
        assert sess.run(opt.get_slot(w, "RMSProp")) == pytest.approx([0.9])
        assert sess.run(w) == [1.0]


def test_the_slots_are_global_variables_named_as_in_tf1():
    w, loss = quadratic()
    opt = tf.train.AdamOptimizer()
    opt.minimize(loss)
    names = [v.name for v in tf.global_variables()]
    assert names == ["w:0", "beta1_power:0", "beta2_power:0", "w/Adam:0", "w/Adam_1:0"]
    assert [v.name for v in tf.trainable_variables()] == ["w:0"]
    assert opt.get_slot(w, "Adam").name == "w/Adam:0"
    assert opt.get_slot_names() == ["Adam", "Adam_1"]
    assert len(opt.variables()) == 4
    m = tf.train.MomentumOptimizer(0.1, 0.9)
    m.minimize(loss)
    assert m.get_slot(w, "Momentum").name == "w/Momentum:0"


def test_an_initializer_made_before_minimize_leaves_the_slots_uninitialized():
    w, loss = quadratic()
    init = tf.global_variables_initializer()
    train = tf.train.AdamOptimizer().minimize(loss)
    with tf.Session() as sess:
        sess.run(init)
        with pytest.raises(tf.errors.FailedPreconditionError, match="beta1_power"):
            sess.run(train)
        sess.run(tf.global_variables_initializer())
        sess.run(train)


@pytest.mark.parametrize("name", ["Momentum", "Adam", "RMSProp-momentum", "Adagrad"])
def test_a_saver_made_after_minimize_resumes_training_exactly(name, tmp_path):
    w, loss = quadratic()
    train = CASES[name][0]().minimize(loss)
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(train)
        path = saver.save(sess, str(tmp_path / "run"))
        straight = [sess.run([train, w])[1] for _ in range(5)]
    with tf.Session() as sess:
        saver.restore(sess, path)
        resumed = [sess.run([train, w])[1] for _ in range(5)]
    np.testing.assert_array_equal(straight, resumed)


def test_compute_gradients_pairs_none_with_an_unreached_variable_and_apply_skips_it():
    w, loss = quadratic()
    unused = tf.Variable([5.0], name="unused")
    opt = tf.train.GradientDescentOptimizer(0.02)
    pairs = opt.compute_gradients(loss, var_list=[w, unused])
    assert pairs[1] == (None, unused) and pairs[0][1] is w
    assert pairs[0][0].name == "gradients/w_grad:0"
    step = tf.Variable(0, trainable=False, name="step")
    train = opt.apply_gradients(pairs, global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        np.testing.assert_allclose(sess.run(w), next(sgd(0.02)), rtol=1e-6)
        assert sess.run(unused) == [5.0] and sess.run(step) == 1
    with pytest.raises(ValueError, match=r"No gradients provided for any variable: \['unused:0'\]"):
        opt.apply_gradients([(None, unused)])
    with pytest.raises(ValueError, match="No gradients provided for any variable, check your "
                                         "graph.*unused:0"):
        opt.minimize(loss, var_list=[unused])


def test_minimize_trains_only_var_list_and_counts_the_global_step():
    w, loss = quadratic()
    other = tf.Variable(W0, name="other")
    total = loss + tf.reduce_sum(other)
    global_step = tf.train.get_or_create_global_step()
    assert global_step.name == "global_step:0" and global_step.dtype == tf.int64
    assert tf.train.get_global_step() is global_step
    train = tf.train.GradientDescentOptimizer(0.02).minimize(total, global_step, var_list=[w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert sess.run(global_step) == 3
        np.testing.assert_array_equal(sess.run(other), W0)


def test_a_learning_rate_placeholder_is_fed_each_step():
    w, loss = quadratic()
    rate = tf.placeholder(tf.float32, [], name="rate")
    train = tf.train.GradientDescentOptimizer(rate).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, {rate: 0.0})
        np.testing.assert_array_equal(sess.run(w), W0)
        sess.run(train, {rate: 0.02})
        np.testing.assert_allclose(sess.run(w), next(sgd(0.02)), rtol=1e-6)


def test_bad_optimizer_arguments_are_refused():
    w, loss = quadratic()
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive"):
        tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(TypeError, match="needs the loss Tensor"):
        tf.train.GradientDescentOptimizer(0.1).minimize("loss")
    with pytest.raises(TypeError, match="not a Variable"):
        tf.train.GradientDescentOptimizer(0.1).minimize(loss, var_list=[loss])


def test_the_tf1_optimizers_are_microflow_optimizers():
    assert issubclass(tf.train.AdamOptimizer, mf.optimizers.Optimizer)
    w, loss = quadratic()
    train = tf.train.AdamOptimizer().minimize(loss)
    assert train.type == "Group" and train.name == "Adam/Adam"
