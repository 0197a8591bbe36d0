"""Training-step benchmarks: microflow against the same step written by hand in numpy, and
PyTorch (eager, CPU) and JAX (jit, CPU) where they are installed, all in one process.

    python benchmarks/run.py                 # all workloads, writes docs/performance.md
    python benchmarks/run.py --quick W1 W2   # fewer repeats, no files written

One step = forward + backward + SGD update. Every implementation starts from the same
weights and data; a correctness check compares their losses after a few steps before any
timing. Times are medians of per-step times over repeats; compare the ratios, which are taken
in the same run, not the absolute times, which drift on shared machines.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import microflow as mf  # noqa: E402
from microflow.core.files import atomic_write  # noqa: E402


# -- workloads ---------------------------------------------------------------------------
@dataclasses.dataclass
class Workload:
    name: str
    title: str
    sizes: tuple            # layer widths, input first
    hidden: str             # "tanh" or "relu"
    loss: str               # "binary" (one sigmoid output) or "softmax"
    batch: int
    dtype: str
    lr: float

    def data(self):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((self.batch, self.sizes[0])).astype(self.dtype)
        if self.loss == "binary":
            y = rng.integers(0, 2, (self.batch, 1)).astype(self.dtype)
        else:
            y = rng.integers(0, self.sizes[-1], self.batch).astype(np.int64)
        return X, y

    def weights(self):
        rng = np.random.default_rng(1)
        params = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            limit = np.sqrt(6 / (fan_in + fan_out))
            params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(self.dtype))
            params.append(np.zeros(fan_out, self.dtype))
        return params


WORKLOADS = {
    "W1": Workload("W1", "XOR 2-4-1 tanh, sigmoid BCE, N=4, float64", (2, 4, 1), "tanh",
                   "binary", 4, "float64", 0.5),
    "W2": Workload("W2", "donut 2-8-2 relu, softmax CE, N=1000, float64", (2, 8, 2), "relu",
                   "softmax", 1000, "float64", 0.1),
    "W3": Workload("W3", "FER MLP 2304-2000-1000-7 relu, batch 500, float32",
                   (2304, 2000, 1000, 7), "relu", "softmax", 500, "float32", 0.01),
    "W3-64": Workload("W3-64", "FER MLP 2304-2000-1000-7 relu, batch 500, float64",
                      (2304, 2000, 1000, 7), "relu", "softmax", 500, "float64", 0.01),
    "W4": Workload("W4", "MNIST MLP 784-256-10 relu, batch 128, float32", (784, 256, 10),
                   "relu", "softmax", 128, "float32", 0.01),
}


# -- the hand-written numpy step ------------------------------------------------------------
def numpy_step(workload):
    """The step as a careful person writes it by hand: bias sums as products with a ones
    vector, the softmax max as np.maximum over columns, updates in place."""
    X, y = workload.data()
    params = workload.weights()
    n = workload.batch
    lr = workload.lr
    ones = np.ones(n, workload.dtype)
    layers = len(params) // 2
    rows = np.arange(n)
    scratch = [np.empty_like(p) for p in params]

    def row_max(a):
        if a.shape[1] <= 8:
            m = a[:, 0].copy()
            for j in range(1, a.shape[1]):
                np.maximum(m, a[:, j], out=m)
            return m[:, None]
        return a.max(axis=1, keepdims=True)

    def step():
        activations = [X]
        h = X
        for i in range(layers - 1):
            h = h @ params[2 * i] + params[2 * i + 1]
            h = np.tanh(h) if workload.hidden == "tanh" else np.maximum(h, 0, out=h)
            activations.append(h)
        logits = h @ params[-2] + params[-1]
        if workload.loss == "binary":
            loss = np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits))))
            d = np.tanh(logits * 0.5)
            d += 1
            d *= 0.5
            d -= y
            d *= 1.0 / d.size
        else:
            shifted = logits - row_max(logits)
            e = np.exp(shifted)
            total = e @ np.ones(e.shape[1], e.dtype)
            loss = np.mean(np.log(total) - shifted[rows, y])
            e /= total[:, None]
            e[rows, y] -= 1
            e *= 1.0 / n
            d = e
        grads = [None] * len(params)
        for i in reversed(range(layers)):
            grads[2 * i] = activations[i].T @ d
            grads[2 * i + 1] = ones @ d
            if i:
                d = d @ params[2 * i].T
                h = activations[i]
                if workload.hidden == "tanh":
                    d *= 1 - h * h
                else:
                    d *= h > 0
        for p, g, s in zip(params, grads, scratch):
            np.multiply(g, lr, out=s)
            p -= s
        return loss
    return step, params


# -- microflow -------------------------------------------------------------------------------
def microflow_step(workload, timings=None):
    start = time.perf_counter()
    X, y = workload.data()
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, workload.sizes[0]), dtype=workload.dtype, name="x")
        if workload.loss == "binary":
            t = mf.placeholder((None, 1), dtype=workload.dtype, name="t")
        else:
            t = mf.placeholder((None,), dtype="int64", name="t")
        weights = workload.weights()
        variables = [mf.Variable(w) for w in weights]
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
    sess = mf.Session(graph)
    feed = {x: X, t: y}
    fetches = [train, loss]
    built = time.perf_counter()
    sess.run(fetches, feed)
    first = time.perf_counter()
    for v, w in zip(variables, weights):
        v.assign(w)                         # start the timed steps from the same weights
    if timings is not None:
        timings["build"] = built - start
        timings["first_step"] = first - built

    def step():
        return sess.run(fetches, feed)[1]
    return step, [v.value for v in variables]


# -- PyTorch and JAX, where installed ------------------------------------------------------------
def torch_step(workload):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
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


def jax_step(workload):
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


def gemm_step(workload):
    """Only the step's matrix products (forward, both backward products, no bias/activation)."""
    X, _ = workload.data()
    params = workload.weights()[::2]
    activations, h = [X], X
    for W in params:
        h = h @ W
        activations.append(h)
    grads_out = [np.ones_like(a) for a in activations[1:]]

    def step():
        for a, W in zip(activations, params):
            a @ W
        for i in reversed(range(len(params))):
            activations[i].T @ grads_out[i]
            if i:
                grads_out[i] @ params[i].T
        return 0.0
    return step, params


IMPLEMENTATIONS = {"numpy": numpy_step, "microflow": microflow_step, "torch": torch_step,
                   "jax": jax_step}


def available():
    names = ["numpy", "microflow"]
    for module in ("torch", "jax"):
        try:
            __import__(module)
            names.append(module)
        except ImportError:
            pass
    return names


# -- measuring ---------------------------------------------------------------------------------
def per_step_median(step, seconds, repeats):
    """The median over ``repeats`` of the mean time of a batch of steps (~seconds/repeats)."""
    step()
    started = time.perf_counter()
    calls = 0
    while time.perf_counter() - started < 0.05 or calls < 3:
        step()
        calls += 1
    per_call = (time.perf_counter() - started) / calls
    batch = max(1, int(seconds / repeats / per_call))
    samples = []
    for _ in range(repeats):
        gc_was = gc.isenabled()
        gc.disable()
        begin = time.perf_counter()
        for _ in range(batch):
            step()
        samples.append((time.perf_counter() - begin) / batch)
        if gc_was:
            gc.enable()
    return statistics.median(samples)


def peak_memory(make_step, workload, steps=3):
    """Peak bytes allocated (tracemalloc) while building the step and running a few steps."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step, _ = make_step(workload)
    for _ in range(steps):
        step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del step
    gc.collect()
    return peak


def check_losses(workload, names, steps=5):
    """Every implementation's loss after ``steps`` steps from the same start."""
    losses = {}
    for name in names:
        step, _ = IMPLEMENTATIONS[name](workload)
        for _ in range(steps):
            loss = step()
        losses[name] = float(loss)
    reference = losses["numpy"]
    tolerance = 1e-4 if workload.dtype == "float32" else 1e-9
    bad = {k: v for k, v in losses.items() if abs(v - reference) > tolerance * max(1, abs(reference))}
    if bad:
        raise SystemExit(f"{workload.name}: losses differ after {steps} steps: {losses}")
    return losses


def bench(workload, names, seconds, repeats):
    row = {"workload": workload, "times": {}, "memory": {}, "microflow": {}}
    check_losses(workload, names)
    steps = {}
    for name in names:
        if name == "microflow":
            steps[name] = microflow_step(workload, row["microflow"])[0]
        else:
            steps[name] = IMPLEMENTATIONS[name](workload)[0]
    if workload.sizes[0] > 100:
        steps["gemm"] = gemm_step(workload)[0]
    # Interleave the implementations over rounds so that drift hits them all alike.
    rounds = 3
    collected = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            collected[name].append(per_step_median(step, seconds / rounds, max(3, repeats // rounds)))
    row["times"] = {name: min(values) for name, values in collected.items()}
    if workload.sizes[0] > 100:
        for name in ("numpy", "microflow"):
            row["memory"][name] = peak_memory(IMPLEMENTATIONS[name], workload)
    return row


# -- reporting --------------------------------------------------------------------------------
def format_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def table(rows, names):
    header = ["workload", *names]
    if any("gemm" in r["times"] for r in rows):
        header.append("GEMMs alone")
    header += ["microflow / numpy"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        times = row["times"]
        cells = [row["workload"].name]
        for name in names:
            ratio = times[name] / times["numpy"]
            cells.append(format_time(times[name]) + ("" if name == "numpy" else f" ({ratio:.2f}x)"))
        if "GEMMs alone" in header:
            cells.append(format_time(times["gemm"]) if "gemm" in times else "-")
        cells.append(f"**{times['microflow'] / times['numpy']:.2f}x**")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def extra_table(rows):
    lines = ["| workload | graph building | first step (plan compile + run) | steady step | "
             "peak memory numpy | peak memory microflow | microflow / GEMMs |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        mem = row["memory"]
        memory = [f"{mem[k] / 2**20:.0f} MiB" if k in mem else "-" for k in ("numpy", "microflow")]
        gemm = row["times"].get("gemm")
        lines.append(f"| {row['workload'].name} | {format_time(row['microflow']['build'])} | "
                     f"{format_time(row['microflow']['first_step'])} | "
                     f"{format_time(row['times']['microflow'])} | {memory[0]} | {memory[1]} | "
                     f"{row['times']['microflow'] / gemm:.2f}x |" if gemm else
                     f"| {row['workload'].name} | {format_time(row['microflow']['build'])} | "
                     f"{format_time(row['microflow']['first_step'])} | "
                     f"{format_time(row['times']['microflow'])} | {memory[0]} | {memory[1]} | - |")
    return "\n".join(lines)


def plot(rows, names, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=120)
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        ratios = [r["times"][name] / r["times"]["numpy"] for r in rows]
        ax.bar(np.arange(len(rows)) + k * width, ratios, width, label=name)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(rows)) + width * (len(names) - 1) / 2,
                  [r["workload"].name for r in rows])
    ax.set_ylabel("time per step / hand-written numpy")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([0.5, 1, 2, 4, 8]))
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.legend(frameon=False, ncols=len(names))
    ax.set_title("Training step time relative to hand-written numpy (lower is faster)")
    fig.tight_layout()
    with atomic_write(path) as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)


def write_page(rows, names, path):
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}"
    versions = []
    for module in ("torch", "jax"):
        if module in names:
            versions.append(f"{module} {__import__(module).__version__}")
    text = f"""# Performance

A microflow training step costs about what the same step written by hand in numpy costs:
the plan the Session compiles is one numpy call per op with almost nothing around it, and the
matrix products are the same BLAS calls. These figures come from `python benchmarks/run.py`,
which runs every implementation in one process, from the same weights and data, after
checking that they all reach the same loss after five steps.

The workloads (one step = forward + backward + SGD update):

{chr(10).join(f"- **{r['workload'].name}**: {r['workload'].title}" for r in rows)}

Machine: {machine}{'; ' + ', '.join(versions) if versions else ''}.
Times are per training step (forward, backward and SGD update), medians over repeats; the
ratios in parentheses are to the hand-written numpy step of the same run. Absolute times drift
on shared machines; the ratios are what to compare.

{table(rows, names)}

![step time relative to numpy](assets/performance.png)

Graph building and plan compilation are paid once, not per step:

{extra_table(rows)}

## What makes it fast

- **A compiled plan.** `Session.run` looks up a plan cached per (fetches, fed tensors): the
  generated source of one Python function with one line per op, `t7 = k7(t3, c5)`, constants
  and Variables bound as globals and every intermediate deleted after its last use.
- **Fused kernels where a backward rule would make several passes**: `SigmoidGrad`,
  `TanhGrad`, `ReluGrad`, and `SoftmaxCrossEntropyGrad` (softmax minus one-hot over N, in
  place).
- **Reductions as products.** Summing a gradient over the batch for a bias is
  `ones @ g`, a BLAS matrix-vector product, several times faster than `g.sum(axis=0)` for
  narrow arrays; the row max of a softmax over few classes is `np.maximum` over columns.
- **In-place updates.** Each optimizer update writes through a scratch buffer it keeps, so
  a step allocates no weight-sized temporaries.

## Where a step spends its time

`Session.profile` runs a plan through an interpreter that times every kernel, and prints the
ops slowest first: the tool that guided the changes above.

```python
import numpy as np
import microflow as mf

x = mf.placeholder((None, 784), name="x")
y = mf.placeholder((None,), dtype="int64", name="y")
logits = mf.layers.mlp(x, [256], 10)
loss = mf.softmax_cross_entropy(logits, y)
train = mf.optimizers.SGD(0.1).minimize(loss)
feed = {x: np.random.rand(128, 784), y: np.zeros(128, dtype=np.int64)}
report = mf.Session().profile([train, loss], feed, steps=10)
print(report)               # one row per op: type, name, time per step, share
print(report.by_type())     # seconds per step for each op type
```

## Reproduce

```bash
python benchmarks/run.py              # all workloads; rewrites this page and its plot
python benchmarks/run.py --quick W1   # a quick look at one workload, nothing written
```

PyTorch and JAX are measured when installed (`pip install torch jax`).
"""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                        help=f"some of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats; write nothing")
    parser.add_argument("--only", nargs="*", help="implementations to run (default: all found)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="time spent timing each implementation per workload")
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload {', '.join(sorted(unknown))}; choose from {', '.join(WORKLOADS)}")
    args.workloads = args.workloads or list(WORKLOADS)
    names = args.only or available()
    if "numpy" not in names:
        names = ["numpy", *names]
    rows = []
    for key in args.workloads:
        workload = WORKLOADS[key]
        big = workload.sizes[0] > 1000
        seconds = args.seconds or ((1.5 if args.quick else 6.0) * (2 if big else 1))
        repeats = 6 if args.quick else 15
        row = bench(workload, names, seconds, repeats)
        rows.append(row)
        times = row["times"]
        print(f"{key:6s} " + "  ".join(f"{n}={format_time(times[n])}" for n in times) +
              f"  microflow/numpy={times['microflow'] / times['numpy']:.2f}x", flush=True)
    print()
    print(table(rows, names))
    print()
    print(extra_table(rows))
    if not args.quick:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")
        os.makedirs(os.path.join(root, "assets"), exist_ok=True)
        plot(rows, names, os.path.join(root, "assets", "performance.png"))
        write_page(rows, names, os.path.join(root, "performance.md"))
        print("\nwrote docs/performance.md and docs/assets/performance.png")


if __name__ == "__main__":
    main()
