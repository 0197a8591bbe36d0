"""Progress bars: imported only when shown, the notebook bar only with ipywidgets, readable at
80 columns, and the full figures of each epoch in a line of their own."""

import io
import re
import subprocess
import sys
import types

import numpy as np

import microflow as mf
from microflow.core import progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_importing_microflow_imports_no_progress_bar_library():
    code = "import sys, microflow; print(sorted(m for m in sys.modules if m.startswith('tqdm')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""


def test_a_notebook_without_ipywidgets_gets_the_text_bar_and_no_warning(monkeypatch, recwarn):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)        # import ipywidgets fails
    import tqdm.std
    assert progress.bar_class() is tqdm.std.tqdm
    bar = progress.progress_bar(3, "training", "epoch", file=io.StringIO())
    bar.close()
    assert type(bar) is tqdm.std.tqdm
    assert not [w for w in recwarn if "IProgress" in str(w.message)]


def test_a_notebook_with_ipywidgets_gets_the_widget_bar(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setattr(progress, "_has_ipywidgets", lambda: True)
    import tqdm.notebook
    assert progress.bar_class() is tqdm.notebook.tqdm


def test_no_bar_when_nobody_would_see_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert progress.progress_bar(3, "training", "epoch", file=io.StringIO()) is None
    assert progress.progress_bar(3, "training", "epoch", enabled=False,
                                 file=FakeTerminal()) is None


def frames(text):
    """What the terminal showed, one string per redraw, without ANSI codes."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    return [frame.rstrip() for frame in re.split(r"[\r\n]", text) if frame.strip()]


def test_fit_progress_bar_fits_80_columns_and_each_epoch_line_has_the_full_figures(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    X, Y = mf.datasets.clouds(40, seed=0)
    x = mf.placeholder((None, 2), name="x")
    y = mf.placeholder((None,), dtype="int64", name="y")
    logits = mf.layers.dense(mf.layers.dense(x, 3, activation=mf.tanh, seed=0), 3, seed=1)
    loss = mf.softmax_cross_entropy(logits, y, name="loss")
    train = mf.optimizers.SGD(0.1).minimize(loss)
    metrics = {"accuracy": mf.accuracy(logits, y), "cross_entropy": loss * 1.0}
    history = mf.train.fit(mf.Session(), train, loss, {x: X[:90], y: Y[:90]}, epochs=3,
                           batch_size=30, validation={x: X[90:], y: Y[90:]}, metrics=metrics,
                           seed=0)
    shown = frames(terminal.getvalue())
    assert all(len(frame) <= 80 for frame in shown), [f for f in shown if len(f) > 80]
    bars = [frame for frame in shown if "|" in frame]
    assert bars and all(re.search(r"\|[^|]{10,}\|", frame) for frame in bars), bars
    assert re.search(r"loss=\d\.\d{3}\b", bars[-1]), bars[-1]        # not cut mid-number
    lines = re.findall(r"^epoch .*(?:\n   .*)*", "\n".join(shown), re.M)   # with its wrapped part
    assert len(lines) == 3
    last = lines[-1]
    for name in ["loss", "accuracy", "cross_entropy", "val_loss", "val_accuracy"]:
        value = history[name][-1]
        assert re.search(rf"\b{name}={re.escape(f'{value:.5g}')}(\s|$)", last), (name, last)


def test_epoch_lines_are_thinned_to_about_twenty_and_the_last(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x = mf.placeholder((None, 1), name="x")
    w = mf.Variable(np.ones(1), name="w")
    loss = mf.reduce_mean(mf.square(x * w), name="loss")
    mf.train.fit(mf.Session(), mf.optimizers.SGD(0.01).minimize(loss), loss,
                 {x: np.ones((4, 1))}, epochs=101)
    numbers = [int(m) for m in re.findall(r"^epoch (\d+)/101", "\n".join(
        frames(terminal.getvalue())), re.M)]
    assert numbers == list(range(5, 101, 5)) + [101]
