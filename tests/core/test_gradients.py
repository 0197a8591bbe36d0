"""The gradient walk: results, None for unconnected inputs, sums, depth, pruning."""

import numpy as np
import pytest

import microflow as mf


def test_unconnected_variable_gets_none():
    x, unused = mf.Variable(np.ones(2)), mf.Variable(np.ones(2))
    assert mf.gradients(mf.reduce_sum(x * 2), [x, unused])[1] is None


def test_gradients_of_a_list_of_ys_are_summed():
    x = mf.Variable(np.array(3.0))
    (dx,) = mf.gradients([x * x, x * 4], [x])
    assert mf.Session().run(dx) == 10.0


def test_grad_ys_weights_the_outputs():
    x = mf.Variable(np.array([1.0, 2.0]))
    (dx,) = mf.gradients(x * 3, [x], grad_ys=np.array([10.0, 100.0]))
    np.testing.assert_array_equal(mf.Session().run(dx), [30, 300])


def test_a_tensor_used_twice_gets_the_sum_of_both_paths():
    x = mf.Variable(np.array(2.0))
    y = mf.tanh(x) * x + x
    (dx,) = mf.gradients(y, [x])
    expected = (1 - np.tanh(2.0) ** 2) * 2 + np.tanh(2.0) + 1
    assert mf.Session().run(dx) == pytest.approx(expected)


def test_broadcast_inputs_get_gradients_of_their_own_shape():
    x = mf.placeholder((None, 3), dtype="float64")
    b = mf.Variable(np.zeros(3))
    (db,) = mf.gradients(mf.reduce_sum(x + b), [b])
    assert db.shape == (3,)
    np.testing.assert_array_equal(mf.Session().run(db, {x: np.ones((5, 3))}), [5, 5, 5])


def test_gradient_nodes_are_marked_named_and_linked_to_their_variable():
    W = mf.Variable(np.ones((2, 2)), name="W")
    (dW,) = mf.gradients(mf.reduce_sum(mf.tanh(W)), [W])
    assert dW.gradient_of is W
    assert dW.name.startswith("gradients/") and dW.name.endswith("W_grad")
    assert dW.is_backward and not W.is_backward


def test_gradients_keep_only_the_nodes_their_results_need():
    x = mf.placeholder((None, 2), name="x")
    W = mf.Variable(np.ones((2, 3)), name="W")
    loss = mf.reduce_sum(mf.matmul(x, W))
    before = len(mf.get_default_graph().tensors)
    (dW,) = mf.gradients(loss, [W])
    added = mf.get_default_graph().tensors[before:]
    assert all(t.is_backward for t in added)
    products = [t for t in added if t.op == "MatMul"]
    assert len(products) == 1                              # x.T @ g for dW ...
    assert products[0].inputs[0] is x and products[0].operation.transpose_a
    assert not any(W in t.inputs for t in added)           # ... and no g @ W.T for dx


def test_mul_builds_no_gradient_for_an_input_no_x_flows_into():
    graph = mf.Graph()
    with graph.as_default():
        x = mf.Variable(np.array([1.0, 2.0]), name="x")
        y = x * 3.0
        before = len(graph.tensors)
        made = []

        class Recording(list):              # every Tensor made, kept or dropped later
            def append(self, tensor):
                made.append(tensor)
                super().append(tensor)
        graph.tensors = Recording(graph.tensors)
        (dx,) = mf.gradients(y, [x])
    assert [t.op for t in made] == ["Const", "Mul", "Identity"]      # seed, grad * 3, dx
    assert graph.tensors[before:] == made
    assert not any(x in t.inputs for t in made)                     # no grad * x was made
    np.testing.assert_array_equal(mf.Session(graph).run(dx), [3.0, 3.0])


def test_a_chain_of_100000_ops_builds_differentiates_and_runs():
    x = mf.Variable(np.array(1.0))
    y = x
    for i in range(100_000):
        y = y * 1.00001 if i % 2 else mf.negative(y)
    (dx,) = mf.gradients(y, [x])
    value, grad = mf.Session().run([y, dx])
    assert value == pytest.approx(1.00001 ** 50_000)
    assert grad == pytest.approx(1.00001 ** 50_000)


def test_a_big_graph_is_walked_in_creation_order_to_the_same_gradients(monkeypatch):
    # above BIG_GRAPH Tensors the walk takes the graph's creation order (no depth-first
    # search): a diamond-shaped graph, where each value has two users, gets the same values
    from microflow.core import graph as graphs

    def build():
        graph = mf.Graph()
        with graph.as_default():
            x = mf.Variable(np.array([0.3, -0.2]), name="x")
            w = mf.Variable(np.array([1.5, 0.5]), name="w")
            h = x
            for _ in range(700):
                h = mf.tanh(h * w) + h * 0.5        # h has two users
            loss = mf.reduce_sum(h * h)
            grads = mf.gradients(loss, [x, w])
        return graph, grads

    big_graph, big = build()
    assert len(big_graph.tensors) > graphs.BIG_GRAPH
    monkeypatch.setattr(graphs, "BIG_GRAPH", 10 ** 9)
    small_graph, small = build()
    for a, b in zip(mf.Session(big_graph).run(big), mf.Session(small_graph).run(small)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_ancestors_in_order_puts_inputs_first_and_falls_back_for_a_small_share():
    from microflow.core import graph as graphs
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((2,), "float64", name="x")
        late = mf.constant(np.ones(2), name="late")
        chain = x
        for _ in range(graphs.BIG_GRAPH):
            chain = mf.negative(chain)
        tip = chain + late                          # an input made long before its user
        few = mf.negative(late)
    order = graphs.ancestors_in_order([tip])
    assert set(order) == set(graphs.topological_order([tip]))
    position = {t: i for i, t in enumerate(order)}
    assert all(position[i] < position[t] for t in order for i in t.inputs)
    assert graphs.ancestors_in_order([few]) == graphs.topological_order([few]) == [late, few]
    stopped = graphs.ancestors_in_order([tip], stop=[chain])
    assert stopped == graphs.topological_order([tip], stop=[chain])


def test_gradients_refuses_tensors_of_another_graph():
    g = mf.Graph()
    with g.as_default():
        other = mf.Variable(1.0, name="other")
    with pytest.raises(mf.GraphError, match="other"):
        mf.gradients(mf.constant(1.0) * 2, [other])


def test_check_gradients_is_public_and_catches_a_wrong_rule():
    from microflow.core.ops import Op, apply
    from microflow.core.ops.base import REGISTRY
    from microflow.core.testing import check_gradients

    class WrongCube(Op):
        """out = a ** 3 (with a deliberately wrong backward rule)"""
        forward = staticmethod(lambda a: a ** 3)

        def backward(self, grad, a, out):
            return (grad * a * a * 2,)           # should be 3 a**2

    x = mf.Variable(np.array([1.0, 2.0]))
    assert check_gradients(apply(WrongCube(), (x,)), [x]) > 0.1
    assert check_gradients(x ** 3, [x]) < 1e-6
    assert "WrongCube" not in REGISTRY


def test_names_stay_unique_after_gradients_drop_the_tensors_no_result_needs():
    graph = mf.Graph()
    with graph.as_default():
        x = mf.Variable(np.ones(2), name="x")
        y = mf.reduce_sum(x * mf.constant(np.full(2, 3.0)))    # d/d(constant) is dropped
        before = {t.name for t in graph.tensors}
        (dx,) = mf.gradients(y, [x])
        kept = [t.name for t in graph.tensors]
        with mf.name_scope("gradients/"):
            again = [mf.identity(x, name="Mul"), mf.identity(x, name="Mul_1"),
                     mf.identity(x, name="Mul_2")]
    names = [t.name for t in graph.tensors]
    assert len(names) == len(set(names))
    assert before < set(kept) and all(t.name in names for t in again)
    np.testing.assert_array_equal(mf.Session(graph).run(dx), [3.0, 3.0])


def test_a_backward_rule_is_told_which_inputs_need_a_gradient():
    from microflow.core.ops.base import REGISTRY, Op, apply, register
    seen = []

    @register
    class Recorded(Op):
        """out = a * b"""

        def forward(self, a, b):
            return a * b

        def backward(self, grad, a, b, out):
            seen.append((self.needs_gradient(0), self.needs_gradient(1)))
            return mf.multiply(grad, b), mf.multiply(grad, a)
    try:
        x = mf.placeholder((None, 2), name="x")
        w = mf.Variable(np.ones(2), name="w")
        y = apply(Recorded(), (x, w))
        mf.gradients(mf.reduce_sum(y), [w])
        mf.gradients(mf.reduce_sum(y), [x, w])
        assert seen == [(False, True), (True, True)]
        assert y.operation.needs_gradient(0)            # outside a walk: every input's
    finally:
        del REGISTRY["Recorded"]

