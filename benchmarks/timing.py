"""Measuring: interleaved rounds in one process, medians, peak memory, the loss check, and the
scaling figures of long chains (each size in a fresh process, for its peak memory).

Absolute times drift on a shared machine (other processes take the cores for a while); rounds
that interleave the implementations spread that drift over all of them, so the ratios taken
in one run are what to compare.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc


def calibrate(step, seconds):
    """How many calls of ``step`` take about ``seconds`` (at least 1), after a warm-up."""
    step()
    started = time.perf_counter()
    calls = 0
    while time.perf_counter() - started < min(0.02, seconds) or calls < 2:
        step()
        calls += 1
    per_call = (time.perf_counter() - started) / calls
    return max(1, int(seconds / per_call))


def sample(step, calls):
    """Mean seconds per call over ``calls`` back-to-back calls, the garbage collector off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        begin = time.perf_counter()
        for _ in range(calls):
            step()
        return (time.perf_counter() - begin) / calls
    finally:
        if was_enabled:
            gc.enable()


def interleaved(steps, seconds=1.0, rounds=20):
    """Per-call times of every step in ``steps`` (name -> callable) over ``rounds`` rounds:
    each round takes one sample of every step in turn (the order rotating), ``seconds`` per
    step in all. Returns ``{name: {"median": s, "samples": [one per round]}}``; samples of
    the same round were taken side by side, which ``paired_ratios`` uses."""
    names = list(steps)
    per_sample = seconds / rounds
    calls = {name: calibrate(steps[name], per_sample) for name in names}
    collected = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            collected[name].append(sample(steps[name], calls[name]))
    return {name: {"median": statistics.median(values), "samples": values}
            for name, values in collected.items()}


def paired_ratios(measured, baseline):
    """``{name: median over rounds of (its sample / the baseline's sample of that round)}``:
    drift that lasts a round (another job taking a core) cancels out of each ratio."""
    base = measured[baseline]["samples"]
    return {name: statistics.median(s / b for s, b in zip(m["samples"], base))
            for name, m in measured.items()}


def peak_memory(build, workload, steps=3):
    """Peak bytes numpy and Python allocate (tracemalloc) while ``build`` makes the step and a
    few steps run."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        step, _ = build(workload)
        for _ in range(steps):
            step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.collect()


class LossMismatch(AssertionError):
    """The implementations do not reach the same loss: their times would not be comparable."""


def check_losses(workload, builders, baseline, steps=5):
    """Every implementation's loss after ``steps`` steps from the same start; raises
    ``LossMismatch`` naming them when one differs from ``baseline``'s."""
    losses = {}
    for name, build in builders.items():
        step, _ = build(workload)
        for _ in range(steps):
            loss = step()
        losses[name] = float(loss)
    reference = losses[baseline]
    tolerance = 1e-4 if workload.dtype == "float32" else 1e-9
    bad = [n for n, v in losses.items() if not abs(v - reference) <= tolerance * max(1, abs(reference))]
    if bad:
        raise LossMismatch(f"{workload.name}: after {steps} steps the losses of "
                           f"{', '.join(bad)} differ from {baseline}'s: {losses}")
    return losses


# -- the fit loop against a bare loop of Session.run ----------------------------------------------
def fit_figures(workload, batch, epochs=3, seconds=1.0, rounds=10):
    """Paired ratios of ``mf.train.fit`` (all epochs in one call, and one call per epoch) to a
    bare loop of ``Session.run([train, loss])`` over the same batches (unshuffled, sliced
    beforehand), all from one graph and Session."""
    import microflow as mf
    from benchmarks.implementations import microflow_graph
    graph, fetches, feed, _ = microflow_graph(workload)
    (x, X), (t, Y) = feed.items()
    train, loss = fetches
    sess = mf.Session(graph)
    batches = [{x: X[i:i + batch], t: Y[i:i + batch]} for i in range(0, len(X), batch)]
    run = sess.run

    def bare():
        for _ in range(epochs):
            for feed_here in batches:
                run(fetches, feed_here)

    def fit():
        mf.train.fit(sess, train, loss, {x: X, t: Y}, epochs=epochs, batch_size=batch,
                     shuffle=False, progress=False)

    def fit_per_epoch():
        for _ in range(epochs):
            mf.train.fit(sess, train, loss, {x: X, t: Y}, epochs=1, batch_size=batch,
                         shuffle=False, progress=False)
    measured = interleaved({"bare": bare, "fit": fit, "fit_per_epoch": fit_per_epoch},
                           seconds, rounds)
    ratios = paired_ratios(measured, "bare")
    return {"workload": workload.name, "batch": batch, "epochs": epochs,
            "steps": epochs * len(batches), "bare": measured["bare"]["median"],
            "fit": ratios["fit"], "fit_per_epoch": ratios["fit_per_epoch"]}


# -- scaling: long chains, one fresh process per size -------------------------------------------
def measure_chain(n):
    """Build, gradients, plan compile, first run (compile + run) and a steady run of the
    ``n``-op chain, in
    this process; peak resident memory (ru_maxrss, the interpreter and numpy included)."""
    import numpy as np

    import microflow as mf
    from benchmarks.workloads import chain
    gc.disable()                # the collector's passes over a million objects would dominate
    started = time.perf_counter()
    graph, x, loss = chain(n)
    built = time.perf_counter()
    with graph.as_default():
        (dx,) = mf.gradients(loss, [x])
    differentiated = time.perf_counter()
    sess = mf.Session(graph)
    sess.plan_for(dx)                       # the plan, compiled (and cached for run)
    compiled = time.perf_counter()
    first_value = sess.run(dx)
    first = time.perf_counter()
    value = sess.run(dx)
    steady = time.perf_counter()
    assert np.array_equal(first_value, value)
    return {"n": n, "nodes": len(graph.tensors),
            "build": built - started, "gradients": differentiated - built,
            "compile": compiled - differentiated, "first_run": first - differentiated,
            "steady_run": steady - first,
            "peak_rss": peak_resident()}


def peak_resident():
    """This process's peak resident bytes (VmHWM: unlike ru_maxrss, not the parent's peak
    carried over a fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def chain_figures(n, timeout=600):
    """``measure_chain(n)`` in a fresh Python process (so that the peak memory is this chain's)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "benchmarks.timing", str(n)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode:
        raise RuntimeError(f"the {n}-op chain failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure_chain(int(sys.argv[1]))))
