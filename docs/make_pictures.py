"""Draw the pictures of docs/drawing.md and the README into docs/images.

    python docs/make_pictures.py            # needs Graphviz's dot

Every picture is the XOR model of ``microflow.apps.models`` drawn by ``microflow.viz``, so the
pictures change when the drawing code does: rerun this script and commit docs/images.
"""

import pathlib
import sys

import numpy as np

import microflow as mf
from microflow.apps import models
from microflow import viz

IMAGES = pathlib.Path(__file__).resolve().parent / "images"


def pictures():
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


def main(folder=IMAGES):
    """Write every picture into ``folder``; returns their paths."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [viz.render(targets, folder / name, **options)
            for name, (targets, options) in pictures().items()]


if __name__ == "__main__":
    for path in main(*sys.argv[1:]):
        print(path)
