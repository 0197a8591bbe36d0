"""Initializers, layers, optimizers against numpy references, fit(), checkpoints."""

import os

import numpy as np
import pytest

import microflow as mf

# -- initializers -----------------------------------------------------------------------


def test_initializers_have_the_documented_scales():
    big = (400, 600)
    assert np.allclose(mf.init.zeros(big), 0) and np.allclose(mf.init.ones(big), 1)
    assert np.all(mf.init.constant((2, 3), value=0.5) == 0.5)
    assert mf.init.normal(big, stddev=0.1, seed=0).std() == pytest.approx(0.1, rel=0.02)
    u = mf.init.uniform(big, low=-2, high=3, seed=0)
    assert u.min() >= -2 and u.max() < 3
    glorot_limit = np.sqrt(6 / 1000)
    assert np.abs(mf.init.glorot_uniform(big, seed=0)).max() <= glorot_limit
    assert mf.init.glorot_normal(big, seed=0).std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    assert np.abs(mf.init.he_uniform(big, seed=0)).max() <= np.sqrt(6 / 400)
    assert mf.init.he_normal(big, seed=0).std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert mf.init.he_normal(big, seed=0).dtype == np.float32


def test_initializers_take_a_seed_or_a_generator_and_can_be_configured():
    a = mf.init.normal((3,), seed=7)
    b = mf.init.normal((3,), seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mf.init.normal((3,), 1.0, np.random.default_rng(7)), a)
    np.testing.assert_array_equal(mf.init.glorot_uniform((2, 3), 5), mf.init.glorot_uniform((2, 3), seed=5))
    configured = mf.init.normal(stddev=0.01)
    assert configured((1000,), seed=0).std() == pytest.approx(0.01, rel=0.1)


def test_set_seed_makes_initial_weights_reproducible():
    mf.set_seed(3)
    first = mf.layers.dense(mf.placeholder((None, 4)), 5)
    mf.set_seed(3)
    second = mf.layers.dense(mf.placeholder((None, 4)), 5)
    w1, w2 = mf.trainable_variables()[0], mf.trainable_variables()[2]
    np.testing.assert_array_equal(w1.value, w2.value)
    assert first.shape == second.shape == (None, 5)


# -- layers -----------------------------------------------------------------------------


def test_dense_creates_scoped_variables_and_computes_x_w_plus_b():
    x = mf.placeholder((None, 2), dtype="float64", name="x")
    y = mf.layers.dense(x, 3, activation=mf.relu)
    mf.layers.dense(y, 1)
    names = [v.name for v in mf.trainable_variables()]
    assert names == ["dense/W", "dense/b", "dense_1/W", "dense_1/b"]
    W, b = mf.trainable_variables()[:2]
    W.assign(np.arange(6.0).reshape(2, 3) - 2)
    b.assign([1.0, -10.0, 0.0])
    value = mf.Session().run(y, {x: [[1.0, 2.0]]})
    np.testing.assert_allclose(value, np.maximum(np.array([[1.0, 2.0]]) @ W.value + b.value, 0))


def test_mlp_stacks_dense_layers_and_returns_logits():
    logits = mf.layers.mlp(mf.placeholder((None, 4)), [8, 6], 3, activation=mf.tanh)
    shapes = [v.shape for v in mf.trainable_variables()]
    assert shapes == [(4, 8), (8,), (8, 6), (6,), (6, 3), (3,)]
    assert logits.shape == (None, 3)


def test_l2_regularization_is_scale_times_sum_of_squared_weights_without_biases():
    W = mf.Variable(np.array([[1.0, 2.0]]), name="W")
    b = mf.Variable(np.array([5.0]), name="b")
    penalty = mf.l2_regularization([W, b], 0.1)
    assert mf.Session().run(penalty) == pytest.approx(0.5)
    with_biases = mf.l2_regularization([W, b], 0.1, include_biases=True)
    assert mf.Session().run(with_biases) == pytest.approx(3.0)


def test_dense_needs_a_known_input_width():
    with pytest.raises(mf.ShapeError, match=r"'hidden'.*\(None, None\)"):
        mf.layers.dense(mf.placeholder((None, None)), 3, name="hidden")


# -- optimizers against numpy references --------------------------------------------------

A = np.array([[1.0, -2.0, 0.5], [0.3, 0.8, -1.5]])
TARGET = np.array([[0.5, 0.1, -0.3], [1.0, -1.0, 2.0]])
START = np.array([[0.2, 0.4, -0.6], [0.9, -0.1, 0.05]])


def numpy_gradient(w):
    """d/dw of sum(A * (w - TARGET)**2) + sum(w**4) / 4: curved, so every update differs."""
    return 2 * A * (w - TARGET) + w ** 3


def graph_loss():
    w = mf.Variable(START.copy(), name="w")
    loss = mf.reduce_sum(mf.constant(A) * mf.square(w - TARGET)) + mf.reduce_sum(w ** 4) / 4
    return w, loss


def sgd_reference(lr, momentum=0.0, nesterov=False, steps=6):
    w, v = START.copy(), np.zeros_like(START)
    for _ in range(steps):
        g = numpy_gradient(w)
        if momentum == 0 and not nesterov:
            w = w - lr * g
            continue
        v = momentum * v + g
        w = w - lr * (g + momentum * v if nesterov else v)
    return w


def rmsprop_reference(lr, decay=0.9, momentum=0.0, epsilon=1e-8, steps=6):
    w, ms, v = START.copy(), np.zeros_like(START), np.zeros_like(START)
    for _ in range(steps):
        g = numpy_gradient(w)
        ms = decay * ms + (1 - decay) * g ** 2
        if momentum:
            v = momentum * v + g / (np.sqrt(ms) + epsilon)
            w = w - lr * v
        else:
            w = w - lr * g / (np.sqrt(ms) + epsilon)
    return w


def adam_reference(lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, steps=6):
    w, m, v = START.copy(), np.zeros_like(START), np.zeros_like(START)
    for t in range(1, steps + 1):
        g = numpy_gradient(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    return w


def adagrad_reference(lr=0.01, initial_accumulator=0.1, epsilon=1e-7, steps=6):
    w, acc = START.copy(), np.full_like(START, initial_accumulator)
    for _ in range(steps):
        g = numpy_gradient(w)
        acc = acc + g ** 2
        w = w - lr * g / (np.sqrt(acc) + epsilon)
    return w


@pytest.mark.parametrize("optimizer, reference", [
    (mf.optimizers.SGD(0.05), sgd_reference(0.05)),
    (mf.optimizers.SGD(0.05, momentum=0.9), sgd_reference(0.05, 0.9)),
    (mf.optimizers.SGD(0.05, momentum=0.9, nesterov=True), sgd_reference(0.05, 0.9, True)),
    (mf.optimizers.RMSProp(0.01), rmsprop_reference(0.01)),
    (mf.optimizers.RMSProp(0.01, decay=0.8, momentum=0.5, epsilon=1e-6),
     rmsprop_reference(0.01, 0.8, 0.5, 1e-6)),
    (mf.optimizers.Adam(0.01), adam_reference(0.01)),
    (mf.optimizers.Adam(0.02, beta1=0.5, beta2=0.9, epsilon=1e-6),
     adam_reference(0.02, 0.5, 0.9, 1e-6)),
    (mf.optimizers.AdaGrad(0.1), adagrad_reference(0.1)),
], ids=["sgd", "momentum", "nesterov", "rmsprop", "rmsprop-momentum", "adam", "adam-settings",
        "adagrad"])
def test_update_rules_match_numpy_references_over_several_steps(optimizer, reference):
    w, loss = graph_loss()
    train = optimizer.minimize(loss)
    sess = mf.Session()
    for _ in range(6):
        sess.run(train)
    np.testing.assert_allclose(w.value, reference, rtol=0, atol=1e-12)


def test_learning_rate_may_be_a_placeholder():
    w, loss = graph_loss()
    lr = mf.placeholder((), dtype="float64", name="lr")
    train = mf.optimizers.SGD(lr).minimize(loss)
    sess = mf.Session()
    sess.run(train, {lr: 0.05})
    sess.run(train, {lr: 0.0})
    np.testing.assert_allclose(w.value, sgd_reference(0.05, steps=1), atol=1e-12)


def test_the_loss_fetched_with_the_train_op_is_from_before_the_update():
    w, loss = graph_loss()
    train = mf.optimizers.SGD(0.05).minimize(loss)
    sess = mf.Session()
    before = sess.run(loss)
    _, fetched = sess.run([train, loss])
    assert fetched == before


def test_variables_without_gradient_are_skipped_and_none_at_all_is_an_error():
    w, loss = graph_loss()
    frozen = mf.Variable(np.ones(2), name="frozen")
    train = mf.optimizers.SGD(0.1).minimize(loss, var_list=[w, frozen])
    mf.Session().run(train)
    np.testing.assert_array_equal(frozen.value, [1, 1])
    unrelated = mf.reduce_sum(mf.constant(np.ones(2)), name="constant_loss")
    with pytest.raises(ValueError, match="'constant_loss'"):
        mf.optimizers.Adam().minimize(unrelated)


def test_update_ops_are_stateful_and_grouped_in_the_train_op():
    w, loss = graph_loss()
    train = mf.optimizers.Adam().minimize(loss)
    assert train.op == "Group"
    assert train.operation.stateful
    update_types = {t.op for t in train.inputs}
    assert update_types == {"ApplyAdam", "AssignAdd"}
    assert {v.name for v in mf.get_default_graph().variables} >= {"Adam/w/m", "Adam/w/v"}


# -- fit ---------------------------------------------------------------------------------


def xor_model(optimizer, classes=2, activation=mf.tanh):
    x = mf.placeholder((None, 2), name="x")
    y = mf.placeholder((None,), dtype="int64", name="y")
    hidden = mf.layers.dense(x, 4, activation=activation)
    logits = mf.layers.dense(hidden, classes)
    loss = mf.softmax_cross_entropy(logits, y)
    return x, y, logits, loss, optimizer.minimize(loss)


def test_fit_trains_xor_to_full_accuracy_with_a_fixed_seed():
    mf.set_seed(0)
    X, Y = mf.datasets.xor()
    x, y, logits, loss, train = xor_model(mf.optimizers.Adam(0.05))
    history = mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=300,
                           metrics={"accuracy": mf.accuracy(logits, y)}, progress=False, seed=0)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < 0.05 < history["loss"][0]
    assert history.epochs == 300


def test_fit_reaches_95_percent_on_the_three_clouds_with_three_sigmoid_units():
    mf.set_seed(1)
    X, Y = mf.datasets.clouds(500, seed=0)
    x = mf.placeholder((None, 2), name="x")
    y = mf.placeholder((None,), dtype="int64", name="y")
    logits = mf.layers.dense(mf.layers.dense(x, 3, activation=mf.sigmoid), 3)
    loss = mf.softmax_cross_entropy(logits, y)
    train = mf.optimizers.SGD(0.5, momentum=0.9).minimize(loss)
    history = mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=30, batch_size=50,
                           metrics={"accuracy": mf.accuracy(logits, y)}, progress=False, seed=0)
    assert history["accuracy"][-1] >= 0.95


def test_two_runs_with_the_same_seed_are_bitwise_identical():
    results = []
    for _ in range(2):
        mf.reset_default_graph()
        mf.set_seed(42)
        X, Y = mf.datasets.clouds(50)
        x, y, logits, loss, train = xor_model(mf.optimizers.SGD(0.1), 3)
        history = mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=3, batch_size=16,
                               progress=False)
        results.append((history["loss"], [v.value.copy() for v in mf.trainable_variables()]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_fit_reports_validation_loss_and_metrics_per_epoch():
    mf.set_seed(0)
    X, Y = mf.datasets.clouds(100, seed=1)
    x, y, logits, loss, train = xor_model(mf.optimizers.Adam(0.01), 3)
    history = mf.train.fit(mf.Session(), train, loss, {x: X[:200], y: Y[:200]}, epochs=4,
                           batch_size=32, validation={x: X[200:], y: Y[200:]},
                           metrics={"accuracy": mf.accuracy(logits, y)}, progress=False)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.val_accuracy is history["val_accuracy"]
    assert all(len(values) == 4 for values in history.history.values())
    sess = mf.Session()
    expected = sess.run(loss, {x: X[200:], y: Y[200:]})
    assert history["val_loss"][-1] == pytest.approx(float(expected), rel=1e-5)


def test_divergence_stops_with_the_epoch_step_and_advice_and_keeps_finite_weights():
    mf.set_seed(0)
    X, Y = mf.datasets.clouds(100, seed=0)
    x, y, logits, loss, train = xor_model(mf.optimizers.SGD(1e6), 3, activation=mf.relu)
    with pytest.raises(mf.DivergenceError, match=r"epoch \d+, step \d+.*ten times lower") as info:
        mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=20, batch_size=20,
                     progress=False)
    assert isinstance(info.value, FloatingPointError)
    assert info.value.epoch <= 20 and info.value.step >= 1
    assert all(np.isfinite(v.value).all() for v in mf.trainable_variables())


def test_early_stopping_stops_and_restores_the_best_weights():
    mf.set_seed(0)
    X, Y = mf.datasets.clouds(60, seed=0)
    x, y, logits, loss, train = xor_model(mf.optimizers.SGD(3.0), 3)
    stopper = mf.train.EarlyStopping(patience=2)
    history = mf.train.fit(mf.Session(), train, loss, {x: X[:90], y: Y[:90]}, epochs=200,
                           batch_size=10, validation={x: X[90:], y: Y[90:]},
                           callbacks=[stopper], progress=False)
    assert history.stopped_early and history.epochs < 200
    best = min(history["val_loss"])
    assert history["val_loss"][history.best_epoch - 1] == best
    restored = mf.Session().run(loss, {x: X[90:], y: Y[90:]})
    assert float(restored) == pytest.approx(best, rel=1e-5)


def test_fit_rejects_feeds_of_different_lengths_naming_them():
    x, y, logits, loss, train = xor_model(mf.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match=r"'x': 4, 'y': 3"):
        mf.train.fit(mf.Session(), train, loss, {x: np.ones((4, 2)), y: np.ones(3, int)},
                     epochs=1, progress=False)


def test_progress_bar_is_silent_when_stdout_is_not_a_terminal(capsys):
    x, y, logits, loss, train = xor_model(mf.optimizers.SGD(0.1))
    X, Y = mf.datasets.xor()
    mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# -- checkpoints -------------------------------------------------------------------------


def test_save_and_restore_round_trip_keyed_by_variable_name(tmp_path):
    w, loss = graph_loss()
    path = mf.save(tmp_path / "model.npz")
    saved = w.value.copy()
    w.assign(np.zeros_like(saved))
    mf.restore(path)
    np.testing.assert_array_equal(w.value, saved)
    assert list(np.load(path).files) == ["w"]


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    w, _ = graph_loss()
    path = mf.save(tmp_path / "model.npz")
    before = open(path, "rb").read()
    w.assign(np.zeros_like(w.value))

    def crash(handle, **arrays):
        handle.write(b"partial garbage")
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        mf.save(path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_restore_names_missing_and_mismatched_variables_and_changes_nothing(tmp_path):
    w = mf.Variable(np.ones((2, 2)), name="w")
    path = mf.save(tmp_path / "ckpt.npz")
    mf.reset_default_graph()
    w2 = mf.Variable(np.zeros((3,)), name="w")
    mf.Variable(np.zeros(1), name="extra")
    with pytest.raises(mf.CheckpointError, match=r"'w' is \(2, 2\) float64.*\(3,\) float64.*'extra' is missing"):
        mf.restore(path)
    assert not w2.value.any() and w is not w2


def test_restore_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([{"payload": 1}], dtype=object))
    mf.Variable(np.zeros(1), name="w")
    with pytest.raises(mf.CheckpointError, match="evil.npz.*pickled object.*never unpickles"):
        mf.restore(path)


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", None])
def test_restore_of_a_truncated_or_foreign_file_names_the_path(tmp_path, content):
    mf.Variable(np.zeros(1), name="w")
    path = tmp_path / "broken.npz"
    if content is None:
        mf.save(path)
        content = open(path, "rb").read()[:40]       # truncated
    path.write_bytes(content)
    with pytest.raises(mf.CheckpointError, match="broken.npz"):
        mf.restore(path)


def test_restore_of_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        mf.restore(tmp_path / "nowhere.npz")


# -- fit's guard (a step with anything non-finite is not applied) ------------------------


def sqrt_of_square_model(optimizer):
    """A finite loss whose gradient is NaN where w is 0 (d sqrt(u)/du = inf times du/dw = 0)."""
    x = mf.placeholder((None, 2), name="x")
    w = mf.Variable(np.array([0.0, 1.5]), name="w")
    loss = mf.reduce_mean(mf.sqrt(mf.square(x * w)), name="loss")
    return x, w, loss, optimizer.minimize(loss)


@pytest.mark.parametrize("optimizer", [mf.optimizers.SGD(0.1), mf.optimizers.Adam(0.1),
                                       mf.optimizers.SGD(0.1, momentum=0.9),
                                       mf.optimizers.RMSProp(0.1), mf.optimizers.AdaGrad(0.1)],
                         ids=["sgd", "adam", "momentum", "rmsprop", "adagrad"])
def test_a_finite_loss_with_a_nan_gradient_stops_before_any_update_bit_for_bit(optimizer):
    x, w, loss, train = sqrt_of_square_model(optimizer)
    state = [v for v in mf.get_default_graph().variables]
    before = [v.value.copy() for v in state]
    assert np.isfinite(mf.Session().run(loss, {x: np.ones((3, 2))}))
    with pytest.raises(mf.DivergenceError, match=r"gradient of 'w'.*epoch 1, step 1") as info:
        mf.train.fit(mf.Session(), train, loss, {x: np.ones((3, 2))}, epochs=2,
                     progress=False)
    assert (info.value.epoch, info.value.step) == (1, 1)
    for variable, value in zip(state, before):
        assert variable.value.tobytes() == value.tobytes(), variable.name


def test_a_non_finite_optimizer_slot_stops_the_step_before_any_update():
    x = mf.placeholder((None, 2), name="x")
    w = mf.Variable(np.array([0.5, 1.5]), name="w")
    loss = mf.reduce_mean(mf.square(x * w), name="loss")
    train = mf.optimizers.Adam(0.1).minimize(loss)
    m = next(v for v in mf.get_default_graph().variables if v.name == "Adam/w/m")
    m.assign(np.array([np.nan, 0.0]))
    before = w.value.copy()
    with pytest.raises(mf.DivergenceError, match="'Adam/w/m'"):
        mf.train.fit(mf.Session(), train, loss, {x: np.ones((3, 2))}, epochs=1,
                     progress=False)
    assert w.value.tobytes() == before.tobytes()


def test_the_guard_passes_a_finite_step_unchanged():
    x, w, loss, train = sqrt_of_square_model(mf.optimizers.SGD(0.1))
    w.assign(np.array([0.5, 1.5]))
    history = mf.train.fit(mf.Session(), train, loss, {x: np.ones((3, 2))}, epochs=1,
                           progress=False)
    np.testing.assert_allclose(w.value, [0.5 - 0.05, 1.5 - 0.05])
    assert history["loss"] == [pytest.approx(1.0)]


def test_repeated_fit_calls_add_no_nodes_and_compile_no_new_plan():
    X, Y = mf.datasets.xor()
    x, y, logits, loss, train = xor_model(mf.optimizers.SGD(0.1))
    sess = mf.Session()
    metrics = {"accuracy": mf.accuracy(logits, y)}
    mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, metrics=metrics, progress=False)
    nodes, plans = len(mf.get_default_graph().tensors), len(sess._plans)
    for _ in range(3):
        mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, metrics=metrics,
                     progress=False)
    assert len(mf.get_default_graph().tensors) == nodes
    assert len(sess._plans) == plans


def test_fit_on_data_with_no_rows_names_the_feed():
    x, y, logits, loss, train = xor_model(mf.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match=r"no rows.*'x' \(shape \(0, 2\)\)"):
        mf.train.fit(mf.Session(), train, loss, {x: np.ones((0, 2)), y: np.ones(0, int)},
                     epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"validation.*no rows.*'x'"):
        mf.train.fit(mf.Session(), train, loss, {x: np.ones((4, 2)), y: np.ones(4, int)},
                     epochs=1, progress=False,
                     validation={x: np.ones((0, 2)), y: np.ones(0, int)})
    with pytest.raises(ValueError, match=r"evaluate\(\).*no rows"):
        mf.train.evaluate(mf.Session(), loss, {x: np.ones((0, 2)), y: np.ones(0, int)})


def test_a_save_error_names_the_users_path_not_the_temporary_file(tmp_path):
    graph_loss()
    with pytest.raises(FileNotFoundError) as info:
        mf.save(tmp_path / "nowhere" / "w")
    assert str(tmp_path / "nowhere" / "w.npz") in str(info.value)
    assert ".tmp" not in str(info.value)


def test_restore_finds_the_npz_that_save_wrote_without_the_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w, _ = graph_loss()
    saved = w.value.copy()
    assert mf.save("m") == "m.npz"
    w.assign(np.zeros_like(saved))
    mf.restore("m")
    np.testing.assert_array_equal(w.value, saved)
    with pytest.raises(FileNotFoundError, match=r"'other' \(nor 'other.npz'\)"):
        mf.restore("other")


def test_save_to_a_folder_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    graph_loss()
    (tmp_path / "dir").mkdir()
    for path in ["dir/", "dir" + os.sep, str(tmp_path / "new") + "/"]:
        with pytest.raises(IsADirectoryError, match=rf"{path!r}.*names a folder.*model.npz"):
            mf.save(path)
    assert os.listdir(tmp_path / "dir") == [] and sorted(os.listdir(tmp_path)) == ["dir"]

def test_fit_feeds_train_feeds_to_training_steps_only():
    x = mf.placeholder((None, 2), dtype="float64", name="x")
    W = mf.Variable(np.ones((2, 1)))
    bonus = mf.placeholder_with_default(np.float64(0.0), (), name="bonus")
    loss = mf.reduce_mean(mf.square(x @ W)) + bonus
    train_op = mf.optimizers.SGD(1e-12).minimize(loss)
    data = {x: np.ones((8, 2))}
    history = mf.train.fit(mf.Session(), train_op, loss, data, epochs=2, batch_size=4,
                           validation=data, progress=False, train_feeds={bonus: 0.5})
    np.testing.assert_allclose(history.loss, [4.5, 4.5])
    np.testing.assert_allclose(history.val_loss, [4.0, 4.0])


def test_fit_checks_train_feeds():
    x = mf.placeholder((None, 1), name="x")
    W = mf.Variable(np.ones((1, 1), np.float32))
    loss = mf.reduce_mean(x @ W)
    train_op = mf.optimizers.SGD(0.1).minimize(loss)
    with pytest.raises(TypeError, match="train_feeds key 'rate' is not a Tensor"):
        mf.train.fit(mf.Session(), train_op, loss, {x: np.ones((2, 1))}, 1, progress=False,
                     train_feeds={"rate": 0.5})
    with pytest.raises(ValueError, match="'x' is in both feeds and train_feeds"):
        mf.train.fit(mf.Session(), train_op, loss, {x: np.ones((2, 1))}, 1, progress=False,
                     train_feeds={x: np.ones((2, 1))})
