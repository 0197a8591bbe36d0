"""fit() runs the Session's plan on data converted once per call and remembers its step across
calls: the weights are those of a bare Session.run loop over the same batches, bit for bit; new
data, data changed in place and a graph that grew are seen; the guard still stops a step
before any NaN reaches a weight, whatever the sizes of what it checks, even a gradient's product
that a weight's update makes inside itself (checked from the product's operands)."""

import numpy as np
import pytest

import microflow as mf
from microflow.core import session
from microflow.core.ops.base import apply
from microflow.core.ops.state import AssignAdd


def model(rows_shape=(None, 2)):
    """A small relu MLP with fixed starting weights: (x, y, loss, train, variables)."""
    mf.set_seed(0)
    x = mf.placeholder(rows_shape, name="x")
    y = mf.placeholder((rows_shape[0],), dtype="int64", name="y")
    logits = mf.layers.dense(mf.layers.dense(x, 5, activation=mf.relu), 3)
    loss = mf.softmax_cross_entropy(logits, y)
    train = mf.optimizers.SGD(0.1, momentum=0.9).minimize(loss)
    return x, y, loss, train, mf.trainable_variables()


def data(rows=40, seed=0):
    X, Y = mf.datasets.clouds(rows, seed=seed)
    return X.astype("float32")[:rows], Y[:rows]


def bare_loop(arrays, batch, epochs=1, rows_shape=(None, 2)):
    """The weights and per-epoch mean losses after Session.run over the batches in order."""
    mf.reset_default_graph()
    x, y, loss, train, variables = model(rows_shape)
    sess = mf.Session()
    losses = []
    for X, Y in arrays:
        for _ in range(epochs):
            total = 0.0
            for start in range(0, len(X), batch):
                rows = slice(start, start + batch)
                total += float(sess.run([train, loss], {x: X[rows], y: Y[rows]})[1]) * \
                    len(X[rows])
            losses.append(total / len(X))
    return [v.value.copy() for v in variables], losses


def same_bits(got, want):
    return all(a.tobytes() == b.tobytes() for a, b in zip(got, want, strict=True))


def test_one_epoch_at_a_time_trains_as_the_bare_loop_bit_for_bit():
    X, Y = data()
    weights, losses = bare_loop([(X, Y)], batch=16, epochs=3)
    mf.reset_default_graph()
    x, y, loss, train, variables = model()
    sess = mf.Session()
    logged = [mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, batch_size=16,
                           shuffle=False, progress=False).loss[0] for _ in range(3)]
    assert same_bits([v.value for v in variables], weights)
    assert logged == losses


def test_new_data_and_data_changed_in_place_are_trained_on():
    X, Y = data()
    X2, Y2 = data(seed=1)
    changed = X * 0.5
    weights, losses = bare_loop([(X, Y), (X2, Y2), (changed, Y)], batch=16)
    mf.reset_default_graph()
    x, y, loss, train, variables = model()
    sess = mf.Session()
    logged = []
    for X_given, Y_given in [(X, Y), (X2, Y2)]:
        logged += mf.train.fit(sess, train, loss, {x: X_given, y: Y_given}, epochs=1,
                               batch_size=16, shuffle=False, progress=False).loss
    X *= 0.5                    # the first array again, changed in place
    logged += mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, batch_size=16,
                           shuffle=False, progress=False).loss
    assert same_bits([v.value for v in variables], weights)
    assert logged == losses


def test_data_of_another_dtype_is_converted_as_each_step_would_convert_it():
    X, Y = data()
    weights, losses = bare_loop([(X, Y)], batch=16)
    mf.reset_default_graph()
    x, y, loss, train, variables = model()
    history = mf.train.fit(mf.Session(), train, loss, {x: X.astype("float64"), y: Y.tolist()},
                           epochs=1, batch_size=16, shuffle=False, progress=False)
    assert same_bits([v.value for v in variables], weights)
    assert history.loss == losses


def test_a_value_that_does_not_fit_the_placeholder_still_names_it():
    X, Y = data()
    x, y, loss, train, variables = model()
    with pytest.raises(mf.FeedError, match=r"dtype float64 into placeholder 'y'"):
        mf.train.fit(mf.Session(), train, loss, {x: X, y: Y + 0.5}, epochs=1,
                     progress=False)


def test_a_placeholder_of_a_fixed_batch_size_trains_in_batches_of_that_size():
    X, Y = data(rows=32)
    weights, _ = bare_loop([(X, Y)], batch=8, rows_shape=(8, 2))
    mf.reset_default_graph()
    x, y, loss, train, variables = model(rows_shape=(8, 2))
    mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=1, batch_size=8,
                 shuffle=False, progress=False)
    assert same_bits([v.value for v in variables], weights)
    with pytest.raises(mf.FeedError, match=r"shape \(6, 2\) into placeholder 'x' of shape \(8, 2\)"):
        mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=1, batch_size=6,
                     progress=False)


def test_an_update_op_added_after_a_fit_runs_in_the_next_one():
    X, Y = data(rows=32)
    x, y, loss, train, variables = model()
    graph = mf.get_default_graph()
    counters = []
    sess = mf.Session()
    for _ in range(2):
        counters.append(mf.Variable(np.zeros((), np.float64), trainable=False))
        graph.update_ops.append(apply(AssignAdd(), [counters[-1], np.ones((), np.float64),
                                                    loss]))
        mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, batch_size=16, progress=False)
    assert [c.value for c in counters] == [4.0, 2.0]       # two steps per epoch


def test_a_new_metric_is_computed_by_the_next_fit():
    X, Y = data(rows=32)
    x, y, loss, train, variables = model()
    sess = mf.Session()
    mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, progress=False)
    doubled = loss * 2.0
    history = mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, progress=False,
                           metrics={"doubled": doubled})
    assert history.doubled[0] == pytest.approx(2 * history.loss[0], rel=1e-6)


def wide_sqrt_model(width):
    """A finite loss whose gradient is NaN at w[0] = 0 (d sqrt(u)/du = inf times du/dw = 0),
    with a weight of ``width`` entries and a 3-entry bias beside it."""
    x = mf.placeholder((None, width), name="x")
    w = mf.Variable(np.linspace(0.0, 1.0, width), name="w")
    b = mf.Variable(np.ones(3), name="b")
    loss = mf.reduce_mean(mf.sqrt(mf.square(x * w))) + mf.reduce_sum(b * b)
    return x, loss, mf.optimizers.SGD(0.1).minimize(loss)


@pytest.mark.parametrize("width", [10, 5000], ids=["screened-together", "screened-alone"])
@pytest.mark.parametrize("limit", [session.CODEGEN_LIMIT, 0], ids=["generated", "interpreted"])
def test_the_guard_stops_before_a_nan_reaches_a_weight(width, limit, monkeypatch):
    monkeypatch.setattr(session, "CODEGEN_LIMIT", limit)
    x, loss, train = wide_sqrt_model(width)
    before = [v.value.copy() for v in mf.trainable_variables()]
    with pytest.raises(mf.DivergenceError, match=r"gradient of 'w'.*epoch 1, step 1"):
        mf.train.fit(mf.Session(), train, loss, {x: np.ones((4, width))}, epochs=1,
                     progress=False)
    assert same_bits([v.value for v in mf.trainable_variables()], before)


def test_a_learning_rate_fed_as_nan_stops_the_step():
    x, y, loss, _, variables = model()
    rate = mf.placeholder((), dtype="float32", name="rate")
    train = mf.optimizers.SGD(rate).minimize(loss)
    X, Y = data(rows=8)
    before = [v.value.copy() for v in variables]
    with pytest.raises(mf.DivergenceError, match="epoch 1, step 1"):
        mf.train.fit(mf.Session(), train, loss, {x: X, y: Y, rate: np.float32(np.nan)},
                     epochs=1, progress=False)
    assert same_bits([v.value for v in variables], before)


def test_a_call_repeated_on_a_list_changed_in_place_trains_on_the_new_values():
    X, Y = data()
    labels = Y.tolist()
    _, losses = bare_loop([(X, Y), (X, 2 - Y)], batch=16)
    mf.reset_default_graph()
    x, y, loss, train, variables = model()
    sess = mf.Session()
    logged = []
    for _ in range(2):
        logged += mf.train.fit(sess, train, loss, {x: X, y: labels}, epochs=1, batch_size=16,
                               shuffle=False, progress=False).loss
        labels[:] = [2 - label for label in labels]
    assert logged == losses


def test_a_call_repeated_on_an_array_reshaped_in_place_is_checked_again():
    X, Y = data(rows=32)
    x, y, loss, train, variables = model()
    sess = mf.Session()
    mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, batch_size=8, progress=False)
    X.shape = (32, 1, 2)
    with pytest.raises(mf.FeedError, match=r"shape \(\d+, 1, 2\) into placeholder 'x'"):
        mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=1, batch_size=8, progress=False)


# -- a big weight's update takes its gradient's product; the guard checks the operands ---------
def big_model(dtype="float64", rate=0.5, scale=0.05):
    """Plain SGD on a (300, 60) weight, big enough that its update and its gradient's product
    run as one GEMM: (x, y, w, loss, train)."""
    x = mf.placeholder((None, 300), dtype=dtype, name="x")
    y = mf.placeholder((None,), dtype="int64", name="y")
    start = np.random.default_rng(0).standard_normal((300, 60)) * scale
    w = mf.Variable(start.astype(dtype), name="w")
    loss = mf.softmax_cross_entropy(x @ w, y)
    return x, y, w, loss, mf.optimizers.SGD(rate).minimize(loss)


def fused_here():
    if not session.FUSED_GEMM:
        pytest.skip("numpy's BLAS has no cblas_?gemm64_ to call here: no update is fused")


def fit_plan_source(sess):
    from microflow.training import loop
    return loop._LAST_CALLS[sess].steps.plan.source


def test_fit_s_guard_checks_a_fused_update_s_product_from_its_operands():
    fused_here()
    x, y, w, loss, train = big_model()
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((40, 300)), rng.integers(0, 60, 40)
    start = w.value.copy()
    sess = mf.Session()
    mf.train.fit(sess, train, loss, {x: X, y: Y}, epochs=2, batch_size=20, shuffle=False,
                 progress=False)
    source = fit_plan_source(sess)
    assert "_subtract_product_a_transposed(c0, f0, t" in source
    assert "gradients/MatMul" not in source                 # the gradient is never made
    # the same weights as a Session.run loop, whose update is fused the same way, bit for bit
    fitted = w.value.copy()
    w.assign(start)
    bare = mf.Session()
    for _ in range(2):
        for rows in (slice(0, 20), slice(20, 40)):
            bare.run(train, {x: X[rows], y: Y[rows]})
    assert fitted.tobytes() == w.value.tobytes()


def test_a_fused_product_that_overflows_from_finite_operands_stops_the_step():
    fused_here()
    # float32 data near its largest number, a tiny weight: a finite loss, an Inf gradient
    x, y, w, loss, train = big_model("float32", rate=1000.0, scale=1e-40)
    X = np.full((20, 300), 3e38, np.float32)
    Y = np.zeros(20, np.int64)
    before = w.value.copy()
    assert np.isfinite(mf.Session().run(loss, {x: X, y: Y}))
    with pytest.raises(mf.DivergenceError, match=r"gradient of 'w'.*epoch 1, step 1"):
        mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=1, progress=False)
    assert w.value.tobytes() == before.tobytes()


def test_operands_too_big_to_judge_a_finite_product_by_still_train(monkeypatch):
    fused_here()
    # data whose sum of squares overflows float32, a product that does not
    x, y, w, loss, train = big_model("float32", rate=1e-30, scale=1e-22)
    X = np.full((20, 300), 1e20, np.float32)
    Y = np.arange(20, dtype=np.int64)
    start = w.value.copy()
    mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=1, progress=False)
    fused = w.value.copy()
    assert np.isfinite(fused).all() and not np.array_equal(fused, start)
    monkeypatch.setattr(session, "FUSED_UPDATE_BYTES", 1 << 60)
    w.assign(start)
    mf.train.fit(mf.Session(), train, loss, {x: X, y: Y}, epochs=1, progress=False)
    np.testing.assert_allclose(fused, w.value, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")   # (fit: errstate)
def test_a_product_is_judged_finite_from_its_operands_norms():
    from microflow.core.ops.state import _surely_finite_product
    ones = np.ones((3, 4), np.float32)
    assert _surely_finite_product(ones, ones.T)
    assert _surely_finite_product(np.ones((3, 0)), np.ones((0, 5)))       # zeros
    for bad in (np.nan, np.inf, -np.inf):
        spoiled = ones.copy()
        spoiled[1, 2] = bad
        assert not _surely_finite_product(spoiled, ones.T)
        assert not _surely_finite_product(ones, spoiled.T)
    big = np.full((2, 2), 1e19, np.float32)        # entries of 2e38: finite, but near the top
    assert np.isfinite(big @ big).all() and not _surely_finite_product(big, big)
    assert _surely_finite_product(np.full((2, 2), 1e150), np.full((2, 2), 1e150))
    assert not _surely_finite_product(np.full((2, 2), 1e154), np.full((2, 2), 1e154))
    assert _surely_finite_product(np.asfortranarray(ones), ones[:, ::2].T)  # any layout
