"""One training step (forward, backward, SGD update) of a dense-MLP workload, written five ways.

Each builder takes a ``Workload`` and returns ``(step, state)``: ``step()`` runs one step and
returns the loss before the update (a float), ``state`` holds the parameters. All start from
``workload.weights()`` and ``workload.data()``.

- ``careful``: the numpy step a numpy expert writes by hand, the table's baseline.
- ``textbook``: the same step as it is usually written: every op allocates, ``W -= lr * dW``.
- ``microflow``: a graph, ``SGD.minimize``, one ``Session.run`` per step.
- ``torch`` (eager, CPU) and ``jax`` (``jit``), where installed.
- ``gemm``: only the step's matrix products (a floor, not a step).
"""

from __future__ import annotations

import os
import time

import numpy as np

import microflow as mf


# -- the careful numpy step: the baseline ---------------------------------------------------------
def careful(workload):
    """The step as a numpy expert writes it: every buffer preallocated and reused (GEMMs with
    ``out=``), bias add and activations in place, the loss gradient fused with the learning rate
    folded in (each update is one ``W -= dW``), one-hot labels made once with the data, bias
    gradients and softmax row sums as BLAS matrix-vector products with a ones vector, and the
    row max of few classes as an ``np.maximum`` chain over columns."""
    X, y = workload.data()
    params = workload.weights()
    n, dtype, lr = workload.batch, np.dtype(workload.dtype), workload.lr
    layers = len(params) // 2
    widths = workload.sizes[1:]
    ones_n = np.ones(n, dtype)
    scale = lr / n                                    # d(mean loss)/dlogits * lr, folded once
    pre = [np.empty((n, w), dtype) for w in widths]   # each layer's output, in place
    back = [np.empty((n, w), dtype) for w in widths[:-1]]   # gradients of hidden outputs
    grads = [np.empty_like(p) for p in params]
    masks = [np.empty((n, w), bool) for w in widths[:-1]]
    tanh = workload.hidden == "tanh"
    out = pre[-1]
    classes = widths[-1]
    if workload.loss == "binary":
        t = np.empty_like(out)
        u = np.empty_like(out)
        y_scaled = y * scale
    else:
        onehot = np.zeros((n, classes), dtype)
        onehot[np.arange(n), y] = 1
        onehot_scaled = onehot * scale
        ones_c = np.ones(classes, dtype)
        shifted = np.empty_like(out)
        row = np.empty(n, dtype)
        total = np.empty(n, dtype)
        log_total = np.empty(n, dtype)

    def step():
        h = X
        for i in range(layers):
            z = pre[i]
            np.matmul(h, params[2 * i], out=z)
            z += params[2 * i + 1]
            if i < layers - 1:
                if tanh:
                    np.tanh(z, out=z)
                else:
                    np.maximum(z, 0, out=z)
            h = z
        if workload.loss == "binary":
            # loss = mean(max(z, 0) - z y + log1p(e^-|z|)); dz = (sigmoid(z) - y) lr / N
            np.abs(out, out=t)
            np.negative(t, out=t)
            np.exp(t, out=t)
            np.log1p(t, out=t)
            np.maximum(out, 0, out=u)
            np.add(t, u, out=t)
            np.multiply(out, y, out=u)
            np.subtract(t, u, out=t)
            loss = float(ones_n @ t[:, 0]) / n
            d = u
            np.multiply(out, 0.5, out=d)              # sigmoid(z) = (tanh(z / 2) + 1) / 2
            np.tanh(d, out=d)
            d *= 0.5 * scale
            d += 0.5 * scale
            d -= y_scaled
        else:
            # loss = mean(log(sum e^s) - s[y]), s = z - max z; dz = (e^s / sum e^s - onehot) lr/N
            np.maximum(out[:, 0], out[:, 1], out=row)
            for j in range(2, classes):
                np.maximum(row, out[:, j], out=row)
            np.subtract(out, row[:, None], out=shifted)
            picked = float(np.vdot(shifted, onehot))
            d = out
            np.exp(shifted, out=d)
            np.matmul(d, ones_c, out=total)
            np.log(total, out=log_total)
            loss = (float(ones_n @ log_total) - picked) / n
            np.divide(scale, total, out=total)
            d *= total[:, None]
            d -= onehot_scaled
        for i in reversed(range(layers)):
            a = X if i == 0 else pre[i - 1]
            W, b = params[2 * i], params[2 * i + 1]
            np.matmul(a.T, d, out=grads[2 * i])
            np.matmul(ones_n, d, out=grads[2 * i + 1])
            if i:
                dh = back[i - 1]
                np.matmul(d, W.T, out=dh)             # before W changes
                if tanh:
                    np.multiply(a, a, out=a)          # a dies here: 1 - a^2 in its buffer
                    np.subtract(1, a, out=a)
                    dh *= a
                else:
                    np.greater(a, 0, out=masks[i - 1])
                    dh *= masks[i - 1]
                d = dh
            W -= grads[2 * i]
            b -= grads[2 * i + 1]
        return loss
    return step, params


# -- the textbook numpy step -----------------------------------------------------------------------
def textbook(workload):
    """The step as it is usually written: each op allocates, ``W -= lr * dW``."""
    X, y = workload.data()
    params = workload.weights()
    n, lr = workload.batch, workload.lr
    layers = len(params) // 2
    tanh = workload.hidden == "tanh"

    def step():
        activations = [X]
        h = X
        for i in range(layers):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < layers - 1:
                h = np.tanh(h) if tanh else np.maximum(h, 0)
                activations.append(h)
        if workload.loss == "binary":
            loss = np.mean(np.maximum(h, 0) - h * y + np.log1p(np.exp(-np.abs(h))))
            d = (1 / (1 + np.exp(-h)) - y) / n
        else:
            shifted = h - h.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            total = e.sum(axis=1, keepdims=True)
            loss = np.mean(np.log(total[:, 0]) - shifted[np.arange(n), y])
            d = e / total
            d[np.arange(n), y] -= 1
            d = d / n
        grads = [None] * len(params)
        for i in reversed(range(layers)):
            grads[2 * i] = activations[i].T @ d
            grads[2 * i + 1] = d.sum(axis=0)
            if i:
                d = d @ params[2 * i].T
                if tanh:
                    d = d * (1 - activations[i] ** 2)
                else:
                    d = d * (activations[i] > 0)
        for p, g in zip(params, grads):
            p -= lr * g
        return float(loss)
    return step, params


# -- microflow -------------------------------------------------------------------------------------
def microflow_graph(workload):
    """``(graph, fetches, feed, variables)`` of the workload's step in microflow."""
    X, y = workload.data()
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, workload.sizes[0]), dtype=workload.dtype, name="x")
        if workload.loss == "binary":
            t = mf.placeholder((None, 1), dtype=workload.dtype, name="t")
        else:
            t = mf.placeholder((None,), dtype="int64", name="t")
        variables = [mf.Variable(w) for w in workload.weights()]
        h = x
        activation = mf.tanh if workload.hidden == "tanh" else mf.relu
        layers = len(variables) // 2
        for i in range(layers):
            h = h @ variables[2 * i] + variables[2 * i + 1]
            if i < layers - 1:
                h = activation(h)
        if workload.loss == "binary":
            loss = mf.sigmoid_cross_entropy(h, t)
        else:
            loss = mf.softmax_cross_entropy(h, t)
        train = mf.optimizers.SGD(workload.lr).minimize(loss)
    return graph, [train, loss], {x: X, t: y}, variables


def microflow(workload, timings=None):
    """The step as one ``Session.run([train, loss], feed)``; ``timings`` (a dict), when given,
    gets the graph building and first-run (plan compile + one step) times."""
    start = time.perf_counter()
    graph, fetches, feed, variables = microflow_graph(workload)
    sess = mf.Session(graph)
    built = time.perf_counter()
    sess.run(fetches, feed)
    first = time.perf_counter()
    # The timed steps start from the same weights, drawn again into the Variables' arrays
    # (a second set beside them would be this builder's peak memory).
    workload.draw_weights([v.value for v in variables])
    if timings is not None:
        timings["build"] = built - start
        timings["first_step"] = first - built
    run = sess.run

    def step():
        return float(run(fetches, feed)[1])
    return step, [v.value for v in variables]


# -- PyTorch and JAX, where installed ------------------------------------------------------------
def torch(workload):
    import torch
    torch.set_num_threads(THREADS or os.cpu_count() or 1)
    X, y = workload.data()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    params = [torch.from_numpy(w.copy()).requires_grad_() for w in workload.weights()]
    layers = len(params) // 2
    lr = workload.lr

    def step():
        h = X
        for i in range(layers):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < layers - 1:
                h = torch.tanh(h) if workload.hidden == "tanh" else torch.relu(h)
        if workload.loss == "binary":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(h, y)
        else:
            loss = torch.nn.functional.cross_entropy(h, y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)
                p.grad = None
        return loss.item()
    return step, params


def jax(workload):
    import jax
    import jax.numpy as jnp
    if workload.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    X, y = workload.data()
    params = [jnp.asarray(w) for w in workload.weights()]
    layers = len(params) // 2
    lr = workload.lr

    def loss_fn(params, X, y):
        h = X
        for i in range(layers):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i < layers - 1:
                h = jnp.tanh(h) if workload.hidden == "tanh" else jax.nn.relu(h)
        if workload.loss == "binary":
            return jnp.mean(jnp.maximum(h, 0) - h * y + jnp.log1p(jnp.exp(-jnp.abs(h))))
        log_probabilities = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(log_probabilities, y[:, None], axis=1))

    @jax.jit
    def update(params, X, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, X, y)
        return [p - lr * g for p, g in zip(params, grads)], loss

    X, y = jnp.asarray(X), jnp.asarray(y)
    state = {"params": params}

    def step():
        state["params"], loss = update(state["params"], X, y)
        return float(loss)
    return step, state


def gemm(workload):
    """Only the step's matrix products (forward, both backward products), into preallocated
    buffers: what no implementation can go below."""
    X, _ = workload.data()
    params = workload.weights()[::2]
    activations, h = [X], X
    for W in params:
        h = h @ W
        activations.append(h)
    grads_out = [np.ones_like(a) for a in activations[1:]]
    grads_w = [np.empty_like(W) for W in params]
    grads_in = [np.empty_like(a) for a in activations[:-1]]

    def step():
        for a, W, z in zip(activations, params, activations[1:]):
            np.matmul(a, W, out=z)
        for i in reversed(range(len(params))):
            np.matmul(activations[i].T, grads_out[i], out=grads_w[i])
            if i:
                np.matmul(grads_out[i], params[i].T, out=grads_in[i])
        return 0.0
    return step, params


THREADS = None          # set by run.py (--threads); None: the libraries' defaults
BASELINE = "careful"
IMPLEMENTATIONS = {"careful": careful, "textbook": textbook, "microflow": microflow,
                   "torch": torch, "jax": jax}
OPTIONAL = ("torch", "jax")


def builders(workload):
    """The implementations this workload has: its own ``steps`` or the dense-MLP ones."""
    return dict(workload.steps) if workload.steps else dict(IMPLEMENTATIONS)


def available(names=None):
    """The implementation names to run: ``names`` or all, less the optional libraries that
    are not installed."""
    import importlib.util
    names = list(names or IMPLEMENTATIONS)
    return [n for n in names if n not in OPTIONAL or importlib.util.find_spec(n) is not None]
