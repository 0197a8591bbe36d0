"""Draw the pictures of docs/examples.md into docs/example_images.

    python docs/make_example_pictures.py            # about half a minute; needs Graphviz's dot

Each problem is trained with its default config and seed, exactly as ``microflow train
PROBLEM --plots DIR`` does, so the pictures show what the command line gives: rerun this
script and commit docs/example_images when the trainers or the plots change. It prints
each run's accuracies and wall time.
"""

import pathlib
import sys
import time

from microflow.apps import problems as trainers

IMAGES = pathlib.Path(__file__).resolve().parent / "example_images"

# The files each problem's folder holds; docs/examples.md shows them.
PICTURES = {
    "xor": ["decision_boundary.png", "hidden_units.png", "loss.png", "graph.svg"],
    "donut": ["decision_boundary.png", "hidden_units.png", "loss.png", "graph.svg"],
    "clouds": ["decision_boundary.png", "hidden_units.png", "loss.png", "graph.svg"],
    "faces": ["faces.png", "confusion.png", "loss.png", "weights.png", "graph.svg"],
}


def main(folder=IMAGES, problems=tuple(PICTURES)):
    """Train each problem and write its pictures into ``folder/PROBLEM``; returns the paths."""
    written = []
    for problem in problems:
        start = time.perf_counter()
        result = trainers.train(trainers.config(problem), progress=False)
        seconds = time.perf_counter() - start
        print(f"{result.summary()}, {seconds:.2f} s")
        where = pathlib.Path(folder) / problem
        written += trainers.write_plots(result, where)
        written.append(str(trainers.draw_graph(result, where / "graph.svg")))
    return written


if __name__ == "__main__":
    for path in main(problems=sys.argv[1:] or tuple(PICTURES)):
        print("wrote", path)
