"""``tf.train``: TF1's optimizers with TF1's update formulas, the global step, and a Saver on
microflow's ``.npz`` checkpoints.

The optimizers are microflow optimizers (``mf.optimizers.Optimizer``: one update op per
Variable, grouped into the training op) whose updates follow TF1's kernels, which differ from
PyTorch's and from microflow's own in places (RMSProp, Adam); each class says its formula.
Their slots (momentum, RMSProp's mean square, Adam's moments and beta powers) are global
Variables named as in TF1 (``W/Momentum``, ``W/Adam``, ``W/Adam_1``, ``beta1_power``):
``global_variables_initializer()`` made after ``minimize`` initializes them, and a ``Saver``
made after ``minimize`` saves them, so training resumes exactly.
"""

from __future__ import annotations

import glob
import os
import re

import numpy as np

import microflow as mf
from microflow.training.checkpoint import CheckpointError
from microflow.compat.v1._tensors import Operation, graph_state, unwrap, wrap
from microflow.compat.v1._unsupported import module_getattr
from microflow.compat.v1._variables import Variable, global_variables, trainable_variables
from microflow.compat.v1.errors import FailedPreconditionError
from microflow.core.files import atomic_write
from microflow.core.ops.base import apply
from microflow.core.ops.state import (ApplyAdaGrad, ApplyMomentum, ApplySGD, Assign, AssignAdd,
                                 Group)


class Optimizer(mf.optimizers.Optimizer):
    """Base of TF1's optimizers: ``minimize``, ``compute_gradients``, ``apply_gradients``
    with TF1's signatures, and slots as TF1 names them."""

    def __init__(self, learning_rate, use_locking=False, name="Optimizer"):
        super().__init__(unwrap(learning_rate))
        self.name = name
        self._slots = {}            # (microflow Variable, slot name) -> TF1 Variable
        self._non_slots = []        # Adam's beta powers
        self._global_step = None

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=1,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """The training op: ``compute_gradients`` then ``apply_gradients`` (which adds 1 to
        ``global_step`` when given)."""
        grads_and_vars = self.compute_gradients(loss, var_list, grad_loss=grad_loss)
        if all(g is None for g, _ in grads_and_vars):
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do "
                "not support gradients, between variables "
                f"{[v.name for _, v in grads_and_vars]} and loss {wrap(unwrap(loss))}.")
        return self.apply_gradients(grads_and_vars, global_step, name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=1, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        """``[(gradient, variable)]`` for ``var_list`` (default: the trainable Variables);
        the gradient is ``None`` for a Variable the loss does not reach."""
        loss = unwrap(loss)
        if not isinstance(loss, mf.Tensor):
            raise TypeError(f"compute_gradients needs the loss Tensor, got {loss!r}")
        variables = trainable_variables() if var_list is None else list(var_list)
        if not variables:
            raise ValueError("No variables to optimize.")
        variables = [wrap(unwrap(v)) for v in variables]
        for variable in variables:
            if not isinstance(variable, Variable):
                raise TypeError(f"compute_gradients: {variable!r} in var_list is not a Variable")
        grads = mf.gradients(loss, [v.microflow for v in variables],
                             None if grad_loss is None else [unwrap(grad_loss)])
        return [(wrap(g), v) for g, v in zip(grads, variables)]

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """The op that applies each ``(gradient, variable)`` pair; pairs whose gradient is
        ``None`` are skipped, as in TF1."""
        grads_and_vars = list(grads_and_vars)
        pairs = [(unwrap(v), unwrap(g)) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable: "
                             f"{[getattr(v, 'name', v) for _, v in grads_and_vars]}.")
        self._global_step = unwrap(global_step)
        self._first = pairs[0][0]
        try:
            train = super().apply_gradients(pairs, name=name or self.name)
        finally:
            self._global_step = None
        return Operation.of(train)

    def _finish(self, updates, state):
        finish = self._finish_step(updates, state)
        step = self._global_step
        if step is not None:
            finish.append(apply(AssignAdd(), [step, np.ones((), step.dtype), *updates, *finish],
                                name="increment_global_step"))
        return finish

    def _finish_step(self, updates, state):
        """Ops to run after the Variables' updates (Adam's beta powers)."""
        return []

    def _slot(self, variable, slot_name, value=0.0):
        """A global, non-trainable Variable ``<variable>/<slot_name>`` shaped like it."""
        graph = variable.graph
        with graph.name_scope(variable.name + "/"):
            slot = Variable(np.full(variable.shape, value, variable.dtype), False,
                            name=slot_name)
        self._slots[variable, slot_name] = slot
        return slot.microflow

    def get_slot(self, var, name):
        """The slot Variable ``name`` (e.g. ``"Momentum"``) of ``var``, or None."""
        return self._slots.get((unwrap(var), name))

    def get_slot_names(self):
        """The names of this optimizer's slots."""
        return sorted({name for _, name in self._slots})

    def variables(self):
        """Every Variable this optimizer made."""
        return self._non_slots + list(self._slots.values())


def _group(tensors):
    return apply(Group(), tensors, name="update")


def _one_minus(value, like):
    """``1 - value`` computed in ``like``'s dtype, as TF1's kernels do (``1 - float32(0.9)``
    is 0.100000024, not 0.1)."""
    return np.subtract(1, np.asarray(value, like.dtype), dtype=like.dtype)


class GradientDescentOptimizer(Optimizer):
    """``w -= lr * g``."""

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(learning_rate, use_locking, name)

    def _update(self, variable, grad, lr, state):
        return apply(ApplySGD(), (variable, grad, lr), name="update")


class MomentumOptimizer(Optimizer):
    """``accum = momentum * accum + g; w -= lr * accum`` (``use_nesterov``:
    ``w -= lr * (g + momentum * accum)``), ``accum`` the slot ``Momentum``, from zeros."""

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(learning_rate, use_locking, name)
        self.momentum = momentum
        self.use_nesterov = bool(use_nesterov)

    def _update(self, variable, grad, lr, state):
        accum = self._slot(variable, "Momentum")
        return apply(ApplyMomentum(self.momentum, self.use_nesterov),
                     (variable, grad, lr, accum), name="update")


class AdagradOptimizer(Optimizer):
    """``accum += g**2; w -= lr * g / sqrt(accum)``, ``accum`` (slot ``Adagrad``) starting
    at ``initial_accumulator_value`` (0.1); no epsilon, as in TF1."""

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False,
                 name="Adagrad"):
        super().__init__(learning_rate, use_locking, name)
        if initial_accumulator_value <= 0:
            raise ValueError(f"initial_accumulator_value must be positive: "
                             f"{initial_accumulator_value}")
        self.initial_accumulator_value = initial_accumulator_value

    def _update(self, variable, grad, lr, state):
        accum = self._slot(variable, "Adagrad", self.initial_accumulator_value)
        return apply(ApplyAdaGrad(0.0), (variable, grad, lr, accum), name="update")


class RMSPropOptimizer(Optimizer):
    """TF1's RMSProp::

        ms  = ms + (g**2 - ms) * (1 - decay)              # slot RMSProp, starts at ONES
        mom = momentum * mom + lr * g / sqrt(ms + epsilon)  # slot RMSProp_1, from zeros
        w  -= mom

    The mean square starts at 1 (not 0) and epsilon (1e-10) is inside the square root.
    ``centered=True`` also keeps the mean gradient ``mg`` (slot RMSProp_2) and divides by
    ``sqrt(ms - mg**2 + epsilon)``.
    """

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10,
                 use_locking=False, centered=False, name="RMSProp"):
        super().__init__(learning_rate, use_locking, name)
        self.decay = decay
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = bool(centered)

    def _update(self, variable, grad, lr, state):
        ms = self._slot(variable, "RMSProp", 1.0)
        mom = self._slot(variable, "RMSProp_1")
        new_ms = ms + (mf.square(grad) - ms) * _one_minus(self.decay, variable)
        denominator = new_ms
        updates = [apply(Assign(), (ms, new_ms))]
        if self.centered:
            mg = self._slot(variable, "RMSProp_2")
            new_mg = mg + (grad - mg) * _one_minus(self.decay, variable)
            denominator = new_ms - mf.square(new_mg)
            updates.append(apply(Assign(), (mg, new_mg)))
        new_mom = mom * self.momentum + lr * grad / mf.sqrt(denominator + self.epsilon)
        updates += [apply(Assign(), (mom, new_mom)),
                    apply(ApplySGD(), (variable, new_mom, np.ones((), variable.dtype)))]
        return _group(updates)


class AdamOptimizer(Optimizer):
    """TF1's Adam (epsilon is the paper's "epsilon hat", added after the bias correction)::

        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        m    = m + (g - m) * (1 - beta1)                  # slot Adam, from zeros
        v    = v + (g**2 - v) * (1 - beta2)               # slot Adam_1, from zeros
        w   -= lr_t * m / (sqrt(v) + epsilon)

    ``beta1**t`` and ``beta2**t`` are the global Variables ``beta1_power`` and
    ``beta2_power`` (starting at beta1 and beta2, multiplied by them after each step).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08,
                 use_locking=False, name="Adam"):
        super().__init__(learning_rate, use_locking, name)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def _begin(self):
        graph, dtype = self._first.graph, self._first.dtype
        with graph.name_scope(""):
            powers = (Variable(np.asarray(self.beta1, dtype), False, name="beta1_power"),
                      Variable(np.asarray(self.beta2, dtype), False, name="beta2_power"))
        self._non_slots += powers
        return tuple(p.microflow for p in powers)

    def _update(self, variable, grad, lr, powers):
        beta1_power, beta2_power = (p if p.dtype == variable.dtype else mf.cast(p, variable.dtype)
                                    for p in powers)
        m = self._slot(variable, "Adam")
        v = self._slot(variable, "Adam_1")
        new_m = m + (grad - m) * _one_minus(self.beta1, variable)
        new_v = v + (mf.square(grad) - v) * _one_minus(self.beta2, variable)
        lr_t = lr * mf.sqrt(1 - beta2_power) / (1 - beta1_power)
        step = new_m / (mf.sqrt(new_v) + self.epsilon)
        return _group([apply(Assign(), (m, new_m)), apply(Assign(), (v, new_v)),
                       apply(ApplySGD(), (variable, step, lr_t))])

    def _finish_step(self, updates, powers):
        beta1_power, beta2_power = powers
        return [apply(Assign(), (beta1_power, beta1_power * self.beta1), name="update_beta1"),
                apply(Assign(), (beta2_power, beta2_power * self.beta2), name="update_beta2")]


# -- the global step ----------------------------------------------------------------------
def get_global_step(graph=None):
    """The graph's global step Variable, or None."""
    return graph_state(graph or mf.get_default_graph()).global_step


def get_or_create_global_step(graph=None):
    """The graph's global step: an int64 Variable ``global_step``, made on first use."""
    graph = graph or mf.get_default_graph()
    state = graph_state(graph)
    if state.global_step is None:
        with graph.as_default(), graph.name_scope(""):
            state.global_step = Variable(np.zeros((), np.int64), False, name="global_step")
    return state.global_step


create_global_step = get_or_create_global_step


# -- checkpoints --------------------------------------------------------------------------
_TENSORFLOW_SUFFIXES = (".index", ".meta")
_STATE_FILE = "checkpoint"


class Saver:
    """Saves and restores Variables (default: every global Variable when the Saver is made,
    so make it after ``minimize`` to include the optimizer's slots) in microflow's ``.npz``
    checkpoints: ``save(sess, "model.ckpt")`` writes ``model.ckpt.npz`` atomically and returns
    the prefix ``restore`` takes. TensorFlow's own checkpoint files are not read."""

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                 saver_def=None, builder=None, defer_build=False, allow_empty=False,
                 write_version=2, pad_step_number=False, save_relative_paths=False,
                 filename=None):
        if isinstance(var_list, dict):
            raise TypeError("Saver(var_list={name: variable}) is not supported by microflow's "
                            "TF1 layer: checkpoints are keyed by the Variables' own names; "
                            "pass a list")
        variables = global_variables() if var_list is None else list(var_list)
        self._variables = []
        for variable in variables:
            variable = unwrap(variable)
            if not isinstance(variable, mf.Variable):
                raise TypeError(f"Saver: {variable!r} is not a Variable")
            self._variables.append(variable)
        if not self._variables and not allow_empty:
            raise ValueError("No variables to save")
        self.max_to_keep = max_to_keep
        self._kept = []

    def save(self, sess, save_path, global_step=None, latest_filename=None,
             meta_graph_suffix="meta", write_meta_graph=True, write_state=True,
             strip_default_attrs=False):
        """Write the Variables' values to ``save_path`` (``-<step>`` appended when
        ``global_step`` is given) plus ``.npz``; returns that prefix. Raises
        ``FailedPreconditionError`` for a Variable ``sess`` has not initialized."""
        prefix = os.fspath(save_path)
        if global_step is not None:
            step = global_step
            if not isinstance(step, int | np.integer):
                step = sess.run(step)
            prefix = f"{prefix}-{int(step)}"
        missing = [v for v in self._variables if v not in sess._initialized]
        if missing:
            raise FailedPreconditionError(None, None, f"Attempting to save uninitialized "
                                          f"value {missing[0].name}: run its initializer first")
        mf.checkpoint.save(prefix + ".npz", self._variables)
        if prefix in self._kept:
            self._kept.remove(prefix)
        self._kept.append(prefix)
        while self.max_to_keep and len(self._kept) > self.max_to_keep:
            old = self._kept.pop(0)
            if os.path.exists(old + ".npz"):
                os.remove(old + ".npz")
        if write_state:
            folder = os.path.dirname(os.path.abspath(prefix))
            with atomic_write(os.path.join(folder, latest_filename or _STATE_FILE), "w") as f:
                f.write(f'model_checkpoint_path: "{os.path.basename(prefix)}"\n')
                for kept in self._kept:
                    f.write(f'all_model_checkpoint_paths: "{os.path.basename(kept)}"\n')
        return prefix

    def restore(self, sess, save_path):
        """Load the Variables from the checkpoint ``save_path`` (a prefix ``save`` returned);
        they count as initialized in ``sess``. A TensorFlow checkpoint is refused with a
        ``CheckpointError`` that says so."""
        prefix = os.fspath(save_path)
        _refuse_tensorflow_files(prefix)
        path = prefix if prefix.endswith(".npz") else prefix + ".npz"
        mf.checkpoint.restore(path, self._variables)
        sess._initialized.update(self._variables)


def _refuse_tensorflow_files(prefix):
    tensorflow = prefix.endswith(_TENSORFLOW_SUFFIXES) or ".data-" in os.path.basename(prefix) \
        or any(os.path.exists(prefix + suffix) for suffix in _TENSORFLOW_SUFFIXES) \
        or glob.glob(glob.escape(prefix) + ".data-*")
    if tensorflow and not os.path.exists(prefix + ".npz"):
        raise CheckpointError(
            f"{prefix!r} is a TensorFlow checkpoint (.index / .data-* / .meta files): reading "
            "TensorFlow's own checkpoint format is out of scope for microflow's TF1 layer. It "
            "saves and restores microflow's .npz checkpoints: train again under microflow, or "
            "load the values with TensorFlow and pass them to Variable.load()")


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint a Saver wrote in ``checkpoint_dir``, or None."""
    path = os.path.join(checkpoint_dir, latest_filename or _STATE_FILE)
    try:
        with open(path) as handle:
            match = re.search(r'^model_checkpoint_path: "(.*)"$', handle.read(), re.MULTILINE)
    except FileNotFoundError:
        return None
    return os.path.join(checkpoint_dir, match.group(1)) if match else None


__getattr__ = module_getattr("train")
