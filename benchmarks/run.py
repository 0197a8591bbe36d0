"""Training-step benchmarks: microflow against a careful and a textbook numpy step, and PyTorch
(eager, CPU) and JAX (jit, CPU) where they are installed, all in one process per workload.

    python benchmarks/run.py                    # all workloads; writes docs/performance.md
    python benchmarks/run.py --quick W1 W2      # fewer, shorter rounds; no files written
    python benchmarks/run.py --chains 1000 10000   # only the small scaling figures (default up to 1M)

One step = forward + backward + SGD update. Every implementation starts from the same weights
and data; their losses after a few steps are checked equal before any timing. Times are
medians of interleaved rounds; the ratios to the careful numpy step, taken in the same run,
are what to compare (absolute times drift on a shared machine).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

if __package__ in (None, ""):       # run as a script: make the repository importable
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks import implementations, report, timing  # noqa: E402
from benchmarks import conv  # noqa: E402,F401  (registers W5, the course's CNN)
from benchmarks.workloads import CHAIN_SIZES, WORKLOADS  # noqa: E402

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")


def bench(workload, names, seconds, rounds, memory=None):
    """One workload's row: the loss check, then interleaved timing of every implementation."""
    builders = {n: b for n, b in implementations.builders(workload).items() if n in names}
    row = {"workload": workload, "times": {}, "memory": {}, "microflow": {}}
    row["losses"] = timing.check_losses(workload, builders, implementations.BASELINE)
    steps = {}
    for name, build in builders.items():
        if "timings" in inspect.signature(build).parameters:    # microflow's build/compile times
            steps[name] = build(workload, timings=row["microflow"])[0]
        else:
            steps[name] = build(workload)[0]
    if workload.big and not workload.steps:
        steps["gemm"] = implementations.gemm(workload)[0]
    elif workload.big and workload.floor is not None:
        steps["gemm"] = workload.floor(workload)[0]
    measured = timing.interleaved(steps, seconds, rounds)
    row["times"] = {name: m["median"] for name, m in measured.items()}
    row["ratios"] = timing.paired_ratios(measured, implementations.BASELINE)
    if memory if memory is not None else workload.big:
        for name in (implementations.BASELINE, "microflow"):
            if name in builders:
                row["memory"][name] = timing.peak_memory(builders[name], workload)
    return row


def limit_threads(threads):
    """Run numpy's BLAS, torch and XLA with ``threads`` threads (set before jax is imported)."""
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(threads)
    except ImportError:
        print("threadpoolctl is not installed: BLAS runs with its default threads")
    implementations.THREADS = threads
    if threads == 1:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                              "intra_op_parallelism_threads=1")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                        help=f"some of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="shorter rounds, no scaling chains; write nothing")
    parser.add_argument("--only", nargs="*", help="implementations to run (default: all found)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds of timing per implementation and workload")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    parser.add_argument("--chains", type=int, nargs="*", default=None,
                        help=f"chain lengths for the scaling figures (default: "
                             f"{' '.join(map(str, CHAIN_SIZES))}; none with --quick)")
    parser.add_argument("--no-fit", action="store_true",
                        help="skip fit() against a bare Session.run loop")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS (and torch, XLA) threads (default 1: on a shared machine a "
                             "second thread waits for a core and slows the products down)")
    parser.add_argument("--docs", default=None,
                        help="write performance.md and images/performance.png here "
                             "(default: the repository's docs/, unless --quick)")
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(WORKLOADS)}")
    keys = args.workloads or list(WORKLOADS)
    # The scaling chains first, each in a fresh process, while this one holds no workload's
    # arrays and has not imported torch or jax: the 1M chain's gradients() took 4.1 us per op
    # so, 4.6 after W1 with torch and jax imported, 6.1 after every workload
    chains = args.chains if args.chains is not None else ([] if args.quick else CHAIN_SIZES)
    figures = []
    for n in chains:
        figures.append(timing.chain_figures(n))
        print(f"chain {n}: " + ", ".join(f"{k}={v:.4g}" for k, v in figures[-1].items()), flush=True)
    limit_threads(args.threads)
    names = implementations.available(args.only)
    if implementations.BASELINE not in names:
        names = [implementations.BASELINE, *names]
    rows = []
    for key in keys:
        workload = WORKLOADS[key]
        seconds = args.seconds or (0.6 if args.quick else 3.0) * (2 if workload.big else 1)
        rounds = args.rounds or (10 if args.quick else 60)   # a 2-3% effect: many pairs
        row = bench(workload, names, seconds, rounds)
        rows.append(row)
        print(f"{key:6s} " + "  ".join(f"{n}={report.format_time(t)} ({row['ratios'][n]:.2f}x)"
                                       for n, t in row["times"].items()), flush=True)
    fits = []
    if not args.quick and not args.no_fit:
        fits.append(timing.fit_figures(WORKLOADS["W2"], batch=100, seconds=args.seconds or 4.0,
                                       rounds=args.rounds or 40))    # a 5% effect: many rounds
        # a big weight, whose update takes its gradient's product in both loops
        fits.append(timing.fit_figures(WORKLOADS["W4"], batch=32, seconds=args.seconds or 4.0,
                                       rounds=args.rounds or 40))
        print(report.fit_table(fits), flush=True)
    print()
    print(report.table(rows))
    print()
    print(report.extra_table(rows))
    if figures:
        print()
        print(report.scaling_table(figures))
    docs = args.docs or (None if args.quick else DOCS)
    if docs:
        written = report.write(rows, figures, docs, fits)
        print("\nwrote " + " and ".join(os.path.relpath(p) for p in written))
    return rows, figures, fits


if __name__ == "__main__":
    main()
