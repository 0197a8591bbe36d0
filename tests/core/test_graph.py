"""Graphs, names and scopes, placeholders, Variables, constants, dtypes and operators."""

import numpy as np
import pytest

import microflow as mf


def test_names_are_unique_with_numbered_suffixes():
    a = mf.constant(1.0, name="c")
    b = mf.constant(2.0, name="c")
    c = mf.constant(3.0, name="c")
    assert [a.name, b.name, c.name] == ["c", "c_1", "c_2"]


def test_a_name_asked_for_that_was_made_by_suffixing_is_suffixed_again():
    # the graph keeps one count per name, not every suffixed name: "c_1" is taken because
    # "c" was taken twice, and a name asked for by hand is skipped by the suffixes
    graph = mf.Graph()
    with graph.as_default():
        names = [mf.constant(0.0, name=n).name for n in
                 ("c", "c", "c_1", "c_2", "c", "c_01", "c_01", "c_1_1", "c_1", "d_1", "d")]
    assert names == ["c", "c_1", "c_1_1", "c_2", "c_3", "c_01", "c_01_1", "c_1_1_1", "c_1_2",
                     "d_1", "d"]
    assert len(set(names)) == len(names)


def test_names_are_those_a_graph_keeping_every_name_would_give():
    # the reference: every name made is kept, and a taken one gets the next free suffix
    import random

    def reference(counts, name):
        count = counts.get(name)
        if count is None:
            counts[name] = 0
            return name
        while f"{name}_{count + 1}" in counts:
            count += 1
        counts[name], counts[f"{name}_{count + 1}"] = count + 1, 0
        return f"{name}_{count + 1}"
    rng = random.Random(0)
    asked = ["a", "a_1", "a_2", "a_1_1", "b", "a_01", "a_0", "a_10", "b_2", "a_3"]
    for _ in range(300):
        graph, kept, made = mf.Graph(), {}, []
        for _ in range(rng.randint(1, 30)):
            name = rng.choice(asked + made[-5:])
            made.append(graph.unique_name(name))
            assert made[-1] == reference(kept, name)
        assert len(set(made)) == len(made)


def test_constants_of_the_same_number_share_one_read_only_array_but_not_its_sign():
    a, b = mf.constant(0.9), mf.constant(0.9)
    zero, minus_zero, wide = mf.constant(0.0), mf.constant(-0.0), mf.constant(0.9, "float64")
    assert a is not b and a.operation.value is b.operation.value        # two nodes, one array
    assert not a.operation.value.flags.writeable
    assert np.signbit(minus_zero.operation.value) and not np.signbit(zero.operation.value)
    assert wide.operation.value.dtype == np.float64 and wide.operation.value == 0.9
    assert a.operation.value.dtype == np.float32
    with pytest.raises(ValueError, match="'big'"):                      # still checked, named
        mf.constant(2 ** 40, dtype="int32", name="big")
    with pytest.raises(ValueError, match="'huge'"):
        mf.constant(2 ** 1100, dtype="float64", name="huge")
    with pytest.raises(ValueError, match="'huge'"):
        mf.Variable(2 ** 1100, dtype="float64", name="huge")


def test_name_scopes_nest_and_repeat_with_suffixes():
    with mf.name_scope("layer1"):
        w = mf.Variable(np.ones(2), name="W")
        with mf.name_scope("inner"):
            x = mf.constant(1.0, name="x")
    with mf.name_scope("layer1"):
        w2 = mf.Variable(np.ones(2), name="W")
    assert (w.name, x.name, w2.name) == ("layer1/W", "layer1/inner/x", "layer1_1/W")


def test_op_default_names_are_the_op_type():
    x = mf.placeholder((None, 2))
    y = mf.tanh(x)
    assert (x.name, y.name, y.op, y.inputs) == ("Placeholder", "Tanh", "Tanh", (x,))


def test_tensor_attributes_describe_the_node():
    x = mf.placeholder((None, 3), dtype="float64", name="x")
    W = mf.Variable(np.zeros((3, 4)), name="W")
    y = mf.matmul(x, W, name="y")
    assert y.shape == (None, 4)
    assert y.dtype == np.float64
    assert y.op == "MatMul"
    assert y.inputs == (x, W)
    assert y.graph is mf.get_default_graph()
    assert (x.op, W.op, mf.constant(1.0).op) == ("Placeholder", "Variable", "Const")


def test_graph_as_default_switches_and_restores():
    g = mf.Graph()
    with g.as_default():
        c = mf.constant(1.0)
        assert mf.get_default_graph() is g
    assert c.graph is g
    assert mf.get_default_graph() is not g


def test_reset_default_graph_gives_an_empty_graph():
    mf.constant(1.0)
    mf.reset_default_graph()
    assert mf.get_default_graph().tensors == []


def test_python_floats_become_float32_and_numpy_arrays_keep_their_dtype():
    assert mf.constant(1.5).dtype == np.float32
    assert mf.Variable(2.0).dtype == np.float32
    assert mf.constant(np.ones(2)).dtype == np.float64
    assert mf.Variable(np.ones(2, dtype=np.float16)).dtype == np.float16
    assert mf.Variable([1.0], dtype="float64").dtype == np.float64


def test_a_python_number_takes_the_dtype_of_the_tensor_it_meets():
    x = mf.placeholder((2,), dtype="float64")
    assert (x + 1.0).dtype == np.float64
    assert (2 * x).dtype == np.float64
    assert (x ** 2).dtype == np.float64
    i = mf.placeholder((2,), dtype="int64")
    assert (i + 1).dtype == np.int64


def test_operators_build_the_matching_ops():
    a = mf.Variable(np.array([[1.0, 2.0]]))
    b = mf.Variable(np.array([[3.0], [4.0]]))
    ops = [(a + 1).op, (1 - a).op, (a * a).op, (a / 2).op, (a @ b).op, (a ** 2).op, (-a).op]
    assert ops == ["Add", "Sub", "Mul", "Div", "MatMul", "Pow", "Neg"]
    values = mf.Session().run([a + 1, 1 - a, a * a, a / 2, a @ b, a ** 2, -a, a.T])
    expected = [[[2, 3]], [[0, -1]], [[1, 4]], [[0.5, 1]], [[11]], [[1, 4]], [[-1, -2]], [[1], [2]]]
    for value, want in zip(values, expected):
        np.testing.assert_array_equal(value, want)


def test_numpy_array_on_the_left_of_an_operator_builds_a_tensor():
    a = mf.Variable(np.array([1.0, 2.0]))
    y = np.array([10.0, 20.0]) + a
    assert isinstance(y, mf.Tensor)
    np.testing.assert_array_equal(mf.Session().run(y), [11, 22])


def test_variable_assign_checks_shape_and_dtype():
    v = mf.Variable(np.zeros((2, 2)), name="v")
    v.assign(np.ones((2, 2)))
    np.testing.assert_array_equal(v.value, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(3,\).*'v'.*\(2, 2\)"):
        v.assign(np.ones(3))
    with pytest.raises(TypeError, match="complex128.*'v'.*float64"):
        v.assign(np.ones((2, 2), dtype=complex))


def test_variable_copies_its_initial_value():
    initial = np.zeros(3)
    v = mf.Variable(initial)
    initial[0] = 5
    assert v.value[0] == 0


def test_tensors_have_no_truth_value():
    with pytest.raises(TypeError, match="truth value"):
        bool(mf.constant(1.0))


def test_invalid_names_are_rejected():
    with pytest.raises(ValueError, match="invalid name"):
        mf.constant(1.0, name="a b")


def test_inputs_from_another_graph_are_rejected_with_their_name():
    g = mf.Graph()
    with g.as_default():
        other = mf.constant(1.0, name="elsewhere")
    here = mf.constant(2.0)
    with pytest.raises(mf.GraphError, match="elsewhere"):
        mf.add(here, other)
