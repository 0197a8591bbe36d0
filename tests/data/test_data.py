"""Tests for microflow.data.preprocessing: standardising, one-hot, train/test splits and minibatches."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microflow.core import random as mf_random
from microflow.data.preprocessing import Standardizer, minibatches, one_hot, standardize, train_test_split

# ---------------------------------------------------------------------------- standardize


def test_standardize_uses_training_statistics_for_every_array():
    X_train = np.array([[1.0, 10.0], [3.0, 30.0]], dtype=np.float32)
    X_test = np.array([[5.0, 20.0]], dtype=np.float32)
    train, test = standardize(X_train, X_test)
    assert train.dtype == np.float32 and test.dtype == np.float32
    assert np.allclose(train, [[-1, -1], [1, 1]])
    assert np.allclose(test, [[3, 0]])


def test_standardize_alone_returns_an_array_with_zero_mean_unit_std():
    X = np.random.default_rng(0).normal(5.0, 3.0, size=(500, 4))
    Z = standardize(X)
    assert isinstance(Z, np.ndarray) and Z.dtype == np.float64
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-12) and np.allclose(Z.std(axis=0), 1)


def test_constant_columns_are_only_centred():
    X_train = np.array([[2.0, 1.0], [2.0, 3.0]])
    _, test = standardize(X_train, np.array([[7.0, 2.0]]))
    assert test.tolist() == [[5.0, 0.0]]


def test_integer_input_becomes_float64_and_images_are_per_pixel():
    images = np.arange(2 * 3 * 3).reshape(2, 3, 3)
    scaler = Standardizer().fit(images)
    assert scaler.mean.shape == (3, 3) and scaler.std.tolist() == [[4.5] * 3] * 3
    assert scaler.transform(images).dtype == np.float64
    assert np.allclose(scaler.fit_transform(images), np.where(np.arange(2)[:, None, None] == 0, -1, 1))


def test_standardizer_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 4\)"):
        Standardizer().fit(np.ones((5, 3))).transform(np.ones((2, 4)))
    with pytest.raises(ValueError, match="empty"):
        standardize(np.zeros((0, 3)))


# ---------------------------------------------------------------------------- one_hot


def test_one_hot_values_shape_and_dtype():
    encoded = one_hot([2, 0, 1, 2])
    assert encoded.dtype == np.float32
    assert encoded.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert one_hot(np.array([[0, 1]]), 4, dtype=np.int64).tolist() == [[[1, 0, 0, 0], [0, 1, 0, 0]]]
    assert one_hot(np.array([1.0, 0.0]), 2).tolist() == [[0, 1], [1, 0]]
    assert one_hot(np.array([], dtype=np.int64)).shape == (0, 0)


@pytest.mark.parametrize("labels, kwargs, error, message", [
    ([0, 5], {"num_classes": 3}, ValueError, "label 5 does not fit num_classes=3"),
    ([0, -1], {}, ValueError, "non-negative, got -1"),
    ([0.5, 1.0], {}, ValueError, "whole-number labels, got 0.5"),
    (["a", "b"], {}, TypeError, "dtype <U1"),
])
def test_one_hot_rejects_bad_labels_naming_them(labels, kwargs, error, message):
    with pytest.raises(error, match=message):
        one_hot(labels, **kwargs)


# ---------------------------------------------------------------------------- train_test_split


def test_split_keeps_rows_aligned_and_partitions_them():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    assert X_train.shape == (40, 2) and X_test.shape == (10, 2)
    assert np.array_equal(X_train[:, 0] // 2, y_train) and np.array_equal(X_test[:, 0] // 2, y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(50))
    assert y_train.tolist() != sorted(y_train.tolist())  # shuffled


def test_split_sizes_fraction_rounds_up_and_counts_are_exact():
    y = np.arange(11)
    assert len(train_test_split(y, test_size=0.25, seed=0)[1]) == 3  # ceil(2.75)
    assert len(train_test_split(y, test_size=4, seed=0)[1]) == 4


def test_split_is_reproducible_and_follows_set_seed():
    y = np.arange(30)
    assert np.array_equal(train_test_split(y, seed=4)[1], train_test_split(y, seed=4)[1])
    mf_random.set_seed(8)
    first = train_test_split(y)[1]
    mf_random.set_seed(8)
    assert np.array_equal(train_test_split(y)[1], first)


def test_stratified_split_keeps_class_shares():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    _, y_test = train_test_split(y, test_size=0.2, seed=1, stratify=y)
    assert np.bincount(y_test).tolist() == [12, 6, 2]


@given(st.lists(st.integers(0, 4), min_size=5, max_size=60), st.floats(0.1, 0.9))
def test_stratified_split_partitions_with_requested_size(labels, test_size):
    y = np.array(labels)
    n_test = int(np.ceil(test_size * len(y)))
    if not 0 < n_test < len(y):
        return
    index = np.arange(len(y))
    i_train, i_test, y_train, y_test = train_test_split(index, y, test_size=test_size, seed=0, stratify=y)
    assert len(i_test) == n_test
    assert sorted(np.concatenate([i_train, i_test]).tolist()) == list(range(len(y)))
    assert np.array_equal(y[i_test], y_test)
    expected = np.bincount(y, minlength=5) * n_test / len(y)
    assert np.all(np.abs(np.bincount(y_test, minlength=5) - expected) < 1)


@pytest.mark.parametrize("arrays, kwargs, message", [
    ((np.zeros(5), np.zeros(4)), {}, r"lengths \[5, 4\]"),
    ((np.zeros(5),), {"test_size": 1.5}, "test_size must be in"),
    ((np.zeros(5),), {"test_size": 5}, "5 test rows out of 5"),
    ((np.zeros(5),), {"stratify": np.zeros(3)}, "3 labels for 5 rows"),
    ((), {}, "at least one array"),
])
def test_split_errors_name_the_culprit(arrays, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_test_split(*arrays, **kwargs)


# ---------------------------------------------------------------------------- minibatches


def test_minibatches_in_order_with_smaller_last_batch():
    X = np.arange(14).reshape(7, 2)
    y = np.arange(7)
    batches = list(minibatches((X, y), 3, shuffle=False))
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(np.array_equal(Xb[:, 0] // 2, yb) for Xb, yb in batches)


def test_minibatches_shuffled_cover_each_row_once_and_stay_aligned():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    batches = list(minibatches([X, y], 4, seed=3))
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(np.array_equal(Xb[:, 0] // 2, yb) for Xb, yb in batches)
    again = np.concatenate([yb for _, yb in minibatches([X, y], 4, seed=3)])
    assert np.array_equal(seen, again)


def test_minibatches_of_a_dict_yield_dicts_and_of_an_array_yield_arrays():
    data = {"x": np.arange(5.0), "label": np.arange(5) * 10}
    batches = list(minibatches(data, 2, shuffle=False))
    assert [sorted(batch) for batch in batches] == [["label", "x"]] * 3
    assert batches[2]["label"].tolist() == [40]
    assert [b.tolist() for b in minibatches(np.arange(3), 2, shuffle=False)] == [[0, 1], [2]]


@pytest.mark.parametrize("arrays, batch_size, message", [
    ((np.zeros(5), np.zeros(3)), 2, r"lengths \[5, 3\]"),
    ({"x": np.zeros(5), "y": np.zeros(3)}, 2, "'x': 5, 'y': 3"),
    ((np.zeros(5),), 0, "batch_size must be a positive integer, got 0"),
    ((np.zeros(5),), 2.5, "got 2.5"),
    ((), 2, "at least one array"),
])
def test_minibatches_errors_at_the_call_naming_the_culprit(arrays, batch_size, message):
    with pytest.raises(ValueError, match=message):
        minibatches(arrays, batch_size)
