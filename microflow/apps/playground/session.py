"""One page's playground: its settings, its data, its microflow graph and its training state.

A ``PlaygroundSession`` is what one WebSocket (one browser tab) talks to. It holds

- the settings (``config``), always clamped into range by :func:`clamp_config`, which says in
  ``notices`` what it changed and never raises on a bad value;
- the data, made by the generators of :mod:`.datasets` (or uploaded), split into training
  and test points;
- a real microflow graph: the input placeholder ``x`` (N, 2), the features as graph ops
  (``x1 * x1``, ``mf.sin(x1)``...), the dense layers of ``mf.layers``, the loss (sigmoid
  cross-entropy for two classes, softmax cross-entropy for more, mean squared error for
  regression), the L1/L2 penalty and an optimizer of ``mf.optimizers``;
- the frame: every neuron's picture of the plane, from ONE ``Session.run`` of all layers over a
  precomputed 100 x 100 grid (the 20 x 20 thumbnails are the grid's cells 2, 7, ..., 97, whose
  centres are exactly the thumbnails' own), quantized to uint8 (see PLAYGROUND_PROTOCOL).

Two classes (labels -1/+1, as in TensorFlow Playground) are trained with one logit and
sigmoid cross-entropy against the targets 0/1, the classifier's usual loss (TF Playground
itself uses a tanh output with squared error); the output map shows ``2 p - 1`` in [-1, 1],
the scale of TF Playground's tanh. Weights start uniform in [-0.5, 0.5] and biases at 0.1,
as there. A training epoch is one pass over the training points, shuffled, in mini-batches.
"""

from __future__ import annotations

import json
import math
import struct
import threading

import numpy as np

import microflow as mf
from microflow.apps.playground import datasets

GRID = 100                      # output map: GRID x GRID cells over the plane
THUMB = 20                      # neuron thumbnails: THUMB x THUMB cells
STRIDE = GRID // THUMB          # thumbnail cell (i, j) is grid cell (2 + 5 i, 2 + 5 j)
MAX_WEIGHT = 1e8                # weights beyond this have diverged (float32 overflows soon after)

FEATURE_NAMES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
# Each feature as graph ops on the columns x1, x2 (N, 1), and the same as source text for the
# exported script (a test checks that both give the same predictions).
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1sq": lambda x1, x2: mf.multiply(x1, x1, name="x1sq"),
    "x2sq": lambda x1, x2: mf.multiply(x2, x2, name="x2sq"),
    "x1x2": lambda x1, x2: mf.multiply(x1, x2, name="x1x2"),
    "sinx1": lambda x1, x2: mf.sin(x1, name="sinx1"),
    "sinx2": lambda x1, x2: mf.sin(x2, name="sinx2"),
}
FEATURE_SOURCES = {
    "x1": "x1", "x2": "x2",
    "x1sq": "mf.multiply(x1, x1, name='x1sq')", "x2sq": "mf.multiply(x2, x2, name='x2sq')",
    "x1x2": "mf.multiply(x1, x2, name='x1x2')",
    "sinx1": "mf.sin(x1, name='sinx1')", "sinx2": "mf.sin(x2, name='sinx2')",
}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
DATASETS = ("circle", "xor", "gauss", "spiral", "plane", "multigauss", "upload")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
PROBLEMS = ("classification", "regression")

DEFAULTS = {
    "dataset": "circle", "noise": 0, "ratio": 50, "batchSize": 10,
    "features": ["x1", "x2"], "hidden": [4, 2], "activations": ["tanh", "tanh"],
    "learningRate": 0.03, "regularization": "none", "regularizationRate": 0.0,
    "problem": "classification", "classes": 2, "optimizer": "sgd", "dropout": 0.0,
    "speed": 1, "seed": 0,
}
# (low, high) of the numeric settings; ints are rounded
INT_RANGES = {"noise": (0, 50), "ratio": (10, 90), "batchSize": (1, 30), "classes": (2, 5),
              "speed": (1, 50), "seed": (0, 2**32 - 1)}
FLOAT_RANGES = {"learningRate": (1e-5, 10.0), "regularizationRate": (0.0, 10.0),
                "dropout": (0.0, 0.9)}
CHOICES = {"dataset": DATASETS, "regularization": REGULARIZATIONS, "problem": PROBLEMS,
           "optimizer": OPTIMIZERS}
MAX_LAYERS, MAX_UNITS = 10, 32

# Settings that change the data, the network's shape, or only how it trains.
DATA_KEYS = {"dataset", "noise", "ratio", "seed", "classes"}
NETWORK_KEYS = {"features", "hidden", "activations", "problem", "classes", "optimizer",
                "regularization"}


class PlaygroundError(ValueError):
    """A request the session cannot carry out (a weight that does not exist...); its message
    goes to the page."""


class Diverged(FloatingPointError):
    """Training produced a non-finite loss or weights; the weights are back at the last
    finite values."""

    def __init__(self, epoch):
        super().__init__(f"training diverged at epoch {epoch} (loss became inf/NaN); lower the "
                         "learning rate")
        self.epoch = epoch


# -- settings ---------------------------------------------------------------------------------
def _as_number(value):
    """``value`` as a finite float, or None (booleans and non-numbers are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float):
        value = float(value)
        return value if math.isfinite(value) else None
    return None


def _list(value):
    """A list from a JSON list or a comma-separated string (as in a URL); None otherwise."""
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, list | tuple):
        return list(value)
    return None


def clamp_config(update, current=None):
    """Merge the settings ``update`` into ``current`` (default: ``DEFAULTS``), clamped.

    Returns ``(config, notices)``: a complete, valid config and a list of sentences saying what
    was out of range, unknown or adjusted. Never raises on a bad value: it is replaced (by the
    nearest allowed value, or kept as it was) and said so.

    >>> config, notices = clamp_config({"learningRate": 100, "hidden": [40]})
    >>> config["learningRate"], config["hidden"], config["activations"]
    (10.0, [32], ['tanh'])
    >>> for notice in notices:
    ...     print(notice)
    learningRate 100 is out of range 1e-05..10; using 10
    hidden layer 1 has 40 neurons, more than 32; using 32
    """
    config = dict(DEFAULTS if current is None else current)
    config["features"] = list(config["features"])
    config["hidden"] = list(config["hidden"])
    config["activations"] = list(config["activations"])
    notices = []
    if not isinstance(update, dict):
        return config, [f"the config must be an object of settings, got {_short(update)}"]
    for key, value in update.items():
        if key in INT_RANGES or key in FLOAT_RANGES:
            number = _as_number(value)
            if number is None:
                notices.append(f"{key} {_short(value)} is not a number; keeping {config[key]}")
                continue
            low, high = INT_RANGES.get(key) or FLOAT_RANGES[key]
            if key in INT_RANGES:
                number = int(round(number))
            clamped = min(max(number, low), high)
            if clamped != number:
                notices.append(f"{key} {_g(number)} is out of range {_g(low)}..{_g(high)}; "
                               f"using {_g(clamped)}")
            config[key] = int(clamped) if key in INT_RANGES else float(clamped)
        elif key in CHOICES:
            if value in CHOICES[key]:
                config[key] = value
            else:
                notices.append(f"{key} {_short(value)} is not one of {', '.join(CHOICES[key])};"
                               f" keeping {config[key]!r}")
        elif key == "features":
            names = _list(value)
            if names is None:
                notices.append(f"features {_short(value)} is not a list; keeping "
                               f"{', '.join(config['features'])}")
                continue
            unknown = [n for n in names if n not in FEATURE_NAMES]
            if unknown:
                shown = ", ".join(map(_short, unknown[:3])) + (", ..." if len(unknown) > 3
                                                               else "")
                notices.append(f"unknown feature {shown} ignored; features are "
                               f"{', '.join(FEATURE_NAMES)}")
            chosen = [n for n in FEATURE_NAMES if n in names]
            if not chosen:
                notices.append("at least one feature is needed; using x1, x2")
                chosen = ["x1", "x2"]
            config["features"] = chosen
        elif key == "hidden":
            config["hidden"] = _clamp_hidden(value, config["hidden"], notices)
        elif key == "activations":
            pass                            # below, once the number of layers is known
        elif key not in ("showTestData", "discretize"):     # page-only flags pass silently
            notices.append(f"unknown setting {_short(key)} ignored")
    config["activations"] = _clamp_activations(update.get("activations"), config, notices)
    _reconcile_problem(update, config, notices)
    return config, notices


def _clamp_hidden(value, current, notices):
    sizes = _list(value)
    if sizes is None:
        notices.append(f"hidden {_short(value)} is not a list of layer sizes; keeping {current}")
        return current
    if len(sizes) > MAX_LAYERS:
        notices.append(f"{len(sizes)} hidden layers is more than {MAX_LAYERS}; using the first "
                       f"{MAX_LAYERS}")
        sizes = sizes[:MAX_LAYERS]
    result = []
    for index, size in enumerate(sizes, start=1):
        number = _as_number(size)
        if number is None:
            notices.append(f"hidden layer {index} size {_short(size)} is not a number; using 1")
            number = 1
        units = int(round(number))
        if units > MAX_UNITS:
            notices.append(f"hidden layer {index} has {units} neurons, more than {MAX_UNITS}; "
                           f"using {MAX_UNITS}")
        elif units < 1:
            notices.append(f"hidden layer {index} has {units} neurons; using 1")
        result.append(min(max(units, 1), MAX_UNITS))
    return result


def _clamp_activations(value, config, notices):
    """One activation per hidden layer: a list, or one name for all; missing ones repeat the
    last given (or tanh)."""
    current = config["activations"]
    if value is not None:
        names = [value] if isinstance(value, str) and "," not in value else _list(value)
        if names is None:
            notices.append(f"activations {_short(value)} is not a list; keeping "
                           f"{', '.join(current) or 'none'}")
            names = current
        checked = []
        for name in names[:MAX_LAYERS]:
            if name in ACTIVATIONS:
                checked.append(name)
            else:
                fallback = checked[-1] if checked else "tanh"
                notices.append(f"activation {_short(name)} is not one of "
                               f"{', '.join(ACTIVATIONS)}; using {fallback}")
                checked.append(fallback)
        if isinstance(value, str) and "," not in value:
            checked = checked * len(config["hidden"])
        current = checked
    layers = len(config["hidden"])
    fill = current[-1] if current else "tanh"
    return (list(current) + [fill] * layers)[:layers]


def _reconcile_problem(update, config, notices):
    """The problem type follows the dataset; ``classes`` > 2 only where data has classes."""
    dataset = config["dataset"]
    if dataset in datasets.REGRESSION:
        if config["problem"] != "regression":
            notices.append(f"{dataset} is a regression dataset; problem set to regression")
            config["problem"] = "regression"
    elif dataset in datasets.CLASSIFICATION and config["problem"] == "regression":
        if "problem" in update and "dataset" not in update:
            notices.append(f"{dataset} is a classification dataset; dataset set to plane "
                           "for regression")
            config["dataset"] = "plane"
        else:
            notices.append(f"{dataset} is a classification dataset; problem set to "
                           "classification")
            config["problem"] = "classification"
    if config["classes"] > 2 and (config["problem"] == "regression" or
                                  config["dataset"] not in datasets.MULTICLASS + ("upload",)):
        if "classes" in update:
            notices.append(f"{config['dataset']} has 2 classes; classes set to 2 (gauss and "
                           "spiral have 2 to 5)")
        config["classes"] = 2


def _short(value):
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _g(number):
    return f"{number:g}"


# -- the session ------------------------------------------------------------------------------
def plane_grid(size):
    """(size * size, 2) cell centres over [-6, 6]², row 0 at the top (x2 = +6), row-major."""
    step = 2 * datasets.PLANE / size
    centres = -datasets.PLANE + step * (np.arange(size) + 0.5)
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)


_GRID_POINTS = plane_grid(GRID)
_BUILDING = threading.Lock()
_THUMB_CELLS = (slice(STRIDE // 2, None, STRIDE),) * 2     # rows and columns 2, 7, ..., 97


class Network:
    """The microflow graph of one configuration, in its own ``mf.Graph``."""

    def __init__(self, config, n_outputs, rng):
        self.graph = mf.Graph()
        self.config = config
        # microflow's default graph is one stack for the process: sockets whose sessions are
        # built at once in worker threads take turns, so no Tensor lands in another's graph.
        with _BUILDING, self.graph.as_default():
            self._build(config, n_outputs, rng)
        self.session = mf.Session(self.graph)

    def _build(self, config, n_outputs, rng):
        self.x = mf.placeholder((None, 2), name="x")
        x1 = mf.get_item(self.x, (slice(None), slice(0, 1)), name="x1")
        x2 = mf.get_item(self.x, (slice(None), slice(1, 2)), name="x2")
        columns = [FEATURES[name](x1, x2) for name in config["features"]]
        self.features = columns[0] if len(columns) == 1 else \
            mf.concat(columns, axis=1, name="features")
        problem, classes = config["problem"], n_outputs
        self.learning_rate = mf.Variable(np.float32(config["learningRate"]), trainable=False,
                                         name="learning_rate")
        self.dropout_rate = None
        if config["dropout"] > 0:
            self.dropout_rate = mf.placeholder_with_default(np.float32(0.0), (),
                                                            name="dropout_rate")
        kernel = mf.init.uniform(low=-0.5, high=0.5)          # TF Playground's weights
        bias = mf.init.constant(value=0.1)                      # and biases
        self.activations, self.weights, self.biases = [], [], []
        out = self.features
        for index, (units, name) in enumerate(zip(config["hidden"], config["activations"]),
                                              start=1):
            activation = None if name == "linear" else getattr(mf, name)
            out = mf.layers.dense(out, units, activation=activation, kernel_init=kernel,
                                  bias_init=bias, seed=rng, name=f"hidden{index}")
            self.activations.append(out)
            if self.dropout_rate is not None:
                out = mf.dropout(out, self.dropout_rate, seed=rng)
        self.logits = mf.layers.dense(out, n_outputs, kernel_init=kernel, bias_init=bias,
                                      seed=rng, name="output")
        self.weights = [self.graph.get_tensor_by_name(f"{scope}/W") for scope in self.scopes]
        self.biases = [self.graph.get_tensor_by_name(f"{scope}/b") for scope in self.scopes]
        if problem == "regression":
            self.y = mf.placeholder((None, 1), name="y")
            self.prediction = self.logits
            self.loss = mf.mean_squared_error(self.logits, self.y, name="loss")
        elif classes == 1:
            self.y = mf.placeholder((None, 1), name="y")            # 0 or 1
            self.prediction = mf.sigmoid(self.logits, name="probability")
            self.loss = mf.sigmoid_cross_entropy(self.logits, self.y, name="loss")
        else:
            self.y = mf.placeholder((None,), dtype="int64", name="y")
            self.prediction = mf.softmax(self.logits, name="probabilities")
            self.loss = mf.softmax_cross_entropy(self.logits, self.y, name="loss")
        objective = self.loss
        self.regularization_rate = None
        if config["regularization"] != "none":
            self.regularization_rate = mf.Variable(np.float32(config["regularizationRate"]),
                                                   trainable=False, name="regularization_rate")
            penalty = mf.layers.l1_regularization if config["regularization"] == "l1" else \
                mf.layers.l2_regularization
            objective = mf.add(self.loss, penalty(self.weights, self.regularization_rate),
                               name="objective")
        self.optimizer = _optimizer(config["optimizer"], self.learning_rate)
        self.train_op = self.optimizer.minimize(objective)
        self.grid_fetches = [self.features, *self.activations, self.prediction]
        self.variables = self.graph.variables      # weights, biases, rates, optimizer state

    @property
    def scopes(self):
        return [f"hidden{i}" for i in range(1, len(self.config["hidden"]) + 1)] + ["output"]

    def set_rates(self, config):
        """Change the learning and regularization rates live (they are Variables)."""
        self.learning_rate.assign(np.float32(config["learningRate"]))
        if self.regularization_rate is not None:
            self.regularization_rate.assign(np.float32(config["regularizationRate"]))


def _optimizer(name, rate):
    if name == "momentum":
        return mf.optimizers.SGD(rate, momentum=0.9)
    if name == "rmsprop":
        return mf.optimizers.RMSProp(rate)
    if name == "adam":
        return mf.optimizers.Adam(rate)
    return mf.optimizers.SGD(rate)


class PlaygroundSession:
    """The state behind one page: settings, data, network, epoch; see the module docstring.

    >>> session = PlaygroundSession({"dataset": "xor", "hidden": [3]})
    >>> session.train(2); session.epoch
    2
    >>> frame = session.frame()
    >>> header = decode_frame(frame)[0]
    >>> header["epoch"], [g["id"] for g in header["grids"]][:3]
    (2, ['output', 'n-0-0', 'n-0-1'])
    """

    def __init__(self, config=None):
        self.config, self.notices = clamp_config(config or {})
        self.epoch = 0
        self.running = False            # the page pressed Play (the server's loop reads it)
        self.resets = 0
        self.uploaded = None            # (points, labels, kind) of an uploaded CSV
        self._make_data()
        self._make_network()

    # -- settings and data ------------------------------------------------------------------
    def configure(self, update):
        """Merge the settings ``update``; rebuild the data and the network where they changed.
        Returns ``(notices, data_changed)``."""
        old = self.config
        self.config, notices = clamp_config(update, old)
        if self.config["dataset"] == "upload" and self.uploaded is None:
            notices.append("no data was uploaded yet; upload a CSV file first")
            self.config["dataset"] = old["dataset"] if old["dataset"] != "upload" else "circle"
            self.config, more = clamp_config({}, self.config)
            notices += more
        elif self.config["dataset"] == "upload":
            problem, classes = self._uploaded_kind()
            if (problem, classes) != (self.config["problem"], self.config["classes"]):
                notices.append(f"the uploaded data sets problem {problem}" +
                               (f" with {classes} classes" if problem == "classification"
                                else ""))
                self.config["problem"], self.config["classes"] = problem, classes
        changed = {key for key in self.config if self.config[key] != old[key]}
        self.notices = notices
        data_changed = bool(changed & DATA_KEYS)
        if data_changed:
            self._make_data()
        if data_changed or changed & NETWORK_KEYS or \
                (self.config["dropout"] > 0) != (old["dropout"] > 0):
            self._make_network()
        else:
            self.network.set_rates(self.config)
        return notices, data_changed

    def _uploaded_kind(self):
        """(problem, classes) of the uploaded data."""
        _, labels, kind = self.uploaded
        if kind == "regression":
            return "regression", 2
        return "classification", int(labels.max()) + 1 if kind == "multiclass" else 2

    def _n_outputs(self):
        if self.config["problem"] == "regression" or self.config["classes"] == 2:
            return 1
        return self.config["classes"]

    def _make_data(self):
        config = self.config
        rng = np.random.default_rng(config["seed"])
        if config["dataset"] == "upload":
            points, labels, _ = self.uploaded
        else:
            points, labels = datasets.generate(config["dataset"],
                                               datasets.samples_for(config["dataset"]),
                                               config["noise"] / 100, rng,
                                               classes=config["classes"])
        (self.train_x, self.train_labels), (self.test_x, self.test_labels) = \
            datasets.split(points, labels, config["ratio"], rng)
        self.points, self.labels = points, labels

    def _targets(self, labels):
        """What the loss's ``y`` is fed: 0/1 columns for two classes, indices for K."""
        if self.config["problem"] == "regression":
            return labels.reshape(-1, 1).astype(np.float32)
        if self.config["classes"] == 2:
            return (labels > 0).astype(np.float32).reshape(-1, 1)
        return labels.astype(np.int64)

    def _make_network(self):
        """A new graph with new weights (seeded by the seed and how many resets came before)."""
        rng = np.random.default_rng([self.config["seed"], self.resets])
        self.network = Network(self.config, self._n_outputs(), rng)
        self.shuffle = np.random.default_rng([self.config["seed"], self.resets, 1])
        self.train_y = self._targets(self.train_labels)
        self.test_y = self._targets(self.test_labels)
        self.epoch = 0
        self._last_good = self._snapshot()     # the weights as they are now, all finite
        self._previous = None                  # and as they were one epoch before, if trained

    def reset(self):
        """New weights, epoch 0, the same data."""
        self.resets += 1
        self._make_network()

    def regenerate(self):
        """New data (the next seed), the same settings, new weights."""
        self.config["seed"] = (self.config["seed"] + 1) % (2**32)
        self._make_data()
        self._make_network()

    def upload(self, text):
        """Use the CSV ``text`` (x1,x2,label) as the data; raises ``datasets.DataError``
        naming the line of the first problem. Returns the notices."""
        points, labels, kind = datasets.parse_csv(text)
        self.uploaded = (points, labels, kind)
        problem, classes = self._uploaded_kind()
        base = dict(self.config, dataset="upload", problem=problem, classes=classes)
        self.config, notices = clamp_config({}, base)
        self._make_data()
        self._make_network()
        what = {"binary": "2 classes", "multiclass": f"{classes} classes",
                "regression": "regression"}[kind]
        self.notices = [f"uploaded {len(points)} points ({what})"] + notices
        return self.notices

    # -- training ---------------------------------------------------------------------------
    def train(self, epochs=1):
        """Train ``epochs`` epochs (each one pass over the training points in shuffled
        mini-batches). Raises ``Diverged`` at the first epoch whose loss or weights are not
        finite, with the weights put back to their values before that epoch."""
        network = self.network
        session, train_op, x, y = network.session, network.train_op, network.x, network.y
        batch = self.config["batchSize"]
        feed = {x: None, y: None}
        if network.dropout_rate is not None:
            feed[network.dropout_rate] = np.float32(self.config["dropout"])
        rows = len(self.train_x)
        with np.errstate(all="ignore"):
            for _ in range(int(epochs)):
                order = self.shuffle.permutation(rows)
                xs, ys = self.train_x[order], self.train_y[order]
                for start in range(0, rows, batch):
                    feed[x] = xs[start:start + batch]
                    feed[y] = ys[start:start + batch]
                    session.run(train_op, feed)
                if not self._finite():
                    self._restore(self._last_good)
                    raise Diverged(self.epoch + 1)
                self.epoch += 1
                self._previous, self._last_good = self._last_good, self._snapshot()

    def _finite(self):
        for variable in self.network.variables:
            value = variable.value
            if not np.isfinite(value).all() or (value.size and
                                                 np.abs(value).max() > MAX_WEIGHT):
                return False
        return True

    def _snapshot(self):
        return [v.value.copy() for v in self.network.variables]

    def _restore(self, values):
        for variable, value in zip(self.network.variables, values):
            variable.assign(value)

    def set_weight(self, layer, source, target, value):
        """Set the weight from neuron ``source`` of layer ``layer`` to neuron ``target`` of the
        next (layer 0 = the features -> the first hidden layer)."""
        weights = self.network.weights
        layer = _index(layer, len(weights), "layer", "weight matrices")
        W = weights[layer]
        source = _index(source, W.shape[0], "from", f"neurons feeding layer {layer}")
        target = _index(target, W.shape[1], "to", f"neurons in layer {layer + 1}")
        array = W.value.copy()
        array[source, target] = _finite_value(value)
        W.assign(array)
        self._last_good, self._previous = self._snapshot(), None

    def set_bias(self, layer, neuron, value):
        """Set the bias of neuron ``neuron`` of layer ``layer`` (1 = the first hidden layer,
        the last = the output; layer 0, the features, has none)."""
        biases = self.network.biases
        layer = _index(layer, len(biases) + 1, "layer", "layers")
        if layer == 0:
            raise PlaygroundError("layer 0 holds the input features, which have no bias")
        b = biases[layer - 1]
        neuron = _index(neuron, b.shape[0], "neuron", f"neurons in layer {layer}")
        array = b.value.copy()
        array[neuron] = _finite_value(value)
        b.assign(array)
        self._last_good, self._previous = self._snapshot(), None

    # -- what the page is sent ----------------------------------------------------------------
    def layer_sizes(self):
        return [len(self.config["features"]), *self.config["hidden"], self._n_outputs()]

    def state_message(self):
        return {"type": "state", "config": self.config, "notices": list(self.notices),
                "network": {"layers": self.layer_sizes(), "features": self.config["features"],
                            "activations": self.config["activations"]},
                "thumbSize": THUMB, "gridSize": GRID, "running": self.running,
                "epoch": self.epoch}

    def data_message(self):
        def rows(points, labels):
            return np.column_stack([points, labels]).astype(np.float64).round(4).tolist()
        return {"type": "data", "train": rows(self.train_x, self.train_labels),
                "test": rows(self.test_x, self.test_labels)}

    def evaluate(self):
        """Data loss (without the penalty), accuracy and confusion matrix on both sets."""
        network = self.network
        fetches = [network.loss, network.prediction]
        result = {}
        with np.errstate(all="ignore"):
            for part, x, y, labels in (("train", self.train_x, self.train_y, self.train_labels),
                                       ("test", self.test_x, self.test_y, self.test_labels)):
                loss, prediction = network.session.run(fetches, {network.x: x, network.y: y})
                result[part + "Loss"] = float(loss)
                result[part + "Prediction"] = prediction
                if self.config["problem"] == "classification":
                    predicted, truth = self._classes(prediction), self._class_index(labels)
                    result[part + "Accuracy"] = float(np.mean(predicted == truth))
                    if part == "test":
                        k = max(self.config["classes"], 2)
                        confusion = np.zeros((k, k), np.int64)
                        np.add.at(confusion, (truth, predicted), 1)
                        result["confusion"] = confusion.tolist()
        return result

    def _classes(self, prediction):
        """Class indices from predictions: for two classes 0 = the -1 class, 1 = the +1 class."""
        if prediction.shape[1] == 1:
            return (prediction[:, 0] > 0.5).astype(np.int64)
        return prediction.argmax(axis=1)

    def _class_index(self, labels):
        if self.config["classes"] == 2:
            return (labels > 0).astype(np.int64)
        return labels.astype(np.int64)

    def predict(self, points):
        """The network's prediction at ``points`` (N, 2): p(+1) for two classes, the class
        probabilities (N, K) for more, the value for regression."""
        network = self.network
        out = network.session.run(network.prediction,
                                  {network.x: np.asarray(points, np.float32)})
        return out[:, 0] if out.shape[1] == 1 else out

    def frame(self):
        """The binary frame (see the protocol): a JSON header and the uint8 grids.

        If a loss or a grid is not finite (the weights are, but the values they give
        overflow), the weights go back to those of one epoch before and ``Diverged`` is
        raised; with no epoch since the weights were set by hand, ``PlaygroundError``."""
        with np.errstate(all="ignore"):
            values = self.grid_values()
            scores = self.evaluate()
        losses = (scores["trainLoss"], scores["testLoss"])
        if not all(math.isfinite(v) for v in losses) or \
                not all(math.isfinite(np.add.reduce(v, axis=None)) for v in values):
            if self._previous is None:
                raise PlaygroundError("the network's output is not finite with these weights; "
                                      "set smaller ones or press Reset")
            self._restore(self._previous)
            self._last_good, self._previous = self._previous, None
            self.epoch -= 1
            raise Diverged(self.epoch + 1)
        return self.encode(values, scores)

    def grid_values(self):
        """Every layer's values over the 100 x 100 grid, in ONE run: the features (N, F),
        each hidden layer (N, units) and the prediction (N, outputs)."""
        network = self.network
        return network.session.run(network.grid_fetches, {network.x: _GRID_POINTS})

    def encode(self, values, scores):
        """The frame's bytes from ``grid_values()`` and ``evaluate()``."""
        network = self.network
        grids, chunks, offset = [], [], 0

        def add(ident, layer, neuron, size, planes, data, lo, hi):
            nonlocal offset
            grids.append({"id": ident, "layer": layer, "neuron": neuron, "size": size,
                          "planes": planes, "offset": offset, "range": [lo, hi]})
            chunks.append(data)
            offset += len(data)

        prediction = values[-1]
        classes = prediction.shape[1]
        if self.config["problem"] == "regression":
            add("output", -1, 0, GRID, 1, quantize(prediction[:, 0], -1.0, 1.0), -1.0, 1.0)
        elif classes == 1:
            add("output", -1, 0, GRID, 1, quantize(2 * prediction[:, 0] - 1, -1.0, 1.0),
                -1.0, 1.0)
        else:
            winner = prediction.argmax(axis=1).astype(np.uint8)
            confidence = quantize(prediction.max(axis=1), 0.0, 1.0)
            add("output", -1, 0, GRID, 2, winner.tobytes() + confidence, 0.0, 1.0)
        activations = self.config["activations"]
        last = len(values) - 1
        for layer, array in enumerate(values):
            thumbs = array.reshape(GRID, GRID, -1)[_THUMB_CELLS]      # (20, 20, units)
            if layer == last and self.config["problem"] == "classification":
                if classes == 1:
                    thumbs, bounds = 2 * thumbs - 1, (-1.0, 1.0)
                else:
                    bounds = (0.0, 1.0)
            elif layer == last:
                bounds = (-1.0, 1.0)
            elif layer > 0 and activations[layer - 1] in ("tanh", "sigmoid"):
                bounds = (-1.0, 1.0)
            else:
                bounds = None                       # unbounded: symmetric around 0 per neuron
            planes = np.ascontiguousarray(thumbs.transpose(2, 0, 1))     # (units, 20, 20)
            if bounds is None:
                hi = np.abs(planes).max(axis=(1, 2))
                hi[hi == 0] = 1.0
                lo = -hi
            else:
                lo = np.full(len(planes), bounds[0])
                hi = np.full(len(planes), bounds[1])
            data = quantize(planes, lo[:, None, None], hi[:, None, None])
            ranges = np.stack([lo, hi], axis=1).astype(np.float64).round(5).tolist()
            for neuron, bounds in enumerate(ranges):
                grids.append({"id": f"n-{layer}-{neuron}", "layer": layer, "neuron": neuron,
                              "size": THUMB, "planes": 1, "offset": offset + neuron * THUMB**2,
                              "range": bounds})
            chunks.append(data)
            offset += len(data)
        header = {"type": "frame", "epoch": self.epoch,
                  "trainLoss": _round(scores["trainLoss"]), "testLoss": _round(scores["testLoss"]),
                  "accuracy": _round(scores.get("trainAccuracy")),
                  "testAccuracy": _round(scores.get("testAccuracy")),
                  "confusion": scores.get("confusion"),
                  "weights": [w.value.astype(np.float64).round(5).tolist()
                              for w in network.weights],
                  "biases": [b.value.astype(np.float64).round(5).tolist()
                             for b in network.biases],
                  "grids": grids}
        return encode_frame(header, chunks)


def quantize(values, lo, hi):
    """uint8 bytes of ``round(255 (v - lo) / (hi - lo))``, clipped to 0..255.

    >>> list(quantize(np.array([-1.0, 0.0, 1.0, 2.0]), -1.0, 1.0))
    [0, 128, 255, 255]
    """
    lo = np.asarray(lo, np.float32)
    scaled = np.asarray(values, np.float32) - lo
    scaled *= np.float32(255.0) / (np.asarray(hi, np.float32) - lo)
    np.clip(scaled, 0, 255, out=scaled)
    return np.rint(scaled).astype(np.uint8).tobytes()


def encode_frame(header, chunks):
    """bytes: uint32 little-endian header length, the UTF-8 JSON header, the payload."""
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return b"".join([struct.pack("<I", len(encoded)), encoded, *chunks])


def decode_frame(frame):
    """``(header, payload)`` of a binary frame (what the page does; for tests and tools)."""
    (length,) = struct.unpack_from("<I", frame, 0)
    header = json.loads(frame[4:4 + length].decode("utf-8"))
    return header, frame[4 + length:]


def _round(value):
    if value is None:
        return None
    return float(f"{float(value):.6g}")


def _index(value, count, what, of):
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not float(value).is_integer():
        raise PlaygroundError(f"{what} must be a whole number, got {_short(value)}")
    value = int(value)
    if not 0 <= value < count:
        raise PlaygroundError(f"{what} {value} is out of range: there are {count} {of} "
                              f"(0..{count - 1})")
    return value


def _finite_value(value):
    number = _as_number(value) if not isinstance(value, str) else None
    if number is None:
        raise PlaygroundError(f"value must be a finite number, got {_short(value)}")
    if abs(number) > 1e4:
        raise PlaygroundError(f"value {number:g} is too large; use a number in -10000..10000")
    return number
