"""The example scripts, run as a user runs them: accuracies printed, pictures written."""

import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args, cwd):
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr
    match = re.search(r"train accuracy (\d\.\d+), test accuracy (\d\.\d+)", done.stdout)
    assert match, done.stdout
    return float(match[1]), float(match[2]), done.stdout


def test_xor_example_learns_xor_and_writes_its_pictures(tmp_path):
    train, test, _ = run_example("xor.py", cwd=tmp_path)     # default folder: out/
    assert train == test == 1.0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "xor_boundary.png", "xor_hidden.png", "xor_loss.png"]


def test_donut_example_reaches_98_percent_and_draws_its_graph(tmp_path):
    _, test, out = run_example("donut.py", tmp_path / "pictures", cwd=tmp_path)
    assert test >= 0.98
    assert sorted(p.name for p in (tmp_path / "pictures").iterdir()) == [
        "donut_boundary.png", "donut_graph.svg", "donut_hidden.png", "donut_loss.png"]
    assert f"wrote {tmp_path / 'pictures' / 'donut_graph.svg'}" in out


def test_clouds_example_reaches_95_percent(tmp_path):
    _, test, _ = run_example("clouds.py", tmp_path, cwd=tmp_path)
    assert test >= 0.95
    assert len(list(tmp_path.glob("clouds_*.png"))) == 3


@pytest.mark.slow
def test_facial_expressions_example_runs_on_few_faces(tmp_path):
    train, test, _ = run_example("facial_expressions.py", tmp_path, "--faces", "700",
                                 "--epochs", "3", cwd=tmp_path)
    assert 1 / 7 < test <= 1 and train > 1 / 7                # better than guessing already
    assert sorted(p.name for p in tmp_path.glob("faces_*.png")) == [
        "faces_confusion.png", "faces_loss.png", "faces_predictions.png", "faces_weights.png"]


@pytest.mark.slow
def test_facial_expressions_example_reads_the_kaggle_layout(tmp_path):
    from microflow.data import datasets
    X, y = datasets.synthetic_faces(210, seed=0)
    usage = ["Training"] * 140 + ["PublicTest"] * 35 + ["PrivateTest"] * 35
    path = datasets.write_fer2013(tmp_path / "fer2013.csv", X, y, usage=usage)
    _, _, out = run_example("facial_expressions.py", tmp_path / "pics", "--data", path,
                            "--epochs", "1", cwd=tmp_path)
    assert "faces_weights.png" in out


def load_picture_script():
    import importlib.util
    script = EXAMPLES.parent / "docs" / "make_pictures.py"
    spec = importlib.util.spec_from_file_location("make_pictures", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_show_the_pictures_the_script_makes(tmp_path):
    """docs/images/examples holds exactly the files make_pictures.py writes for them, and
    docs/examples.md shows only those."""
    from microflow.apps import problems as trainers
    script = load_picture_script()
    expected = {f"{problem}/{name}" for problem, names in script.EXAMPLE_PICTURES.items()
                for name in names}
    folder = script.IMAGES / "examples"
    committed = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert committed == expected, "run `python docs/make_pictures.py examples` and commit"
    page = (EXAMPLES.parent / "docs" / "examples.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\(images/examples/([\w/]+\.(?:png|svg))\)", page))
    assert shown and shown <= expected
    for problem, names in script.EXAMPLE_PICTURES.items():              # what write_plots writes
        small = dict(epochs=1, samples=70, hidden=(4,)) if problem != "xor" else dict(epochs=1)
        result = trainers.train(trainers.config(problem, **small), progress=False)
        written = trainers.write_plots(result, tmp_path / problem)
        assert sorted(pathlib.Path(p).name for p in written) == sorted(names[:-1])


@pytest.mark.slow
def test_facial_expressions_cnn_example_runs_on_few_faces(tmp_path):
    train, test, _ = run_example("facial_expressions_cnn.py", tmp_path, "--faces", "210",
                                 "--epochs", "1", cwd=tmp_path)
    assert 0 <= test <= 1 and 0 <= train <= 1
    assert sorted(p.name for p in tmp_path.glob("cnn_*.png")) == [
        "cnn_confusion.png", "cnn_feature_maps.png", "cnn_filters.png", "cnn_loss.png",
        "cnn_predictions.png"]
