"""``microflow train faces --model cnn``: the course's CNN, its configs, pictures and errors;
the harder synthetic faces."""

import numpy as np
import pytest

from microflow.apps import problems as trainers
from microflow.apps.cli import main
from microflow.data import datasets

SMALL = dict(samples=210, epochs=1, filters=(4, 6), hidden=(16,))


def run(capsys, *argv):
    status = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_cnn_config_is_the_courses_network():
    cfg = trainers.config("faces", model="cnn")
    assert (cfg.filters, cfg.kernel, cfg.hidden) == ((20, 50), 5, (500, 300))
    assert (cfg.optimizer, cfg.lr, cfg.batch_size, cfg.l2) == ("momentum", 0.01, 64, 0.0)
    assert trainers.config("faces", model="cnn", hidden=(64,), lr=0.1).hidden == (64,)
    assert trainers.config("faces").model == "mlp"


def test_the_cnn_graph_has_two_convolutions_pools_and_dense_layers():
    net = trainers.build_cnn(trainers.config("faces", model="cnn"), 48 * 48, 7, seed=0)
    shapes = [t.shape for t in net.hidden]
    assert shapes == [(None, 48, 48, 20), (None, 24, 24, 50), (None, 500), (None, 300)]
    assert [v.name for v in net.variables] == [
        "conv/W", "conv/b", "conv_1/W", "conv_1/b", "hidden/W", "hidden/b", "hidden_1/W",
        "hidden_1/b", "output/W", "output/b"]
    assert net.variables[0].shape == (5, 5, 1, 20) and net.variables[4].shape == (7200, 500)
    assert net.graph.get_tensor_by_name("flatten").shape == (None, 7200)
    assert all(v.dtype == np.float32 for v in net.variables)


def test_the_cnn_trains_on_few_faces_and_beats_guessing():
    cfg = trainers.config("faces", model="cnn", **dict(SMALL, epochs=3, samples=350))
    result = trainers.train(cfg, progress=False)
    assert result.history.epochs == 3
    assert result.history.loss[-1] < result.history.loss[0]
    assert result.train_accuracy > 1 / 7


@pytest.mark.parametrize("overrides, message", [
    (dict(problem="donut", model="cnn"), "the cnn model is for the faces problem"),
    (dict(problem="faces", model="resnet"), "unknown model 'resnet'; choose from mlp, cnn"),
    (dict(problem="faces", model="cnn", filters=(4, 0)), r"filters needs positive counts"),
    (dict(problem="faces", placement="left"), "unknown placement 'left'; choose from centred"),
])
def test_cnn_configs_reject_bad_values_naming_them(overrides, message):
    problem = overrides.pop("problem")
    with pytest.raises(ValueError, match=message):
        trainers.config(problem, **overrides)


def test_the_cnn_refuses_rows_that_are_not_48x48_images():
    with pytest.raises(ValueError, match=r"the cnn model needs 48x48 images \(2304 pixels a "
                                         r"row\), got rows of 100"):
        trainers.build_cnn(trainers.config("faces", model="cnn"), 100, 7)


def test_train_faces_model_cnn_prints_its_layers_and_writes_filters_and_maps(tmp_path, capsys):
    status, out, err = run(capsys, "train", "faces", "--model", "cnn", "--samples", "140",
                           "--epochs", "1", "--filters", "4,6", "--kernel", "3", "--hidden",
                           "16", "--plots", tmp_path)
    assert status == 0, err
    assert out.splitlines()[0] == ("faces: cnn conv 3x3x4, conv 3x3x6, dense 16 relu, momentum "
                                   "lr 0.01, l2 0, 1 epochs, batch 64, seed 0")
    assert "faces: train accuracy" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "confusion.png", "faces.png", "feature_maps.png", "filters.png", "graph.svg",
        "loss.png"]
    assert "Conv2D" in (tmp_path / "graph.svg").read_text()


def test_train_faces_with_the_cnn_reads_a_fer2013_file(tmp_path, capsys):
    X, y = datasets.synthetic_faces(140, seed=0)
    usage = ["Training"] * 105 + ["PublicTest"] * 35
    path = datasets.write_fer2013(tmp_path / "fer2013.csv", X, y, usage=usage)
    status, out, _ = run(capsys, "train", "faces", "--model", "cnn", "--data", path,
                         "--epochs", "1", "--filters", "4,4", "--hidden", "8")
    assert status == 0 and "faces: train accuracy" in out


def test_a_cnn_for_the_donut_is_a_one_line_error(capsys):
    status, _, err = run(capsys, "train", "donut", "--model", "cnn")
    assert status == 1
    assert err.strip() == ("microflow train: error: the cnn model is for the faces problem "
                           "(images), not 'donut'")


def test_faces_placed_anywhere_move_and_shrink():
    def off_centre(X):
        """How far each face's centre of mass (of its contrast with the background) is from
        the middle of the image, in pixels."""
        images = X.reshape(-1, 48, 48)
        dark_or_light = np.abs(images - np.median(images, axis=(1, 2), keepdims=True))
        rows, cols = np.mgrid[0:48, 0:48]
        weight = dark_or_light / dark_or_light.sum(axis=(1, 2), keepdims=True)
        centre_r = (weight * rows).sum(axis=(1, 2))
        centre_c = (weight * cols).sum(axis=(1, 2))
        return np.hypot(centre_r - 24, centre_c - 24)
    centred, labels = datasets.synthetic_faces(140, seed=0)
    anywhere, labels_anywhere = datasets.synthetic_faces(140, seed=0, placement="anywhere")
    assert anywhere.shape == (140, 2304) and np.bincount(labels_anywhere).tolist() == [20] * 7
    assert np.median(off_centre(anywhere)) > 1.5 * np.median(off_centre(centred))
    with pytest.raises(ValueError, match="placement must be one of centred, anywhere, got 'x'"):
        datasets.synthetic_faces(7, placement="x")


def test_the_cli_passes_the_placement_to_the_synthetic_faces(capsys, monkeypatch):
    seen = {}
    original = datasets.synthetic_faces

    def spy(n, seed=None, placement="centred"):
        seen["placement"] = placement
        return original(n, seed=seed, placement=placement)
    monkeypatch.setattr(datasets, "synthetic_faces", spy)
    status, _, _ = run(capsys, "train", "faces", "--samples", "70", "--epochs", "1",
                       "--hidden", "4", "--placement", "anywhere")
    assert status == 0 and seen == {"placement": "anywhere"}


@pytest.mark.slow
def test_on_faces_placed_anywhere_the_cnn_beats_the_mlp_at_equal_epochs():
    scores = {}
    for model in ("mlp", "cnn"):
        cfg = trainers.config("faces", model=model, samples=1400, epochs=4,
                              placement="anywhere", **({"filters": (8, 16), "hidden": (64,)}
                                                       if model == "cnn" else {}))
        scores[model] = trainers.train(cfg, progress=False).test_accuracy
    assert scores["cnn"] > scores["mlp"] + 0.05, scores
