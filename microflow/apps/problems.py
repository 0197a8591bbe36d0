"""The course's example trainers, shared by the ``microflow`` command, the tests and the docs.

Each problem (``xor``, ``donut``, ``clouds``, ``faces``) has a :class:`Config` of defaults
that reach its accuracy bar in seconds. :func:`train` loads the data, splits and
standardizes it, builds a multilayer perceptron in its own Graph with placeholders, dense
layers and a softmax cross-entropy, trains it with :func:`microflow.training.loop.fit`, and returns
a :class:`Result` with the accuracies, the history, the network's Tensors and the Session.

>>> result = train(config("xor"), progress=False)
>>> result.test_accuracy
1.0

The steps are public, so cross-validation can reuse them on its own folds:
:func:`load_data` reads the data, :func:`split` holds out the test part, :func:`prepare`
holds out the validation part and standardizes, :func:`build_network` builds the graph, and
:func:`fit` trains on the prepared :class:`Dataset`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import tempfile
import time

import numpy as np

from microflow.data import preprocessing as data_prep
from microflow.data import datasets
from microflow.data.datasets.fer2013 import read_header
from microflow.data.datasets.faces import PLACEMENTS
from microflow.training import init, layers, optimizers
from microflow.training import loop as training
from microflow.core.graph import Graph, Tensor, placeholder
from microflow.core.ops import (accuracy, add, relu, reshape, sigmoid, softmax,
                                softmax_cross_entropy, tanh)
from microflow.core.random import as_generator
from microflow.core.session import Session

ACTIVATIONS = {"relu": relu, "tanh": tanh, "sigmoid": sigmoid}
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
MODELS = ("mlp", "cnn")
FACE_SHAPE = (48, 48)


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything that decides a training run.

    Attributes
    ----------
    problem : {"xor", "donut", "clouds", "faces"}
    hidden : tuple of int
        Widths of the hidden layers.
    activation : {"relu", "tanh", "sigmoid"}
    optimizer : {"sgd", "momentum", "rmsprop", "adam"}
        ``momentum`` is SGD with momentum 0.9.
    lr : float
        Learning rate.
    l2 : float
        Weight of the L2 penalty ``l2 * sum(W ** 2)`` over the weights (not the biases).
    epochs : int
    batch_size : int or None
        None (or 0 on the command line): the whole training set in each step.
    seed : int
        Seeds the data, the split, the initial weights and the shuffling.
    samples : int
        Data set size: points for the donut, points per cloud, synthetic faces; unused for
        XOR and for a faces file.
    standardize : bool
        Scale each input column to mean 0 and standard deviation 1 (training statistics).
    test_size : float
        Fraction held out for the final test accuracy (XOR, with 4 points, is tested on them).
    validation : float
        Fraction of the training part held out for the validation loss after each epoch.
    patience : int or None
        Stop early when the validation loss has not improved for this many epochs, and
        keep the best weights; None trains for all the epochs.
    balance : bool
        Faces only: repeat the rare classes of the training set (see ``load_fer2013``).
    model : {"mlp", "cnn"}
        Faces only for "cnn": a convolutional network, conv ``kernel`` x ``kernel`` x
        ``filters[0]`` SAME + relu, max pool 2, and so on for each of ``filters``, then the
        ``hidden`` dense layers (the course's network: filters 20, 50, dense 500, 300).
    filters : tuple of int
        The convolutions' numbers of filters (cnn only).
    kernel : int
        The convolutions' window side (cnn only).
    placement : {"centred", "anywhere"}
        Synthetic faces only: "anywhere" moves and shrinks the faces (see
        ``synthetic_faces``), which tells a CNN from an MLP.
    """

    problem: str
    hidden: tuple = (8,)
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 0.01
    l2: float = 0.0
    epochs: int = 50
    batch_size: int | None = 32
    seed: int = 0
    samples: int = 1000
    standardize: bool = True
    test_size: float = 0.2
    validation: float = 0.1
    patience: int | None = None
    balance: bool = False
    model: str = "mlp"
    filters: tuple = (20, 50)
    kernel: int = 5
    placement: str = "centred"

    def __post_init__(self):
        if self.problem not in DEFAULTS:
            raise ValueError(f"unknown problem {self.problem!r}; choose from "
                             f"{', '.join(DEFAULTS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from "
                             f"{', '.join(ACTIVATIONS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from "
                             f"{', '.join(OPTIMIZERS)}")
        if not self.hidden or any(int(units) < 1 for units in self.hidden):
            raise ValueError(f"hidden needs one or more positive layer widths, got {self.hidden}")
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise ValueError(f"the learning rate must be positive, got {self.lr}")
        if not self.l2 >= 0:
            raise ValueError(f"l2 must be >= 0, got {self.l2}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (or None), got {self.batch_size}")
        if self.samples < 10 and self.problem != "xor":
            raise ValueError(f"samples must be at least 10, got {self.samples}")
        if not 0 < self.test_size < 1 or not 0 <= self.validation < 1:
            raise ValueError("test_size must be in (0, 1) and validation in [0, 1)")
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose from {', '.join(MODELS)}")
        if self.model == "cnn" and self.problem != "faces":
            raise ValueError(f"the cnn model is for the faces problem (images), not "
                             f"{self.problem!r}")
        if not self.filters or any(int(count) < 1 for count in self.filters) or self.kernel < 1:
            raise ValueError(f"filters needs positive counts and kernel a positive size, got "
                             f"{self.filters} and {self.kernel}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {self.placement!r}; choose from "
                             f"{', '.join(PLACEMENTS)}")


DEFAULTS = {
    # Four points: full-batch steps, a few tanh units (the course's textbook picture).
    "xor": dict(hidden=(4,), activation="tanh", optimizer="adam", lr=0.05, epochs=300,
                batch_size=None, standardize=False, validation=0.0),
    # Two rings: one small relu layer draws a circle of half-planes.
    "donut": dict(hidden=(8,), activation="relu", optimizer="adam", lr=0.01, epochs=40,
                  batch_size=32, samples=1000),
    # Three Gaussian clouds: nearly linear, so a few units suffice; 1000 points a cloud
    # keep the test accuracy within a point of the best possible (about 97%).
    "clouds": dict(hidden=(8,), activation="relu", optimizer="adam", lr=0.01, epochs=20,
                   batch_size=32, samples=1000),
    # 48x48 synthetic faces, 7 expressions; 10000 faces keep a 256-unit layer from
    # memorising them, and a modest Adam step keeps the test accuracy steady.
    # A little L2 decays the initial noise in the weights, so the first layer's pictures
    # show mouths and brows, at no cost in accuracy.
    "faces": dict(hidden=(256,), activation="relu", optimizer="adam", lr=5e-4, l2=3e-4,
                  epochs=25, batch_size=128, samples=10000),
}
# The course's CNN for the faces (issue W5): SGD with momentum on batches of 64; a few
# epochs reach what the MLP reaches in 25.
MODEL_DEFAULTS = {
    "cnn": dict(hidden=(500, 300), filters=(20, 50), kernel=5, optimizer="momentum", lr=0.01,
                l2=0.0, epochs=5, batch_size=64),
}
PROBLEMS = tuple(DEFAULTS)
CLASS_NAMES = {"xor": ("0", "1"), "donut": ("inner ring", "outer ring"),
               "clouds": ("cloud 0", "cloud 1", "cloud 2"), "faces": datasets.CLASSES}


def config(problem, **overrides):
    """The default :class:`Config` of ``problem``, with ``overrides`` (None values ignored).

    >>> config("donut", lr=0.1).lr
    0.1
    """
    if problem not in DEFAULTS:
        raise ValueError(f"unknown problem {problem!r}; choose from {', '.join(PROBLEMS)}")
    values = dict(DEFAULTS[problem])
    values.update(MODEL_DEFAULTS.get(overrides.get("model"), {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("hidden", "filters"):
        if key in values:
            values[key] = tuple(int(units) for units in values[key])
    return Config(problem=problem, **values)


# -- data -------------------------------------------------------------------------------------
@dataclasses.dataclass
class Data:
    """A problem's labelled examples before any split.

    ``test`` holds a fixed test split ``(X, y)`` when the source defines one (the Usage
    column of a FER2013 file), else None.
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple
    image_shape: tuple | None = None
    test: tuple | None = None


@dataclasses.dataclass
class Dataset:
    """Model-ready arrays: standardized with the training part's statistics.

    ``X_val`` is None without a validation split. ``scaler`` (None when not standardized)
    turns raw inputs into model inputs; :meth:`raw` undoes it for plotting.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple
    image_shape: tuple | None = None
    scaler: data_prep.Standardizer | None = None

    def raw(self, X):
        """``X`` in the original units (pixels in [0, 1], points in the plane)."""
        if self.scaler is None:
            return X
        return X * self.scaler.std + self.scaler.mean

    def transform(self, X_raw):
        """Raw inputs as the network sees them."""
        if self.scaler is None:
            return np.asarray(X_raw, dtype=np.float32)
        return self.scaler.transform(np.asarray(X_raw, dtype=np.float32))


def load_data(cfg, data_path=None, seed=None):
    """The examples of ``cfg.problem``: toy points, synthetic faces, or a FER2013 file.

    Without ``data_path``, faces are drawn with :func:`~microflow.data.datasets.synthetic_faces`,
    written to a temporary FER2013 CSV and read back with
    :func:`~microflow.data.datasets.load_fer2013`, so the default run goes through the real
    loader. With ``data_path`` (faces only), a file with a Usage column gives its
    ``Training`` rows for training and its ``PublicTest`` and ``PrivateTest`` rows for the
    test; without one, :func:`prepare` splits the rows.

    Raises
    ------
    FileNotFoundError, FER2013FormatError
        From the loader, naming the file (and the line).
    """
    if data_path is not None and cfg.problem != "faces":
        raise ValueError(f"--data is for the faces problem only, not {cfg.problem!r}")
    classes = CLASS_NAMES[cfg.problem]
    if cfg.problem == "xor":
        return Data(*datasets.xor(), classes)
    if cfg.problem == "donut":
        return Data(*datasets.donut(cfg.samples, seed=seed), classes)
    if cfg.problem == "clouds":
        return Data(*datasets.clouds(cfg.samples, seed=seed), classes)
    if data_path is None:
        X, y = datasets.synthetic_faces(cfg.samples, seed=seed, placement=cfg.placement)
        with tempfile.TemporaryDirectory(prefix="microflow-faces-") as folder:
            path = datasets.write_fer2013(os.path.join(folder, "synthetic.csv"), X, y)
            X, y = datasets.load_fer2013(path)
        return Data(X, y, classes, FACE_SHAPE)
    return _load_fer_file(data_path)


def _has_usage_column(path):
    return "usage" in [name.lower() for name in read_header(path)]


def _load_fer_file(path):
    if os.path.isdir(path):
        raise IsADirectoryError(f"--data {os.fspath(path)!r} is a folder, not a FER2013 CSV "
                                "file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")
    if _has_usage_column(path):
        X, y = datasets.load_fer2013(path, usage="Training")
        parts = [datasets.load_fer2013(path, usage=u) for u in ("PublicTest", "PrivateTest")]
        X_test = np.concatenate([p[0] for p in parts])
        y_test = np.concatenate([p[1] for p in parts])
        if len(X) and len(X_test):
            return Data(X, y, datasets.CLASSES, FACE_SHAPE, test=(X_test, y_test))
    return Data(*datasets.load_fer2013(path), datasets.CLASSES, FACE_SHAPE)


def prepare(cfg, X_train, y_train, X_test, y_test, classes, image_shape=None, seed=None):
    """Hold out ``cfg.validation`` of the training rows, balance the rest if ``cfg.balance``
    (so no copy of a held-out face is trained on), then standardize every part with the
    statistics of the training rows (never the test's own)."""
    rng = as_generator(seed)
    X_val = y_val = None
    if cfg.validation > 0:
        X_train, X_val, y_train, y_val = data_prep.train_test_split(
            X_train, y_train, test_size=cfg.validation, seed=rng, stratify=y_train)
    if cfg.balance:
        rows = np.repeat(np.arange(len(y_train)), datasets.balance_repeats(y_train)[y_train])
        X_train, y_train = X_train[rows], y_train[rows]
    scaler = None
    if cfg.standardize:
        scaler = data_prep.Standardizer().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        X_val = None if X_val is None else scaler.transform(X_val)
    return Dataset(X_train, y_train, X_val, y_val, X_test, y_test, tuple(classes),
                   image_shape, scaler)


def split(cfg, data, seed=None):
    """A :class:`Dataset` from :class:`Data`: its fixed test split if it has one, else a
    stratified random one of ``cfg.test_size`` (XOR is tested on its four training points)."""
    if cfg.problem == "xor":
        parts = data.X, data.y, data.X, data.y
    elif data.test is not None:
        parts = data.X, data.y, *data.test
    else:
        X_train, X_test, y_train, y_test = data_prep.train_test_split(
            data.X, data.y, test_size=cfg.test_size, seed=seed, stratify=data.y)
        parts = X_train, y_train, X_test, y_test
    return prepare(cfg, *parts, data.classes, data.image_shape, seed=seed)


# -- the network ------------------------------------------------------------------------------
@dataclasses.dataclass
class Network:
    """A classifier's graph and the Tensors a trainer needs from it.

    ``hidden`` lists the hidden layers' outputs (their activations), first layer first (for a
    CNN the convolutions' feature maps (N, H, W, filters) come first);
    ``loss`` is the ``cross_entropy`` plus the L2 penalty when there is one (else the same
    Tensor); ``probabilities`` is the softmax of the ``logits``.
    """

    graph: Graph
    x: Tensor
    y: Tensor
    hidden: list
    logits: Tensor
    probabilities: Tensor
    cross_entropy: Tensor
    loss: Tensor
    accuracy: Tensor
    train_op: Tensor
    variables: list

    def feed(self, X, y=None):
        """The feed_dict for inputs ``X`` (and labels ``y``)."""
        return {self.x: X} if y is None else {self.x: X, self.y: y}


def make_optimizer(name, lr):
    """An optimizer by name: ``sgd``, ``momentum`` (SGD, momentum 0.9), ``rmsprop``, ``adam``."""
    if name == "sgd":
        return optimizers.SGD(lr)
    if name == "momentum":
        return optimizers.SGD(lr, momentum=0.9)
    if name == "rmsprop":
        return optimizers.RMSProp(lr)
    if name == "adam":
        return optimizers.Adam(lr)
    raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def build_network(cfg, n_inputs, n_classes, seed=None):
    """A multilayer perceptron for ``cfg`` in a new Graph.

    ``x`` (N, n_inputs) -> ``cfg.hidden`` dense layers with ``cfg.activation`` (scopes
    ``hidden``, ``hidden_1``...) -> a linear ``output`` layer of ``n_classes`` logits;
    the loss is the mean softmax cross-entropy against the integer labels ``y``, plus
    ``cfg.l2 * sum(W ** 2)``; ``train_op`` takes one step of ``cfg.optimizer``. With
    ``cfg.model == "cnn"``, :func:`build_cnn`.
    """
    if cfg.model == "cnn":
        return build_cnn(cfg, n_inputs, n_classes, seed=seed)
    activation = ACTIVATIONS[cfg.activation]
    kernel_init = init.he_uniform if activation is relu else init.glorot_uniform
    rng = as_generator(seed)                # one stream for all layers: no two start alike
    graph = Graph()
    with graph.as_default():
        x = placeholder((None, n_inputs), name="x")
        y = placeholder((None,), dtype="int64", name="y")
        out, hidden = x, []
        for units in cfg.hidden:
            out = layers.dense(out, units, activation=activation, kernel_init=kernel_init,
                               seed=rng, name="hidden")
            hidden.append(out)
        logits = layers.dense(out, n_classes, seed=rng, name="output")
    return _classifier(cfg, graph, x, y, hidden, logits)


def _classifier(cfg, graph, x, y, hidden, logits):
    """The loss, accuracy, probabilities and training op of ``logits``: the Network."""
    with graph.as_default():
        loss = cross_entropy = softmax_cross_entropy(logits, y, name="cross_entropy")
        variables = optimizers.trainable_variables(graph)
        if cfg.l2:
            loss = add(cross_entropy, layers.l2_regularization(variables, cfg.l2), name="loss")
        acc = accuracy(logits, y, name="accuracy")
        probabilities = softmax(logits, name="probabilities")
        train_op = make_optimizer(cfg.optimizer, cfg.lr).minimize(loss)
    return Network(graph, x, y, hidden, logits, probabilities, cross_entropy, loss, acc, train_op,
                   variables)


def build_cnn(cfg, n_inputs, n_classes, seed=None, image_shape=FACE_SHAPE):
    """A convolutional network for ``cfg`` in a new Graph (the course's, by default).

    ``x`` (N, n_inputs) rows of pixels, reshaped to (N, H, W, 1) images -> for each of
    ``cfg.filters`` a ``cfg.kernel``-square SAME convolution with relu (scopes ``conv``,
    ``conv_1``...) and a 2x2 max pool -> flattened -> ``cfg.hidden`` dense relu layers ->
    ``n_classes`` logits; loss, accuracy and training op as :func:`build_network`'s.
    """
    if n_inputs != image_shape[0] * image_shape[1]:
        raise ValueError(f"the cnn model needs {image_shape[0]}x{image_shape[1]} images "
                         f"({image_shape[0] * image_shape[1]} pixels a row), got rows of "
                         f"{n_inputs}")
    rng = as_generator(seed)
    graph = Graph()
    with graph.as_default():
        x = placeholder((None, n_inputs), name="x")
        y = placeholder((None,), dtype="int64", name="y")
        out, hidden = reshape(x, (-1, *image_shape, 1), name="images"), []
        for count in cfg.filters:
            out = layers.conv2d(out, count, cfg.kernel, activation=relu, seed=rng, name="conv")
            hidden.append(out)
            if out.shape[1] >= 2 and out.shape[2] >= 2:
                out = layers.max_pool(out, 2, name="pool")
        out = layers.flatten(out)
        for units in cfg.hidden:
            out = layers.dense(out, units, activation=relu, kernel_init=init.he_uniform,
                               seed=rng, name="hidden")
            hidden.append(out)
        logits = layers.dense(out, n_classes, seed=rng, name="output")
    return _classifier(cfg, graph, x, y, hidden, logits)


# -- training ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Result:
    """What a training run gives back.

    ``seconds`` is the wall time of the whole run (data, graph and training);
    ``predict(X_raw)`` gives class indices for inputs in the original units.
    """

    config: Config
    dataset: Dataset
    network: Network
    session: Session
    history: training.History
    train_accuracy: float
    test_accuracy: float
    seconds: float = 0.0

    def predict(self, X_raw):
        X = self.dataset.transform(X_raw)
        return np.argmax(self.session.run(self.network.logits, self.network.feed(X)), axis=1)

    def summary(self):
        """One line: ``donut: train accuracy 0.991, test accuracy 0.985 (40 epochs)``."""
        return (f"{self.config.problem}: train accuracy {self.train_accuracy:.3f}, test accuracy "
                f"{self.test_accuracy:.3f} ({self.history.epochs} epochs)")


class BlowUpGuard(training.Callback):
    """Stop with a ``DivergenceError`` when an epoch's mean cross-entropy exceeds ``factor``
    times that of guessing, ``log(n_classes)``.

    ``fit()`` stops at a NaN or infinite loss; Adam and RMSProp with a huge learning rate
    rarely get there (their steps are bounded by the learning rate), but their loss climbs
    to thousands, which no working classifier reaches.
    """

    def __init__(self, n_classes, factor=100.0):
        self.chance = math.log(max(n_classes, 2))
        self.limit = factor * self.chance

    def on_epoch_end(self, epoch, logs, context):
        value = logs.get("cross_entropy", logs["loss"])
        if value > self.limit:
            raise training.DivergenceError(
                f"the loss reached {value:.3g} at epoch {epoch}, against {self.chance:.3g} for "
                "guessing. Try a learning rate ten times lower.", epoch, None)


#: Environment variables that set the BLAS thread count; when the user set one, the trainers
#: leave the count alone.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "BLIS_NUM_THREADS")
#: Multiply-adds of the biggest matrix product of a step below which BLAS gets one thread.
#: The faces network's (128 x 2304 x 256, 75 million) takes 16 ms on one thread and 56 to
#: 275 ms on two while another process keeps a core busy: the threads spin waiting for each
#: other (see docs/examples.md).
SMALL_GEMM = 2 ** 28


def blas_threads(cfg, rows, widths):
    """The BLAS thread count to train ``cfg`` with: 1 when its biggest product (a batch of
    ``rows`` or ``cfg.batch_size`` rows through layers of ``widths``) is small, None (as
    configured) otherwise."""
    batch = min(cfg.batch_size or rows, rows)
    biggest = max(batch * n_in * n_out for n_in, n_out in zip(widths, widths[1:]))
    return 1 if biggest < SMALL_GEMM else None


def _blas_limit(threads):
    """A context in which BLAS uses ``threads`` threads (no change for None, or when one of
    ``BLAS_THREAD_VARIABLES`` is set)."""
    if threads is None or any(os.environ.get(name) for name in BLAS_THREAD_VARIABLES):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(threads, user_api="blas")


def _streams(seed):
    """Independent generators for the data, the split, the weights and the shuffling."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]


def fit(cfg, dataset, progress=True, seed=None):
    """Build a network for ``dataset`` and train it as ``cfg`` says; returns a :class:`Result`.

    BLAS runs on one thread while it trains when the network's matrix products are small
    (see :func:`blas_threads`), unless one of ``BLAS_THREAD_VARIABLES`` is set.

    Raises
    ------
    microflow.DivergenceError
        When the loss becomes NaN or infinite, or climbs far above guessing's (see
        :class:`BlowUpGuard`): a learning rate too high.
    """
    start = time.perf_counter()
    _, _, weights_rng, shuffle_rng = _streams(cfg.seed if seed is None else seed)
    net = build_network(cfg, dataset.X_train.shape[1], len(dataset.classes), seed=weights_rng)
    session = Session(net.graph)
    validation = None
    if dataset.X_val is not None:
        validation = net.feed(dataset.X_val, dataset.y_val)
    callbacks = [BlowUpGuard(len(dataset.classes))]
    if cfg.patience and validation is not None:
        callbacks.append(training.EarlyStopping(patience=cfg.patience))
    metrics = {"accuracy": net.accuracy}
    if net.cross_entropy is not net.loss:
        metrics["cross_entropy"] = net.cross_entropy
    widths = [dataset.X_train.shape[1], *cfg.hidden, len(dataset.classes)]
    with _blas_limit(blas_threads(cfg, len(dataset.X_train), widths)):
        history = training.fit(session, net.train_op, net.loss, net.feed(dataset.X_train,
                               dataset.y_train), cfg.epochs, batch_size=cfg.batch_size,
                               validation=validation, metrics=metrics, progress=progress,
                               seed=shuffle_rng, callbacks=callbacks)
        train_accuracy = _accuracy(session, net, dataset.X_train, dataset.y_train)
        test_accuracy = _accuracy(session, net, dataset.X_test, dataset.y_test)
    return Result(cfg, dataset, net, session, history, train_accuracy, test_accuracy,
                  time.perf_counter() - start)


def _accuracy(session, net, X, y):
    batch = 256 if net.hidden[0].ndim == 4 else 2048     # a CNN's im2col rows are big
    scores = training.evaluate(session, net.loss, net.feed(X, y), {"accuracy": net.accuracy},
                               batch_size=batch)
    return float(scores["accuracy"])


def train(cfg, data_path=None, progress=True):
    """Load, split, build and train: the whole run of ``microflow train``.

    Parameters
    ----------
    cfg : Config
        e.g. ``config("donut", epochs=10)``.
    data_path : str, optional
        A FER2013 CSV for the faces problem (default: synthetic faces).
    progress : bool
        Show a progress bar over the epochs (when stdout is a terminal).

    Returns
    -------
    Result
    """
    start = time.perf_counter()
    data_rng, split_rng, _, _ = _streams(cfg.seed)
    data = load_data(cfg, data_path, seed=data_rng)
    result = fit(cfg, split(cfg, data, seed=split_rng), progress=progress)
    result.seconds = time.perf_counter() - start
    return result


def train_and_score(cfg, progress=False):
    """A ``train_and_score(X_train, y_train, X_test, y_test)`` for
    :func:`microflow.data.model_selection.cross_validate`: prepares the fold as :func:`prepare`
    does, trains ``cfg`` on it and returns its test accuracy."""
    image_shape = FACE_SHAPE if cfg.problem == "faces" else None

    def score(X_train, y_train, X_test, y_test):
        dataset = prepare(cfg, X_train, y_train, X_test, y_test, CLASS_NAMES[cfg.problem],
                          image_shape, seed=cfg.seed)
        return fit(cfg, dataset, progress=progress).test_accuracy
    return score


def search_scorer(cfg):
    """A ``train_and_score(params, X_train, y_train, X_test, y_test)`` for
    :func:`~microflow.data.model_selection.grid_search` and
    :func:`~microflow.data.model_selection.random_search`.

    ``params`` override fields of ``cfg`` (``lr``, ``l2``, ``hidden`` as ``"8,8"`` or a
    tuple...). A setting whose training diverges scores NaN, which the search ranks last.
    """
    def score(params, X_train, y_train, X_test, y_test):
        overrides = dict(params)
        if isinstance(overrides.get("hidden"), str):
            overrides["hidden"] = tuple(int(units) for units in overrides["hidden"].split(","))
        trial = dataclasses.replace(cfg, **overrides)
        try:
            return train_and_score(trial)(X_train, y_train, X_test, y_test)
        except training.DivergenceError:
            return math.nan
    return score


# -- pictures ---------------------------------------------------------------------------------
def write_plots(result, folder, faces_shown=32):
    """Write the pictures of ``result`` into ``folder`` (created if needed); returns the paths.

    2-D problems: ``decision_boundary.png``, ``hidden_units.png`` (the first hidden layer)
    and ``loss.png``. Faces: ``faces.png`` (the first ``faces_shown`` test faces with true
    and predicted labels), ``confusion.png``, ``loss.png`` and ``weights.png`` (the first
    layer's weights as 48x48 images); for a CNN, ``filters.png`` (the first convolution's
    filters) and ``feature_maps.png`` (its maps of the first test face) instead of
    ``weights.png``.
    """
    from microflow.viz import plots
    os.makedirs(folder, exist_ok=True)
    net, ds, name = result.network, result.dataset, result.config.problem
    where = {key: os.path.join(folder, key + ".png") for key in
             ("decision_boundary", "hidden_units", "loss", "faces", "confusion", "weights",
              "filters", "feature_maps")}
    written = []
    if ds.image_shape is None:
        X, y = ds.raw(ds.X_train), ds.y_train
        written.append(plots.decision_boundary(
            result.session, net.x, net.logits, X, y, where["decision_boundary"],
            transform=ds.transform, classes=ds.classes,
            X_test=None if name == "xor" else ds.raw(ds.X_test), y_test=ds.y_test,
            title=f"{name}: test accuracy {result.test_accuracy:.1%}"))
        written.append(plots.hidden_unit_maps(
            result.session, net.x, net.hidden[0], X, y, where["hidden_units"],
            transform=ds.transform, title=f"{name}: first hidden layer"))
    written.append(plots.loss_curves(result.history, where["loss"], title=name))
    if ds.image_shape is not None:
        logits = np.concatenate([result.session.run(net.logits, net.feed(ds.X_test[i:i + 256]))
                                 for i in range(0, len(ds.X_test), 256)])
        predicted = np.argmax(logits, axis=1)   # the same inputs the test accuracy saw
        shown = slice(0, faces_shown)
        written.append(plots.face_grid(
            ds.raw(ds.X_test[shown]), ds.y_test[shown], predicted[shown], where["faces"],
            ds.classes, ds.image_shape, title=f"Held-out faces: accuracy "
            f"{result.test_accuracy:.1%}"))
        written.append(plots.confusion_matrix(ds.y_test, predicted, where["confusion"],
                                              ds.classes))
        W = net.variables[0].value
        if W.ndim == 4:                         # a CNN: its filters, and one face's maps
            written.append(plots.conv_filters(W, where["filters"]))
            maps = result.session.run(net.hidden[0], net.feed(ds.X_test[:1]))[0]
            written.append(plots.feature_maps(ds.raw(ds.X_test[:1])[0].reshape(ds.image_shape),
                                              maps, where["feature_maps"]))
        else:
            written.append(plots.first_layer_weights(W, where["weights"], ds.image_shape))
    return written


def draw_graph(result, path):
    """Draw the network's graph (loss and accuracy, with what they depend on) to ``path``
    (``.svg``, ``.png``...) with :func:`microflow.viz.render`.

    Raises ``microflow.viz.GraphvizNotFound`` when Graphviz is missing.
    """
    from microflow import viz
    return viz.render([result.network.loss, result.network.accuracy], path)
