"""Draw the pictures of the guide's Quickstart and Concepts pages into docs/assets.

    python docs/make_concept_pictures.py            # needs Graphviz's dot

Each picture is drawn from the page's own code: the script runs the page's ```python blocks
that come before the picture, then draws Tensors of that code with ``microflow.viz``. So a
picture always shows the graph the text next to it builds; after changing the code or the
drawing, rerun this script and commit docs/assets.
"""

import contextlib
import io
import os
import pathlib
import re
import sys
import tempfile

import microflow as mf
from microflow import viz

DOCS = pathlib.Path(__file__).resolve().parent
ASSETS = DOCS / "assets"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)

# picture: (page, names of the Tensors to draw in the page's code, options for viz.draw)
PICTURES = {
    "concept_xor.svg": ("quickstart.md", ["loss"], {}),
    "concept_scopes.svg": ("concepts.md", ["y"], {}),
    "concept_gradients.svg": ("concepts.md", ["y", "dy"], {"backward": True}),
    "concept_training.svg": ("concepts.md", ["loss", "train_op"], {}),
}


def namespace_before(page, picture):
    """The variables of ``page``'s python blocks above the line that shows ``picture``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    shown_at = text.index(f"assets/{picture}")
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


def main(out=ASSETS):
    """Draw every picture into the folder ``out``; return the paths written."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for picture, (page, names, options) in PICTURES.items():
        namespace = namespace_before(page, picture)
        targets = [namespace[name] for name in names]
        written.append(viz.render(targets, out / picture, **options))
    mf.reset_default_graph()
    return written


if __name__ == "__main__":
    for path in main(*sys.argv[1:]):
        print(f"wrote {path}")
