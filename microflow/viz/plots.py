"""Pictures of what a network learned, written as PNG files with matplotlib.

For 2-D problems, :func:`decision_boundary` colours the input plane by the predicted class
with the data on top, and :func:`hidden_unit_maps` draws one small map per hidden unit,
its activation over the same plane (what the TensorFlow Playground shows). Both run the
graph's own Tensors on a grid of points. For faces, :func:`face_grid`,
:func:`confusion_matrix` and :func:`first_layer_weights`, and for a convolutional network
:func:`conv_filters` and :func:`feature_maps`; for any run, :func:`loss_curves`.

Figures are drawn on matplotlib's Agg canvas without pyplot, so nothing here changes the
backend of a notebook or opens a window. Each file is written to a temporary file in the
same folder and moved into place with ``os.replace``: a reader never sees half a picture.

>>> mf.plots.loss_curves({"loss": [0.7, 0.4, 0.3]}, "loss.png")   # doctest: +SKIP
'loss.png'
"""

from __future__ import annotations

import math
import os

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from microflow.core.files import atomic_write

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf")
RIGHT, WRONG = "#1a7f37", "#c62828"
DPI = 110


# -- files ------------------------------------------------------------------------------------
def save(figure, path):
    """Write ``figure`` to ``path`` as a PNG, atomically; returns ``path``.

    The folder must exist. The picture goes to a temporary file beside ``path`` first,
    then ``os.replace`` moves it over any previous file.
    """
    path = os.fspath(path)
    with atomic_write(path) as file:
        figure.savefig(file, format="png", dpi=DPI)
    return path


# -- the input plane --------------------------------------------------------------------------
def plane(X, resolution=200, margin=0.1):
    """A grid over the bounding box of the 2-D points ``X``, widened by ``margin`` of its size.

    Returns ``(xs, ys, points)``: the grid's coordinates along each axis and its points as
    a ``(resolution ** 2, 2)`` array, row by row.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"the input plane needs 2-D points, got an array of shape {X.shape}")
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)


def _run_on_plane(session, x, tensor, points, transform, batch=20000):
    """``tensor``'s value at each point of the plane, fed through ``transform``."""
    fed = points if transform is None else transform(points)
    return np.concatenate([session.run(tensor, {x: fed[i:i + batch]})
                           for i in range(0, len(fed), batch)])


def _softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _dot_size(n, most, least):
    """Big dots for a handful of points (XOR), small ones for a thousand."""
    return float(np.clip(most * 4 / max(n, 1), least, most))


def _scatter(ax, X, y, classes, marker="o", size=None, edge="white", label_suffix=""):
    size = _dot_size(len(X), 90, 12) if size is None else size
    for k, name in enumerate(classes):
        points = X[np.asarray(y) == k]
        if len(points):
            ax.scatter(points[:, 0], points[:, 1], s=size, marker=marker,
                       color=CLASS_COLOURS[k % len(CLASS_COLOURS)], edgecolors=edge,
                       linewidths=0.6, label=f"{name}{label_suffix}", zorder=3)


def _class_names(classes, y, n=0):
    if classes is not None:
        return tuple(classes)
    return tuple(str(k) for k in range(max(int(np.max(y)) + 1 if len(y) else 0, n)))


def _tiles(count, columns, width, height, top=0.35):
    """A figure with ``count`` small axes, ``columns`` a row, each ``width`` x ``height``
    inches, without ticks; ``top`` inches are left for a title."""
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(width * columns + 0.2, height * rows + top))
    axes = [figure.add_subplot(rows, columns, i + 1) for i in range(count)]
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return figure, axes


def _save_tiles(figure, title, shown, total, path, what="units"):
    """Title the tiles, saying when only the first ``shown`` of ``total`` are drawn; save."""
    more = f" (first {shown} of {total} {what})" if shown < total else ""
    figure.suptitle(title + more, fontsize=10)
    figure.tight_layout()
    return save(figure, path)


# -- 2-D problems -----------------------------------------------------------------------------
def decision_boundary(session, x, logits, X, y, path, transform=None, classes=None,
                      X_test=None, y_test=None, title=None, resolution=200):
    """Colour the input plane by the predicted class, draw the boundary, put the data on top.

    Parameters
    ----------
    session : Session
    x : Tensor
        The input placeholder, of shape (None, 2).
    logits : Tensor
        The network's logits; the plane's colour is the class colours mixed by the softmax
        probabilities, so it fades where the network is unsure.
    X, y : arrays
        Training points (in the plane's units) and their labels, drawn as dots.
    path : str
        The PNG to write.
    transform : callable, optional
        Maps points of the plane to the network's inputs (e.g. a Standardizer's
        ``transform``).
    classes : sequence of str, optional
        Class names for the legend.
    X_test, y_test : arrays, optional
        Held-out points, drawn as diamonds with a dark edge.
    title : str, optional
    resolution : int
        Grid points along each axis.

    Returns
    -------
    str
        ``path``.
    """
    X, y = np.asarray(X), np.asarray(y)
    shown = X if X_test is None else np.concatenate([X, X_test])
    xs, ys, points = plane(shown, resolution, margin=0.1 if len(shown) > 10 else 0.25)
    probabilities = _softmax(_run_on_plane(session, x, logits, points, transform)
                             .astype(np.float64))
    k = probabilities.shape[1]
    classes = _class_names(classes, y, k)
    colours = np.array([to_rgb(CLASS_COLOURS[i % len(CLASS_COLOURS)]) for i in range(k)])
    # Mix the class colours by probability, then halfway to white so the dots stand out.
    image = 0.45 * (probabilities @ colours) + 0.55
    image = image.reshape(resolution, resolution, 3)
    predicted = probabilities.argmax(axis=1).reshape(resolution, resolution)

    figure = Figure(figsize=(6.6, 4.8))
    ax = figure.add_subplot()
    ax.imshow(image, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), aspect="auto",
              interpolation="bilinear")
    if k > 1 and predicted.min() != predicted.max():
        ax.contour(xs, ys, predicted, levels=np.arange(k - 1) + 0.5, colors="#333333",
                   linewidths=1.2)
    _scatter(ax, X, y, classes)
    if X_test is not None:
        _scatter(ax, np.asarray(X_test), y_test, classes, marker="D", edge="#222222",
                 size=_dot_size(len(X_test), 90, 16), label_suffix=" (test)")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or "Decision boundary")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
              borderaxespad=0)
    figure.tight_layout()
    return save(figure, path)


def hidden_unit_maps(session, x, hidden, X, y, path, transform=None, max_units=32, title=None,
                     resolution=80):
    """One small map per hidden unit: its activation over the input plane.

    Units that take negative values (tanh) are drawn purple (negative) to green (positive)
    around white at zero; others (relu, sigmoid) white at zero to purple at their maximum.
    A relu unit that is zero everywhere on the plane is marked "dead". The data are dots on
    every map, in their class colours.

    Parameters
    ----------
    session : Session
    x : Tensor
        The input placeholder, (None, 2).
    hidden : Tensor
        A hidden layer's output, (None, M), e.g. ``mf.layers.dense(x, M, activation=mf.relu)``.
    X, y : arrays
        The points to show (in the plane's units) and their labels.
    path : str
    transform : callable, optional
        Maps points of the plane to the network's inputs.
    max_units : int
        Draw at most this many units (the first ones).
    title : str, optional
    resolution : int

    Returns
    -------
    str
        ``path``.
    """
    X, y = np.asarray(X), np.asarray(y)
    xs, ys, points = plane(X, resolution, margin=0.1 if len(X) > 10 else 0.25)
    values = _run_on_plane(session, x, hidden, points, transform)
    if values.ndim != 2:
        raise ValueError(f"hidden_unit_maps needs a layer of shape (None, M), got "
                         f"{values.shape[1:]} per point")
    units = min(values.shape[1], max_units)
    figure, axes = _tiles(units, min(units, 8), 1.55, 1.62)
    colours = [CLASS_COLOURS[int(k) % len(CLASS_COLOURS)] for k in y]
    few = len(X) <= 10
    dots = dict(s=_dot_size(len(X), 40, 1.5), c=colours, alpha=1.0 if few else 0.5,
                edgecolors="black" if few else "none", linewidths=0.6 if few else 0)
    for unit, ax in enumerate(axes):
        activation = values[:, unit].reshape(resolution, resolution)
        low, high = float(activation.min()), float(activation.max())
        if low < 0:
            bound = max(abs(low), abs(high), 1e-12)
            options = dict(cmap="PRGn", vmin=-bound, vmax=bound)
        else:
            options = dict(cmap="Purples", vmin=0.0, vmax=max(high, 1e-12))
        ax.imshow(activation, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]),
                  aspect="auto", **options)
        ax.scatter(X[:, 0], X[:, 1], **dots)
        dead = high <= 0 and low >= 0
        ax.set_title(f"unit {unit}" + (" (dead)" if dead else ""), fontsize=8,
                     color="#888888" if dead else "black")
    return _save_tiles(figure, title or "What each hidden unit computes", units,
                       values.shape[1], path)


# -- any run ----------------------------------------------------------------------------------
def loss_curves(history, path, title=None):
    """Training and validation loss per epoch and, when recorded, the accuracies.

    Parameters
    ----------
    history : microflow.training.loop.History or dict
        With ``loss`` and optionally ``val_loss``, ``accuracy``, ``val_accuracy``.
    path : str
    title : str, optional

    Returns
    -------
    str
        ``path``.
    """
    records = getattr(history, "history", history)
    if "loss" not in records or len(records["loss"]) == 0:
        raise ValueError("loss_curves needs a history with at least one 'loss' value")
    panels = [("loss", "Loss")] + ([("accuracy", "Accuracy")] if "accuracy" in records else [])
    figure = Figure(figsize=(4.6 * len(panels), 3.6))
    for index, (key, label) in enumerate(panels, start=1):
        ax = figure.add_subplot(1, len(panels), index)
        for name, style in ((key, dict(color="#1f77b4", label="train")),
                            ("val_" + key, dict(color="#ff7f0e", label="validation"))):
            if name in records:
                values = np.asarray(records[name], dtype=np.float64)
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, marker="o" if len(values) <= 30 else None,
                        markersize=3, linewidth=1.6, **style)
        if key == "loss":
            positive = np.concatenate([np.asarray(records[n], dtype=np.float64) for n in
                                       ("loss", "val_loss") if n in records])
            positive = positive[np.isfinite(positive) & (positive > 0)]
            if len(positive) and positive.max() / positive.min() > 30:
                ax.set_yscale("log")
        else:
            ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.02)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label.lower())
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right" if key == "loss" else "lower right")
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return save(figure, path)


# -- faces ------------------------------------------------------------------------------------
def face_grid(images, y_true, y_pred, path, classes, image_shape=(48, 48), columns=8,
              title=None):
    """Faces with their true and predicted labels, green when right and red when wrong.

    Parameters
    ----------
    images : array, (N, H * W) or (N, H, W)
        Grayscale pixels (any range; each face is scaled to its own min and max).
    y_true, y_pred : arrays of int, (N,)
    path : str
    classes : sequence of str
    image_shape : (int, int)
    columns : int
    title : str, optional

    Returns
    -------
    str
        ``path``.
    """
    images = np.asarray(images).reshape(-1, *image_shape)
    if not len(images):
        raise ValueError("face_grid needs at least one image")
    figure, axes = _tiles(len(images), min(columns, len(images)), 1.3, 1.62,
                          top=0.4 if title else 0.1)
    for ax, image, true, predicted in zip(axes, images, y_true, y_pred):
        ax.imshow(image, cmap="gray", interpolation="nearest")
        right = int(true) == int(predicted)
        text = classes[int(true)]
        if not right:
            text += f"\nsaid {classes[int(predicted)]}"
        ax.set_title(text, fontsize=7.5, color=RIGHT if right else WRONG, linespacing=1.1)
        for spine in ax.spines.values():
            spine.set_edgecolor(RIGHT if right else WRONG)
            spine.set_linewidth(1.5)
    handles = [Line2D([], [], color=RIGHT, lw=3, label="right: the true label"),
               Line2D([], [], color=WRONG, lw=3, label="wrong: true, then predicted")]
    figure.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    return save(figure, path)


def confusion_counts(y_true, y_pred, n_classes):
    """``counts[t, p]``: how many examples of class ``t`` were predicted as ``p``."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} and {y_pred.shape}")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def confusion_matrix(y_true, y_pred, path, classes, title=None):
    """The confusion matrix: rows are true classes, columns predictions; each cell shows its
    count, coloured by the fraction of its row (so rare classes read as well as common ones).
    :func:`confusion_counts` gives the numbers.

    Returns
    -------
    str
        ``path``.
    """
    k = len(classes)
    counts = confusion_counts(y_true, y_pred, k)
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    size = 1.6 + 0.62 * k
    figure = Figure(figsize=(size + 1.2, size))
    ax = figure.add_subplot()
    shown = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for t in range(k):
        for p in range(k):
            ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8,
                    color="white" if fractions[t, p] > 0.6 else "black")
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {accuracy:.1%})", fontsize=10)
    figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    figure.tight_layout()
    return save(figure, path)


def first_layer_weights(W, path, image_shape=(48, 48), max_units=32, columns=8, title=None):
    """The first layer's weights as images: column ``j`` of ``W`` (one per hidden unit),
    reshaped to ``image_shape``, red for positive and blue for negative weights.

    Each unit has its own colour scale, symmetric around zero.

    Returns
    -------
    str
        ``path``.
    """
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[0] != math.prod(image_shape):
        raise ValueError(f"W must have shape ({math.prod(image_shape)}, units) for "
                         f"{image_shape} images, got {W.shape}")
    units = min(W.shape[1], max_units)
    figure, axes = _tiles(units, min(columns, units), 1.25, 1.3, top=0.5)
    for unit, ax in enumerate(axes):
        weights = W[:, unit].reshape(image_shape)
        bound = max(float(np.abs(weights).max()), 1e-12)
        ax.imshow(weights, cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
        ax.set_title(f"unit {unit}", fontsize=7)
    return _save_tiles(figure, title or "First-layer weights", units, W.shape[1], path)


def conv_filters(W, path, max_filters=32, columns=8, title=None):
    """A convolution's filters as small images: ``W`` (KH, KW, C_in, C_out), one tile per
    output filter (its first input channel), red positive, blue negative, each on its own
    scale symmetric around zero.

    Returns
    -------
    str
        ``path``.
    """
    W = np.asarray(W)
    if W.ndim != 4:
        raise ValueError(f"W must be filters of shape (KH, KW, C_in, C_out), got {W.shape}")
    count = min(W.shape[3], max_filters)
    figure, axes = _tiles(count, min(columns, count), 1.0, 1.05, top=0.5)
    for index, ax in enumerate(axes):
        weights = W[:, :, 0, index]
        bound = max(float(np.abs(weights).max()), 1e-12)
        ax.imshow(weights, cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
        ax.set_title(f"filter {index}", fontsize=7)
    return _save_tiles(figure, title or f"First-layer filters ({W.shape[0]}x{W.shape[1]})",
                       count, W.shape[3], path, "filters")


def feature_maps(image, maps, path, max_maps=15, columns=8, title=None):
    """One image and what a convolution makes of it: ``image`` (H, W) in grey, then each
    channel of ``maps`` (H', W', C) on its own scale.

    Returns
    -------
    str
        ``path``.
    """
    image, maps = np.asarray(image), np.asarray(maps)
    if image.ndim != 2 or maps.ndim != 3:
        raise ValueError(f"image must be (H, W) and maps (H, W, C), got {image.shape} and "
                         f"{maps.shape}")
    count = min(maps.shape[2], max_maps)
    figure, axes = _tiles(count + 1, min(columns, count + 1), 1.25, 1.3, top=0.5)
    axes[0].imshow(image, cmap="gray", interpolation="nearest")
    axes[0].set_title("input", fontsize=7)
    for index, ax in enumerate(axes[1:]):
        ax.imshow(maps[:, :, index], cmap="viridis", interpolation="nearest")
        ax.set_title(f"map {index}", fontsize=7)
    return _save_tiles(figure, title or "First-layer feature maps of one face", count,
                       maps.shape[2], path, "maps")


__all__ = ['confusion_counts', 'confusion_matrix', 'conv_filters', 'decision_boundary', 'face_grid', 'feature_maps', 'first_layer_weights', 'hidden_unit_maps', 'loss_curves', 'plane', 'save', 'CLASS_COLOURS']


def __dir__():
    return __all__
