"""microflow.viz.plots: what each picture shows, read back from the PNG; atomic writes."""

import os

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

import microflow as mf
from microflow.viz import plots

PNG = b"\x89PNG\r\n\x1a\n"


def threshold_network():
    """logits = [0, 10 * x1]: class 1 right of the line x1 = 0, class 0 left of it; one
    hidden 'unit' per input coordinate (relu of x1, tanh of x2)."""
    x = mf.placeholder((None, 2), name="x")
    scale = mf.constant(np.array([[0.0, 10.0], [0.0, 0.0]], np.float32))
    logits = x @ scale
    hidden = mf.relu(x @ mf.constant(np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)))
    return mf.Session(), x, logits, hidden


def pixel(image, fx, fy):
    """The RGB at a fraction (fx, fy) of the image's width and height, from the top left."""
    h, w = image.shape[:2]
    return image[int(fy * (h - 1)), int(fx * (w - 1)), :3]


def test_decision_boundary_colours_each_side_by_its_class(tmp_path):
    sess, x, logits, _ = threshold_network()
    X = np.array([[-1.0, -1.0], [1.0, 1.0]], np.float32)
    path = plots.decision_boundary(sess, x, logits, X, [0, 1], str(tmp_path / "b.png"),
                                   classes=["left", "right"])
    assert path == str(tmp_path / "b.png")
    assert open(path, "rb").read(8) == PNG
    image = imread(path)
    # The axes span the figure's left ~75%: sample a quarter of the way in from each side.
    left, right = pixel(image, 0.2, 0.3), pixel(image, 0.6, 0.3)
    blue, orange = np.array(to_rgb(plots.CLASS_COLOURS[0])), np.array(to_rgb(plots.CLASS_COLOURS[1]))
    np.testing.assert_allclose(left, 0.45 * blue + 0.55, atol=0.03)
    np.testing.assert_allclose(right, 0.45 * orange + 0.55, atol=0.03)


def test_decision_boundary_feeds_the_grid_through_transform(tmp_path):
    sess, x, logits, _ = threshold_network()
    X = np.array([[-1.0, -1.0], [1.0, 1.0]], np.float32)
    seen = []

    def shift(points):
        seen.append(points)
        return points + np.float32(5.0)                  # everything lands right of x1 = 0

    plots.decision_boundary(sess, x, logits, X, [0, 1], str(tmp_path / "b.png"),
                            transform=shift, resolution=30)
    assert sum(len(p) for p in seen) == 900
    image = imread(str(tmp_path / "b.png"))
    orange = np.array(to_rgb(plots.CLASS_COLOURS[1]))
    np.testing.assert_allclose(pixel(image, 0.2, 0.3), 0.45 * orange + 0.55, atol=0.03)


def test_the_plane_covers_the_points_with_a_margin():
    xs, ys, points = plots.plane(np.array([[0.0, 10.0], [2.0, 20.0]]), resolution=5,
                                 margin=0.5)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (-1.0, 3.0, 5.0, 25.0)
    assert points.shape == (25, 2) and points.dtype == np.float32
    assert points[:5, 1].tolist() == [5.0] * 5               # row by row: x varies fastest
    with pytest.raises(ValueError, match=r"needs 2-D points, got an array of shape \(4, 3\)"):
        plots.plane(np.zeros((4, 3)))


def test_hidden_unit_maps_draws_one_map_per_unit_in_rows_of_eight(tmp_path):
    x = mf.placeholder((None, 2), name="x")
    X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    heights = []
    for units in (3, 8, 16):
        W = mf.constant(np.random.default_rng(units).normal(size=(2, units)).astype(np.float32))
        path = plots.hidden_unit_maps(mf.Session(), x, mf.tanh(x @ W), X, y,
                                      str(tmp_path / f"h{units}.png"))
        heights.append(imread(path).shape[:2])
    assert heights[0][1] < heights[1][1] == heights[2][1]    # 3 maps narrower than 8
    assert heights[1][0] < heights[2][0]                      # 16 maps take two rows


def test_hidden_unit_maps_shows_a_relu_unit_over_the_plane(tmp_path):
    sess, x, _, hidden = threshold_network()
    X = np.array([[-1.0, -1.0], [1.0, 1.0]], np.float32)
    path = plots.hidden_unit_maps(sess, x, hidden, X, [0, 1], str(tmp_path / "h.png"))
    image = imread(path)
    # unit 0 = relu(x1): white on the left half of its map, purple on the right.
    left, right = pixel(image, 0.1, 0.55), pixel(image, 0.42, 0.55)
    assert left.min() > 0.95
    assert right[1] < 0.5 and right[2] > right[1]            # a dark purple


def test_hidden_unit_maps_needs_a_layer_of_units(tmp_path):
    sess, x, logits, _ = threshold_network()
    with pytest.raises(ValueError, match="needs a layer of shape"):
        plots.hidden_unit_maps(sess, x, mf.reduce_sum(logits, axis=1), np.zeros((3, 2)),
                               [0, 1, 0], str(tmp_path / "h.png"))


def test_loss_curves_take_a_history_or_a_dict(tmp_path):
    history = mf.train.History()
    for epoch in range(5):
        history.record({"loss": 1 / (epoch + 1), "val_loss": 1.2 / (epoch + 1),
                        "accuracy": 0.5 + epoch / 10, "val_accuracy": 0.5})
    wide = imread(plots.loss_curves(history, str(tmp_path / "a.png")))
    narrow = imread(plots.loss_curves({"loss": [3.0, 2.0]}, str(tmp_path / "b.png")))
    assert wide.shape[1] == 2 * narrow.shape[1]              # a second panel for accuracy
    with pytest.raises(ValueError, match="at least one 'loss' value"):
        plots.loss_curves({"loss": []}, str(tmp_path / "c.png"))


def test_confusion_counts_rows_are_true_classes():
    counts = plots.confusion_counts([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    with pytest.raises(ValueError, match=r"differ in shape: \(2,\) and \(3,\)"):
        plots.confusion_counts([0, 1], [0, 1, 1], 2)


def test_face_pictures_are_written(tmp_path):
    X, y = mf.datasets.synthetic_faces(14, seed=0)
    predicted = (y + np.arange(14) % 2) % 7                  # every other one wrong
    classes = mf.datasets.CLASSES
    grid = imread(plots.face_grid(X, y, predicted, str(tmp_path / "faces.png"), classes))
    assert grid.shape[0] < grid.shape[1]                      # 2 rows of 8
    plots.confusion_matrix(y, predicted, str(tmp_path / "confusion.png"), classes)
    W = np.random.default_rng(0).normal(size=(2304, 40))
    weights = imread(plots.first_layer_weights(W, str(tmp_path / "w.png")))
    assert weights.shape[0] > weights.shape[1] / 3            # 32 of 40 units: 4 rows
    with pytest.raises(ValueError, match=r"W must have shape \(2304, units\).*got \(100, 3\)"):
        plots.first_layer_weights(np.zeros((100, 3)), str(tmp_path / "bad.png"))
    assert sorted(os.listdir(tmp_path)) == ["confusion.png", "faces.png", "w.png"]


def test_a_failed_write_keeps_the_old_picture_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "loss.png"
    path.write_bytes(b"the old picture")

    def broken(self, file, **options):
        file.write(b"half a pict")
        raise RuntimeError("disk full")

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.loss_curves({"loss": [1.0]}, str(path))
    assert path.read_bytes() == b"the old picture"
    assert os.listdir(tmp_path) == ["loss.png"]


def test_pictures_replace_old_files_and_are_readable_by_all(tmp_path):
    path = tmp_path / "loss.png"
    path.write_bytes(b"old")
    plots.loss_curves({"loss": [1.0, 0.5]}, str(path))
    assert path.read_bytes()[:8] == PNG
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_conv_filters_and_feature_maps_draw_one_tile_each(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((5, 5, 1, 20))
    filters = imread(plots.conv_filters(W, str(tmp_path / "filters.png")))
    assert filters.shape[1] > 2 * filters.shape[0]          # 20 filters: 3 rows of 8
    maps = imread(plots.feature_maps(rng.uniform(0, 1, (48, 48)), rng.standard_normal(
        (48, 48, 20)), str(tmp_path / "maps.png")))
    assert maps.shape[1] > maps.shape[0]                    # input + 15 maps: 2 rows of 8
    with pytest.raises(ValueError, match=r"W must be filters of shape \(KH, KW, C_in, C_out\), "
                                         r"got \(25, 20\)"):
        plots.conv_filters(np.zeros((25, 20)), str(tmp_path / "bad.png"))
    with pytest.raises(ValueError, match=r"image must be \(H, W\) and maps \(H, W, C\), got "
                                         r"\(48, 48\) and \(48, 48\)"):
        plots.feature_maps(np.zeros((48, 48)), np.zeros((48, 48)), str(tmp_path / "bad.png"))
    assert sorted(os.listdir(tmp_path)) == ["filters.png", "maps.png"]
