"""The training loop: ``fit()`` runs epochs of minibatch steps with a progress bar, evaluates
metrics and a validation set, stops at the first non-finite loss, and supports early stopping.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import weakref

import numpy as np

from microflow.core.errors import FeedError, NumericsError
from microflow.core.graph import Const, Tensor, Variable, topological_order
from microflow.core.ops.base import apply
from microflow.core.ops.state import CheckFinite, Group, Update
from microflow.core.progress import full_line, progress_bar, short
from microflow.core.random import as_generator
from microflow.training.optimizers import update_ops_of


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss, gradient or optimizer state; the step that
    would have read it was not applied, so the Variables keep their values from before it."""

    def __init__(self, message, epoch, step):
        super().__init__(message)
        self.epoch = epoch
        self.step = step


@dataclasses.dataclass
class History:
    """Per-epoch records of a ``fit()`` run: ``history["loss"]``, ``history["val_loss"]``, and
    one list per metric (``"accuracy"``, ``"val_accuracy"``...)."""

    history: dict = dataclasses.field(default_factory=dict)
    epochs: int = 0
    stopped_early: bool = False
    best_epoch: int | None = None

    def __getitem__(self, key):
        return self.history[key]

    def __getattr__(self, key):         # history.loss, history.val_accuracy...
        history = self.__dict__.get("history", {})
        if key in history:
            return history[key]
        raise AttributeError(f"History has no {key!r}; it recorded {sorted(history)}")

    def __contains__(self, key):
        return key in self.history

    def record(self, logs):
        """Append one epoch's ``{name: value}`` logs."""
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        self.epochs += 1

    def last(self, key):
        """The value of ``key`` at the last epoch recorded."""
        return self.history[key][-1]


class Callback:
    """Hooks into ``fit()``; set ``context.stop = True`` to end training after this epoch."""

    def on_train_begin(self, context):
        """Called once before the first epoch; ``context`` has ``session``, ``variables``
        (the trainable ones), ``history`` and ``stop``."""

    def on_epoch_end(self, epoch, logs, context):
        """Called after each epoch (numbered from 1) with its ``{name: value}`` logs."""

    def on_train_end(self, context):
        """Called once after the last epoch, also when training stopped early."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` (default ``val_loss``) has not improved by ``min_delta`` for
    ``patience`` epochs; with ``restore_best`` put back the weights of the best epoch."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True,
                 mode="min"):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best
        self.sign = 1 if mode == "min" else -1

    def on_train_begin(self, context):
        self.best = math.inf
        self.best_epoch = None
        self.best_weights = None
        self.waited = 0

    def on_epoch_end(self, epoch, logs, context):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but fit() logged only "
                           f"{sorted(logs)}: pass validation= to fit()")
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.waited = value, epoch, 0
            if self.restore_best:
                self.best_weights = [v.value.copy() for v in context.variables]
        else:
            self.waited += 1
            if self.waited >= self.patience:
                context.stop = True

    def on_train_end(self, context):
        context.history.best_epoch = self.best_epoch
        if self.restore_best and self.best_weights is not None:
            for variable, value in zip(context.variables, self.best_weights):
                variable.assign(value)


@dataclasses.dataclass
class _Context:
    session: object
    variables: list
    history: History
    stop: bool = False


def fit(sess, train_op, loss, feeds, epochs, batch_size=None, shuffle=True, validation=None,
        metrics=None, progress=True, seed=None, callbacks=(), train_feeds=None):
    """Train: run ``train_op`` over minibatches of ``feeds`` for ``epochs`` epochs.

    Parameters
    ----------
    sess : Session
    train_op : Tensor
        From ``optimizer.minimize(loss)``.
    loss : Tensor
        The scalar loss (a mean over the batch, so the learning rate does not depend on the
        batch size).
    feeds : dict
        Placeholder -> array, all with the same number of rows; sliced into minibatches
        together. Scalars (e.g. a learning rate placeholder) are fed unchanged.
    epochs : int
    batch_size : int, optional
        Rows per step; None: the whole data set in one step (full-batch gradient descent).
    shuffle : bool
        Shuffle the rows every epoch (with ``seed``).
    validation : dict, optional
        The same placeholders -> held-out arrays, evaluated after every epoch (``val_loss``,
        ``val_<metric>``).
    metrics : dict, optional
        Name -> scalar Tensor (e.g. ``{"accuracy": mf.accuracy(logits, y)}``), averaged over
        the epoch's batches.
    progress : bool
        A progress bar over epochs, with the loss (and validation loss) in its postfix, and
        a line with every figure after each epoch (after every ``epochs // 20``-th epoch and
        the last, for more than 40 epochs); silent when False or when stdout is not a
        terminal (a notebook still gets a bar: a widget when ipywidgets is installed).
    seed : None, int or numpy Generator
        For the shuffling (None follows ``mf.set_seed``).
    callbacks : sequence of Callback
        e.g. ``[mf.train.EarlyStopping(patience=5)]``.
    train_feeds : dict, optional
        Tensor -> value fed unchanged at every training step, and never when evaluating
        (``validation``, ``evaluate``): a dropout rate, a training flag. With
        ``rate = mf.placeholder_with_default(0.0, ())``, ``train_feeds={rate: 0.5}`` trains
        with dropout and evaluates without it. The loss and metrics logged for the epoch are
        those of the training steps, with these values fed.

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        At the first step whose loss, gradients or optimizer state (anything the updates
        read) hold a NaN or Inf, naming it, the epoch and the step. That step is stopped
        before any update, so the Variables and the optimizer's state keep, bit for bit, the
        values they had before it.

    Notes
    -----
    Each step runs the Session's compiled plan on its batch directly (no ``Session.run``
    look-up), the data converted once per call. Called again with the same Session, training
    op, loss, metrics and fed Tensors (one epoch at a time, say), ``fit()`` reuses the step it
    made (made again only if the graph grew), and the batches of the same unshuffled arrays.
    """
    metrics = dict(metrics or {})
    named = (train_op, loss, *metrics.values(), None, *feeds, None, *feeds.values())
    last = None if train_feeds else _LAST_CALLS.get(sess)
    given_batch_size = batch_size
    if last is not None and last.repeats(named, batch_size):
        steps, feeding = last.steps, last.feeding       # checked as when they were made
    else:
        rows, fixed, batched = _split_feeds(feeds, "fit()")
        fixed.update(_training_only(train_feeds, feeds))
        batch_size = rows if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        steps = _steps(sess, train_op, loss, metrics, [*batched, *fixed])
        feeding = steps.feed(list(batched.values()), list(fixed.values()), batch_size)
        if not fixed and steps.last is feeding and \
                all(a is b for a, b in zip(feeds.values(), feeding.arrays)):
            _LAST_CALLS[sess] = _Call(named, given_batch_size, steps, feeding)
    rows, batch_size = len(feeding.arrays[0]), feeding.batch_size
    if validation is not None:
        _split_feeds(validation, "fit()'s validation")
    rng = as_generator(seed) if shuffle else None     # a Generator costs as much as a step
    variables = [v for v in loss.graph.variables if v.trainable] if callbacks else []
    history = History()
    context = _Context(sess, variables, history)
    for callback in callbacks:
        callback.on_train_begin(context)
    bar = progress_bar(epochs, "training", "epoch") if progress else None
    try:
        for epoch in range(1, epochs + 1):
            batches = feeding.shuffled(rng.permutation(rows)) if shuffle else \
                feeding.in_order()
            totals = _train_epoch(steps.plan.run, batches, feeding.counts, epoch,
                                  1 + len(metrics))
            logs = {"loss": totals[0] / rows}
            if metrics:
                logs.update({name: total / rows for name, total in zip(metrics, totals[1:])})
            if validation is not None:
                logs.update(evaluate(sess, loss, validation, metrics, batch_size, prefix="val_"))
            history.record(logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs, context)
            if bar is not None:
                if epoch % max(1, epochs // 20) == 0 or epoch == epochs or context.stop:
                    bar.write(full_line(f"epoch {epoch}/{epochs}", logs), file=bar.fp)
                bar.set_postfix({k: short(v) for k, v in logs.items() if k.endswith("loss")},
                                refresh=False)
                bar.update(1)
            if context.stop:
                history.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
    for callback in callbacks:
        callback.on_train_end(context)
    return history


class _Steps:
    """fit()'s step for one Session, training op, loss, metrics and set of fed Tensors, made
    once: the plan, and how it runs the data it was last given."""

    def __init__(self, sess, train_op, loss, metrics, fed):
        grouped = _with_update_ops(train_op, loss)
        self.plan = sess.plan_for([grouped, _guard(loss, grouped), *metrics], fed)
        graph = loss.graph      # what changes when Tensors or update ops are added to it:
        self.graph_size = (len(graph.tensors), len(graph.update_ops))
        self.last = None        # the _Feeding of the last data, reused for the same arrays

    def feed(self, data, whole, batch_size):
        """The ``_Feeding`` of the arrays ``data`` (sliced into batches) and the values fed
        ``whole``; the last one again for the same arrays, unchanged, and batch size."""
        last = self.last
        if not whole and last is not None and last.batch_size == batch_size:
            for array, given, (shape, dtype) in zip(data, last.arrays, last.kinds):
                if array is not given or array.shape != shape or array.dtype != dtype:
                    break
            else:
                return last
        feeding = _Feeding(self._converted(data, whole), len(data), batch_size,
                           [(a.shape, a.dtype) for a in data])
        if not whole and all(a is b for a, b in zip(feeding.arrays, data)):  # views, not copies
            self.last = feeding         # (it keeps the arrays alive, as its views would)
        return feeding

    def _converted(self, data, whole):
        """The fed values converted once for the whole call, so that each step takes its batch
        with a few comparisons; as given where the data does not fit as a whole but its batches
        may (a placeholder with a fixed batch size): each step then converts its batch, and
        the step that does not fit says why."""
        try:
            return self.plan.converted([*data, *whole])
        except FeedError:
            return [*data, *whole]


class _Feeding:
    """How fit() feeds one data set to its plan: ``arrays`` are the fed values as the plan
    takes them (the ``sliced`` ones first), ``counts`` the rows of every step."""

    def __init__(self, arrays, sliced, batch_size, kinds):
        self.arrays, self.sliced, self.batch_size = arrays, sliced, batch_size
        self.kinds = kinds              # the sliced arrays' shapes and dtypes, as given
        rows = len(arrays[0])
        self.counts = [min(batch_size, rows - start) for start in range(0, rows, batch_size)]
        self._in_order = None

    def in_order(self):
        """The values of every step, the rows as stored: views, made once."""
        if self._in_order is None:
            data, whole, size = self.arrays[:self.sliced], self.arrays[self.sliced:], \
                self.batch_size
            self._in_order = [[a[start:start + size] for a in data] + whole
                              for start in range(0, len(data[0]), size)]
        return self._in_order

    def shuffled(self, order):
        """The values of every step, the rows in ``order``: copies, made as the step comes."""
        data, whole, size = self.arrays[:self.sliced], self.arrays[self.sliced:], self.batch_size
        for start in range(0, len(order), size):
            rows = order[start:start + size]
            yield [a[rows] for a in data] + whole


class _Call:
    """A fit() call on a Session that fed only arrays to slice, as the Tensors and arrays it
    named, its batch size, and the step and feeding it made of them."""

    def __init__(self, named, batch_size, steps, feeding):
        self.named, self.batch_size, self.steps, self.feeding = named, batch_size, steps, feeding

    def repeats(self, named, batch_size):
        """Whether a call is this one again: the same Tensors and arrays (each the same
        object, of the shape and dtype it had), the same batch size, and a graph that has not
        grown."""
        if batch_size != self.batch_size or len(named) != len(self.named) or \
                not all(map(operator.is_, named, self.named)):
            return False
        graph = named[1].graph
        if self.steps.graph_size != (len(graph.tensors), len(graph.update_ops)):
            return False
        for array, (shape, dtype) in zip(self.feeding.arrays, self.feeding.kinds):
            if array.shape != shape or array.dtype != dtype:
                return False
        return True


# Session -> the _Call of fit()'s last call on it: the same call again (one epoch at a time,
# say) checks nothing but that.
_LAST_CALLS = weakref.WeakKeyDictionary()


# Session -> {(train_op, loss, metrics, fed Tensors): _Steps}: fit() called again (one epoch at
# a time, say) makes nothing again, unless the graph grew.
_STEPS = weakref.WeakKeyDictionary()
_STEPS_KEPT = 32                # per Session; the oldest goes first


def _steps(sess, train_op, loss, metrics, fed):
    """The ``_Steps`` of fit() for these, made now if there are none for the graph as it is."""
    if not isinstance(loss, Tensor) or loss.shape not in ((), (1,)):
        raise ValueError(f"fit() needs a scalar loss Tensor, got {loss!r}")
    if not isinstance(train_op, Tensor):
        raise ValueError(f"fit() needs the training op Tensor from minimize(), got {train_op!r}")
    key = (train_op, loss, *metrics.values(), None, *fed)
    made = _STEPS.get(sess)
    if made is None:
        made = _STEPS[sess] = {}
    steps = made.get(key)
    graph = loss.graph
    if steps is None or steps.graph_size != (len(graph.tensors), len(graph.update_ops)):
        steps = _Steps(sess, train_op, loss, metrics.values(), fed)
        made.pop(key, None)
        while len(made) >= _STEPS_KEPT:
            del made[next(iter(made))]
        made[key] = steps
    return steps


def _train_epoch(run, batches, counts, epoch, width):
    """One pass over the ``batches``; the row-weighted sums of the loss and metrics (the
    ``width`` values after the training op's)."""
    totals = [0.0] * width      # Python floats: no numpy call per step
    step = 0
    # numpy's overflow warnings would only repeat what a DivergenceError says below.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            if width == 1:
                total = 0.0
                for step, (arrays, count) in enumerate(zip(batches, counts), start=1):
                    total += float(run(arrays)[1]) * count
                totals[0] = total
            else:
                for step, (arrays, count) in enumerate(zip(batches, counts), start=1):
                    values = run(arrays)
                    for i in range(width):
                        totals[i] += float(values[i + 1]) * count
        except NumericsError as error:
            raise DivergenceError(
                f"{error} at epoch {epoch}, step {step}: the step was not applied, so the "
                "weights keep their values from before it. Try a learning rate ten times "
                "lower.", epoch, step) from None
    return totals


def evaluate(sess, loss, feeds, metrics=None, batch_size=None, prefix=""):
    """The loss and metrics over ``feeds``, averaged over rows (in batches of ``batch_size``)."""
    metrics = dict(metrics or {})
    rows, fixed, batched = _split_feeds(feeds, "evaluate()")
    batch_size = max(batch_size or rows, 1)
    fetches = [loss, *metrics.values()]
    totals = np.zeros(len(fetches))
    for start in range(0, rows, batch_size):
        feed = dict(fixed)
        feed.update({t: a[start:start + batch_size] for t, a in batched.items()})
        count = min(batch_size, rows - start)
        totals += np.asarray(sess.run(fetches, feed), dtype=np.float64) * count
    names = ["loss", *metrics]
    return {prefix + name: float(total / rows) for name, total in zip(names, totals)}


# train_op -> {the update ops it lacks: train_op grouped with them}, made once per set.
_WITH_UPDATES = weakref.WeakKeyDictionary()


def _with_update_ops(train_op, loss):
    """``train_op``, grouped with the model's update ops (batch norm's moving averages) that
    it does not run already (a training op made by ``apply_gradients`` by hand)."""
    ops = update_ops_of(loss)
    if not ops:
        return train_op
    included = set(topological_order([train_op]))
    missing = tuple(op for op in ops if op not in included)
    if not missing:
        return train_op
    made = _WITH_UPDATES.setdefault(train_op, {})
    if missing not in made:
        made[missing] = apply(Group(), [train_op, *missing], name="train_with_updates")
    return made[missing]


# train_op -> {loss: its guard}: one guard per pair, so fit() called again (one epoch at a
# time, say) adds no node to the graph and reuses the Session's compiled plan.
_GUARDS = weakref.WeakKeyDictionary()


def _guard(loss, train_op):
    """``loss`` passed through a check that stops the step, before any update, if the loss or
    anything the updates of ``train_op`` read (gradients, learning rates, optimizer slots)
    holds a NaN or Inf."""
    guards = _GUARDS.setdefault(train_op, {})
    if loss not in guards:
        reads = _update_reads(train_op)
        reads.pop(loss, None)
        guards[loss] = apply(CheckFinite(f"the loss {loss.name!r} is not finite",
                                         labels=reads.values()),
                             (loss, *reads), name=loss.name.rsplit("/", 1)[-1] + "_is_finite")
    return guards[loss]


def _update_reads(train_op):
    """{tensor: what it is} for every value the stateful ops under ``train_op`` read, except
    the Variable each update changes and the outputs of other updates."""
    late, reads = set(), {}
    for node in topological_order([train_op]):
        if node.operation.stateful or any(i in late for i in node.inputs):
            late.add(node)
        if not node.operation.stateful:
            continue
        target = node.inputs[0] if isinstance(node.operation, Update) else None
        for tensor in node.inputs:
            if tensor is target or tensor in late or tensor in reads or _always_finite(tensor):
                continue
            if isinstance(tensor, Variable):
                reads[tensor] = f"the optimizer state {tensor.name!r}"
            elif tensor.gradient_of is not None:
                reads[tensor] = f"the gradient of {tensor.gradient_of.name!r}"
            else:
                reads[tensor] = f"{tensor.name!r}, read by {node.name!r}"
    return reads


def _always_finite(tensor):
    """Whether ``tensor`` can never hold a NaN or Inf: integers, and constants (read-only)
    found finite here, once."""
    if tensor.dtype is not None and tensor.dtype.kind not in "fc":
        return True
    return isinstance(tensor.operation, Const) and bool(np.isfinite(tensor.operation.value).all())


def _training_only(train_feeds, feeds):
    """``train_feeds`` checked: Tensors as keys, none of them also in ``feeds``."""
    train_feeds = dict(train_feeds or {})
    for tensor in train_feeds:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"fit(): train_feeds key {tensor!r} is not a Tensor")
        if tensor in feeds:
            raise ValueError(f"fit(): {tensor.name!r} is in both feeds and train_feeds")
    return train_feeds


def _split_feeds(feeds, caller):
    """(rows, feeds fed whole, feeds sliced by rows); all sliced arrays must agree on rows,
    and have some."""
    fixed, batched = {}, {}
    for tensor, value in feeds.items():
        array = value if type(value) is np.ndarray else np.asarray(value)
        if array.ndim == 0:
            fixed[tensor] = array
        else:
            batched[tensor] = array
    if not batched:
        raise ValueError(f"{caller} needs at least one array to slice into batches in feeds")
    lengths = {len(a) for a in batched.values()}
    if len(lengths) > 1:
        lengths = {_name(t): len(a) for t, a in batched.items()}
        raise ValueError(f"the arrays in {caller}'s feeds have different numbers of rows: "
                         f"{lengths}")
    rows = lengths.pop()
    if rows == 0:
        shapes = ", ".join(f"{_name(t)!r} (shape {a.shape})"
                           for t, a in batched.items())
        raise ValueError(f"the data given to {caller} has no rows: {shapes}")
    return rows, fixed, batched


def _name(tensor):
    return getattr(tensor, "name", None) or repr(tensor)


__all__ = ['fit', 'evaluate', 'Callback', 'EarlyStopping', 'History', 'DivergenceError']


def __dir__():
    return __all__
