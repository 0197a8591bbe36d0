"""TF1's graphs, scopes, Variables, initialization and Sessions, as TF1 scripts use them."""

import collections

import numpy as np
import pytest

import microflow as mf
import microflow.compat.v1 as tf


def test_placeholders_take_the_dtype_first_and_name_tensors_as_tf1():
    x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
    assert x.name == "x:0" and x.op.name == "x" and x.op.type == "Placeholder"
    assert x.dtype == tf.float32
    assert x.get_shape().as_list() == [None, 3] and x.shape.as_list() == [None, 3]
    assert x.shape.ndims == 2 and not x.shape.is_fully_defined()
    assert x.shape.num_elements() is None and tf.TensorShape((2, 3)).num_elements() == 6
    assert isinstance(x, tf.Tensor) and isinstance(x.microflow, mf.Tensor)
    assert x.graph is tf.get_default_graph()
    scalar = tf.placeholder(tf.int32)
    assert scalar.get_shape().as_list() == []


def test_python_floats_are_float32_ints_int32_and_numpy_arrays_keep_their_dtype():
    assert tf.constant(1.5).dtype == tf.float32
    assert tf.constant(3).dtype == tf.int32
    assert tf.constant([1, 2]).dtype == tf.int32
    assert tf.constant(2 ** 40).dtype == tf.int64
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant(np.array([1.0, 2.0])).dtype == tf.float64
    assert tf.constant(np.arange(3)).dtype == tf.int64
    assert tf.constant(1, dtype=tf.float64).dtype == tf.float64
    assert tf.add(1, 2).dtype == tf.int32
    assert (tf.constant(2.0) * 3).dtype == tf.float32
    assert tf.Variable(1).dtype == tf.int32 and tf.Variable(1.0).dtype == tf.float32


def test_constant_zeros_ones_and_the_likes():
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(tf.constant(7, shape=[2, 2])), [[7, 7], [7, 7]])
        np.testing.assert_array_equal(sess.run(tf.constant([1, 2, 3, 4], shape=[2, 2])),
                                      [[1, 2], [3, 4]])
        assert sess.run(tf.zeros([2, 3])).dtype == np.float32
        np.testing.assert_array_equal(sess.run(tf.ones([2], tf.int32)), [1, 1])
        x = tf.placeholder(tf.float32, [None, 2])
        feed = {x: [[1.0, np.nan], [3.0, 4.0]]}
        np.testing.assert_array_equal(sess.run(tf.zeros_like(x), feed), np.zeros((2, 2)))
        np.testing.assert_array_equal(sess.run(tf.ones_like(x), feed), np.ones((2, 2)))
        assert sess.run(tf.ones_like(x, dtype=tf.int32), feed).dtype == np.int32
    with pytest.raises(TypeError, match="does not fit shape"):
        tf.constant([1, 2, 3], shape=[2, 2])


def test_reading_a_variable_this_session_has_not_initialized_names_it():
    W = tf.Variable(tf.zeros([2, 2]), name="W")
    b = tf.Variable([1.0, 2.0], name="b")
    y = tf.matmul(tf.ones([1, 2]), W) + b
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError,
                           match=r"uninitialized value W \(Variable 'W:0', shape \(2, 2\)\) "
                                 r"and 1 more: b: run tf.global_variables_initializer"):
            sess.run(y)
        sess.run(b.initializer)
        with pytest.raises(tf.errors.FailedPreconditionError, match="value W "):
            sess.run(y)
        sess.run(tf.variables_initializer([W]))
        np.testing.assert_array_equal(sess.run(y), [[1.0, 2.0]])
    with tf.Session() as other:     # initialization is per Session
        with pytest.raises(tf.errors.FailedPreconditionError, match="value W "):
            other.run(W)
        assert isinstance(tf.errors.FailedPreconditionError(None, None, "m"), tf.errors.OpError)


def test_running_the_initializer_again_resets_each_variable():
    v = tf.Variable(3.0, name="v")
    train = tf.train.GradientDescentOptimizer(1.0).minimize(v * 2.0)
    init = tf.initialize_all_variables()
    with tf.Session() as sess:
        sess.run(init)
        sess.run(train)
        assert sess.run(v) == 1.0
        sess.run(init)
        assert sess.run(v) == 3.0
        assert sess.run(v.initial_value) == 3.0
        sess.run(tf.local_variables_initializer())


def test_the_second_positional_argument_of_variable_is_trainable():
    frozen = tf.Variable([1.0], False, name="frozen")
    trained = tf.Variable([1.0], name="trained")
    assert not frozen.trainable and trained.trainable
    assert [v.name for v in tf.trainable_variables()] == ["trained:0"]
    assert [v.name for v in tf.global_variables()] == ["frozen:0", "trained:0"]
    assert isinstance(frozen, tf.Variable) and frozen.value() is frozen
    with pytest.raises(ValueError, match="initial_value must be specified"):
        tf.Variable()
    with pytest.raises(TypeError, match=r"collections=\.\.\.\) is not supported"):
        tf.Variable(1.0, collections=["x"])
    with pytest.raises(ValueError, match="not fully known"):
        tf.Variable(tf.placeholder(tf.float32, [None]))


def test_variables_from_callables_and_tensors_and_load():
    v = tf.Variable(lambda: tf.ones([2]) * 2.0, name="v")
    w = tf.Variable(3, dtype=tf.float64, name="w")
    assert w.dtype == tf.float64
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(v), [2.0, 2.0])
        v.load([5.0, 6.0], sess)
        np.testing.assert_array_equal(v.eval(session=sess), [5.0, 6.0])
    with tf.Session() as fresh:
        v.load([1.0, 1.0], fresh)
        np.testing.assert_array_equal(fresh.run(v), [1.0, 1.0])
        with pytest.raises(tf.errors.FailedPreconditionError, match="value w "):
            fresh.run(w)


def test_name_scopes_nest_and_repeat_as_in_tf1():
    with tf.name_scope("layer") as scope:
        a = tf.constant(1.0, name="a")
        assert scope == "layer/"
    with tf.name_scope("layer"):
        b = tf.constant(1.0, name="a")
    with tf.name_scope(None, default_name="block"):
        c = tf.add(a, b)
    with tf.name_scope("layer/"):          # a trailing slash re-enters the scope
        d = tf.constant(1.0, name="d")
    assert [t.name for t in (a, b, c, d)] == ["layer/a:0", "layer_1/a:0", "block/Add:0",
                                              "layer/d:0"]


def test_get_variable_shares_within_variable_scopes():
    with tf.variable_scope("model"):
        W = tf.get_variable("W", [2, 3])
        b = tf.get_variable("b", [3], initializer=tf.constant_initializer(0.5))
        y = tf.matmul(tf.ones([1, 2]), W)
    assert W.name == "model/W:0" and b.name == "model/b:0" and y.name == "model/MatMul:0"
    with tf.variable_scope("model", reuse=True):
        assert tf.get_variable("W") is W
        z = tf.matmul(tf.ones([1, 2]), W)
        with tf.variable_scope("inner"):
            assert tf.get_variable_scope().reuse is True     # inherited
    assert z.name == "model_1/MatMul:0"
    with tf.variable_scope("model") as scope:
        scope.reuse_variables()
        assert tf.get_variable("b", [3]) is b
    for _ in range(2):
        with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
            shared = tf.get_variable("v", [1], initializer=tf.ones_initializer())
    assert [v.name for v in tf.global_variables()] == ["model/W:0", "model/b:0", "auto/v:0"]
    assert tf.get_variable_scope().name == ""
    with tf.variable_scope(None, default_name="dense"):
        d1 = tf.get_variable("kernel", [1])
    with tf.variable_scope(None, default_name="dense"):
        d2 = tf.get_variable("kernel", [1])
    assert (d1.name, d2.name) == ("dense/kernel:0", "dense_1/kernel:0")
    with tf.variable_scope(scope, reuse=True):
        assert tf.get_variable("W") is W
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(b), [0.5, 0.5, 0.5])
        assert sess.run(shared) == [1.0]
        limit = np.sqrt(6 / 5)          # get_variable's default: Glorot-uniform
        assert np.all(np.abs(sess.run(W)) <= limit) and sess.run(W).std() > 0.1


def test_get_variable_says_what_is_wrong_as_tf1_does():
    with tf.variable_scope("s"):
        tf.get_variable("v", [2])
        with pytest.raises(ValueError, match="Variable s/v already exists, disallowed. Did you "
                                             "mean to set reuse=True or reuse=tf.AUTO_REUSE"):
            tf.get_variable("v", [2])
    with tf.variable_scope("s", reuse=True):
        with pytest.raises(ValueError, match="Variable s/w does not exist"):
            tf.get_variable("w", [2])
        with pytest.raises(ValueError, match=r"Trying to share variable s/v, but specified "
                                             r"shape \[3\] and found shape \[2\]"):
            tf.get_variable("v", [3])
    with pytest.raises(ValueError, match=r"Shape of a new variable \(n\) must be fully defined"):
        tf.get_variable("n")
    with pytest.raises(ValueError, match="name_or_scope or default_name is required"):
        with tf.variable_scope(None):
            pass


def test_initializers_give_the_values_and_statistics_they_promise():
    shapes = {"zeros": tf.zeros_initializer(), "ones": tf.ones_initializer(),
              "const": tf.constant_initializer(2.5),
              "array": tf.constant_initializer([[1, 2], [3, 4]]),
              "normal": tf.random_normal_initializer(1.0, 0.5, seed=1),
              "truncated": tf.truncated_normal_initializer(0.0, 1.0, seed=2),
              "uniform": tf.random_uniform_initializer(-1.0, 1.0, seed=3),
              "glorot": tf.glorot_uniform_initializer(seed=4)}
    variables = {name: tf.get_variable(name, [2, 2] if name == "array" else [200, 100],
                                       initializer=init) for name, init in shapes.items()}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        v = {name: sess.run(var) for name, var in variables.items()}
    assert not v["zeros"].any() and (v["ones"] == 1).all() and (v["const"] == 2.5).all()
    np.testing.assert_array_equal(v["array"], [[1, 2], [3, 4]])
    assert abs(v["normal"].mean() - 1.0) < 0.02 and abs(v["normal"].std() - 0.5) < 0.02
    assert np.abs(v["truncated"]).max() <= 2.0 and abs(v["truncated"].std() - 0.88) < 0.02
    assert -1 <= v["uniform"].min() and v["uniform"].max() < 1
    limit = np.sqrt(6 / 300)
    assert np.abs(v["glorot"]).max() <= limit and np.abs(v["glorot"]).max() > 0.95 * limit
    assert all(a.dtype == np.float32 for a in v.values())
    with pytest.raises(ValueError, match="do not fill shape"):
        tf.get_variable("bad", [3], initializer=tf.constant_initializer([1, 2]))


def test_a_seeded_graph_repeats_its_draws_in_a_new_session_and_each_run_draws_afresh():
    tf.set_random_seed(42)
    r = tf.random_normal([3])
    u = tf.random_uniform([3], 0, 10, dtype=tf.int32)
    W = tf.Variable(tf.truncated_normal([4], stddev=0.1))
    with tf.Session() as sess:
        first, second = sess.run(r), sess.run(r)
        ints = sess.run(u)
        sess.run(tf.global_variables_initializer())
        w1 = sess.run(W)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(r), first)
        np.testing.assert_array_equal(sess.run(r), second)
        np.testing.assert_array_equal(sess.run(u), ints)
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(W), w1)
    assert not np.array_equal(first, second)
    assert ints.dtype == np.int32 and ints.min() >= 0 and ints.max() < 10
    assert r.dtype == tf.float32 and np.abs(w1).max() <= 0.2
    with pytest.raises(ValueError, match="maxval must be given"):
        tf.random_uniform([2], dtype=tf.int32)


def test_an_op_seed_alone_repeats_and_no_seed_does_not():
    seeded, unseeded = tf.random_normal([5], seed=7), tf.random_normal([5])
    with tf.Session() as a:
        s1, u1 = a.run([seeded, unseeded])
    with tf.Session() as b:
        s2, u2 = b.run([seeded, unseeded])
    np.testing.assert_array_equal(s1, s2)
    assert not np.array_equal(u1, u2)


def test_session_run_takes_nested_fetches_and_operations_fetch_as_none():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = x * 2.0
    z = tf.reduce_sum(y)
    Pair = collections.namedtuple("Pair", "doubled total")
    with tf.Session() as sess:
        out = sess.run({"pair": Pair(y, z), "list": [z, (y.op, tf.no_op())], "op": y.op},
                       feed_dict={x: [1.0, 2.0]})
        np.testing.assert_array_equal(out["pair"].doubled, [2.0, 4.0])
        assert out["pair"].total == 6.0 and out["list"][0] == 6.0
        assert out["list"][1] == (None, None) and out["op"] is None
        assert sess.run([]) == []
        assert sess.run("ReduceSum:0", {"x:0": [1.0, 1.0]}) == 4.0
        assert sess.run(tf.group(y, z), {x: [1.0, 1.0]}) is None
        with pytest.raises(TypeError, match="Fetch argument 3 has invalid type int"):
            sess.run(3)
        with pytest.raises(TypeError, match="Cannot interpret feed_dict key"):
            sess.run(y, {3: 1})
        with pytest.raises(KeyError, match="'nothing:0' refers to a Tensor which does not exist"):
            sess.run("nothing:0")
        with pytest.raises(mf.FeedError, match="placeholder 'x'"):
            sess.run(y)


def test_eval_and_run_use_the_default_session():
    x = tf.constant([1.0, 2.0])
    v = tf.Variable(1.0)
    with pytest.raises(ValueError, match="no default session is registered"):
        x.eval()
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        np.testing.assert_array_equal(x.eval(), [1.0, 2.0])
        tf.global_variables_initializer().run()
        assert v.eval() == 1.0
    assert tf.get_default_session() is None
    other = tf.Session()
    with other.as_default():
        assert (x * 2.0).eval()[1] == 4.0
    assert other.run(x)[0] == 1.0           # still open after as_default
    interactive = tf.InteractiveSession()
    assert tf.get_default_session() is interactive and x.eval()[0] == 1.0
    interactive.close()
    assert tf.get_default_session() is None


def test_a_closed_session_refuses_to_run_and_options_are_refused():
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="Attempted to use a closed Session"):
        sess.run(tf.constant(1.0))
    with pytest.raises(ValueError, match="no server"):
        tf.Session("grpc://localhost:2222")
    with pytest.raises(TypeError, match="drop the config"):
        tf.Session(config=object())
    with pytest.raises(TypeError, match="options=, run_metadata="):
        tf.Session().run(tf.constant(1.0), options=object())


def test_graphs_as_default_and_reset():
    graph = tf.Graph()
    with graph.as_default():
        c = tf.constant(1.0, name="c")
        assert tf.get_default_graph() is graph
        with tf.Session() as sess:
            assert sess.graph is graph and sess.run(c) == 1.0
    assert c.graph is graph and tf.get_default_graph() is not graph
    assert tf.Session(graph=graph).run(c) == 1.0
    tf.constant(2.0)
    tf.reset_default_graph()
    assert tf.get_default_graph().tensors == []


def test_tensors_are_usable_as_keys_and_refuse_truth():
    x = tf.placeholder(tf.float32, [])
    assert {x: 1}[x] == 1 and (x == x) is True and (x == tf.identity(x)) is False
    with pytest.raises(TypeError, match="as a Python bool is not allowed"):
        bool(x)
    with pytest.raises(TypeError, match="not iterable"):
        iter(x)
    assert repr(x) == "<tf.Tensor 'Placeholder:0' shape=() dtype=float32>"
    assert repr(x.op) == "<tf.Operation 'Placeholder' type=Placeholder>"
    assert x.op.outputs == [x] and tf.identity(x).op.inputs == [x]


def test_assign_ops_write_after_the_reads_of_their_step_and_initialize():
    W = tf.Variable([1.0, 2.0], name="W")
    (g,) = tf.gradients(tf.reduce_sum(W * W), [W])
    step = tf.assign(W, W - 0.1 * g)            # gradient descent by hand
    count = tf.Variable(0, name="count")
    fresh = tf.Variable(5.0, name="fresh")
    with tf.Session() as sess:
        sess.run(tf.variables_initializer([W, count]))
        assert sess.run([step, W])[0] is None
        np.testing.assert_allclose(sess.run(W), [0.8, 1.6])
        sess.run(tf.assign_add(count, 2))
        sess.run(count.assign_sub(3))
        sess.run(count.assign_add(10))
        assert sess.run(count) == 9
        sess.run(fresh.assign(7.0))             # assigning initializes
        assert sess.run(fresh) == 7.0
        sess.run(tf.assign_sub(fresh, tf.constant(2.0)))
        assert sess.run(fresh) == 5.0
    with pytest.raises(ValueError, match=r"assign: a value of shape \[3\] does not fit Variable "
                                         r"'W' of shape \[2\]"):
        tf.assign(W, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="assign_add needs a Variable"):
        tf.assign_add(g, 1.0)
