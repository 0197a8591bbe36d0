"""The performance page and its plot, from the measured results.

The page is ``page_template.md`` with each marker line ``<!-- bench:NAME -->`` replaced by
a generated block. The template is plain text, never formatted: code samples in it, with their
braces, are copied as they are (an f-string page once crashed on ``{x: ...}`` in a sample).
"""

from __future__ import annotations

import os
import platform
import re

import numpy as np

from microflow.core.files import atomic_write

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "page_template.md")
MARKER = re.compile(r"<!-- bench:(\w+) -->")
LABELS = {"careful": "careful numpy", "textbook": "textbook numpy", "microflow": "microflow",
          "torch": "torch", "jax": "jax", "gemm": "GEMMs alone"}


def render(template, blocks):
    """``template`` with every ``<!-- bench:NAME -->`` replaced by ``blocks[NAME]``; raises
    KeyError naming a marker without a block, or a block without a marker."""
    found = MARKER.findall(template)
    missing = sorted(set(found) - set(blocks))
    unused = sorted(set(blocks) - set(found))
    if missing or unused:
        raise KeyError(f"template markers without a block: {missing}; blocks without a "
                       f"marker: {unused}")
    return MARKER.sub(lambda match: blocks[match.group(1)], template)


def format_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def implementations(rows):
    """The implementation names measured in any row, in the order of the first row that has them."""
    names = []
    for row in rows:
        names += [n for n in row["times"] if n not in names and n != "gemm"]
    return names


def table(rows, baseline="careful"):
    """The step-time table: one column per implementation, ratios to ``baseline``."""
    names = implementations(rows)
    names = [baseline] + [n for n in names if n != baseline]
    header = ["workload"] + [LABELS.get(n, n) for n in names] + ["microflow / careful"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        times = row["times"]
        cells = [row["workload"].name]
        for name in names:
            if name not in times:
                cells.append("-")
                continue
            ratio = row["ratios"][name]
            cells.append(format_time(times[name]) + ("" if name == baseline else f" ({ratio:.2f}x)"))
        cells.append(f"**{row['ratios']['microflow']:.2f}x**"
                     if "microflow" in times else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def extra_table(rows, baseline="careful"):
    lines = ["| workload | graph building | first step (plan compile + run) | steady step | "
             "GEMMs alone | microflow / GEMMs | peak memory careful | peak memory microflow |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        mf_row, times, mem = row["microflow"], row["times"], row["memory"]
        gemm = times.get("gemm")
        memory = [f"{mem[k] / 2**20:.1f} MiB" if k in mem else "-" for k in (baseline, "microflow")]
        ratio = f"{row['ratios']['microflow'] / row['ratios']['gemm']:.2f}x" if gemm else "-"
        if "microflow" not in times:
            continue
        once = [format_time(mf_row[k]) if k in mf_row else "-" for k in ("build", "first_step")]
        lines.append(
            f"| {row['workload'].name} | {once[0]} | {once[1]} | {format_time(times['microflow'])} | "
            f"{format_time(gemm) if gemm else '-'} | "
            f"{ratio} | "
            f"{memory[0]} | {memory[1]} |")
    return "\n".join(lines)


def scaling_table(chains):
    if not chains:
        return "(not measured in this run: `python benchmarks/run.py --chains 1000 10000 100000`)"
    lines = ["| forward ops | graph nodes | build | gradients() | per forward op | plan compile "
             "| per node | first run (compile + run) | steady run | peak memory |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in chains:
        lines.append(f"| {c['n']:,} | {c['nodes']:,} | {format_time(c['build'])} | "
                     f"{format_time(c['gradients'])} | {c['gradients'] / c['n'] * 1e6:.1f} µs | "
                     f"{format_time(c['compile'])} | {c['compile'] / c['nodes'] * 1e6:.1f} µs | "
                     f"{format_time(c['first_run'])} | {format_time(c['steady_run'])} | "
                     f"{c['peak_rss'] / 2**20:,.0f} MiB |")
    return "\n".join(lines)


def fit_table(figures):
    if not figures:
        return "(not measured in this run)"
    lines = ["| workload | batch | steps | bare `Session.run` loop | `fit()` | `fit()` one epoch "
             "per call |", "|---|---|---|---|---|---|"]
    for f in figures:
        lines.append(f"| {f['workload']} | {f['batch']} | {f['steps']} | "
                     f"{format_time(f['bare'])} | {f['fit']:.2f}x | {f['fit_per_epoch']:.2f}x |")
    return "\n".join(lines)


def machine(names):
    text = (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"numpy {np.__version__}")
    for module in ("torch", "jax"):
        if module in names:
            text += f", {module} {__import__(module).__version__}"
    return text + "."


def page(rows, chains, fits=(), template_path=TEMPLATE):
    """The text of the performance page."""
    with open(template_path, encoding="utf-8") as handle:
        template = handle.read()
    blocks = {
        "workloads": "\n".join(f"- **{r['workload'].name}**: {r['workload'].title}" for r in rows),
        "machine": machine(implementations(rows)),
        "table": table(rows),
        "extra": extra_table(rows),
        "scaling": scaling_table(chains),
        "fit": fit_table(fits),
    }
    return render(template, blocks)


def plot(rows, path, baseline="careful"):
    """Bars of every implementation's time relative to ``baseline``, per workload (a PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    names = [n for n in implementations(rows) if n != baseline]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=120)
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        ratios = [r["ratios"].get(name, np.nan) for r in rows]
        ax.bar(np.arange(len(rows)) + k * width, ratios, width, label=LABELS.get(name, name))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(rows)) + width * (len(names) - 1) / 2,
                  [r["workload"].name for r in rows])
    ax.set_ylabel("time per step / careful numpy")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([0.25, 0.5, 1, 2, 4, 8]))
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.legend(frameon=False, ncols=len(names))
    ax.set_title("Training step time relative to the careful numpy step (lower is faster)")
    fig.tight_layout()
    with atomic_write(path) as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)


def write(rows, chains, docs, fits=()):
    """Write ``docs``/performance.md and ``docs``/images/performance.png; returns their paths."""
    page_path = os.path.join(docs, "performance.md")
    image_path = os.path.join(docs, "images", "performance.png")
    os.makedirs(os.path.dirname(image_path), exist_ok=True)
    plot(rows, image_path)
    with atomic_write(page_path, "w") as handle:
        handle.write(page(rows, chains, fits))
    return page_path, image_path
