"""Session.run: fetch structures, feeds, plans, and the errors that name the culprit."""

import numpy as np
import pytest

import microflow as mf


def test_course_worked_example_gives_hidden_0731_and_output_0812():
    x = mf.placeholder((2,), dtype="float64", name="x")
    W = mf.Variable(np.ones((2, 2)), name="W")
    v = mf.Variable(np.ones(2), name="v")
    b = mf.Variable(np.zeros(2), name="b")
    c = mf.Variable(0.0, dtype="float64", name="c")
    hidden = mf.sigmoid(x @ W + b)
    output = mf.sigmoid(hidden @ v + c)
    z, p = mf.Session().run([hidden, output], {x: [0.0, 1.0]})
    np.testing.assert_allclose(z, [0.731, 0.731], atol=5e-4)
    np.testing.assert_allclose(p, 0.812, atol=5e-4)


def test_fetch_structures_are_preserved():
    a, b = mf.constant(1.0), mf.constant(2.0)
    result = mf.Session().run({"a": a, "pair": (a, [b]), "b": b})
    assert result == {"a": 1.0, "pair": (1.0, [2.0]), "b": 2.0}
    assert isinstance(mf.Session().run((a, b)), tuple)
    assert isinstance(mf.Session().run([a, b]), list)


def test_empty_fetches_give_empty_results():
    sess = mf.Session()
    assert (sess.run([]), sess.run(()), sess.run({})) == ([], (), {})


def test_only_the_needed_subgraph_runs():
    x = mf.placeholder((), name="never_fed")
    unused = mf.log(x)
    used = mf.constant(3.0) * 2
    assert mf.Session().run(used) == 6.0
    assert unused.op == "Log"


def test_plans_are_cached_per_fetches_and_feeds():
    x = mf.placeholder((None,), name="x")
    y = x * 2
    sess = mf.Session()
    sess.run(y, {x: [1.0]})
    sess.run(y, {x: [2.0, 3.0]})
    assert len(sess._plans) == 1
    sess.run([y], {x: [1.0]})             # the same Tensors in a list: the same plan
    assert len(sess._plans) == 1
    sess.run([y, x * 3], {x: [1.0]})
    assert len(sess._plans) == 2


def test_a_session_keeps_a_bounded_number_of_plans(monkeypatch):
    from microflow.core import session
    monkeypatch.setattr(session, "MAX_PLANS", 3)
    x = mf.constant(1.0)
    sess = mf.Session()
    results = [sess.run(x * float(i)) for i in range(5)]
    assert results == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(sess._plans) == 3


def test_intermediate_arrays_are_deleted_after_their_last_use():
    x = mf.placeholder((None,), name="x")
    y = mf.exp(mf.tanh(x))
    source = mf.Session().plan_for(y, [x]).source
    assert "del" in source


def test_feeding_any_tensor_overrides_its_value():
    a = mf.constant(1.0)
    b = a * 10
    c = b + 1
    assert mf.Session().run(c, {b: 5.0}) == 6.0


def test_fed_values_are_converted_to_the_placeholder_dtype():
    x = mf.placeholder((None, 2), dtype="float32")
    value = mf.Session().run(x * 1, {x: np.ones((1, 2), dtype=np.float64)})
    assert value.dtype == np.float32


def test_variable_updates_are_seen_by_the_next_run():
    v = mf.Variable(np.ones(2))
    y = v * 2
    sess = mf.Session()
    sess.run(y)
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(sess.run(y), [6, 8])


def test_fetched_variables_are_copies():
    v = mf.Variable(np.ones(2))
    value = mf.Session().run(v)
    value[0] = 99
    assert v.value[0] == 1


def test_missing_feed_names_the_placeholder_its_shape_and_dtype():
    x = mf.placeholder((None, 2), dtype="float32", name="images")
    with pytest.raises(mf.FeedError, match=r"'images' \(shape \(None, 2\), dtype float32\)"):
        mf.Session().run(mf.tanh(x))


def test_wrong_feed_shape_names_the_placeholder_and_both_shapes():
    x = mf.placeholder((None, 2), name="points")
    with pytest.raises(mf.FeedError, match=r"shape \(3,\) into placeholder 'points' of shape \(None, 2\)"):
        mf.Session().run(x * 1, {x: np.ones(3)})
    with pytest.raises(mf.FeedError, match=r"\(4, 3\).*'points'.*\(None, 2\)"):
        mf.Session().run(x * 1, {x: np.ones((4, 3))})


def test_non_numeric_feed_names_the_placeholder_and_dtype():
    x = mf.placeholder((2,), name="numbers")
    with pytest.raises(mf.FeedError, match=r"dtype <U3 into placeholder 'numbers' of dtype float32"):
        mf.Session().run(x * 1, {x: ["abc", "def"]})
    y = mf.placeholder((2,), dtype="int64", name="labels")
    with pytest.raises(mf.FeedError, match="float64 into placeholder 'labels' of dtype int64"):
        mf.Session().run(y * 1, {y: [0.5, 1.5]})


def test_fetching_a_tensor_of_another_graph_names_it():
    g = mf.Graph()
    with g.as_default():
        foreign = mf.constant(1.0, name="foreign")
    with pytest.raises(mf.GraphError, match="'foreign'.*another graph"):
        mf.Session().run(foreign)


def test_feeding_a_key_that_is_not_a_tensor_of_this_graph_is_an_error():
    x = mf.placeholder((), name="x")
    with pytest.raises(mf.FeedError, match="'x' is not a Tensor"):
        mf.Session().run(x * 1, {"x": 1.0})
    g = mf.Graph()
    with g.as_default():
        other = mf.placeholder((), name="other")
    with pytest.raises(mf.GraphError, match="'other'.*another graph"):
        mf.Session().run(mf.constant(1.0), {other: 1.0})


def test_fetching_something_that_is_not_a_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="cannot fetch 3"):
        mf.Session().run([mf.constant(1.0), 3])


def test_check_numerics_names_the_first_op_with_nan_and_its_inputs():
    x = mf.placeholder((2,), name="x")
    logs = mf.log(x, name="bad_log")
    y = mf.exp(logs, name="after")
    sess = mf.Session(check_numerics=True)
    with np.errstate(invalid="ignore"):
        with pytest.raises(mf.NumericsError, match=r"Log op 'bad_log' produced NaN from inputs \('x'\)"):
            sess.run(y, {x: [-1.0, 1.0]})
    assert isinstance(mf.NumericsError("x"), FloatingPointError)


def test_check_numerics_reports_inf():
    x = mf.placeholder((1,), name="x")
    with np.errstate(over="ignore"):
        with pytest.raises(mf.NumericsError, match="Exp op 'big' produced Inf"):
            mf.Session(check_numerics=True).run(mf.exp(x, name="big"), {x: [1000.0]})


def test_a_session_is_a_context_manager():
    with mf.Session() as sess:
        assert sess.run(mf.constant(2.0)) == 2.0


def test_long_plans_run_in_chunks_or_through_the_interpreter(monkeypatch):
    from microflow.core import session
    x = mf.Variable(np.array([1.0]))
    y = x
    for _ in range(session.CODEGEN_LIMIT + 10):
        y = mf.negative(y)
    plan = mf.Session().plan_for(y)
    assert "generated functions" in plan.source
    np.testing.assert_array_equal(mf.Session().run(y), [1.0])
    monkeypatch.setattr(session, "CHUNK_STEPS", 0)
    plan = mf.Session().plan_for(y)
    assert "run by a loop" in plan.source
    np.testing.assert_array_equal(mf.Session().run(y), [1.0])


def test_a_training_step_gives_the_same_weights_through_every_executor(monkeypatch):
    from microflow.core import session
    weights = []
    # one generated function, the interpreter, chunks of 7 steps and of 1
    for limit, chunk_steps in ((session.CODEGEN_LIMIT, session.CHUNK_STEPS), (0, 0), (0, 7),
                               (0, 1)):
        monkeypatch.setattr(session, "CODEGEN_LIMIT", limit)
        monkeypatch.setattr(session, "CHUNK_STEPS", chunk_steps)
        mf.reset_default_graph()
        mf.set_seed(0)
        x = mf.placeholder((None, 2), name="x")
        y = mf.placeholder((None,), dtype="int64", name="y")
        logits = mf.layers.dense(mf.layers.dense(x, 3, activation=mf.tanh), 2)
        loss = mf.softmax_cross_entropy(logits, y)
        train = mf.optimizers.Adam(0.1).minimize(loss)
        sess = mf.Session(check_numerics=chunk_steps != 1)
        X, Y = mf.datasets.xor()
        losses = [sess.run([train, loss], {x: X, y: Y})[1] for _ in range(3)]
        assert sess.run(train, {x: X, y: Y}) is None
        weights.append([v.value.copy() for v in mf.trainable_variables()] + losses)
    for same in zip(*weights):
        for other in same[1:]:
            np.testing.assert_array_equal(same[0], other)


def test_profile_times_every_op_of_the_plan_and_runs_it_for_real():
    x = mf.placeholder((None, 50), dtype="float64", name="x")
    W = mf.Variable(np.ones((50, 50)) * 0.01, name="W")
    loss = mf.reduce_sum(mf.tanh(x @ W), name="loss")
    train = mf.optimizers.SGD(0.1).minimize(loss)
    sess = mf.Session()
    report = sess.profile([train, loss], {x: np.ones((100, 50))}, steps=3)
    ops = {row.op for row in report.rows}
    assert {"MatMul", "Tanh", "ReduceSum", "ApplySGD"} <= ops
    assert abs(sum(row.share for row in report.rows) - 1) < 1e-9
    assert report.total == pytest.approx(sum(row.seconds for row in report.rows))
    assert list(report.by_type())[0] in ops
    assert "loss" in str(report) and "total" in str(report)
    assert not np.allclose(W.value, 0.01)          # the three profiled steps trained


def test_an_op_failing_at_run_time_is_named_with_its_inputs():
    a = mf.placeholder((None, 3), name="a")
    b = mf.placeholder((None, 3), name="b")
    total = mf.add(a, b, name="total")
    with pytest.raises(ValueError, match=r"Add op 'total' \(inputs 'a' \(None, 3\), 'b' "
                                         r"\(None, 3\)\) failed: operands could not be broadcast"):
        mf.Session().run(total, {a: np.ones((4, 3)), b: np.ones((5, 3))})


def test_labels_out_of_range_name_the_loss_op():
    logits = mf.placeholder((None, 3), name="logits")
    labels = mf.placeholder((None,), dtype="int64", name="labels")
    loss = mf.softmax_cross_entropy(logits, labels, name="loss")
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropy op 'loss'.*labels hold class 7, "
                                         r"but the logits have only 3 classes"):
        mf.Session().run(loss, {logits: np.zeros((2, 3)), labels: [0, 7]})


def test_run_time_errors_are_named_by_the_interpreter_too(monkeypatch):
    from microflow.core import session
    monkeypatch.setattr(session, "CODEGEN_LIMIT", 0)
    monkeypatch.setattr(session, "CHUNK_STEPS", 0)
    a = mf.placeholder((None, 3), name="a")
    with pytest.raises(ValueError, match=r"Reshape op 'flat'"):
        mf.Session().run(mf.reshape(a, (-1, 2), name="flat"), {a: np.ones((1, 3))})


def test_plan_for_is_the_plan_that_run_uses_and_runs_converted_values():
    x = mf.placeholder((None, 3), name="x")
    y = mf.reduce_sum(x * 2.0, axis=1)
    sess = mf.Session()
    value = sess.run(y, {x: np.ones((2, 3))})
    plan = sess.plan_for(y, [x])
    assert plan is sess.plan_for(y, [x]) and len(sess._plans) == 1
    arrays = plan.converted([[[1, 2, 3]]])          # a nested list of ints, as run converts it
    assert arrays[0].dtype == np.float32 and arrays[0].shape == (1, 3)
    np.testing.assert_array_equal(plan.run(arrays)[0], [12.0])
    np.testing.assert_array_equal(plan.run([np.ones((2, 3), np.float32)])[0], value)
    with pytest.raises(mf.FeedError, match=r"shape \(2, 2\) into placeholder 'x'"):
        plan.converted([np.ones((2, 2))])
