"""The course trainers: acceptance bars with fixed seeds, data loading and splitting,
divergence, cross-validation and search scoring."""

import math

import numpy as np
import pytest

import microflow as mf
from microflow.data import datasets, model_selection
from microflow.apps import problems as trainers

# -- the acceptance bars (default configs, seed 0) ----------------------------------------------


def test_xor_is_learned_perfectly():
    result = trainers.train(trainers.config("xor"), progress=False)
    assert result.train_accuracy == result.test_accuracy == 1.0
    assert result.history.epochs == 300 and result.history.last("loss") < 0.05


def test_donut_reaches_98_percent_on_held_out_points():
    result = trainers.train(trainers.config("donut"), progress=False)
    assert len(result.dataset.y_test) == 200                # 20% of 1000, never trained on
    assert result.test_accuracy >= 0.98
    assert result.history.last("val_loss") < 0.1


def test_clouds_reach_95_percent_on_held_out_points():
    result = trainers.train(trainers.config("clouds"), progress=False)
    assert len(result.dataset.y_test) == 600
    assert result.test_accuracy >= 0.95


@pytest.mark.slow
def test_synthetic_faces_reach_90_percent_on_held_out_faces_with_an_mlp():
    cfg = trainers.config("faces")
    assert cfg.hidden == (256,) and cfg.samples == 10000
    result = trainers.train(cfg, progress=False)
    assert len(result.dataset.y_test) == 2000
    assert np.bincount(result.dataset.y_test).tolist() == [286, 286, 286, 286, 286, 285, 285]
    assert result.test_accuracy >= 0.90
    assert result.train_accuracy >= result.test_accuracy


# -- configs ----------------------------------------------------------------------------------


def test_config_takes_the_problem_defaults_and_ignores_none_overrides():
    cfg = trainers.config("donut", lr=0.1, hidden=[16, 4], epochs=None)
    assert (cfg.lr, cfg.hidden, cfg.epochs, cfg.activation) == (0.1, (16, 4), 40, "relu")
    assert trainers.config("xor").batch_size is None


@pytest.mark.parametrize("overrides, message", [
    (dict(activation="swish"), "unknown activation 'swish'; choose from relu, tanh, sigmoid"),
    (dict(optimizer="lbfgs"), "unknown optimizer 'lbfgs'; choose from sgd, momentum"),
    (dict(hidden=(8, 0)), r"positive layer widths, got \(8, 0\)"),
    (dict(lr=-1.0), "learning rate must be positive, got -1.0"),
    (dict(epochs=0), "epochs must be at least 1, got 0"),
    (dict(samples=3), "samples must be at least 10, got 3"),
])
def test_config_rejects_bad_values_naming_them(overrides, message):
    with pytest.raises(ValueError, match=message):
        trainers.config("donut", **overrides)


def test_config_rejects_an_unknown_problem():
    with pytest.raises(ValueError, match="unknown problem 'mnist'; choose from xor, donut"):
        trainers.config("mnist")


def test_the_optimizer_comes_from_its_name():
    assert type(trainers.make_optimizer("sgd", 0.1)).__name__ == "SGD"
    assert trainers.make_optimizer("momentum", 0.1).momentum == 0.9
    assert type(trainers.make_optimizer("rmsprop", 0.1)).__name__ == "RMSProp"
    assert trainers.make_optimizer("adam", 0.1).learning_rate == 0.1


# -- data -------------------------------------------------------------------------------------


def test_the_split_is_stratified_and_standardized_with_training_statistics():
    cfg = trainers.config("donut")
    data = trainers.load_data(cfg, seed=0)
    ds = trainers.split(cfg, data, seed=0)
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 1000
    assert (len(ds.y_test), len(ds.y_val)) == (200, 80)
    assert np.bincount(ds.y_test).tolist() == [100, 100]
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-4)
    assert abs(ds.X_test.mean()) > 1e-6                     # the test set's own stats unused
    raw = ds.raw(ds.X_test)
    np.testing.assert_allclose(ds.transform(raw), ds.X_test, atol=1e-5)
    radii = np.hypot(*raw.T)
    assert radii[ds.y_test == 0].mean() == pytest.approx(5, abs=0.3)


def test_default_faces_go_through_the_fer2013_loader(monkeypatch):
    read = []
    load = datasets.load_fer2013
    monkeypatch.setattr(datasets, "load_fer2013", lambda path, **kw: read.append(path) or
                        load(path, **kw))
    data = trainers.load_data(trainers.config("faces", samples=70), seed=3)
    assert len(read) == 1 and read[0].endswith("synthetic.csv")
    X, y = datasets.synthetic_faces(70, seed=3)
    np.testing.assert_array_equal(data.X, X)                # the round trip is exact
    np.testing.assert_array_equal(data.y, y)
    assert data.image_shape == (48, 48) and data.test is None


def test_a_fer2013_file_with_usage_trains_on_training_rows_and_tests_on_the_rest(tmp_path):
    X, y = datasets.synthetic_faces(30, seed=0)
    usage = ["Training"] * 20 + ["PublicTest"] * 6 + ["PrivateTest"] * 4
    path = datasets.write_fer2013(tmp_path / "fer2013.csv", X, y, usage=usage)
    data = trainers.load_data(trainers.config("faces"), data_path=path)
    np.testing.assert_array_equal(data.X, X[:20])
    np.testing.assert_array_equal(data.test[0], X[20:])
    np.testing.assert_array_equal(data.test[1], y[20:])
    ds = trainers.split(trainers.config("faces", validation=0.0), data, seed=0)
    assert (len(ds.y_train), len(ds.y_test)) == (20, 10)


def test_a_fer2013_file_without_a_test_split_is_split_at_random(tmp_path):
    X, y = datasets.synthetic_faces(28, seed=0)
    path = datasets.write_fer2013(tmp_path / "train_only.csv", X, y)
    data = trainers.load_data(trainers.config("faces"), data_path=path)
    assert data.test is None and len(data.y) == 28


def test_loading_reports_a_missing_file_and_a_malformed_row(tmp_path):
    cfg = trainers.config("faces")
    with pytest.raises(FileNotFoundError, match="no such file: '.*nope.csv'"):
        trainers.load_data(cfg, data_path=str(tmp_path / "nope.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(datasets.FER2013FormatError, match="bad.csv, line 2: expected 2304 pixels"):
        trainers.load_data(cfg, data_path=str(bad))
    with pytest.raises(ValueError, match="--data is for the faces problem only, not 'donut'"):
        trainers.load_data(trainers.config("donut"), data_path=str(bad))


def test_balance_repeats_rare_classes_of_the_training_rows_only():
    X = np.arange(26, dtype=np.float32)[:, None]
    y = np.array([0] * 10 + [1] * 2 + [2] * 10 + [3] * 4)
    cfg = trainers.config("faces", balance=True, validation=0.0, standardize=False)
    ds = trainers.prepare(cfg, X, y, X[:3], y[:3], datasets.CLASSES, (48, 48))
    # median count 7: class 1 (2 rows) x4, class 3 (4 rows) x2 (round(1.75)), others once
    assert np.bincount(ds.y_train).tolist() == [10, 8, 10, 8]
    assert len(ds.y_test) == 3


# -- the network and its training ---------------------------------------------------------------


def test_the_network_is_dense_layers_in_its_own_graph():
    cfg = trainers.config("clouds", hidden=(5, 4), l2=0.01)
    net = trainers.build_network(cfg, 2, 3, seed=0)
    assert [v.name for v in net.variables] == ["hidden/W", "hidden/b", "hidden_1/W",
                                               "hidden_1/b", "output/W", "output/b"]
    assert [h.shape for h in net.hidden] == [(None, 5), (None, 4)]
    assert net.loss.name == "loss" and net.cross_entropy.name == "cross_entropy"
    assert net.x.graph is net.graph and net.graph is not mf.get_default_graph()
    sess = mf.Session(net.graph)
    X = np.array([[0.5, -1.0]], np.float32)
    ce, loss, p = sess.run([net.cross_entropy, net.loss, net.probabilities], net.feed(X, [2]))
    penalty = 0.01 * sum(np.sum(v.value ** 2) for v in net.variables if v.ndim == 2)
    assert loss == pytest.approx(ce + penalty, rel=1e-5)
    assert ce == pytest.approx(-np.log(p[0, 2]), rel=1e-5)


def test_the_same_seed_trains_the_same_weights():
    runs = [trainers.train(trainers.config("donut", epochs=3), progress=False) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].network.variables[0].value,
                                  runs[1].network.variables[0].value)
    other = trainers.train(trainers.config("donut", epochs=3, seed=1), progress=False)
    assert not np.array_equal(runs[0].network.variables[0].value,
                              other.network.variables[0].value)


def test_predict_takes_raw_points():
    result = trainers.train(trainers.config("donut"), progress=False)
    predicted = result.predict(np.array([[0.0, 5.0], [10.0, 0.0], [-7.0, -7.0]]))
    assert predicted.tolist() == [0, 1, 1]
    assert result.summary().startswith("donut: train accuracy 0.99")


def test_early_stopping_keeps_the_best_epoch():
    cfg = trainers.config("donut", epochs=200, patience=3)
    result = trainers.train(cfg, progress=False)
    assert result.history.stopped_early and result.history.epochs < 200
    assert result.history.best_epoch == result.history.epochs - 3


def test_a_nan_loss_raises_divergence_error():
    with pytest.raises(mf.DivergenceError, match="not finite at epoch 1.*not applied.*ten times lower"):
        trainers.train(trainers.config("donut", optimizer="sgd", lr=1e6), progress=False)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_a_loss_blown_up_far_past_guessing_is_divergence_too(optimizer):
    # Adam's steps are bounded by the learning rate: the loss climbs to 1e11 but stays finite.
    with pytest.raises(mf.DivergenceError, match=r"reached .*e\+\d+ at epoch 1, against 0.693 "
                                                 "for guessing. Try a learning rate ten"):
        trainers.train(trainers.config("donut", optimizer=optimizer, lr=1e6), progress=False)


def test_the_guard_reads_the_cross_entropy_not_the_l2_penalty():
    guard = trainers.BlowUpGuard(2)
    guard.on_epoch_end(1, {"loss": 1e3, "cross_entropy": 0.5}, None)   # a big penalty is fine
    with pytest.raises(mf.DivergenceError):
        guard.on_epoch_end(2, {"loss": 1e3}, None)


# -- cross-validation and search ----------------------------------------------------------------


def test_cross_validating_the_donut_gives_k_scores_with_mean_and_std():
    cfg = trainers.config("donut", epochs=15)
    data = trainers.load_data(cfg, seed=0)
    result = model_selection.cross_validate(trainers.train_and_score(cfg), data.X, data.y, k=4,
                                            seed=0)
    assert len(result.scores) == 4
    assert all(0.97 <= s <= 1 for s in result.scores)
    assert result.mean == pytest.approx(np.mean(result.scores))
    assert result.std == pytest.approx(np.std(result.scores)) and result.std < 0.02
    assert str(result).endswith("over 4 folds")


def test_the_search_scorer_overrides_the_config_and_scores_divergence_nan():
    cfg = trainers.config("donut", epochs=20)
    X, y = datasets.donut(300, seed=0)
    score = trainers.search_scorer(cfg)
    good = score({"lr": 0.02, "l2": 1e-4, "hidden": "16,8"}, X[:200], y[:200], X[200:], y[200:])
    assert good >= 0.98
    assert math.isnan(score({"lr": 1e6, "hidden": "4"}, X[:200], y[:200], X[200:], y[200:]))


def _blas_threads_during_fit(monkeypatch, cfg):
    """How many threads BLAS had while ``fit`` trained ``cfg``."""
    from threadpoolctl import threadpool_info
    seen = []
    real_fit = trainers.training.fit

    def recording_fit(*args, **kwargs):
        seen.append(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))
        return real_fit(*args, **kwargs)
    monkeypatch.setattr(trainers.training, "fit", recording_fit)
    trainers.train(cfg, progress=False)
    return seen[0]


def test_small_gemms_train_on_one_blas_thread(monkeypatch):
    # Two BLAS threads on matrices this small spin against a busy core (7-10x slower).
    for name in trainers.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(2, user_api="blas"):
        assert _blas_threads_during_fit(monkeypatch, trainers.config("donut", epochs=1)) == 1
        faces = trainers.config("faces", epochs=1, samples=200, hidden=(16,))
        assert _blas_threads_during_fit(monkeypatch, faces) == 1


def test_the_blas_limit_follows_a_thread_variable_the_user_set(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    from threadpoolctl import threadpool_limits
    with threadpool_limits(2, user_api="blas"):
        assert _blas_threads_during_fit(monkeypatch, trainers.config("donut", epochs=1)) == 2


def test_big_gemms_keep_every_blas_thread():
    cfg = trainers.config("faces", batch_size=2048, hidden=(1024,))
    assert trainers.blas_threads(cfg, rows=8000, widths=[2304, 1024, 7]) is None
    assert trainers.blas_threads(trainers.config("faces"), rows=8000,
                                 widths=[2304, 256, 7]) == 1
