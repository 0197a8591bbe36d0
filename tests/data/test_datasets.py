"""Tests for microflow.core.random, the toy datasets, the FER2013 reader/writer and the synthetic faces."""

import numpy as np
import pytest

from microflow.core import random as mf_random
from microflow.data.datasets import (
    CLASSES,
    FER2013FormatError,
    balance_repeats,
    clouds,
    donut,
    load_fer2013,
    spiral,
    synthetic_faces,
    write_fer2013,
    xor,
)

# ---------------------------------------------------------------------------- randomness


def test_as_generator_passes_generators_through_and_seeds_ints():
    rng = np.random.default_rng(3)
    assert mf_random.as_generator(rng) is rng
    assert mf_random.as_generator(7).integers(10**9) == np.random.default_rng(7).integers(10**9)


def test_set_seed_makes_none_seeds_reproducible():
    mf_random.set_seed(123)
    first = mf_random.as_generator(None).standard_normal(3)
    mf_random.set_seed(123)
    assert np.array_equal(mf_random.as_generator(None).standard_normal(3), first)
    assert not np.array_equal(mf_random.as_generator(None).standard_normal(3), first)


@pytest.mark.parametrize("bad, error", [(1.5, TypeError), ("3", TypeError), (True, TypeError), (-1, ValueError)])
def test_as_generator_rejects_bad_seeds_naming_them(bad, error):
    with pytest.raises(error, match="seed"):
        mf_random.as_generator(bad)


# ---------------------------------------------------------------------------- toy sets


def test_xor_points_and_labels():
    X, y = xor()
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [0, 1, 1, 0]


def test_donut_rings():
    X, y = donut(2001, seed=0)
    assert X.shape == (2001, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [1000, 1001]
    radius = np.hypot(X[:, 0], X[:, 1])
    assert abs(radius[y == 0].mean() - 5.0) < 0.15
    assert abs(radius[y == 1].mean() - 10.0) < 0.15
    assert abs(radius[y == 1].std() - 1.0) < 0.1
    assert 0 < y[:1000].sum() < 1000  # shuffled, not inner-then-outer


def test_clouds_centres():
    X, y = clouds(800, seed=1)
    assert X.shape == (2400, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [800, 800, 800]
    for label, centre in enumerate([(0, -2), (2, 2), (-2, 2)]):
        assert np.allclose(X[y == label].mean(axis=0), centre, atol=0.12)
        assert np.allclose(X[y == label].std(axis=0), 1.0, atol=0.08)


def test_spiral_arms_are_separate_labels_inside_unit_disc():
    X, y = spiral(200, arms=4, seed=2)
    assert X.shape == (800, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [200] * 4
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0
    # Far from the centre, a point's angle (relative to its radius) identifies its arm.
    radius, angle = np.hypot(X[:, 0], X[:, 1]), np.arctan2(X[:, 1], X[:, 0])
    phase = np.mod(angle / (2 * np.pi) - radius, 1.0)  # turns=1: arm a sits near a/arms
    outer = radius > 0.5
    nearest_arm = np.round(phase[outer] * 4).astype(int) % 4
    assert np.mean(nearest_arm == y[outer]) > 0.9


def test_spiral_needs_two_arms():
    with pytest.raises(ValueError, match="arms=1"):
        spiral(arms=1)


@pytest.mark.parametrize("make", [lambda s: donut(50, seed=s), lambda s: clouds(20, seed=s),
                                  lambda s: spiral(20, seed=s), lambda s: synthetic_faces(14, seed=s)])
def test_datasets_are_reproducible(make):
    X1, y1 = make(5)
    X2, y2 = make(5)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(make(6)[0], X1)
    mf_random.set_seed(99)
    X3, _ = make(None)
    mf_random.set_seed(99)
    X4, _ = make(None)
    assert np.array_equal(X3, X4)


# ---------------------------------------------------------------------------- FER2013


def _row(label, pixels, usage="Training"):
    return f"{label},{' '.join(map(str, pixels))},{usage}\n"


def _write_lines(path, lines):
    path.write_text("".join(lines))
    return path


def test_synthetic_faces_round_trip_through_csv_exactly(tmp_path):
    X, y = synthetic_faces(30, seed=0)
    path = write_fer2013(tmp_path / "fer.csv", X, y)
    X2, y2 = load_fer2013(path)
    assert X2.dtype == np.float32 and y2.dtype == np.int64
    assert np.array_equal(X2, X) and np.array_equal(y2, y)
    assert path.read_text().splitlines()[0] == "emotion,pixels,Usage"
    assert [p.name for p in tmp_path.iterdir()] == ["fer.csv"]  # no temp file left behind


def test_write_rounds_arbitrary_values_to_multiples_of_one_255th(tmp_path):
    X = np.full((1, 2304), 0.5, dtype=np.float32)
    loaded, _ = load_fer2013(write_fer2013(tmp_path / "f.csv", X, [3]))
    assert loaded[0, 0] == np.float32(128) / np.float32(255)


def test_usage_filter_and_per_row_usage(tmp_path):
    X, y = synthetic_faces(9, seed=1)
    usage = ["Training"] * 5 + ["PublicTest"] * 3 + ["PrivateTest"]
    path = write_fer2013(tmp_path / "fer.csv", X, y, usage=usage)
    for split, rows in [("Training", slice(0, 5)), ("PublicTest", slice(5, 8)), ("PrivateTest", slice(8, 9))]:
        X_split, y_split = load_fer2013(path, usage=split)
        assert np.array_equal(X_split, X[rows]) and np.array_equal(y_split, y[rows])
    assert len(load_fer2013(path)[1]) == 9


def test_unknown_usage_argument_lists_valid_ones(tmp_path):
    path = write_fer2013(tmp_path / "fer.csv", *synthetic_faces(7, seed=1))
    with pytest.raises(ValueError, match="Training, PublicTest, PrivateTest.*'Validation'"):
        load_fer2013(path, usage="Validation")


def test_icml_layout_with_spaces_loads(tmp_path):
    pixels = np.arange(2304) % 256
    path = _write_lines(tmp_path / "icml_face_data.csv", [
        "emotion, Usage, pixels\n",
        f"3, Training, {' '.join(map(str, pixels))}\n",
        f" 6, PrivateTest, {' '.join(map(str, pixels[::-1]))}\n",
    ])
    X, y = load_fer2013(path)
    assert y.tolist() == [3, 6]
    assert np.array_equal(X[0], pixels.astype(np.float32) / np.float32(255))
    assert np.array_equal(X[1], pixels[::-1].astype(np.float32) / np.float32(255))
    X_private, y_private = load_fer2013(path, usage="PrivateTest")
    assert y_private.tolist() == [6]


GOOD = [0] * 2304


@pytest.mark.parametrize("bad_line, problem", [
    pytest.param(_row(2, [0] * 2303), "expected 2304 pixels, found 2303", id="pixel-count"),
    pytest.param(_row(7, GOOD), "emotion 7 is out of range 0..6", id="label-7"),
    pytest.param(_row(-1, GOOD), "emotion -1 is out of range 0..6", id="label-negative"),
    pytest.param(_row("x", GOOD), "emotion 'x' is not an integer", id="label-text"),
    pytest.param(_row(1, ["12a"] + [0] * 2303), "pixel value '12a' is not an integer", id="pixel-12a"),
    pytest.param(_row(1, [256] + [0] * 2303), "pixel 0 is 256, outside 0..255", id="pixel-256"),
    pytest.param("4,,Training\n", "pixels value is missing", id="pixels-missing"),
    pytest.param(",1 2 3,Training\n", "emotion value is missing", id="label-missing"),
    pytest.param("4,1 2 3\n", "expected 3 columns, found 2", id="column-missing"),
    pytest.param(_row(1, GOOD).rstrip("\n") + ",extra\n", "expected 3 columns, found 4",
                 id="column-extra"),
    pytest.param(_row(1, GOOD, "Validation"),
                 "Usage 'Validation' is not one of Training, PublicTest, PrivateTest", id="usage"),
])
def test_malformed_row_names_file_line_and_problem(tmp_path, bad_line, problem):
    # Header is line 1, a blank line 3 still counts, so the bad row is line 5.
    path = _write_lines(tmp_path / "fer.csv", [
        "emotion,pixels,Usage\n", _row(0, GOOD), "\n", _row(1, GOOD), bad_line, _row(2, GOOD),
    ])
    with pytest.raises(FER2013FormatError, match="line 5: ") as caught:
        load_fer2013(path)
    assert str(caught.value) == f"{path}, line 5: {problem}"
    assert caught.value.line == 5 and isinstance(caught.value, ValueError)


def test_header_without_needed_columns_is_reported_on_line_1(tmp_path):
    path = _write_lines(tmp_path / "fer.csv", ["label,image,Usage\n", _row(0, GOOD)])
    with pytest.raises(FER2013FormatError) as caught:
        load_fer2013(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 1: header lacks column(s) emotion, pixels")
    assert "'label', 'image', 'Usage'" in message


def test_usage_filter_needs_a_usage_column(tmp_path):
    path = _write_lines(tmp_path / "train.csv", ["emotion,pixels\n", f"0,{' '.join(['0'] * 2304)}\n"])
    assert load_fer2013(path)[1].tolist() == [0]
    with pytest.raises(FER2013FormatError, match="line 1: no Usage column to select 'Training'"):
        load_fer2013(path, usage="Training")


def test_empty_file_is_reported(tmp_path):
    path = _write_lines(tmp_path / "empty.csv", [])
    with pytest.raises(FER2013FormatError, match="empty.csv, line 1: file is empty"):
        load_fer2013(path)


def test_missing_file_names_path(tmp_path):
    path = tmp_path / "nowhere" / "fer2013.csv"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_fer2013(path)


def test_balance_repeats_disgust_nine_times_on_real_training_counts():
    counts = [3995, 436, 4097, 7215, 4830, 3171, 4965]  # FER2013 Training split
    assert balance_repeats(np.repeat(np.arange(7), counts)).tolist() == [1, 9, 1, 1, 1, 1, 1]


def test_balance_repeats_rare_classes_in_loaded_file(tmp_path):
    # Counts 10, 2, 10, 10, 4, 10, 10: median 10, so Disgust x5 and Sad x round(2.5) = 3.
    y = np.repeat(np.arange(7), [10, 2, 10, 10, 4, 10, 10])
    X = np.linspace(0, 1, len(y) * 2304).reshape(len(y), 2304)
    path = write_fer2013(tmp_path / "fer.csv", X, y)
    X_balanced, y_balanced = load_fer2013(path, balance=True)
    assert np.bincount(y_balanced).tolist() == [10, 10, 10, 10, 12, 10, 10]
    X_plain, _ = load_fer2013(path)
    disgust_rows = X_plain[y == 1]
    assert np.array_equal(X_balanced[y_balanced == 1], np.repeat(disgust_rows, 5, axis=0))


def test_write_rejects_bad_inputs_naming_them(tmp_path):
    X, y = synthetic_faces(7, seed=0)
    with pytest.raises(ValueError, match=r"shape \(7, 100\)"):
        write_fer2013(tmp_path / "a.csv", np.zeros((7, 100)), y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_fer2013(tmp_path / "a.csv", X * 2, y)
    with pytest.raises(ValueError, match="0..6"):
        write_fer2013(tmp_path / "a.csv", X, y + 1)
    with pytest.raises(ValueError, match="'Test'"):
        write_fer2013(tmp_path / "a.csv", X, y, usage="Test")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- synthetic faces


@pytest.fixture(scope="module")
def faces():
    return synthetic_faces(2100, seed=0)


def test_synthetic_faces_format_and_balance(faces):
    X, y = faces
    assert X.shape == (2100, 2304) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [300] * 7
    assert X.min() >= 0.0 and X.max() <= 1.0
    levels = X * 255
    assert np.array_equal(levels, np.round(levels))
    assert 0 < (y[:300] == 0).sum() < 300  # shuffled
    assert np.bincount(synthetic_faces(10, seed=1)[1]).tolist() == [2, 2, 2, 1, 1, 1, 1]


def _ridge_predictions(X_train, y_train, X_test, penalty):
    """Least-squares linear classifier (one-hot targets, L2 penalty), in plain numpy."""
    mean, std = X_train.mean(0), X_train.std(0) + 1e-6
    A, B = (X_train - mean) / std, (X_test - mean) / std
    targets = np.eye(7)[y_train]
    W = np.linalg.solve(A.T @ A + penalty * np.eye(A.shape[1]), A.T @ (targets - targets.mean(0)))
    return np.argmax(B @ W, axis=1)


def test_synthetic_faces_are_learnable_but_not_by_brightness(faces):
    X, y = faces
    X64 = X.astype(np.float64)
    train, test = slice(0, 1600), slice(1600, None)
    linear_accuracy = np.mean(_ridge_predictions(X64[train], y[train], X64[test], 300.0) == y[test])
    assert linear_accuracy > 0.5  # chance is 1/7
    # Mean brightness alone: pick the majority class in each brightness decile.
    brightness = X64.mean(axis=1)
    edges = np.quantile(brightness[train], np.linspace(0, 1, 11)[1:-1])
    bins = np.digitize(brightness, edges)
    majority = [np.bincount(y[train][bins[train] == b], minlength=7).argmax() for b in range(10)]
    brightness_accuracy = np.mean(np.array(majority)[bins[test]] == y[test])
    assert brightness_accuracy < 0.25


def test_synthetic_faces_expressions_show_where_expected(faces):
    # Class-average images, each face normalised for lighting first.
    X, y = faces
    images = X.reshape(-1, 48, 48).astype(np.float64)
    images = (images - np.median(images, axis=(1, 2), keepdims=True)) / images.std(axis=(1, 2), keepdims=True)
    average = {name: images[y == label].mean(axis=0) for label, name in enumerate(CLASSES)}
    mouth_centre = (slice(33, 40), slice(21, 27))
    upper_mouth_corners = (slice(30, 34), np.r_[14:19, 29:34])
    # Surprise's open "O" darkens the middle of the mouth; a closed neutral mouth barely does.
    assert average["Surprise"][mouth_centre].mean() < average["Neutral"][mouth_centre].mean() - 0.3
    # A smile lifts the mouth corners; a frown pulls them down, out of that region.
    assert average["Happy"][upper_mouth_corners].mean() < average["Sad"][upper_mouth_corners].mean() - 0.2


def test_a_byte_that_is_not_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "fer.csv"
    path.write_bytes(b"emotion,pixels,Usage\n" + _row(0, GOOD).encode() +
                     _row(1, GOOD).encode().replace(b"Training", b"Tr\xe9ining"))
    with pytest.raises(FER2013FormatError) as caught:
        load_fer2013(path)
    assert str(caught.value).startswith(f"{path}, line 3: byte 0xe9 ")
    assert "not UTF-8" in str(caught.value) and caught.value.line == 3


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "fer.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"emotion,pixels,Usage\r\n{_row(3, GOOD)}".encode())
    X, y = load_fer2013(path)
    assert y.tolist() == [3] and X.shape == (1, 2304)
