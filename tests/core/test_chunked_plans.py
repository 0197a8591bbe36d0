"""Plans longer than ``CODEGEN_LIMIT`` steps run as several generated functions of
``CHUNK_STEPS`` steps each; they must give what one generated function and the interpreter give,
bit for bit, name a failing op, and leak no shared value. A small limit and chunk size are
patched in, so that short graphs take the chunked path."""

import re
import weakref

import numpy as np
import pytest

import microflow as mf
from microflow.core import session
from microflow.core.ops.base import apply
from microflow.core.ops.state import Group

EXECUTORS = {                       # name -> (CODEGEN_LIMIT, CHUNK_STEPS)
    "one function": (10**9, 500),
    "chunks of 7": (0, 7),
    "chunks of 1": (0, 1),
    "interpreter": (0, 0),
}


@pytest.fixture
def executor(monkeypatch):
    """A function that makes the plans built after it is called use the named executor."""
    def use(name):
        limit, size = EXECUTORS[name]
        monkeypatch.setattr(session, "CODEGEN_LIMIT", limit)
        monkeypatch.setattr(session, "CHUNK_STEPS", size)
    return use


def chain_graph(n=60):
    """x through alternating tanh and scale ops, a fan-out (h used by a later op too) and a
    sum, with its gradient: values made in one chunk are read several chunks later."""
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, 3), dtype="float64", name="x")
        w = mf.Variable(np.linspace(-1, 1, 3), name="w")
        h = x * w
        early = h
        for i in range(n):
            h = mf.tanh(h) if i % 2 == 0 else h * 0.9
        h = h + early                       # read long after it was made
        loss = mf.reduce_sum(h * h, name="loss")
        (dw, dx) = mf.gradients(loss, [w, x])
    return graph, x, w, early, loss, dw, dx


def test_a_long_plan_runs_as_chunks_whose_shapes_compile_once(executor):
    executor("chunks of 7")
    graph, x, w, early, loss, dw, dx = chain_graph(400)
    plan = mf.Session(graph).plan_for([loss, dw], [x])
    assert "generated functions" in plan.source
    functions = [chunk[0] for chunk in plan._chunks]
    assert len(functions) > 100
    # a long chain repeats itself: most chunks share a compiled code object
    assert len({f.__code__ for f in functions}) < len(functions) / 4


@pytest.mark.parametrize("name", [n for n in EXECUTORS if n != "one function"])
def test_long_plans_give_the_values_of_one_generated_function_bit_for_bit(executor, name):
    X = np.random.default_rng(0).standard_normal((5, 3))
    values = {}
    for label in ("one function", name):
        executor(label)
        graph, x, w, early, loss, dw, dx = chain_graph()
        sess = mf.Session(graph)
        values[label] = sess.run([loss, dw, dx, early, w], {x: X})
    for a, b in zip(values["one function"], values[name]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_values_fetched_from_chunks_are_not_changed_by_later_runs(executor):
    executor("chunks of 7")
    graph, x, w, early, loss, dw, dx = chain_graph()
    sess = mf.Session(graph)
    X = np.ones((4, 3))
    first = sess.run([early, loss, dw, dx], {x: X})
    kept = [a.copy() for a in first]
    sess.run([early, loss, dw, dx], {x: 2 * X})
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, np.ones((4, 3)))        # the feed was not written


def test_a_training_step_in_chunks_never_writes_the_fed_arrays(executor):
    executor("chunks of 1")
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, 3), dtype="float64", name="x")
        w = mf.Variable(np.ones(3), name="w")
        loss = mf.reduce_sum(mf.tanh(x * w) * 2.0)
        train = mf.optimizers.SGD(0.1).minimize(loss)
    sess = mf.Session(graph)
    X, W = np.full((2, 3), 0.5), np.ones(3)
    before = sess.run([loss, w], {x: X})
    sess.run(train, {x: X, w: W})           # a fed Variable: the update changes a copy
    np.testing.assert_array_equal(W, np.ones(3))
    np.testing.assert_array_equal(w.value, np.ones(3))
    sess.run(train, {x: X})
    assert not np.array_equal(w.value, np.ones(3))
    np.testing.assert_array_equal(before[1], np.ones(3))    # the fetched Variable's copy
    np.testing.assert_array_equal(X, np.full((2, 3), 0.5))


def test_an_op_failing_deep_in_a_chunked_plan_is_named_with_its_inputs(executor):
    executor("chunks of 7")
    a = mf.placeholder((None, 3), name="a")
    h = a
    for _ in range(30):
        h = mf.negative(h)
    flat = mf.reshape(h, (-1, 2), name="flat")
    y = flat
    for _ in range(30):
        y = mf.negative(y)
    with pytest.raises(ValueError, match=r"Reshape op 'flat' \(inputs 'Neg_29' \(None, 3\)\) "
                                         r"failed: cannot reshape"):
        mf.Session().run(y, {a: np.ones((1, 3))})


def test_check_numerics_names_the_op_in_a_chunked_plan(executor):
    executor("chunks of 7")
    x = mf.placeholder((2,), name="x")
    h = x
    for _ in range(20):
        h = mf.negative(h)
    y = mf.log(h, name="bad_log")
    for _ in range(20):
        y = mf.negative(y)
    with np.errstate(invalid="ignore"):
        with pytest.raises(mf.NumericsError, match=r"Log op 'bad_log' produced NaN"):
            mf.Session(check_numerics=True).run(y, {x: [1.0, -1.0]})


def test_a_chunked_plan_fetches_constants_feeds_and_groups(executor):
    executor("chunks of 1")
    x = mf.placeholder((2,), dtype="float64", name="x")
    c = mf.constant(np.array([1.0, 2.0]))
    total = mf.negative(mf.negative(x + c))
    group = apply(Group(), [total], name="group")
    X = np.array([3.0, 4.0])
    fed, const, value, nothing = mf.Session().run([x, c, total, group], {x: X})
    np.testing.assert_array_equal(value, [4.0, 6.0])
    assert nothing is None
    fed[0] = const[0] = -1.0                # the caller owns them: copies
    np.testing.assert_array_equal(X, [3.0, 4.0])
    np.testing.assert_array_equal(mf.Session().run(c), [1.0, 2.0])


def test_a_long_plan_is_built_holding_the_steps_of_one_chunk_at_a_time(executor, monkeypatch):
    executor("chunks of 7")
    alive = weakref.WeakSet()                   # the plan's steps not yet forgotten

    class Step(session._Step):
        __slots__ = ("__weakref__",)

        def __init__(self, *args):
            super().__init__(*args)
            alive.add(self)
    held = []
    chunk = session._chunk

    def counting_chunk(*args):
        held.append(len(alive))
        return chunk(*args)
    monkeypatch.setattr(session, "_Step", Step)
    monkeypatch.setattr(session, "_chunk", counting_chunk)
    graph, x, w, early, loss, dw, dx = chain_graph(300)
    plan = mf.Session(graph).plan_for([loss, dw], [x])
    assert len(plan._chunks) == len(held) > 80
    assert max(held) <= 7                       # not the plan's 600 steps
    X = np.random.default_rng(0).standard_normal((2, 3))
    executor("one function")
    expected = mf.Session(graph).run([loss, dw], {x: X})
    for a, b in zip(plan.run([X]), expected):
        np.testing.assert_array_equal(a, b)


def saved_softmax_graph(n=30):
    """Logits through a chain with aliases (identity, stop_gradient of a side branch), the
    softmax loss of which is fetched beside its gradient: the loss op moves up to its
    gradient op, which takes its saved softmax, chunks later than the logits were made."""
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, 4), dtype="float64", name="x")
        y = mf.placeholder((None,), dtype="int64", name="y")
        w = mf.Variable(np.linspace(-1.0, 1.0, 16).reshape(4, 4), name="w")
        h = mf.identity(x @ w)
        side = mf.stop_gradient(h)
        for i in range(n):
            h = mf.tanh(h) if i % 2 == 0 else h * 0.9
        logits = mf.identity(h + side * 0.1)
        loss = mf.softmax_cross_entropy(logits, y)
        (dw, dx) = mf.gradients(loss, [w, x])
    return graph, x, y, [dw, dx, loss, side, logits]


@pytest.mark.parametrize("name", [n for n in EXECUTORS if n != "one function"])
def test_saved_values_and_aliases_across_chunks_give_one_function_s_values(executor, name):
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    values = {}
    for label in ("one function", name):
        executor(label)
        graph, x, y, fetches = saved_softmax_graph()
        sess = mf.Session(graph)
        plan = sess.plan_for(fetches, [x, y])
        if label == "one function":
            assert re.search(r"t\d+, s\d+ = kt\d+\(", plan.source)    # the softmax is saved
        values[label] = [sess.run(fetches, {x: X, y: Y}) for _ in range(2)]
    for first, second in zip(*values.values()):
        for a, b in zip(first, second):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_a_fetched_big_temporary_of_a_chunked_plan_is_never_overwritten(executor):
    executor("chunks of 1")
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, 300), dtype="float64", name="x")
        W = mf.Variable(np.random.default_rng(0).standard_normal((300, 60)) * 0.05, name="W")
        h = mf.tanh(x @ W)
        (d_W,) = mf.gradients(mf.reduce_sum(h * h), [W])    # (300, 60): 144 kB
        doubled = d_W * 2.0
        inner = mf.l2_loss(mf.identity(d_W * 3.0))          # a temporary that dies inside
    rng = np.random.default_rng(1)
    feeds = [{x: rng.standard_normal((20, 300))} for _ in range(2)]
    sess = mf.Session(graph)
    first = sess.run([doubled, d_W, inner], feeds[0])
    kept = [a.copy() for a in first]
    second = sess.run([doubled, d_W, inner], feeds[1])
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)
    executor("one function")
    for feed, got in zip(feeds, (first, second)):
        for a, b in zip(got, mf.Session(graph).run([doubled, d_W, inner], feed)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", [n for n in EXECUTORS if n != "one function"])
def test_fed_middles_repeated_fetches_and_squares_across_chunks_give_one_function_s_values(
        executor, name):
    X = np.random.default_rng(7).standard_normal((3, 3))
    values = {}
    for label in ("one function", name):
        executor(label)
        graph, x, w, early, loss, dw, dx = chain_graph(40)
        with graph.as_default():
            square = early * early                  # one value read twice by one op
            fed_alias = mf.identity(x)
        middle = [t for t in graph.tensors if t.op == "Tanh"][10]     # fed: inside the chain
        fetches = [loss, dw, loss, square, fed_alias, early]
        sess = mf.Session(graph)
        values[label] = [sess.run(fetches, {x: X}),
                         sess.run(fetches, {x: X, middle: np.full((3, 3), 0.5)})]
    assert values[name][0][0] != values[name][1][0]         # the fed middle counts
    for first, second in zip(*values.values()):
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_a_value_read_through_aliases_and_directly_is_never_written_into_while_still_read(
        executor, name):
    executor(name)
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, 3), dtype="float64", name="x")
        h = mf.tanh(x)                              # fresh: an op may write into it
        early = h * 2.0                             # read directly once, before the aliases
        through = mf.tanh(mf.identity(mf.stop_gradient(h)))     # read through two aliases
        late = mf.tanh(mf.identity(h))              # and last through one
    X = np.random.default_rng(8).standard_normal((4, 3))
    values = mf.Session(graph).run([early, through, late], {x: X})
    H = np.tanh(X)
    for got, expected in zip(values, [H * 2.0, np.tanh(H), np.tanh(H)]):
        np.testing.assert_array_equal(got, expected)
