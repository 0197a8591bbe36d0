"""Draw every picture of the guide and the README into docs/images, the one pictures folder.

    python docs/make_pictures.py                    # all of them; about half a minute; needs dot
    python docs/make_pictures.py drawing concepts   # only some groups

Three groups, each drawn from the code it illustrates, so a picture changes when that code
does: rerun this script and commit docs/images.

- ``drawing``: the XOR model of ``microflow.apps.models`` drawn by ``microflow.viz`` (the
  Drawing page and the README), and a NaN example.
- ``concepts``: the graphs the Quickstart and Concepts pages build: the script runs the page's
  ```python blocks above the picture, then draws Tensors of that code.
- ``examples``: each course problem trained with its default config and seed, exactly as
  ``microflow train PROBLEM --plots DIR`` does (``images/examples/PROBLEM/``); it prints each
  run's accuracies and wall time.
"""

import contextlib
import io
import os
import pathlib
import re
import sys
import tempfile
import time

import numpy as np

import microflow as mf
from microflow import viz
from microflow.apps import models, problems

DOCS = pathlib.Path(__file__).resolve().parent
IMAGES = DOCS / "images"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)

# concept picture: (page, names of the Tensors to draw in the page's code, options for viz.draw)
CONCEPT_PICTURES = {
    "concept_xor.svg": ("quickstart.md", ["loss"], {}),
    "concept_scopes.svg": ("concepts.md", ["y"], {}),
    "concept_gradients.svg": ("concepts.md", ["y", "dy"], {"backward": True}),
    "concept_training.svg": ("concepts.md", ["loss", "train_op"], {}),
}

# The files each problem's folder holds; docs/examples.md shows them.
EXAMPLE_PICTURES = {
    "xor": ["decision_boundary.png", "hidden_units.png", "loss.png", "graph.svg"],
    "donut": ["decision_boundary.png", "hidden_units.png", "loss.png", "graph.svg"],
    "clouds": ["decision_boundary.png", "hidden_units.png", "loss.png", "graph.svg"],
    "faces": ["faces.png", "confusion.png", "loss.png", "weights.png", "graph.svg"],
}


# -- the Drawing page and the README ----------------------------------------------------------
def drawing_pictures():
    """``{file name: (targets, draw options)}`` for every picture, in both formats."""
    xor = models.xor()
    chain = [xor.loss, xor.accuracy]
    drawn = {
        "xor_forward": (chain, {}),
        "xor_backward": (chain, {"backward": True}),
        "xor_values": (chain, {"values": xor.feed()}),
        "xor_collapsed": (chain, {"collapse": ("hidden",), "rankdir": "LR"}),
        "nan": _nan_example(),
    }
    return {f"{name}{suffix}": picture for name, picture in drawn.items()
            for suffix in (".svg", ".png")}


def _nan_example():
    """A log of a value that went negative, drawn from a Session's results: NaN in red."""
    graph = mf.Graph()
    with graph.as_default():
        x = mf.placeholder((None,), name="x")
        log_x = mf.log(x, name="log_x")
        mean = mf.reduce_mean(log_x, name="mean_log")
    tensors = [x, log_x, mean]
    with np.errstate(invalid="ignore"):
        results = mf.Session(graph).run(tensors, {x: [2.0, 1.0, -1.0]})
    return [mean], {"values": dict(zip(tensors, results))}


def draw_drawing_pictures(folder=IMAGES):
    """Write the Drawing page's pictures into ``folder``; returns their paths."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [viz.render(targets, folder / name, **options)
            for name, (targets, options) in drawing_pictures().items()]


# -- the Quickstart and Concepts pages ----------------------------------------------------
def namespace_before(page, picture):
    """The variables of ``page``'s python blocks above the line that shows ``picture``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    shown_at = text.index(f"images/{picture}")
    namespace = {"__name__": "__docs__"}
    mf.reset_default_graph()
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):
        cwd = os.getcwd()
        os.chdir(folder)                # the code may write files
        try:
            for block in PYTHON_BLOCK.finditer(text[:shown_at]):
                exec(compile(block.group(1), str(DOCS / page), "exec"), namespace)
        finally:
            os.chdir(cwd)
    return namespace


def draw_concept_pictures(folder=IMAGES):
    """Draw every concept picture into ``folder``; return the paths written."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for picture, (page, names, options) in CONCEPT_PICTURES.items():
        namespace = namespace_before(page, picture)
        targets = [namespace[name] for name in names]
        written.append(viz.render(targets, folder / picture, **options))
    mf.reset_default_graph()
    return written


# -- the course's examples ----------------------------------------------------------------
def draw_example_pictures(folder=IMAGES / "examples", names=tuple(EXAMPLE_PICTURES)):
    """Train each problem and write its pictures into ``folder/PROBLEM``; returns the paths."""
    written = []
    for problem in names:
        start = time.perf_counter()
        result = problems.train(problems.config(problem), progress=False)
        seconds = time.perf_counter() - start
        print(f"{result.summary()}, {seconds:.2f} s")
        where = pathlib.Path(folder) / problem
        written += problems.write_plots(result, where)
        written.append(str(problems.draw_graph(result, where / "graph.svg")))
    return written


GROUPS = {"drawing": draw_drawing_pictures, "concepts": draw_concept_pictures,
          "examples": lambda folder: draw_example_pictures(pathlib.Path(folder) / "examples")}


def main(folder=IMAGES, groups=tuple(GROUPS)):
    """Draw the pictures of ``groups`` into ``folder``; returns the paths written."""
    return [str(path) for group in groups for path in GROUPS[group](folder)]


if __name__ == "__main__":
    unknown = set(sys.argv[1:]) - set(GROUPS)
    if unknown:
        sys.exit(f"unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}")
    for path in main(groups=sys.argv[1:] or tuple(GROUPS)):
        print("wrote", path)
