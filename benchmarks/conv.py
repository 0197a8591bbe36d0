"""Workload W5, the course's FER CNN: microflow against the same step by hand in numpy
(im2col + one GEMM per convolution, preallocated buffers) and PyTorch (CPU, eager), in one
process, with the same threads.

    python benchmarks/run.py W5          # in the benchmark table, with the other workloads
    python benchmarks/conv.py            # W5 alone: ratios, peak memory, GEMM floor, profile
    python benchmarks/conv.py --quick    # fewer repeats
    python benchmarks/conv.py --threads 2    # BLAS and torch on two threads (default one)

Network: 48x48x1 images, conv 5x5x20 SAME + relu, max pool 2, conv 5x5x50 SAME + relu, max
pool 2, dense 500 relu, dense 300 relu, dense 7, softmax cross-entropy; batch 64, float32;
SGD with momentum 0.9. One step = forward + backward + update. Every implementation starts
from the same weights and data, and their losses are checked equal after a few steps before
anything is timed.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

if __package__ in (None, ""):       # run as a script: make the repository importable
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import microflow as mf  # noqa: E402
from benchmarks.workloads import Workload, register  # noqa: E402

BATCH, SIDE, CLASSES = 64, 48, 7
CONVS = [(5, 1, 20), (5, 20, 50)]          # (window, channels in, channels out)
DENSE = [(12 * 12 * 50, 500), (500, 300), (300, CLASSES)]
LR, MOMENTUM = 0.01, 0.9
TITLE = ("FER CNN 48x48x1, conv 5x5x20 SAME relu, pool 2, conv 5x5x50 SAME relu, pool 2, "
         "dense 500-300-7, batch 64, float32, SGD momentum")


def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (BATCH, SIDE, SIDE, 1)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    return X, y


def weights():
    """[W1, b1, W2, b2, W3, b3, W4, b4, W5, b5]: Glorot uniform, zero biases; filters HWIO."""
    rng = np.random.default_rng(1)
    params = []
    for k, c_in, c_out in CONVS:
        limit = np.sqrt(6 / (k * k * (c_in + c_out)))
        params += [rng.uniform(-limit, limit, (k, k, c_in, c_out)).astype(np.float32),
                   np.zeros(c_out, np.float32)]
    for fan_in, fan_out in DENSE:
        limit = np.sqrt(6 / (fan_in + fan_out))
        params += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                   np.zeros(fan_out, np.float32)]
    return params


# -- by hand in numpy ---------------------------------------------------------------------------
def numpy_step():
    """The step as a careful person writes it: im2col rows copied from a strided view into a
    preallocated matrix, one GEMM per convolution and per gradient, col2im as 25 adds of
    contiguous blocks (channels first), pooling as np.maximum of the four cells, biases summed as products with ones,
    updates in place."""
    from numpy.lib.stride_tricks import as_strided
    X, y = data()
    params = weights()
    velocity = [np.zeros_like(p) for p in params]
    step_buf = [np.empty_like(p) for p in params]
    n = BATCH
    rows = np.arange(n)
    f32 = np.float32
    # Preallocated buffers: padded inputs, im2col rows, their gradients.
    pad1 = np.zeros((n, SIDE + 4, SIDE + 4, 1), f32)
    cols1 = np.empty((n * SIDE * SIDE, 25), f32)
    pad2 = np.zeros((n, 28, 28, 20), f32)
    cols2 = np.empty((n * 24 * 24, 500), f32)
    d_cols2 = np.empty((500, n * 24 * 24), f32)
    d_pad2 = np.zeros((20, n, 28, 28), f32)
    ones = {m: np.ones(m, f32) for m in (n, n * 48 * 48, n * 24 * 24)}

    def im2col(padded, cols, out_side, k):
        c = padded.shape[3]
        s = padded.strides
        view = as_strided(padded, (n, out_side, out_side, k, k, c),
                          (s[0], s[1], s[2], s[1], s[2], s[3]), writeable=False)
        np.copyto(cols.reshape(n, out_side, out_side, k, k, c), view)

    def pool(a):
        h = a.shape[1] // 2
        out = np.maximum(a[:, 0::2, 0::2], a[:, 0::2, 1::2])
        np.maximum(out, a[:, 1::2, 0::2], out=out)
        np.maximum(out, a[:, 1::2, 1::2], out=out)
        assert out.shape[1] == h
        return out

    def unpool(d_out, a, pooled):
        # The gradient to each window's max (ties: every tied cell; after a relu a tie is
        # a window of zeros, whose gradient the relu's mask removes anyway).
        n_, h, w, c = pooled.shape
        mask = a.reshape(n_, h, 2, w, 2, c) == pooled[:, :, None, :, None, :]
        mask = mask * d_out[:, :, None, :, None, :]
        return mask.reshape(a.shape)

    def step():
        W1, b1, W2, b2, W3, b3, W4, b4, W5, b5 = params
        pad1[:, 2:50, 2:50] = X
        im2col(pad1, cols1, 48, 5)
        a1 = cols1 @ W1.reshape(25, 20)
        a1 += b1
        np.maximum(a1, 0, out=a1)
        a1 = a1.reshape(n, 48, 48, 20)
        p1 = pool(a1)
        pad2[:, 2:26, 2:26] = p1
        im2col(pad2, cols2, 24, 5)
        a2 = cols2 @ W2.reshape(500, 50)
        a2 += b2
        np.maximum(a2, 0, out=a2)
        a2 = a2.reshape(n, 24, 24, 50)
        p2 = pool(a2)
        flat = p2.reshape(n, 7200)
        h3 = flat @ W3
        h3 += b3
        np.maximum(h3, 0, out=h3)
        h4 = h3 @ W4
        h4 += b4
        np.maximum(h4, 0, out=h4)
        logits = h4 @ W5
        logits += b5
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e @ np.ones(CLASSES, f32)
        loss = np.mean(np.log(total) - shifted[rows, y])
        e /= total[:, None]
        e[rows, y] -= 1
        e *= 1.0 / n
        grads = [None] * 10
        grads[8], grads[9] = h4.T @ e, ones[n] @ e
        d = e @ W5.T
        d *= h4 > 0
        grads[6], grads[7] = h3.T @ d, ones[n] @ d
        d = d @ W4.T
        d *= h3 > 0
        grads[4], grads[5] = flat.T @ d, ones[n] @ d
        d = (d @ W3.T).reshape(n, 12, 12, 50)
        d = unpool(d, a2, p2)
        d *= a2 > 0
        d2 = d.reshape(-1, 50)
        grads[2], grads[3] = (cols2.T @ d2).reshape(W2.shape), ones[n * 576] @ d2
        # col2im channels first: each window offset's rows are one contiguous block.
        np.matmul(W2.reshape(500, 50), d2.T, out=d_cols2)
        d_pad2.fill(0)
        blocks = d_cols2.reshape(5, 5, 20, n, 24, 24)
        for i in range(5):
            for j in range(5):
                d_pad2[:, :, i:i + 24, j:j + 24] += blocks[i, j]
        d = unpool(d_pad2[:, :, 2:26, 2:26].transpose(1, 2, 3, 0), a1, p1)
        d *= a1 > 0
        d1 = d.reshape(-1, 20)
        grads[0], grads[1] = (cols1.T @ d1).reshape(W1.shape), ones[n * 2304] @ d1
        for p, g, v, s in zip(params, grads, velocity, step_buf):
            v *= MOMENTUM
            v += g
            np.multiply(v, LR, out=s)
            p -= s
        return float(loss)
    return step


# -- microflow -----------------------------------------------------------------------------------
def microflow_network():
    """The W5 graph: (session, [train, loss], feed, variables)."""
    X, y = data()
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None, SIDE, SIDE, 1), name="x")
        labels = mf.placeholder((None,), dtype="int64", name="y")
        v = [mf.Variable(w, name=name) for w, name in
             zip(weights(), ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4", "W5", "b5"])]
        h = mf.relu(mf.conv2d(x, v[0], padding="SAME") + v[1])
        h = mf.max_pool(h)
        h = mf.relu(mf.conv2d(h, v[2], padding="SAME") + v[3])
        h = mf.layers.flatten(mf.max_pool(h))
        h = mf.relu(h @ v[4] + v[5])
        h = mf.relu(h @ v[6] + v[7])
        loss = mf.softmax_cross_entropy(h @ v[8] + v[9], labels)
        train = mf.optimizers.SGD(LR, momentum=MOMENTUM).minimize(loss)
    return mf.Session(graph), [train, loss], {x: X, labels: y}, v


def microflow_step(timings=None):
    started = time.perf_counter()
    sess, fetches, feed, _ = microflow_network()
    built = time.perf_counter()
    first = float(sess.run(fetches, feed)[1])
    if timings is not None:
        timings["build"] = built - started
        timings["first_step"] = time.perf_counter() - built
    losses = [first]

    def step():
        if losses:                      # the first step ran already (compiling the plan)
            return losses.pop()
        return float(sess.run(fetches, feed)[1])
    return step


# -- PyTorch -----------------------------------------------------------------------------------
def torch_step():
    import torch
    import torch.nn.functional as F
    from benchmarks import implementations
    torch.set_num_threads(implementations.THREADS or os.cpu_count() or 1)   # as numpy's BLAS
    X, y = data()
    X = torch.from_numpy(X.transpose(0, 3, 1, 2).copy())        # NCHW
    y = torch.from_numpy(y)
    w = weights()
    # Filters HWIO -> OIHW; W3's rows from (h, w, c) order to torch's (c, h, w) flattening.
    w[0] = w[0].transpose(3, 2, 0, 1)
    w[2] = w[2].transpose(3, 2, 0, 1)
    w[4] = w[4].reshape(12, 12, 50, 500).transpose(2, 0, 1, 3).reshape(7200, 500)
    params = [torch.from_numpy(np.ascontiguousarray(p)).requires_grad_() for p in w]
    optimizer = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)

    def step():
        c1w, c1b, c2w, c2b, W3, b3, W4, b4, W5, b5 = params
        h = F.max_pool2d(F.relu(F.conv2d(X, c1w, c1b, padding=2)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, c2w, c2b, padding=2)), 2)
        h = F.relu(h.reshape(BATCH, -1) @ W3 + b3)
        h = F.relu(h @ W4 + b4)
        loss = F.cross_entropy(h @ W5 + b5, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


# -- the GEMM floor ------------------------------------------------------------------------------
def gemm_step():
    """Only the step's matrix products, at their shapes and with their transposed operands:
    per convolution the forward GEMM, the filter gradient (rows.T @ g) and, for the second,
    the input gradient (g @ W.T); per dense layer the forward product and both gradients."""
    rng = np.random.default_rng(2)
    m1, m2 = BATCH * 48 * 48, BATCH * 24 * 24
    # (rows, inner, columns, which operand is a transposed view: "", "a" or "b")
    products = [(m1, 25, 20, ""), (25, m1, 20, "a"),
                (m2, 500, 50, ""), (500, m2, 50, "a"), (m2, 50, 500, "b")]
    for fan_in, fan_out in DENSE:
        products += [(BATCH, fan_in, fan_out, ""), (fan_in, BATCH, fan_out, "a"),
                     (BATCH, fan_out, fan_in, "b")]
    pairs = []
    for rows, inner, columns, transposed in products:
        a = rng.standard_normal((inner, rows) if "a" in transposed else (rows, inner))
        b = rng.standard_normal((columns, inner) if "b" in transposed else (inner, columns))
        a, b = a.astype(np.float32), b.astype(np.float32)
        pairs.append((a.T if "a" in transposed else a, b.T if "b" in transposed else b))

    def step():
        for a, b in pairs:
            a @ b
        return 0.0
    return step


IMPLEMENTATIONS = {"numpy": numpy_step, "microflow": microflow_step, "torch": torch_step}


# -- W5 in benchmarks/run.py's table: builders of the form workload -> (step, state) ----------
def _builder(make):
    takes_timings = bool(inspect.signature(make).parameters)   # microflow's build/compile times

    def build(workload, timings=None):
        step = make(timings) if timings is not None and takes_timings else make()
        return step, None
    build.__name__ = make.__name__
    return build


def _floor(workload):
    return gemm_step(), None


W5 = register(Workload(
    "W5", TITLE, sizes=(SIDE * SIDE, CLASSES), hidden="relu", loss="softmax", batch=BATCH,
    dtype="float32", lr=LR, big=True, floor=_floor,
    steps={"careful": _builder(numpy_step), "microflow": _builder(microflow_step),
           "torch": _builder(torch_step)}))


# -- measuring -----------------------------------------------------------------------------------
def per_step(step, seconds):
    """The median per-step time over short batches of steps lasting ~``seconds`` in all."""
    step()
    samples, started = [], time.perf_counter()
    while time.perf_counter() - started < seconds or len(samples) < 3:
        gc.disable()
        begin = time.perf_counter()
        step()
        samples.append(time.perf_counter() - begin)
        gc.enable()
    return statistics.median(samples)


def peak_memory(make_step, steps=3):
    """Peak bytes numpy and Python allocate (tracemalloc) while building and running steps."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step = make_step()
    for _ in range(steps):
        step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del step
    gc.collect()
    return peak


def check_losses(names, steps=4):
    losses = {}
    for name in names:
        step = IMPLEMENTATIONS[name]()
        losses[name] = [step() for _ in range(steps)]
    reference = np.array(losses["numpy"])
    for name, values in losses.items():
        if not np.allclose(values, reference, rtol=2e-4, atol=2e-5):
            raise SystemExit(f"W5: losses differ after {steps} steps: {losses}")
    return losses


def profile(steps=5):
    """Session.profile of the microflow step: seconds per step by op type."""
    sess, fetches, feed, _ = microflow_network()
    sess.run(fetches, feed)
    return sess.profile(fetches, feed, steps=steps)


def run(names=None, seconds=6.0, rounds=3):
    """{"times", "memory", "losses", "profile"} for W5; times interleaved over ``rounds``."""
    names = names or available()
    losses = check_losses(names)
    steps = {name: IMPLEMENTATIONS[name]() for name in names}
    steps["gemm"] = gemm_step()
    collected = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            collected[name].append(per_step(step, seconds / rounds))
    times = {name: min(values) for name, values in collected.items()}
    del steps
    memory = {name: peak_memory(IMPLEMENTATIONS[name]) for name in ("numpy", "microflow")}
    return {"times": times, "memory": memory, "losses": losses, "profile": profile()}


def available():
    names = ["numpy", "microflow"]
    try:
        import torch  # noqa: F401
        names.append("torch")
    except ImportError:
        pass
    return names


def report(result):
    times, memory = result["times"], result["memory"]
    ms = {name: f"{value * 1e3:.1f} ms" for name, value in times.items()}
    lines = [f"W5: {TITLE}", "", "per step: " + ", ".join(f"{k} {v}" for k, v in ms.items())]
    lines.append(f"microflow / numpy: {times['microflow'] / times['numpy']:.2f}x")
    if "torch" in times:
        lines.append(f"microflow / torch: {times['microflow'] / times['torch']:.2f}x")
    lines.append(f"microflow / GEMMs alone: {times['microflow'] / times['gemm']:.2f}x "
                 f"(numpy / GEMMs {times['numpy'] / times['gemm']:.2f}x)")
    lines.append(f"peak memory: numpy {memory['numpy'] / 2**20:.0f} MiB, microflow "
                 f"{memory['microflow'] / 2**20:.0f} MiB "
                 f"({memory['microflow'] / memory['numpy']:.2f}x)")
    lines += ["", "microflow by op type (ms per step):"]
    for op, seconds in result["profile"].by_type().items():
        if seconds > 2e-4:
            lines.append(f"  {op:24s} {seconds * 1e3:7.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds")
    parser.add_argument("--only", nargs="*", help="implementations (default: all found)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and torch threads, the same for all (default 1, as run.py)")
    args = parser.parse_args(argv)
    from benchmarks.run import limit_threads
    limit_threads(args.threads)
    names = args.only or available()
    if "numpy" not in names:
        names = ["numpy", *names]
    result = run(names, seconds=2.0 if args.quick else 6.0, rounds=2 if args.quick else 3)
    print(report(result))


if __name__ == "__main__":
    main()
