"""The playground's server side: settings, data, the microflow graph, frames, training, the
WebSocket protocol (through Starlette's in-process test client) and the exports."""

import base64
import json
import logging
import math
import os
import pathlib
import runpy
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import microflow as mf
from microflow.apps.playground import datasets, export
from microflow.apps.playground.session import (FEATURE_NAMES, GRID, THUMB, Diverged,
                                               PlaygroundError, PlaygroundSession, clamp_config,
                                               decode_frame, plane_grid, quantize)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")             # starlette's note about httpx's successor
    from starlette.testclient import TestClient

from microflow.apps.playground import create_app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ROOT = pathlib.Path(__file__).resolve().parents[2]

ALL_FEATURES = list(FEATURE_NAMES)


def rng(seed=0):
    return np.random.default_rng(seed)


# -- settings ---------------------------------------------------------------------------------
def test_out_of_range_settings_are_clamped_and_said_so():
    config, notices = clamp_config({"learningRate": 100, "noise": -5, "batchSize": 31.6,
                                    "hidden": [40, 0, 3], "ratio": "95", "speed": 1e9})
    assert config["learningRate"] == 10.0 and config["noise"] == 0
    assert config["batchSize"] == 30 and config["ratio"] == 90 and config["speed"] == 50
    assert config["hidden"] == [32, 1, 3]
    assert "learningRate 100 is out of range 1e-05..10; using 10" in notices
    assert "noise -5 is out of range 0..50; using 0" in notices
    assert "ratio 95 is out of range 10..90; using 90" in notices
    assert "hidden layer 1 has 40 neurons, more than 32; using 32" in notices
    assert "hidden layer 2 has 0 neurons; using 1" in notices


def test_bad_values_never_raise_and_keep_the_current_setting():
    config, notices = clamp_config({"learningRate": "fast", "dataset": "moons", "optimizer": 3,
                                    "features": ["x1", "x3"], "activations": ["tanh", "swish"],
                                    "colour": "red", "noise": True, "seed": None})
    assert config["learningRate"] == 0.03 and config["dataset"] == "circle"
    assert config["optimizer"] == "sgd" and config["features"] == ["x1"]
    assert config["activations"] == ["tanh", "tanh"] and config["noise"] == 0
    assert "learningRate 'fast' is not a number; keeping 0.03" in notices
    assert any(n.startswith("dataset 'moons' is not one of circle") for n in notices)
    assert any(n.startswith("unknown feature 'x3' ignored") for n in notices)
    assert any(n.startswith("activation 'swish' is not one of relu") for n in notices)
    assert "unknown setting 'colour' ignored" in notices
    assert "noise true is not a number; keeping 0" in notices
    _, notices = clamp_config([1, 2])
    assert notices == ["the config must be an object of settings, got [1, 2]"]


def test_layers_activations_problem_and_classes_are_kept_consistent():
    config, notices = clamp_config({"hidden": list(range(1, 13))})
    assert len(config["hidden"]) == 10 and config["activations"] == ["tanh"] * 10
    assert "12 hidden layers is more than 10; using the first 10" in notices
    config, _ = clamp_config({"hidden": "3,3,3", "activations": "relu"})
    assert config["hidden"] == [3, 3, 3] and config["activations"] == ["relu"] * 3
    config, _ = clamp_config({"hidden": [2, 2, 2], "activations": ["relu"]})
    assert config["activations"] == ["relu"] * 3
    config, notices = clamp_config({"dataset": "plane"})
    assert config["problem"] == "regression"
    assert notices == ["plane is a regression dataset; problem set to regression"]
    config, notices = clamp_config({"problem": "regression"})
    assert config["dataset"] == "plane" and config["problem"] == "regression"
    config, notices = clamp_config({"dataset": "circle", "classes": 4})
    assert config["classes"] == 2 and any("classes set to 2" in n for n in notices)
    config, notices = clamp_config({"dataset": "spiral", "classes": 4})
    assert config["classes"] == 4 and notices == []


# -- data -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "spiral", "plane", "multigauss"])
def test_every_generator_is_seeded_and_shaped(name):
    n = datasets.samples_for(name)
    points, labels = datasets.generate(name, n, 0.2, rng(3))
    again, labels_again = datasets.generate(name, n, 0.2, rng(3))
    other, _ = datasets.generate(name, n, 0.2, rng(4))
    assert points.shape == (n, 2) and labels.shape == (n,) and points.dtype == np.float32
    np.testing.assert_array_equal(points, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(points, other)
    if name in datasets.REGRESSION:
        assert n == 1200 and np.abs(labels).max() <= (1.0 if name == "multigauss" else 2.4)
    else:
        assert n == 500 and set(labels.tolist()) == {-1.0, 1.0}
        assert (labels == 1).sum() == 250 or name in ("xor", "circle")


def test_circle_follows_tf_playground():
    points, labels = datasets.circle(500, 0.0, rng())
    radius = np.hypot(points[:, 0], points[:, 1])
    assert (radius[:250] < 2.5).all() and (labels[:250] == 1).all()
    assert (radius[250:] >= 3.5 - 1e-5).all() and (radius[250:] <= 5 + 1e-5).all()
    assert (labels[250:] == -1).all()
    _, noisy = datasets.circle(500, 0.5, rng())
    assert 0 < (noisy[:250] == -1).sum() < 250          # noise moves some across the border


def test_xor_gauss_spiral_plane_multigauss_follow_tf_playground():
    points, labels = datasets.xor(500, 0.0, rng())
    assert (np.abs(points) >= 0.3).all() and (np.abs(points) <= 5.3 + 1e-5).all()
    np.testing.assert_array_equal(labels, np.where(points[:, 0] * points[:, 1] >= 0, 1, -1))
    points, labels = datasets.gauss(20000, 0.0, rng())
    positive = points[labels == 1]
    np.testing.assert_allclose(positive.mean(axis=0), [2, 2], atol=0.05)
    np.testing.assert_allclose(positive.var(axis=0), [0.5, 0.5], rtol=0.05)    # variance 0.5
    points, labels = datasets.gauss(20000, 0.5, rng())
    np.testing.assert_allclose(points[labels == -1].var(axis=0), [4, 4], rtol=0.05)
    points, labels = datasets.spiral(500, 0.0, rng())
    i = np.arange(250)
    np.testing.assert_allclose(np.hypot(points[:250, 0], points[:250, 1]), i / 250 * 5,
                               atol=1e-5)
    t = 1.75 * i / 250 * 2 * np.pi + np.pi                     # the second arm, offset by pi
    np.testing.assert_allclose(points[250:, 0], 5 * i / 250 * np.sin(t), atol=1e-5)
    assert (labels[:250] == 1).all() and (labels[250:] == -1).all()
    points, labels = datasets.plane(1200, 0.0, rng())
    np.testing.assert_allclose(labels, (points[:, 0] + points[:, 1]) / 10, atol=1e-6)
    points, labels = datasets.multigauss(1200, 0.0, rng())
    distance = np.hypot(points[:, 0] + 4, points[:, 1] - 2.5)       # the +1 bump at (-4, 2.5)
    near = distance < 1.0
    np.testing.assert_allclose(labels[near], 1 - distance[near] / 2, atol=1e-5)
    far = np.min([np.hypot(points[:, 0] - cx, points[:, 1] - cy)
                  for cx, cy in [(-4, 2.5), (0, 2.5), (4, 2.5), (-4, -2.5), (0, -2.5),
                                 (4, -2.5)]], axis=0) >= 2
    assert (labels[far] == 0).all()


@pytest.mark.parametrize("classes", [3, 4, 5])
def test_k_class_gaussians_and_spirals(classes):
    for name in ("gauss", "spiral"):
        points, labels = datasets.generate(name, 500, 0.0, rng(), classes=classes)
        counts = np.bincount(labels.astype(int))
        assert len(counts) == classes and counts.min() >= 500 // classes
    points, labels = datasets.spiral(600, 0.0, rng(), classes=3)
    first = points[labels == 1][1:]               # arm 1 starts 2 pi / 3 further round
    i = np.arange(1, 200)
    t = 1.75 * i / 200 * 2 * np.pi + 2 * np.pi / 3
    np.testing.assert_allclose(first[:, 1], 5 * i / 200 * np.cos(t), atol=1e-5)


def test_split_by_ratio():
    points, labels = datasets.circle(500, 0.0, rng())
    (train, _), (test, _) = datasets.split(points, labels, 30, rng())
    assert len(train) == 150 and len(test) == 350
    assert {tuple(p) for p in np.concatenate([train, test])} == {tuple(p) for p in points}


def test_csv_upload_parses_with_or_without_a_header():
    points, labels, kind = datasets.parse_csv("1,2,0\n-1,-2,1\n\n3,0.5,0\n")
    assert points.tolist() == [[1, 2], [-1, -2], [3, 0.5]]
    assert labels.tolist() == [-1, 1, -1] and kind == "binary"
    _, labels, kind = datasets.parse_csv("x1,x2,label\n0,0,0\n1,1,1\n2,2,2\n")
    assert labels.tolist() == [0, 1, 2] and kind == "multiclass"
    _, labels, kind = datasets.parse_csv("0,0,0.5\n1,1,-0.25\n")
    assert kind == "regression" and labels.tolist() == [0.5, -0.25]
    points, labels = datasets.circle(50, 0.0, rng())
    again, labels_again, _ = datasets.parse_csv(datasets.to_csv(points, labels))
    np.testing.assert_allclose(again, points, atol=1e-5)
    np.testing.assert_array_equal(labels_again, labels)


@pytest.mark.parametrize("text, message", [
    ("x1,x2,label\n1,2,1\n3,4\n", "line 3: expected 3 fields (x1,x2,label), found 2: '3,4'"),
    ("1,2,1\n1,abc,0\n", "line 2: x2 'abc' is not a number"),
    ("1,2,1\n1,nan,0\n", "line 2: x2 'nan' is not a finite number"),
    ("1,2,1\n7,0,0\n", "line 2: x1 = 7 is off the plane [-6, 6]; scale the data into it"),
    ("0,0,0\n1,1,7\n", "line 2: class label 7 is too large"),
    ("0,0,0.5\n1,1,3.5\n", "line 2: label 3.5 is out of range"),
    ("x1,x2,label\n1,1,1\n", "the file has 1 data rows; at least 2 are needed"),
    ("0,0,1\n" * 10001, "line 10001: more than 10,000 rows"),
    ("0,0,1\n" + "#" * 1_000_001, "the file is 1,000,007 bytes; at most 1,000,000"),
])
def test_bad_uploads_name_the_line(text, message):
    with pytest.raises(datasets.DataError) as error:
        datasets.parse_csv(text)
    assert message in str(error.value)


# -- the graph --------------------------------------------------------------------------------
def test_features_are_graph_ops():
    session = PlaygroundSession({"features": ALL_FEATURES, "hidden": [3]})
    network = session.network
    ops = {t.name: t.op for t in network.graph.tensors}
    assert ops["x1sq"] == "Mul" and ops["x1x2"] == "Mul" and ops["x"] == "Placeholder"
    assert ops["sinx1"] == "Sin" and ops["sinx2"] == "Sin"
    points = np.array([[0.5, -2.0], [3.0, 1.0]], np.float32)
    values = network.session.run(network.features, {network.x: points})
    x1, x2 = points[:, 0], points[:, 1]
    expected = {"x1": x1, "x2": x2, "x1sq": x1 * x1, "x2sq": x2 * x2, "x1x2": x1 * x2,
                "sinx1": np.sin(x1), "sinx2": np.sin(x2)}
    np.testing.assert_allclose(values, np.stack([expected[f] for f in ALL_FEATURES], axis=1),
                               rtol=1e-6)
    assert [v.name for v in network.weights] == ["hidden1/W", "output/W"]
    assert network.weights[0].shape == (len(ALL_FEATURES), 3)


@pytest.mark.parametrize("name, op", [("sgd", "ApplySGD"), ("momentum", "ApplyMomentum"),
                                      ("rmsprop", "ApplyRMSProp"), ("adam", "ApplyAdam")])
def test_each_optimizer_trains(name, op):
    session = PlaygroundSession({"optimizer": name, "dataset": "gauss",
                                 "learningRate": 0.03 if name in ("sgd", "momentum") else 0.01})
    assert op in {t.op for t in session.network.graph.tensors}
    before = session.evaluate()["trainLoss"]
    session.train(10)
    after = session.evaluate()
    assert after["trainLoss"] < before * 0.7 and after["testAccuracy"] > 0.95


def test_training_on_circle_reaches_a_low_test_loss():
    session = PlaygroundSession({"dataset": "circle", "learningRate": 0.1})
    session.train(150)
    scores = session.evaluate()
    assert scores["testLoss"] < 0.1 and scores["testAccuracy"] > 0.97 and session.epoch == 150


def test_many_classes_train_with_softmax_and_a_confusion_matrix():
    session = PlaygroundSession({"dataset": "gauss", "classes": 3, "hidden": [6],
                                 "optimizer": "adam", "learningRate": 0.03})
    ops = {t.op for t in session.network.graph.tensors}
    assert {"Softmax", "SoftmaxCrossEntropy"} <= ops
    session.train(20)
    scores = session.evaluate()
    confusion = np.array(scores["confusion"])
    assert confusion.shape == (3, 3) and confusion.sum() == len(session.test_x)
    assert np.trace(confusion) / confusion.sum() == pytest.approx(scores["testAccuracy"])
    assert scores["testAccuracy"] > 0.9
    header, payload = decode_frame(session.frame())
    output = header["grids"][0]
    assert output["planes"] == 2 and output["size"] == GRID
    winners = np.frombuffer(payload[:GRID * GRID], np.uint8)
    assert set(np.unique(winners)) == {0, 1, 2}
    probabilities = session.predict(plane_grid(GRID))
    np.testing.assert_array_equal(winners, probabilities.argmax(axis=1))
    confidence = np.frombuffer(payload[GRID * GRID:2 * GRID * GRID], np.uint8)
    np.testing.assert_allclose(confidence, np.rint(probabilities.max(axis=1) * 255), atol=1)


def test_regression_trains_with_mean_squared_error():
    session = PlaygroundSession({"dataset": "plane", "hidden": [3], "learningRate": 0.01})
    assert session.config["problem"] == "regression"
    assert session.network.loss.op == "SquaredError"
    session.train(15)
    scores = session.evaluate()
    assert scores["testLoss"] < 0.01 and "testAccuracy" not in scores
    header, _ = decode_frame(session.frame())
    assert header["accuracy"] is None and header["confusion"] is None


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularization_shrinks_the_weights(kind):
    def weights(config):
        session = PlaygroundSession(dict(config, dataset="xor", hidden=[6], learningRate=0.1))
        session.train(20)
        return np.concatenate([w.value.ravel() for w in session.network.weights]), session
    plain, _ = weights({})
    small, session = weights({"regularization": kind, "regularizationRate": 0.03})
    assert np.abs(small).sum() < 0.7 * np.abs(plain).sum()
    names = {t.name for t in session.network.graph.tensors}
    assert f"{kind}_penalty" in names and "objective" in names


def test_learning_rate_changes_live_without_new_weights():
    session = PlaygroundSession({})
    session.train(2)
    before = [w.value.copy() for w in session.network.weights]
    notices, data_changed = session.configure({"learningRate": 0.5, "regularizationRate": 1})
    assert not data_changed and session.epoch == 2 and notices == []
    assert float(session.network.learning_rate.value) == pytest.approx(0.5)
    np.testing.assert_array_equal(before[0], session.network.weights[0].value)
    session.configure({"hidden": [3]})
    assert session.epoch == 0 and session.network.weights[0].shape == (2, 3)


def test_dropout_acts_while_training_only():
    session = PlaygroundSession({"dropout": 0.5, "hidden": [8], "dataset": "gauss",
                                 "learningRate": 0.1})
    assert {"Dropout", "DropoutMask"} <= {t.op for t in session.network.graph.tensors}
    first = session.predict(plane_grid(4))
    np.testing.assert_array_equal(first, session.predict(plane_grid(4)))   # no dropout here
    plain = PlaygroundSession({"hidden": [8], "dataset": "gauss", "learningRate": 0.1})
    np.testing.assert_array_equal(plain.network.weights[0].value,
                                  session.network.weights[0].value)      # the same start
    session.train(1)
    plain.train(1)
    assert not np.allclose(plain.network.weights[0].value, session.network.weights[0].value)
    session.train(15)
    assert session.evaluate()["testAccuracy"] > 0.95


def test_reset_gives_new_weights_and_regenerate_new_data():
    session = PlaygroundSession({})
    weights = session.network.weights[0].value.copy()
    points = session.train_x.copy()
    session.train(3)
    session.reset()
    assert session.epoch == 0 and not np.array_equal(weights, session.network.weights[0].value)
    np.testing.assert_array_equal(points, session.train_x)
    session.regenerate()
    assert session.config["seed"] == 1 and not np.array_equal(points, session.train_x)
    same = PlaygroundSession({})
    np.testing.assert_array_equal(weights, same.network.weights[0].value)     # seeded


# -- frames -----------------------------------------------------------------------------------
def test_quantization_maps_the_range_onto_bytes():
    assert list(quantize(np.array([-1.0, -0.5, 0.0, 0.999, 1.0, 5.0, -5.0]), -1, 1)) == \
        [0, 64, 128, 255, 255, 255, 0]
    assert list(quantize(np.array([0.0, 0.5, 1.0]), 0, 1)) == [0, 128, 255]


def test_plane_grid_runs_top_to_bottom_left_to_right():
    grid = plane_grid(GRID)
    assert grid.shape == (GRID * GRID, 2)
    np.testing.assert_allclose(grid[0], [-5.94, 5.94], atol=1e-5)          # top left
    np.testing.assert_allclose(grid[GRID - 1], [5.94, 5.94], atol=1e-5)    # top right
    np.testing.assert_allclose(grid[-1], [5.94, -5.94], atol=1e-5)         # bottom right
    thumbs = plane_grid(THUMB)          # the thumbnails' cells are grid cells 2, 7, ..., 97
    picked = grid.reshape(GRID, GRID, 2)[2::5, 2::5].reshape(-1, 2)
    np.testing.assert_allclose(picked, thumbs, atol=1e-5)


def test_a_frame_is_a_header_and_every_neurons_grid():
    session = PlaygroundSession({"features": ["x1", "x2", "x1sq"], "hidden": [4, 2],
                                 "activations": ["relu", "tanh"]})
    session.train(3)
    frame = session.frame()
    length = int.from_bytes(frame[:4], "little")
    header = json.loads(frame[4:4 + length])
    payload = frame[4 + length:]
    assert header["type"] == "frame" and header["epoch"] == 3
    ids = [g["id"] for g in header["grids"]]
    assert ids == ["output", "n-0-0", "n-0-1", "n-0-2", "n-1-0", "n-1-1", "n-1-2", "n-1-3",
                   "n-2-0", "n-2-1", "n-3-0"]
    offset = 0
    for grid in header["grids"]:
        assert grid["offset"] == offset
        offset += grid["size"] ** 2 * grid["planes"]
    assert offset == len(payload) == GRID * GRID + 10 * THUMB * THUMB
    assert [np.array(w).shape for w in header["weights"]] == [(3, 4), (4, 2), (2, 1)]
    assert [len(b) for b in header["biases"]] == [4, 2, 1]
    np.testing.assert_allclose(header["weights"][1], session.network.weights[1].value,
                               atol=1e-5)
    # the output map is 2p - 1 on [-1, 1]
    probability = session.predict(plane_grid(GRID))
    output = np.frombuffer(payload[:GRID * GRID], np.uint8)
    np.testing.assert_allclose(output, np.rint(probability * 255), atol=1)
    grids = {g["id"]: g for g in header["grids"]}
    # feature x1: its thumbnail over [-m, m], m = the largest |x1| of the thumbnail's cells
    x1 = grids["n-0-0"]
    assert x1["range"] == [-5.7, 5.7]
    thumb = np.frombuffer(payload[x1["offset"]:x1["offset"] + THUMB ** 2], np.uint8)
    centres = plane_grid(THUMB)[:, 0]
    np.testing.assert_array_equal(thumb, np.rint((centres + 5.7) / 11.4 * 255))
    assert grids["n-2-0"]["range"] == [-1, 1]            # tanh
    assert grids["n-1-0"]["range"][0] == -grids["n-1-0"]["range"][1]      # relu: symmetric
    assert grids["n-3-0"]["range"] == [-1, 1]
    assert 0 <= header["accuracy"] <= 1 and np.array(header["confusion"]).shape == (2, 2)


def test_set_weight_and_set_bias_change_the_next_frame():
    session = PlaygroundSession({})
    before, _ = decode_frame(session.frame())
    session.set_weight(1, 0, 1, 2.5)
    session.set_bias(3, 0, -1.25)
    after, _ = decode_frame(session.frame())
    assert after["weights"][1][0][1] == 2.5 and before["weights"][1][0][1] != 2.5
    assert after["biases"][2] == [-1.25]
    assert session.network.weights[1].value[0, 1] == np.float32(2.5)
    with pytest.raises(PlaygroundError, match=r"layer 3 is out of range: there are 3 weight "
                                              r"matrices \(0..2\)"):
        session.set_weight(3, 0, 0, 1.0)
    with pytest.raises(PlaygroundError, match="to 4 is out of range: there are 4 neurons"):
        session.set_weight(0, 0, 4, 1.0)
    with pytest.raises(PlaygroundError, match="layer 0 holds the input features"):
        session.set_bias(0, 0, 1.0)
    with pytest.raises(PlaygroundError, match="value must be a finite number"):
        session.set_bias(1, 0, float("nan"))


def test_divergence_stops_with_the_last_finite_weights():
    session = PlaygroundSession({"dataset": "plane", "learningRate": 10})
    start = [v.value.copy() for v in session.network.graph.variables]
    with pytest.raises(Diverged) as error:
        session.train(5)
    assert error.value.epoch == 1 and session.epoch == 0
    assert str(error.value) == ("training diverged at epoch 1 (loss became inf/NaN); lower "
                                "the learning rate")
    for variable, value in zip(session.network.graph.variables, start):
        np.testing.assert_array_equal(variable.value, value)
    header, _ = decode_frame(session.frame())                 # finite, drawable
    assert math.isfinite(header["trainLoss"])


# -- the WebSocket ----------------------------------------------------------------------------
@pytest.fixture
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


def receive(ws):
    """The next message: a dict for JSON text, (header, payload) for a binary frame."""
    message = ws.receive()
    if message.get("bytes") is not None:
        return decode_frame(message["bytes"])
    return json.loads(message["text"])


def receive_until(ws, kind):
    while True:
        message = receive(ws)
        if isinstance(message, dict) and message["type"] == kind:
            return message
        if kind == "frame" and isinstance(message, tuple):
            return message


def opened(ws):
    state, data, frame = receive(ws), receive(ws), receive(ws)
    assert state["type"] == "state" and data["type"] == "data"
    return state, data, frame


def test_a_socket_opens_with_state_data_and_a_frame(client):
    with client.websocket_connect("/ws?dataset=xor&hidden=3,2&learningRate=100") as ws:
        state, data, (header, payload) = opened(ws)
    assert state["config"]["dataset"] == "xor" and state["config"]["hidden"] == [3, 2]
    assert state["network"] == {"layers": [2, 3, 2, 1], "features": ["x1", "x2"],
                                "activations": ["tanh", "tanh"]}
    assert state["thumbSize"] == 20 and state["gridSize"] == 100 and not state["running"]
    assert "learningRate 100 is out of range 1e-05..10; using 10" in state["notices"]
    assert len(data["train"]) == 250 and len(data["test"]) == 250
    assert {row[2] for row in data["train"]} == {-1, 1}
    assert header["epoch"] == 0


def test_play_trains_and_sends_frames_only_when_ready(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "config", "config": {"learningRate": 0.1}})
        assert receive(ws)["config"]["learningRate"] == 0.1
        ws.send_json({"type": "play"})
        assert receive(ws)["running"] is True
        time.sleep(0.2)                 # it trains, but sends no frame until the page is ready
        ws.send_json({"type": "export", "what": "data"})
        assert receive(ws)["type"] == "download"
        epochs = []
        for _ in range(30):
            ws.send_json({"type": "ready"})
            header, _ = receive_until(ws, "frame")
            epochs.append(header["epoch"])
        ws.send_json({"type": "pause"})
        state = receive_until(ws, "state")
        assert state["running"] is False
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0] > 0
    assert header["testLoss"] < 0.6


def test_step_reset_regenerate_over_the_socket(client):
    with client.websocket_connect("/ws") as ws:
        _, data, _ = opened(ws)
        ws.send_json({"type": "step"})
        assert receive(ws)["epoch"] == 1
        ws.send_json({"type": "ready"})
        assert receive_until(ws, "frame")[0]["epoch"] == 1
        ws.send_json({"type": "reset"})
        assert receive(ws)["epoch"] == 0
        ws.send_json({"type": "regenerate"})
        assert receive_until(ws, "state")["config"]["seed"] == 1
        assert receive(ws)["train"] != data["train"]


def test_set_weight_over_the_socket_changes_the_next_frame(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "ready"})
        ws.send_json({"type": "set_weight", "layer": 0, "from": 1, "to": 2, "value": -3.5})
        header, _ = receive_until(ws, "frame")
        assert header["weights"][0][1][2] == -3.5
        ws.send_json({"type": "set_weight", "layer": 7, "from": 0, "to": 0, "value": 1})
        assert receive(ws)["message"] == ("layer 7 is out of range: there are 3 weight "
                                          "matrices (0..2)")
        ws.send_json({"type": "set_bias", "layer": 1, "neuron": 0})
        assert receive(ws)["message"] == "set_bias message needs 'value' (a number)"


def test_bad_messages_get_an_error_and_one_log_line(client, caplog):
    caplog.set_level(logging.WARNING, logger="microflow.playground")
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_text("{not json")
        assert receive(ws)["message"].startswith("malformed message: not JSON")
        ws.send_text("[1, 2]")
        assert receive(ws)["message"] == ("malformed message: expected a JSON object with a "
                                          "string 'type'")
        ws.send_json({"type": "launch"})
        assert receive(ws)["message"].startswith("unknown message type 'launch'; expected one "
                                                 "of config, play")
        ws.send_json({"type": "config", "config": "fast"})
        assert receive(ws)["message"] == ("config message: 'config' must be an object of "
                                          "settings, got \"fast\"")
        ws.send_json({"type": "config", "config": {"batchSize": 99, "optimizer": "lbfgs"}})
        state = receive(ws)
        assert "batchSize 99 is out of range 1..30; using 30" in state["notices"]
        assert any("optimizer 'lbfgs' is not one of sgd" in n for n in state["notices"])
        ws.send_bytes(b"\x00\x01")
        assert receive(ws)["message"] == "binary messages are not understood; send JSON text"
        ws.send_json({"type": "export", "what": "everything"})
        assert receive(ws)["message"] == ("cannot export 'everything'; choose data, "
                                          "checkpoint or script")
        ws.send_json({"type": "graph", "backward": "yes"})
        assert receive(ws)["message"] == "graph message: 'backward' must be true or false"
    records = [r for r in caplog.records if r.name == "microflow.playground"]
    assert len(records) == 7 and all(r.exc_info is None for r in records)
    assert all("\n" not in r.getMessage() for r in records)


def test_uploads_good_bad_and_too_large(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "upload", "csv": "x1,x2,label\n1,1,0\n2,2,1\n-3,1,2\n4,4,0\n"})
        state = receive(ws)
        assert state["config"]["dataset"] == "upload" and state["config"]["classes"] == 3
        assert state["notices"][0] == "uploaded 4 points (3 classes)"
        assert state["network"]["layers"][-1] == 3
        data = receive(ws)
        assert len(data["train"]) + len(data["test"]) == 4
        ws.send_json({"type": "upload", "csv": "1,1,1\n2,x,1\n"})
        assert receive(ws)["message"] == "line 2: x2 'x' is not a number"
        ws.send_json({"type": "upload", "csv": "1,1,1\n" * 300_000})
        assert receive(ws)["message"].startswith("message of 2,100,026 characters is too large")
        ws.send_json({"type": "upload", "csv": 12})
        assert receive(ws)["message"] == "upload message: 'csv' must be the CSV file's text, " \
                                         "got 12"


def test_choosing_upload_without_data_is_refused(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "config", "config": {"dataset": "upload"}})
        state = receive(ws)
        assert state["config"]["dataset"] == "circle"
        assert "no data was uploaded yet; upload a CSV file first" in state["notices"]


def test_divergence_over_the_socket(client):
    with client.websocket_connect("/ws?dataset=plane&learningRate=10") as ws:
        opened(ws)
        ws.send_json({"type": "ready"})
        ws.send_json({"type": "play"})
        diverged = receive_until(ws, "diverged")
        assert diverged["epoch"] == 1 and "lower the learning rate" in diverged["message"]
        assert receive_until(ws, "state")["running"] is False
        header, _ = receive_until(ws, "frame")
        flat = [w for matrix in header["weights"] for row in matrix for w in row]
        assert all(math.isfinite(w) for w in flat) and math.isfinite(header["testLoss"])


def test_two_sockets_are_independent(client):
    with client.websocket_connect("/ws") as first, client.websocket_connect("/ws") as second:
        opened(first)
        opened(second)
        first.send_json({"type": "config", "config": {"dataset": "spiral", "hidden": [5]}})
        assert receive(first)["config"]["dataset"] == "spiral"
        second.send_json({"type": "step"})
        state = receive(second)
        assert state["config"]["dataset"] == "circle" and state["config"]["hidden"] == [4, 2]
        assert state["epoch"] == 1


def test_a_socket_closed_mid_training_ends_quietly(client, caplog):
    caplog.set_level(logging.WARNING, logger="microflow.playground")
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "play"})
        ws.send_json({"type": "ready"})
    with client.websocket_connect("/ws") as ws:         # the server still serves
        state, _, _ = opened(ws)
        assert state["epoch"] == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_graph_view_is_microflow_s_drawing(client, monkeypatch):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "graph"})
        svg = receive(ws)["svg"]
        assert svg.startswith("<svg") and "hidden1" in svg and "MatMul" in svg
        ws.send_json({"type": "graph", "backward": True})
        assert "ApplySGD" in receive(ws)["svg"]

        def missing(*args, **kwargs):
            raise mf.viz.GraphvizNotFound("no dot")
        monkeypatch.setattr(mf.viz, "render", missing)
        ws.send_json({"type": "graph"})
        assert receive(ws)["message"].startswith("cannot draw the graph: Graphviz's `dot` "
                                                 "program was not found; install Graphviz")


def test_the_page_is_served_from_static(client):
    response = client.get("/")
    page = pathlib.Path(export.__file__).parent / "static" / "index.html"
    if page.is_file():
        assert response.status_code == 200 and "<html" in response.text.lower()
    else:
        assert response.status_code == 500 and "index.html is not installed" in response.text


# -- exports ----------------------------------------------------------------------------------
def download(client, what, query=""):
    with client.websocket_connect("/ws" + query) as ws:
        opened(ws)
        ws.send_json({"type": "step"})
        receive(ws)
        ws.send_json({"type": "export", "what": what})
        return receive_until(ws, "download")


def test_export_data_is_reuploadable_csv(client):
    message = download(client, "data")
    assert message["filename"] == "playground.csv" and message["encoding"] == "utf-8"
    points, labels, kind = datasets.parse_csv(message["content"])
    assert points.shape == (500, 2) and kind == "binary"


def _points_csv(path, points):
    path.write_text("x1,x2\n" + "".join(f"{a!r},{b!r}\n" for a, b in points.tolist()),
                    encoding="utf-8")
    return path


def test_the_exported_script_run_as_a_program_reproduces_the_predictions(tmp_path):
    session = PlaygroundSession({"features": ALL_FEATURES, "hidden": [5, 3],
                                 "activations": ["relu", "sigmoid"]})
    session.train(3)
    script = tmp_path / "playground_model.py"
    script.write_text(export.export_script(session)["content"], encoding="utf-8")
    points = plane_grid(7)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(script),
                             str(_points_csv(tmp_path / "points.csv", points))],
                            capture_output=True, text=True, env=env, timeout=120, check=True)
    printed = np.array([[float(v) for v in line.split(",")] for line in
                        result.stdout.splitlines()])
    np.testing.assert_allclose(printed[:, :2], points, atol=1e-6)
    np.testing.assert_allclose(printed[:, 2], session.predict(points), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", [
    {"dataset": "spiral", "classes": 3, "hidden": [6], "optimizer": "rmsprop"},
    {"dataset": "multigauss", "hidden": [], "features": ["x1", "x1x2"], "learningRate": 0.001},
    {"dataset": "xor", "hidden": [4, 4, 2], "activations": ["linear", "tanh", "relu"]},
])
def test_the_exported_script_rebuilds_the_same_graph(config, tmp_path):
    session = PlaygroundSession(config)
    session.train(3)
    script = tmp_path / "playground_model.py"
    script.write_text(export.export_script(session)["content"], encoding="utf-8")
    module = runpy.run_path(str(script))              # not as __main__: defines predict()
    points = plane_grid(9)
    expected = session.predict(points)
    np.testing.assert_allclose(module["predict"](points).reshape(expected.shape), expected,
                               rtol=1e-5, atol=1e-6)
    for written, variable in zip(module["WEIGHTS"], session.network.weights):
        np.testing.assert_array_equal(np.array(written, np.float32), variable.value)  # exact


def test_the_exported_checkpoint_restores_the_weights(client, tmp_path):
    session = PlaygroundSession({"hidden": [3], "optimizer": "adam"})
    session.train(4)
    message = export.export_checkpoint(session)
    assert message["filename"] == "playground.npz" and message["encoding"] == "base64"
    path = tmp_path / "playground.npz"
    path.write_bytes(base64.b64decode(message["content"]))
    fresh = PlaygroundSession({"hidden": [3], "optimizer": "adam", "seed": 9})
    points = plane_grid(5)
    assert not np.allclose(fresh.predict(points), session.predict(points))
    mf.restore(path, fresh.network.graph.variables)
    np.testing.assert_array_equal(fresh.predict(points), session.predict(points))
    assert download(client, "checkpoint")["mime"] == "application/octet-stream"


# -- the command line -------------------------------------------------------------------------
def test_the_playground_command_is_registered(capsys):
    from microflow.apps.cli import build_parser, main
    args = build_parser().parse_args(["playground", "--port", "0", "--no-browser"])
    assert (args.port, args.host, args.browser) == (0, "127.0.0.1", False)
    assert main(["playground", "--port", "70000"]) == 2
    assert "microflow playground: error: argument --port: invalid port 70000: use 0..65535" \
        in capsys.readouterr().err


def test_a_taken_port_is_a_one_line_error(capsys):
    from microflow.apps.cli import main
    from microflow.apps.playground.server import _listen
    taken = _listen("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 1
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert err.startswith(f"microflow playground: error: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_the_command_serves_the_page_and_stops_on_ctrl_c():
    import signal
    import urllib.error
    import urllib.request
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "microflow", "playground", "--port", "0",
                                "--no-browser"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = process.stdout.readline()
        assert line.startswith("microflow playground: serving on http://127.0.0.1:")
        url = line.split("serving on ")[1].split()[0]
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
        except urllib.error.HTTPError as error:       # no page yet: the server still answers
            assert error.code == 500
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.strip() == "microflow playground: stopped"
    assert "Traceback" not in err


def test_uploaded_data_sets_the_problem_whenever_it_is_chosen():
    session = PlaygroundSession({})
    session.upload("x1,x2,label\n" + "".join(f"{i / 10},{-i / 10},{i / 100}\n"
                                              for i in range(40)))
    assert session.config["problem"] == "regression" and session.config["dataset"] == "upload"
    notices, _ = session.configure({"dataset": "circle"})
    assert session.config["problem"] == "classification"
    notices, data_changed = session.configure({"dataset": "upload"})
    assert data_changed and session.config["problem"] == "regression"
    assert notices == ["the uploaded data sets problem regression"]
    assert len(session.train_x) == 20 and session.network.logits.shape == (None, 1)
    session.train(2)
    assert session.epoch == 2


def test_huge_lists_in_a_config_give_short_notices():
    config, notices = clamp_config({"features": ["x1"] + [f"f{i}" for i in range(10000)],
                                    "activations": ["bad"] * 10000, "hidden": [2] * 10000})
    assert config["features"] == ["x1"] and len(config["hidden"]) == 10
    assert config["activations"] == ["tanh"] * 10
    assert len(notices) <= 12 and max(len(n) for n in notices) < 200


def test_sessions_built_at_once_in_threads_keep_to_their_own_graphs():
    from concurrent.futures import ThreadPoolExecutor
    configs = [{"hidden": [h], "seed": h} for h in range(1, 9)]
    with ThreadPoolExecutor(4) as pool:
        sessions = list(pool.map(PlaygroundSession, configs))
    for session, config in zip(sessions, configs):
        graph = session.network.graph
        assert all(t.graph is graph for t in graph.tensors)
        assert [v.name for v in graph.variables if v.trainable] == \
            ["hidden1/W", "hidden1/b", "output/W", "output/b"]
        assert session.network.weights[0].shape == (2, config["hidden"][0])
    assert mf.get_default_graph().tensors == []


def overflowing(session_or_ws_send):
    """Set every weight of a chain of one-neuron linear layers to 1e4: 6 * 1e4 ** 11
    overflows float32."""
    for layer in range(11):
        session_or_ws_send(layer)


def test_weights_set_by_hand_that_overflow_are_refused_with_a_message():
    session = PlaygroundSession({"hidden": [1] * 10, "activations": "linear",
                                 "features": ["x1"]})
    overflowing(lambda layer: session.set_weight(layer, 0, 0, 1e4))
    with pytest.raises(PlaygroundError, match="the network's output is not finite with these "
                                              "weights; set smaller ones or press Reset"):
        session.frame()
    session.reset()
    assert math.isfinite(decode_frame(session.frame())[0]["testLoss"])


def test_outputs_that_overflow_after_an_epoch_go_back_one_epoch():
    session = PlaygroundSession({"hidden": [1] * 10, "activations": "linear",
                                 "features": ["x1"], "learningRate": 1e-5})
    session.train(1)
    before = [v.value.copy() for v in session.network.variables]
    session.train(1)
    for variable in session.network.weights:        # as if the epoch had blown them up
        variable.assign(np.full(variable.shape, 1e4, np.float32))
    session._last_good = session._snapshot()
    with pytest.raises(Diverged) as error:
        session.frame()
    assert error.value.epoch == 2 and session.epoch == 1
    for variable, value in zip(session.network.variables, before):
        np.testing.assert_array_equal(variable.value, value)
    assert math.isfinite(decode_frame(session.frame())[0]["trainLoss"])


def test_overflowing_weights_over_the_socket_say_so_and_reset_recovers(client):
    with client.websocket_connect("/ws?hidden=1,1,1,1,1,1,1,1,1,1&activations=linear"
                                  "&features=x1") as ws:
        opened(ws)
        overflowing(lambda layer: ws.send_json({"type": "set_weight", "layer": layer,
                                                "from": 0, "to": 0, "value": 1e4}))
        ws.send_json({"type": "ready"})
        message = receive_until(ws, "error")
        assert message["message"].startswith("the network's output is not finite")
        ws.send_json({"type": "reset"})
        assert receive_until(ws, "state")["epoch"] == 0
        header, _ = receive_until(ws, "frame")
        assert math.isfinite(header["testLoss"])
