"""What the playground hands back: the data as CSV, a microflow checkpoint, a Python script of
the same graph, and the drawing of the graph.

Each export function takes a :class:`~.session.PlaygroundSession` and returns the fields of a
``download`` message: ``filename``, ``mime``, ``encoding`` ("utf-8" or "base64") and
``content``.
"""

from __future__ import annotations

import base64
import pathlib
import tempfile

import numpy as np

import microflow as mf
from microflow.apps.playground import datasets
from microflow.apps.playground.session import FEATURE_SOURCES


def export_data(session):
    """All points (training first, then test) as ``x1,x2,label`` CSV."""
    points = np.concatenate([session.train_x, session.test_x])
    labels = np.concatenate([session.train_labels, session.test_labels])
    return {"filename": "playground.csv", "mime": "text/csv", "encoding": "utf-8",
            "content": datasets.to_csv(points, labels)}


def export_checkpoint(session):
    """Every Variable of the session's graph (weights, biases, optimizer state) as the
    ``.npz`` that ``mf.save`` writes and ``mf.restore`` reads, base64-encoded."""
    with tempfile.TemporaryDirectory() as folder:
        path = mf.save(pathlib.Path(folder) / "playground.npz",
                       variables=session.network.graph.variables)
        data = pathlib.Path(path).read_bytes()
    return {"filename": "playground.npz", "mime": "application/octet-stream",
            "encoding": "base64", "content": base64.b64encode(data).decode("ascii")}


def export_script(session):
    """A runnable Python script that rebuilds the network as a microflow graph, with the
    current weights written in, and prints its predictions."""
    return {"filename": "playground_model.py", "mime": "text/x-python", "encoding": "utf-8",
            "content": script_source(session)}


def _numbers(values):
    """float32 values in their shortest form that reads back to the same float32."""
    return ", ".join(str(v) for v in np.asarray(values, np.float32).ravel())


def _matrix_lines(name, matrix):
    """A weight matrix as lines of the script: one row (the weights from one input) a line."""
    rows, columns = matrix.shape
    lines = [f"    [  # {name}: {rows} inputs x {columns} neuron{'' if columns == 1 else 's'}"]
    lines += [f"        [{_numbers(row)}]," for row in matrix]
    return lines + ["    ],"]


def _features_source(names):
    columns = [FEATURE_SOURCES[name] for name in names]
    if len(columns) == 1:
        return f"features = {columns[0]}"
    return f"features = mf.concat([{', '.join(columns)}], axis=1, name='features')"


def script_source(session):
    """The text of :func:`export_script`'s script."""
    config, network = session.config, session.network
    hidden = ", ".join(f"{units} ({name})" for units, name in
                       zip(config["hidden"], config["activations"])) or "none"
    outputs = network.logits.shape[1]
    if config["problem"] == "regression":
        prediction, meaning = "logits", "the predicted value"
    elif outputs == 1:
        prediction = "mf.sigmoid(logits, name='probability')"
        meaning = "the probability of class +1 (blue)"
    else:
        prediction = "mf.softmax(logits, name='probabilities')"
        meaning = f"the probabilities of the classes 0..{outputs - 1}"
    lines = [
        '"""A network trained in microflow\'s playground, rebuilt as a microflow graph.',
        "",
        f"Data: {config['dataset']}; features: {', '.join(config['features'])}; hidden "
        f"layers: {hidden};",
        f"trained {session.epoch} epoch{'' if session.epoch == 1 else 's'} with "
        f"{config['optimizer']} at learning rate {config['learningRate']:g}.",
        "",
        "Run it as ``python playground_model.py points.csv`` (lines of x1,x2; a header is",
        "optional) to print the prediction for each point, one line each, or without an",
        "argument for a 5 x 5 grid over the plane [-6, 6]. Each line is x1,x2 and then",
        f"{meaning}.",
        '"""',
        "",
        "import sys",
        "",
        "import numpy as np",
        "",
        "import microflow as mf",
        "",
        "# One (inputs, outputs) weight matrix and one bias vector per layer, the output last.",
        "WEIGHTS = [",
        *(line for scope, w in zip(network.scopes, network.weights)
          for line in _matrix_lines(scope, w.value)),
        "]",
        "BIASES = [",
        *(f"    [{_numbers(b.value)}],  # {scope}"
          for scope, b in zip(network.scopes, network.biases)),
        "]",
        "",
        "",
        "def dense(inputs, weights, biases, activation, name):",
        '    """activation(inputs @ W + b) with W and b as Variables under the scope ``name``."""',
        "    with mf.name_scope(name):",
        "        W = mf.Variable(np.array(weights, np.float32), name='W')",
        "        b = mf.Variable(np.array(biases, np.float32), name='b')",
        "        out = mf.add(mf.matmul(inputs, W), b)",
        "    return out if activation is None else activation(out)",
        "",
        "",
        "x = mf.placeholder((None, 2), name='x')",
        "x1 = mf.get_item(x, (slice(None), slice(0, 1)), name='x1')",
        "x2 = mf.get_item(x, (slice(None), slice(1, 2)), name='x2')",
        _features_source(config["features"]),
        "hidden = features",
    ]
    for index, name in enumerate(config["activations"]):
        activation = "None" if name == "linear" else f"mf.{name}"
        lines.append(f"hidden = dense(hidden, WEIGHTS[{index}], BIASES[{index}], {activation}, "
                     f"'hidden{index + 1}')")
    lines += [
        "logits = dense(hidden, WEIGHTS[-1], BIASES[-1], None, 'output')",
        f"prediction = {prediction}",
        "session = mf.Session()",
        "",
        "",
        "def predict(points):",
        f'    """{meaning[0].upper() + meaning[1:]} at each of ``points`` (N, 2)."""',
        "    return session.run(prediction, {x: np.asarray(points, np.float32).reshape(-1, 2)})",
        "",
        "",
        "def read_points(path):",
        "    rows = []",
        "    with open(path, encoding='utf-8') as lines:",
        "        for line in lines:",
        "            fields = line.strip().split(',')",
        "            try:",
        "                rows.append([float(fields[0]), float(fields[1])])",
        "            except (ValueError, IndexError):",
        "                if rows:        # only a first line may be a header",
        "                    raise SystemExit(f'{path}: cannot read the point {line.strip()!r}')",
        "    return np.array(rows, np.float32)",
        "",
        "",
        "if __name__ == '__main__':",
        "    if len(sys.argv) > 1:",
        "        points = read_points(sys.argv[1])",
        "    else:",
        "        axis = np.linspace(-6, 6, 5)",
        "        points = np.array([(a, b) for b in axis[::-1] for a in axis], np.float32)",
        "    for point, value in zip(points, predict(points)):",
        "        values = ','.join(f'{v:.9g}' for v in np.atleast_1d(value))",
        "        print(f'{point[0]:.9g},{point[1]:.9g},{values}')",
    ]
    return "\n".join(lines) + "\n"


def graph_svg(session, backward=False):
    """The microflow drawing of the session's network as SVG text, with the values of one
    training batch; ``backward`` adds the gradients and the optimizer's updates.

    Raises ``PlaygroundError`` saying how to install Graphviz when it is missing."""
    from microflow.apps.playground.session import PlaygroundError

    network = session.network
    batch = session.config["batchSize"]
    feed = {network.x: session.train_x[:batch], network.y: session.train_y[:batch]}
    targets = [network.train_op] if backward else [network.loss, network.prediction]
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "graph.svg"
        try:
            with np.errstate(all="ignore"):
                mf.viz.render(targets, path, backward=backward, values=feed, rankdir="LR")
        except mf.viz.GraphvizNotFound:
            raise PlaygroundError("cannot draw the graph: Graphviz's `dot` program was not "
                                  f"found; {mf.viz.INSTALL_HINT}") from None
        svg = path.read_text(encoding="utf-8")
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


EXPORTS = {"data": export_data, "checkpoint": export_checkpoint, "script": export_script}
