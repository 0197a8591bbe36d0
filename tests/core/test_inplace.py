"""Plans reuse arrays (in-place kernels where an input dies, values shared between an op and its
gradient op); none of that may leak: a fetched value is never overwritten by a later run or a
later op, a fed array is never written, a Variable changes only through its updates."""

import re

import numpy as np
import pytest

import microflow as mf


def mlp(loss="softmax", activation=mf.relu):
    mf.reset_default_graph()
    mf.set_seed(3)
    x = mf.placeholder((None, 3), dtype="float64", name="x")
    if loss == "softmax":
        y = mf.placeholder((None,), dtype="int64", name="y")
    else:
        y = mf.placeholder((None, 1), dtype="float64", name="y")
    W1 = mf.Variable(np.random.default_rng(0).standard_normal((3, 5)), name="W1")
    b1 = mf.Variable(np.full(5, -0.1), name="b1")
    W2 = mf.Variable(np.random.default_rng(1).standard_normal((5, 2 if loss == "softmax" else 1)))
    z = x @ W1 + b1
    h = activation(z)
    logits = h @ W2
    cost = mf.softmax_cross_entropy(logits, y) if loss == "softmax" else \
        mf.sigmoid_cross_entropy(logits, y)
    train = mf.optimizers.SGD(0.1).minimize(cost)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 3))
    Y = rng.integers(0, 2, 6) if loss == "softmax" else rng.integers(0, 2, (6, 1)).astype(float)
    return dict(x=x, y=y, z=z, h=h, logits=logits, cost=cost, train=train, X=X, Y=Y,
                variables=[W1, b1, W2])


def test_a_plan_writes_in_place_where_an_input_dies():
    m = mlp()
    source = mf.Session().plan_for([m["train"], m["cost"]], [m["x"], m["y"]]).source
    # the bias add into the product, relu into it (out= passed third, as ufuncs take it)
    assert re.search(r"t\d+ = kt\d+\((t\d+), c\d+, \1\)  # Add op", source)
    assert re.search(r"t\d+ = _maximum\((t\d+), _0_float64, out=\1\)  # Relu op", source)


@pytest.mark.parametrize("loss, activation", [("softmax", mf.relu), ("binary", mf.tanh),
                                              ("softmax", mf.sigmoid)])
def test_values_fetched_in_one_run_are_not_changed_by_later_runs(loss, activation):
    m = mlp(loss, activation)
    sess = mf.Session()
    feed = {m["x"]: m["X"], m["y"]: m["Y"]}
    fetched = sess.run([m["z"], m["h"], m["logits"], m["cost"]], feed)
    copies = [np.array(v, copy=True) for v in fetched]
    for _ in range(3):
        sess.run([m["train"], m["cost"]], feed)
        sess.run([m["z"], m["h"], m["logits"], m["cost"]], feed)
    for value, copy in zip(fetched, copies):
        np.testing.assert_array_equal(value, copy)


def test_a_fetched_value_is_not_overwritten_by_a_later_op_of_the_same_run():
    m = mlp()
    z, h = mf.Session().run([m["z"], m["h"]], {m["x"]: m["X"]})
    assert (z < 0).any()                        # relu of z would have changed those
    np.testing.assert_array_equal(h, np.maximum(z, 0))


@pytest.mark.parametrize("loss", ["softmax", "binary"])
def test_fed_arrays_are_never_written(loss):
    m = mlp(loss)
    sess = mf.Session()
    X, Y = m["X"], m["Y"]
    X_copy, Y_copy = X.copy(), Y.copy()
    for _ in range(3):
        sess.run([m["train"], m["cost"]], {m["x"]: X, m["y"]: Y})
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(Y, Y_copy)


def test_a_fed_intermediate_is_never_written():
    m = mlp()
    z = np.array(m["X"] @ m["variables"][0].value)          # fed in place of x @ W1
    product = m["z"].inputs[0]
    copy = z.copy()
    h = mf.Session().run(m["h"], {product: z})
    np.testing.assert_array_equal(z, copy)
    np.testing.assert_array_equal(h, np.maximum(copy + m["variables"][1].value, 0))


def test_variables_and_constants_change_only_through_their_updates():
    W = mf.Variable(np.array([[-1.0, 2.0]]), name="W")
    c = mf.constant(np.array([-3.0, 4.0]))
    y = mf.relu(W) + mf.tanh(c)
    out = mf.Session().run(mf.relu(y * 1.0))
    np.testing.assert_array_equal(W.value, [[-1.0, 2.0]])
    np.testing.assert_array_equal(out, np.maximum(np.maximum([[-1.0, 2.0]], 0) +
                                                  np.tanh([-3.0, 4.0]), 0))


def test_a_view_of_a_temporary_keeps_its_values():
    x = mf.placeholder((2, 3), dtype="float64", name="x")
    t = x * 2.0
    view = mf.reshape(t, (3, 2))
    squashed = mf.tanh(t)                       # t has a second user: never overwritten
    X = np.arange(6.0).reshape(2, 3) - 2
    v, s = mf.Session().run([view, squashed], {x: X})
    np.testing.assert_array_equal(v, (X * 2).reshape(3, 2))
    np.testing.assert_array_equal(s, np.tanh(X * 2))


def test_in_place_plans_give_the_same_values_as_plain_numpy():
    m = mlp()
    W1, b1, W2 = (v.value.copy() for v in m["variables"])
    z, h, logits = mf.Session().run([m["z"], m["h"], m["logits"]], {m["x"]: m["X"]})
    np.testing.assert_array_equal(z, m["X"] @ W1 + b1)
    np.testing.assert_array_equal(logits, np.maximum(m["X"] @ W1 + b1, 0) @ W2)


@pytest.mark.parametrize("labels", ["sparse", "rows"])
def test_the_loss_gradient_from_the_saved_softmax_is_bit_for_bit_the_one_computed_alone(labels):
    rng = np.random.default_rng(5)
    logits = mf.placeholder((None, 4), dtype="float64", name="logits")
    if labels == "sparse":
        y = mf.placeholder((None,), dtype="int64", name="y")
        Y = rng.integers(0, 4, 7)
    else:
        y = mf.placeholder((None, 4), dtype="float64", name="y")
        Y = rng.uniform(0, 1, (7, 4))
    loss = mf.softmax_cross_entropy(logits, y)
    (d_logits,) = mf.gradients(loss, [logits])
    feed = {logits: rng.standard_normal((7, 4)) * 3, y: Y}
    sess = mf.Session()
    paired = sess.plan_for([d_logits, loss], [logits, y]).source
    assert re.search(r"t\d+, s\d+ = kt\d+\(", paired)         # the loss saves its softmax
    alone_grad = sess.run(d_logits, feed)
    alone_loss = sess.run(loss, feed)
    first = sess.run([d_logits, loss], feed)
    copy = first[0].copy()
    second = sess.run([loss, d_logits], feed)
    np.testing.assert_array_equal(first[0], alone_grad)
    assert first[1] == alone_loss and second[0] == alone_loss
    np.testing.assert_array_equal(second[1], alone_grad)
    np.testing.assert_array_equal(first[0], copy)               # not written by the 2nd run


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_the_saved_softmax_gradient_is_right_for_logits_of_any_memory_layout(layout):
    # the gradient subtracts 1 at each label through a flat view: it must be a view of the
    # array it returns, whatever the logits' layout (a Fortran-ordered feed once lost it)
    rng = np.random.default_rng(6)
    logits = mf.placeholder((None, 3), dtype="float64", name="logits")
    y = mf.placeholder((None,), dtype="int64", name="y")
    loss = mf.softmax_cross_entropy(logits, y)
    (d_logits,) = mf.gradients(loss, [logits])
    values = rng.standard_normal((10, 3))
    fed = {"C": values[::2].copy(), "F": np.asfortranarray(values[::2]),
           "strided": values[::2]}[layout]
    Y = np.array([0, 1, 2, 1, 0])
    got_grad, got_loss = mf.Session().run([d_logits, loss], {logits: fed, y: Y})
    shifted = values[::2] - values[::2].max(axis=1, keepdims=True)
    softmax = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    expected = softmax.copy()
    expected[np.arange(5), Y] -= 1
    np.testing.assert_allclose(got_grad, expected / 5, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got_loss, -np.log(softmax[np.arange(5), Y]).mean(), rtol=1e-12)


@pytest.mark.parametrize("executor", ["generated", "interpreter"])
def test_products_with_few_columns_are_laid_out_by_column_and_fetched_in_c_order(executor,
                                                                                monkeypatch):
    from microflow.core import session
    if executor == "interpreter":
        monkeypatch.setattr(session, "CODEGEN_LIMIT", 0)
    m = mlp()
    plan = mf.Session().plan_for([m["train"], m["z"], m["h"], m["logits"]], [m["x"], m["y"]])
    # (batch, 5) and (batch, 2) products: computed as (W.T @ x.T).T, a Fortran-ordered result
    if executor == "generated":
        assert len(re.findall(r"_matmul\(\w+(\.T)?, \w+(\.T)?\)\.T  # MatMul", plan.source)) == 3
    W1, b1, W2 = (v.value.copy() for v in m["variables"])
    _, z, h, logits = mf.Session().run([m["train"], m["z"], m["h"], m["logits"]],
                                       {m["x"]: m["X"], m["y"]: m["Y"]})
    for value in (z, h, logits):
        assert value.flags.c_contiguous             # the plan's own layout never leaks
    np.testing.assert_allclose(z, m["X"] @ W1 + b1, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(logits, np.maximum(m["X"] @ W1 + b1, 0) @ W2, rtol=1e-14,
                               atol=1e-15)


def test_a_wide_or_static_product_keeps_numpy_s_own_layout():
    x = mf.placeholder((None, 3), dtype="float64", name="x")
    wide = x @ mf.Variable(np.ones((3, 40)))
    static = mf.constant(np.ones((4, 3))) @ mf.Variable(np.ones((3, 2)))
    source = mf.Session().plan_for([wide, static], [x]).source
    assert ").T  # MatMul" not in source


def test_an_update_fetched_by_itself_gives_none_and_still_updates():
    m = mlp()
    updates = list(m["train"].inputs)
    assert {u.op for u in updates} == {"ApplySGD"}
    source = mf.Session().plan_for(updates[:1] + [m["cost"]], [m["x"], m["y"]]).source
    assert re.search(r"^    t\d+ = \(_subtract\w*\(", source, re.M)  # fetched: assigned None
    before = m["variables"][0].value.copy()
    values = mf.Session().run(updates + [m["cost"]], {m["x"]: m["X"], m["y"]: m["Y"]})
    assert values[:len(updates)] == [None] * len(updates)
    assert not np.array_equal(m["variables"][0].value, before)


def _wide_model():
    mf.reset_default_graph()
    x = mf.placeholder((None, 300), dtype="float64", name="x")
    y = mf.placeholder((None,), dtype="int64", name="y")
    W = mf.Variable(np.random.default_rng(0).standard_normal((300, 60)) * 0.05, name="W")
    loss = mf.softmax_cross_entropy(mf.relu(x @ W), y)
    (d_W,) = mf.gradients(loss, [W])
    rng = np.random.default_rng(1)
    feed = {x: rng.standard_normal((20, 300)), y: rng.integers(0, 60, 20)}
    # (the gradient applied as it is: minimize()'s update, with the learning rate folded into
    # the gradient, would take the gradient's product into its GEMM)
    return W, loss, d_W, mf.optimizers.SGD(0.5).apply_gradients([(W, d_W)]), feed


def test_a_big_static_temporary_gets_a_buffer_the_plan_keeps_with_the_same_values(monkeypatch):
    from microflow.core import session
    W, loss, _, train, feed = _wide_model()
    # the (300, 60) gradient of W, 144 kB: written into a buffer kept from run to run
    assert re.search(r"_matmul\(f\d+\.T, t\d+, _buffer\d+\)", mf.Session().plan_for(
        [train, loss], list(feed)).source)
    start = W.value.copy()
    weights = []
    for limit in (session.BUFFER_BYTES, 10 ** 12):
        monkeypatch.setattr(session, "BUFFER_BYTES", limit)
        W.assign(start)
        sess = mf.Session()
        losses = [sess.run([train, loss], feed)[1] for _ in range(3)]
        weights.append((W.value.copy(), losses))
    np.testing.assert_array_equal(weights[0][0], weights[1][0])
    assert weights[0][1] == weights[1][1]


def test_a_fetched_big_temporary_is_never_a_kept_buffer():
    W, loss, d_W, _, feed = _wide_model()
    assert "_buffer" not in mf.Session().plan_for([d_W, loss], list(feed)).source
    sess = mf.Session()
    first = sess.run([d_W], feed)[0]
    copy = first.copy()
    other = dict(feed)
    other[next(iter(feed))] = -feed[next(iter(feed))]
    sess.run([d_W], other)
    np.testing.assert_array_equal(first, copy)


def test_threads_sharing_a_plan_with_buffers_get_their_own_results():
    import threading
    W, loss, d_W, _, feed = _wide_model()
    doubled = mf.l2_loss(d_W * 2.0)              # d_W dies inside the plan: a kept buffer
    sess = mf.Session()
    assert "_buffer" in sess.plan_for([doubled], list(feed)).source
    x = next(iter(feed))
    feeds = [{**feed, x: feed[x] * (i + 1)} for i in range(4)]
    expected = [sess.run(doubled, f) for f in feeds]
    got = [None] * 4

    def work(i):
        for _ in range(100):
            got[i] = sess.run(doubled, feeds[i])
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == expected


def test_a_wide_product_of_a_batch_keeps_a_buffer_of_the_last_batch_s_shape(monkeypatch):
    from microflow.core import session
    x = mf.placeholder((None, 30), dtype="float64", name="x")
    W = mf.Variable(np.random.default_rng(0).standard_normal((30, 200)), name="W")
    h = mf.tanh(x @ W)                              # (batch, 200): 1.6 kB a row
    out = mf.reduce_sum(h * h, axis=1)
    sess = mf.Session()
    source = sess.plan_for([out], [x]).source
    assert re.search(r"try:\n +t\d+ = kt\d+\(f0, c\d+, _buffer\d+\[0\]\)", source)
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((rows, 30)) for rows in (20, 7, 7, 1, 20)]
    got = [sess.run(out, {x: batch}) for batch in batches]
    monkeypatch.setattr(session, "ROW_BYTES", 10 ** 12)
    plain = mf.Session()
    assert "_buffer" not in plain.plan_for([out], [x]).source
    for batch, value in zip(batches, got):
        np.testing.assert_array_equal(value, plain.run(out, {x: batch}))
    assert got[1].shape == (7,) and got[3].shape == (1,)


def test_a_fetched_wide_product_of_a_batch_is_never_a_kept_buffer():
    x = mf.placeholder((None, 30), dtype="float64", name="x")
    W = mf.Variable(np.ones((30, 200)), name="W")
    product = x @ W
    relu = mf.relu(product)                         # written into the product: fetched too
    sess = mf.Session()
    assert "_buffer" not in sess.plan_for([relu], [x]).source
    first = sess.run(relu, {x: np.ones((4, 30))})
    sess.run(relu, {x: -np.ones((4, 30))})
    np.testing.assert_array_equal(first, np.full((4, 200), 30.0))


# -- an SGD update and its gradient's product as one GEMM ----------------------------------------
@pytest.fixture
def fuse_small(monkeypatch):
    """Fuse the updates of the small weights these tests train too (by default only weights
    of FUSED_UPDATE_BYTES or more are); where numpy's BLAS cannot be called, nothing is."""
    from microflow.core import session
    if not session.FUSED_GEMM:
        pytest.skip("numpy's BLAS has no cblas_?gemm64_ to call here: no update is fused")
    monkeypatch.setattr(session, "FUSED_UPDATE_BYTES", 0)


def _steps(m, sess, count=3):
    return [sess.run([m["train"], m["cost"]], {m["x"]: m["X"], m["y"]: m["Y"]})[1]
            for _ in range(count)]


def test_a_weight_s_gradient_product_is_subtracted_inside_its_update_by_one_gemm(monkeypatch, fuse_small):
    from microflow.core import session
    m = mlp()
    source = mf.Session().plan_for([m["train"], m["cost"]], [m["x"], m["y"]]).source
    # both weights: W -= op(a) @ op(b) in the update's line; the gradient's own line is gone
    assert len(re.findall(r"^    _subtract_product\w*\(c\d+, \w+, \w+\)  # ApplySGD", source,
                          re.M)) == 2
    assert "gradients/MatMul_2" not in source and "gradients/MatMul_1" not in source
    start = [v.value.copy() for v in m["variables"]]
    fused = _steps(m, mf.Session()), [v.value.copy() for v in m["variables"]]
    for variable, value in zip(m["variables"], start):
        variable.assign(value)
    monkeypatch.setattr(session, "_fuse_product_updates", lambda steps, kept: None)
    plain = _steps(m, mf.Session()), [v.value.copy() for v in m["variables"]]
    np.testing.assert_allclose(fused[0], plain[0], rtol=1e-14)
    for got, expected in zip(fused[1], plain[1]):
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    assert not np.array_equal(fused[1][0], start[0])


def test_the_product_stays_where_the_gradient_is_read_elsewhere_or_checked(fuse_small):
    m = mlp()
    W1 = m["variables"][0]
    (d_W1,) = mf.gradients(m["cost"], [W1])
    feeds = [m["x"], m["y"]]
    # minimize() has its own gradients; fetching them (or checking each op's value) keeps
    # them as values
    grads = [op.inputs[1] for op in m["train"].inputs]
    source = mf.Session().plan_for([m["train"], *grads], feeds).source
    assert "_subtract_product" not in source
    assert "_subtract_product" not in mf.Session(check_numerics=True).plan_for(
        [m["train"], m["cost"]], feeds).source
    assert "_subtract_product" in mf.Session().plan_for([m["train"], d_W1], feeds).source


def test_an_operand_that_is_the_weight_itself_keeps_the_product(fuse_small):
    U = mf.Variable(np.arange(9.0).reshape(3, 3) / 10, name="U")
    loss = mf.reduce_sum(mf.stop_gradient(U) @ U)          # dU = U.T @ ones: reads U
    train = mf.optimizers.SGD(0.5).minimize(loss)
    sess = mf.Session()
    assert "_subtract_product" not in sess.plan_for([train], []).source
    expected = U.value - 0.5 * U.value.T @ np.ones((3, 3))
    sess.run(train)
    np.testing.assert_allclose(U.value, expected, rtol=1e-15)


def test_an_operand_that_an_earlier_update_writes_keeps_the_product(fuse_small):
    rng = np.random.default_rng(0)
    V0, W0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    V, W = mf.Variable(V0, name="V"), mf.Variable(W0, name="W")
    train = mf.optimizers.SGD(0.1).minimize(mf.reduce_sum(V @ W), var_list=[V, W])
    source = mf.Session().plan_for([train], []).source
    # dV = g @ W.T in V's update (W is written later); dW = V.T @ g, made before V changes
    assert re.search(r"_subtract_product\w*\(c\d+, t\d+, c\d+\)  # ApplySGD op 'SGD/V", source)
    assert re.search(r"_subtract\(c\d+, t\d+, c\d+\)  # ApplySGD op 'SGD/W", source)
    mf.Session().run(train)
    g = np.ones((4, 2))
    np.testing.assert_allclose(V.value, V0 - 0.1 * g @ W0.T, rtol=1e-15)
    np.testing.assert_allclose(W.value, W0 - 0.1 * V0.T @ g, rtol=1e-15)


def test_a_profiled_step_runs_the_fused_update_too(fuse_small):
    m = mlp()
    start = [v.value.copy() for v in m["variables"]]
    report = mf.Session().profile([m["train"], m["cost"]], {m["x"]: m["X"], m["y"]: m["Y"]},
                                  steps=2)
    assert "ApplySGD" in report.by_type()
    after_two = [v.value.copy() for v in m["variables"]]
    for variable, value in zip(m["variables"], start):
        variable.assign(value)
    _steps(m, mf.Session(), 2)
    for got, want in zip(after_two, [v.value for v in m["variables"]]):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    assert not np.array_equal(after_two[0], start[0])


def test_only_a_big_weight_s_update_takes_its_product_by_default():
    from microflow.core import session
    if not session.FUSED_GEMM:
        pytest.skip("numpy's BLAS has no cblas_?gemm64_ to call here: no update is fused")
    x = mf.placeholder((None, 300), dtype="float32", name="x")
    big = mf.Variable(np.zeros((300, 60), np.float32), name="big")      # 72 kB
    small = mf.Variable(np.zeros((60, 3), np.float32), name="small")    # 720 B
    loss = mf.reduce_mean(mf.relu(x @ big) @ small)
    source = mf.Session().plan_for([mf.optimizers.SGD(0.1).minimize(loss)], [x]).source
    assert 60 * 300 * 4 >= session.FUSED_UPDATE_BYTES > 60 * 3 * 4
    assert re.search(r"_subtract_product\w*\(c\d+, f0, t\d+\)  # ApplySGD op 'SGD/big", source)
    assert re.search(r"_subtract\(c\d+, t\d+, c\d+\)  # ApplySGD op 'SGD/small", source)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_subtract_product_matches_the_product_subtracted_for_any_layout(dtype, layout):
    from microflow.core.ops.kernels import SUBTRACT_PRODUCT
    rng = np.random.default_rng(4)
    for rows, inner, columns in ((5, 7, 3), (1, 4, 6), (6, 0, 2), (40, 300, 30)):
        a = rng.standard_normal((rows, inner)).astype(dtype)
        b = rng.standard_normal((inner, columns)).astype(dtype)
        if layout == "F":
            a, b = np.asfortranarray(a), np.asfortranarray(b)
        elif layout == "strided":
            a = np.repeat(a, 2, axis=1)[:, ::2]
            b = np.repeat(b, 2, axis=0)[::2]
        w = rng.standard_normal((rows, columns)).astype(dtype)
        a_copy, b_copy = a.copy(), b.copy()
        expected = w - a @ b
        memory = w.ctypes.data
        for (transpose_a, transpose_b), kernel in SUBTRACT_PRODUCT.items():
            got = w.copy()
            kernel(got, a.T if transpose_a else a, b.T if transpose_b else b)
            tolerance = {"float64": 1e-12, "float32": 1e-4, "float16": 2e-2}[dtype]
            np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
        kernel = SUBTRACT_PRODUCT[False, False]
        kernel(w, a, b)                             # in place, operands untouched
        assert w.ctypes.data == memory
        np.testing.assert_array_equal(a, a_copy)
        np.testing.assert_array_equal(b, b_copy)
    # C- or Fortran-ordered operands of a float dtype: one GEMM, no numpy product
    from microflow.core.ops import kernels
    if kernels.FUSED_GEMM and dtype != "float16" and layout != "strided":
        def no_product(*args):
            raise AssertionError("the product was made by numpy")
        original, kernels._matmul = kernels._matmul, no_product
        try:
            got = w.copy()
            kernel(got, a, b)
            np.testing.assert_allclose(got, w - a @ b, rtol=1e-4, atol=1e-4)
        finally:
            kernels._matmul = original
    # a weight that is not C-contiguous (a view): still updated in place, through numpy
    w = np.ones((6, 4))[:, ::2]
    SUBTRACT_PRODUCT[False, False](w, np.ones((6, 3)), np.ones((3, 2)))
    np.testing.assert_array_equal(w, np.full((6, 2), -2.0))


def test_a_gradient_a_guard_only_checks_still_gets_a_kept_buffer():
    from microflow.core.ops.base import apply
    from microflow.core.ops.state import CheckFinite
    W, loss, d_W, _, feed = _wide_model()
    guarded = apply(CheckFinite("the loss is not finite", labels=["the gradient"]), (loss, d_W))
    doubled = mf.l2_loss(d_W * 2.0)
    sess = mf.Session()
    source = sess.plan_for([guarded, doubled], list(feed)).source
    # the guard's output is the loss itself: the gradient it reads never leaves the run
    assert re.search(r"_matmul\(f\d+\.T, t\d+, _buffer\d+\)", source)
    first = sess.run([guarded, doubled], feed)
    again = sess.run([guarded, doubled], feed)
    assert first == again and first[0] == sess.run(loss, feed)


def test_subtract_product_of_an_operand_that_is_the_weight_makes_the_product_first():
    from microflow.core.ops.kernels import subtract_product
    w = np.arange(16.0).reshape(4, 4)
    expected = w - w @ np.eye(4) * 0.5
    subtract_product(w, w, np.eye(4) * 0.5)          # BLAS would read what it writes
    np.testing.assert_array_equal(w, expected)
    w = np.arange(16.0).reshape(4, 4)
    expected = w - w.T @ w
    subtract_product(w, w.T, w)
    np.testing.assert_array_equal(w, expected)


def test_subtract_product_of_unaligned_or_mismatched_arrays_goes_through_numpy():
    from microflow.core.ops.kernels import subtract_product
    raw = np.zeros(3 * 4 * 8 + 1, np.uint8)[1:]             # float64s one byte off
    a = raw.view(np.float64).reshape(3, 4)
    a[...] = np.arange(12.0).reshape(3, 4)
    assert not a.flags.aligned
    w = np.ones((3, 2))
    subtract_product(w, a, np.ones((4, 2)))
    np.testing.assert_array_equal(w, 1 - a @ np.ones((4, 2)))
    with pytest.raises(ValueError):                         # numpy names the mismatch
        subtract_product(np.ones((3, 2)), np.ones((3, 4)), np.ones((5, 2)))
