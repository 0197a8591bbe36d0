"""Convolutional layers, flatten, and batch norm: its train/eval switch and moving averages."""

import numpy as np
import pytest

import microflow as mf

rng = np.random.default_rng(11)


def test_conv2d_layer_makes_glorot_filters_and_a_zero_bias():
    x = mf.placeholder((None, 12, 12, 3), name="images")
    y = mf.layers.conv2d(x, 16, 5, strides=2, activation=mf.relu, name="conv")
    W, b = mf.trainable_variables()
    assert (W.name, W.shape, b.name, b.shape) == ("conv/W", (5, 5, 3, 16), "conv/b", (16,))
    limit = np.sqrt(6 / (5 * 5 * 3 + 5 * 5 * 16))
    assert np.abs(W.value).max() <= limit and np.abs(W.value).max() > 0.9 * limit
    np.testing.assert_array_equal(b.value, 0)
    assert y.shape == (None, 6, 6, 16) and y.op == "Relu"
    images = rng.standard_normal((2, 12, 12, 3)).astype(np.float32)
    expected = np.maximum(mf.Session().run(mf.conv2d(mf.constant(images), W, 2, "SAME")), 0)
    np.testing.assert_allclose(mf.Session().run(y, {x: images}), expected, rtol=1e-6)


def test_conv2d_layer_refuses_rows_with_a_message_naming_the_layer():
    with pytest.raises(mf.ShapeError, match=r"conv2d layer 'conv2d': its input 'x' \(None, 64\) "
                                            r"must be images"):
        mf.layers.conv2d(mf.placeholder((None, 64), name="x"), 4, 3)


def test_max_pool_and_flatten_layers_feed_a_dense_layer():
    x = mf.placeholder((None, 8, 8, 2))
    pooled = mf.layers.max_pool(x)
    flat = mf.layers.flatten(pooled)
    assert (pooled.name, pooled.shape, flat.name, flat.shape) == \
        ("max_pool", (None, 4, 4, 2), "flatten", (None, 32))
    images = rng.standard_normal((3, 8, 8, 2)).astype(np.float32)
    value = mf.Session().run(flat, {x: images})
    np.testing.assert_array_equal(value, images.reshape(3, 4, 2, 4, 2, 2).max(axis=(2, 4))
                                  .reshape(3, 32))
    with pytest.raises(mf.ShapeError, match=r"flatten 'flatten'.*'Placeholder_1' "
                                            r"\(None, None, 3\)"):
        mf.layers.flatten(mf.placeholder((None, None, 3)))


def _batch_norm_model(shape=(None, 4, 4, 3), momentum=0.9):
    x = mf.placeholder(shape, dtype="float64", name="x")
    training = mf.placeholder((), dtype=bool, name="training")
    y = mf.layers.batch_norm(x, training, momentum=momentum)
    return x, training, y


def test_batch_norm_in_training_normalizes_with_the_batch_statistics():
    x, training, y = _batch_norm_model()
    data = rng.normal(3.0, 2.0, (5, 4, 4, 3))
    value = mf.Session().run(y, {x: data, training: True})
    mean, var = data.mean(axis=(0, 1, 2)), data.var(axis=(0, 1, 2))
    np.testing.assert_allclose(value, (data - mean) / np.sqrt(var + 1e-3), rtol=1e-10)


def test_batch_norm_out_of_training_uses_the_moving_statistics():
    x, training, y = _batch_norm_model()
    graph = x.graph
    moving_mean = graph.get_tensor_by_name("batch_norm/moving_mean")
    moving_variance = graph.get_tensor_by_name("batch_norm/moving_variance")
    moving_mean.assign([1.0, 2.0, 3.0])
    moving_variance.assign([4.0, 1.0, 0.25])
    data = rng.standard_normal((2, 4, 4, 3))
    value = mf.Session().run(y, {x: data, training: False})
    np.testing.assert_allclose(value, (data - [1, 2, 3]) / np.sqrt(np.array([4, 1, 0.25]) + 1e-3))


def test_minimize_updates_the_moving_averages_in_training_steps_only():
    x, training, y = _batch_norm_model(momentum=0.9)
    loss = mf.reduce_mean(mf.square(y - 1.0))
    train = mf.optimizers.SGD(0.1).minimize(loss)
    moving_mean = x.graph.get_tensor_by_name("batch_norm/moving_mean")
    moving_variance = x.graph.get_tensor_by_name("batch_norm/moving_variance")
    sess = mf.Session()
    data = rng.normal(2.0, 3.0, (6, 4, 4, 3))
    sess.run(train, {x: data, training: True})
    np.testing.assert_allclose(moving_mean.value, 0.1 * data.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(moving_variance.value, 0.9 + 0.1 * data.var(axis=(0, 1, 2)))
    before = moving_mean.value.copy()
    sess.run(train, {x: data, training: False})         # a step on the moving statistics
    np.testing.assert_array_equal(moving_mean.value, before)
    sess.run(y, {x: data, training: True})              # not a training step: no update
    np.testing.assert_array_equal(moving_mean.value, before)


def test_batch_norm_trains_gamma_and_beta_and_fit_updates_the_averages():
    x, training, y = _batch_norm_model(shape=(None, 3), momentum=0.5)
    target = mf.placeholder((None, 3), dtype="float64")
    loss = mf.reduce_mean(mf.square(y - target))
    gamma, beta = mf.trainable_variables()
    assert [gamma.name, beta.name] == ["batch_norm/gamma", "batch_norm/beta"]
    # A training op made by hand, without the updates: fit() adds them.
    pairs = list(zip([gamma, beta], mf.gradients(loss, [gamma, beta])))
    train = mf.optimizers.SGD(0.5).apply_gradients(pairs)
    data = rng.normal(5.0, 2.0, (64, 3))
    wanted = 3.0 * (data - data.mean(0)) / data.std(0) - 1.0
    history = mf.train.fit(mf.Session(), train, loss, {x: data, target: wanted, training: True},
                           epochs=40, batch_size=None, progress=False)
    assert history.loss[-1] < 1e-3
    np.testing.assert_allclose(gamma.value, 3.0, rtol=1e-2)
    np.testing.assert_allclose(beta.value, -1.0, atol=1e-2)
    moving_mean = x.graph.get_tensor_by_name("batch_norm/moving_mean").value
    np.testing.assert_allclose(moving_mean, data.mean(0), rtol=1e-6)   # 0.5 ** 40 of the start


def test_batch_norm_gradient_matches_central_differences_in_training():
    x = mf.Variable(rng.standard_normal((4, 2, 2, 3)))
    y = mf.layers.batch_norm(x, True)
    weights = mf.constant(rng.standard_normal((4, 2, 2, 3)))
    assert mf.testing.check_gradients(mf.reduce_sum(mf.tanh(y) * weights), [x]) < 1e-6


def test_batch_norm_refuses_a_training_flag_that_is_not_a_boolean_scalar():
    x = mf.placeholder((None, 3))
    with pytest.raises(mf.ShapeError, match=r"batch_norm 'bn': training must be a boolean "
                                            r"scalar Tensor, got <Tensor 'flag'"):
        mf.layers.batch_norm(x, mf.placeholder((), name="flag"), name="bn")
    with pytest.raises(mf.ShapeError, match=r"batch_norm 'batch_norm'.*\(None, None\) needs"):
        mf.layers.batch_norm(mf.placeholder((None, None)), True)
