"""Convolution and pooling: values against direct loops, TensorFlow's padding rule, errors."""

import itertools

import numpy as np
import pytest

import microflow as mf
from microflow.core.ops import conv as conv_ops

rng = np.random.default_rng(7)


def pads_for(padding, size, kernel, stride, dilation):
    """(before, after) by TensorFlow's documented rule, written out independently."""
    span = (kernel - 1) * dilation + 1
    if padding == "VALID":
        return 0, 0
    out = int(np.ceil(size / stride))
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def loop_conv(x, w, strides, padding, dilations):
    """out[n, i, j, o] = sum x_padded[n, i*s + a*d, j*s + b*d, c] * w[a, b, c, o], by loops."""
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    if isinstance(padding, str):
        pads = (pads_for(padding, h, kh, strides[0], dilations[0]),
                pads_for(padding, wd, kw, strides[1], dilations[1]))
    else:
        pads = padding
    xp = np.zeros((n, h + sum(pads[0]), wd + sum(pads[1]), c))
    xp[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd] = x
    oh = (xp.shape[1] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    ow = (xp.shape[2] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    out = np.zeros((n, oh, ow, o))
    for b, i, j, oc in itertools.product(range(n), range(oh), range(ow), range(o)):
        total = 0.0
        for a, bb, cc in itertools.product(range(kh), range(kw), range(c)):
            total += xp[b, i * strides[0] + a * dilations[0],
                        j * strides[1] + bb * dilations[1], cc] * w[a, bb, cc, oc]
        out[b, i, j, oc] = total
    return out


def loop_pool(x, size, strides, padding, reduce):
    """Max or mean over each window's cells inside the image, by loops."""
    n, h, w, c = x.shape
    (top, _), (left, _) = [pads_for(padding, dim, k, s, 1)
                           for dim, k, s in zip((h, w), size, strides)]
    if padding == "SAME":
        oh, ow = int(np.ceil(h / strides[0])), int(np.ceil(w / strides[1]))
    else:
        oh, ow = (h - size[0]) // strides[0] + 1, (w - size[1]) // strides[1] + 1
    out = np.zeros((n, oh, ow, c))
    for b, i, j, ch in itertools.product(range(n), range(oh), range(ow), range(c)):
        rows = range(max(i * strides[0] - top, 0), min(i * strides[0] - top + size[0], h))
        cols = range(max(j * strides[1] - left, 0), min(j * strides[1] - left + size[1], w))
        cells = [x[b, r, q, ch] for r in rows for q in cols]
        out[b, i, j, ch] = reduce(cells)
    return out


CONV_SETTINGS = [
    # (input shape, filter shape, strides, padding, dilations)
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "VALID", (1, 1)),
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
    ((1, 6, 6, 2), (3, 3, 2, 2), (2, 2), "SAME", (1, 1)),   # odd total padding: 1 at the end
    ((1, 7, 6, 2), (2, 2, 2, 3), (2, 2), "SAME", (1, 1)),
    ((1, 7, 7, 1), (4, 4, 1, 2), (3, 3), "VALID", (1, 1)),
    ((2, 7, 8, 2), (3, 2, 2, 2), (1, 2), "SAME", (2, 1)),   # dilation, unequal strides
    ((1, 8, 8, 2), (3, 3, 2, 1), (1, 1), "VALID", (2, 2)),
    ((1, 5, 6, 2), (3, 3, 2, 2), (2, 1), ((1, 0), (2, 1)), (1, 1)),  # explicit padding
    ((3, 4, 4, 1), (1, 1, 1, 2), (1, 1), "VALID", (1, 1)),
]


@pytest.mark.parametrize("x_shape, w_shape, strides, padding, dilations", CONV_SETTINGS)
def test_conv2d_matches_a_direct_loop(x_shape, w_shape, strides, padding, dilations):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    y = mf.conv2d(mf.constant(x), mf.constant(w), strides, padding, dilations)
    value = mf.Session().run(y)
    expected = loop_conv(x, w, strides, padding, dilations)
    assert y.shape == expected.shape
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)


def test_same_padding_puts_the_odd_cell_at_the_bottom_and_right():
    # 4 rows, window 2, stride 1: one row of padding, after the image.
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    w = np.ones((2, 2, 1, 1))
    value = mf.Session().run(mf.conv2d(mf.constant(x), mf.constant(w), padding="SAME"))
    assert value[0, 0, 0, 0] == 0 + 1 + 4 + 5
    assert value[0, 3, 3, 0] == 15                 # the corner sees one real cell
    assert value[0, 3, 0, 0] == 12 + 13


def test_conv2d_keeps_float32_float32():
    x = mf.placeholder((None, 6, 6, 2))
    w = mf.Variable(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))
    y = mf.conv2d(x, w, padding="SAME")
    (dw,) = mf.gradients(mf.reduce_sum(mf.square(y)), [w])
    values = mf.Session().run([y, dw], {x: rng.standard_normal((2, 6, 6, 2)).astype(np.float32)})
    assert y.dtype == np.float32 and [v.dtype for v in values] == [np.float32] * 2


def test_a_batch_too_big_for_one_gemm_is_done_in_pieces(monkeypatch):
    x, w = rng.standard_normal((5, 6, 6, 2)), rng.standard_normal((3, 3, 2, 3))
    xt, wt = mf.Variable(x), mf.Variable(w)
    y = mf.conv2d(xt, wt, 2, "SAME")
    loss = mf.reduce_sum(mf.square(y))
    grads = mf.gradients(loss, [xt, wt])
    whole = mf.Session().run([y, *grads])
    monkeypatch.setattr(conv_ops, "CHUNK_ELEMENTS", 9 * 18 * 2)     # two images a piece
    pieces = mf.Session().run([y, *grads])
    for a, b in zip(whole, pieces):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_the_filter_gradient_reuses_the_convolutions_rows_only_from_the_same_step():
    # A Variable input changed between runs: the filter gradient must see the new values
    # whether or not the convolution ran again in the same run.
    x = mf.Variable(rng.standard_normal((2, 5, 5, 2)))
    w = mf.Variable(rng.standard_normal((3, 3, 2, 2)))
    y = mf.conv2d(x, w)
    g = rng.standard_normal((2, 3, 3, 2))
    (dw,) = mf.gradients(y, [w], grad_ys=[g])
    sess = mf.Session()
    sess.run([y, dw])
    x.assign(rng.standard_normal((2, 5, 5, 2)))
    expected = np.einsum("nhwc,nhwo->co",
                         x.value[:, :3, :3], g)           # the (0, 0) tap of the window
    np.testing.assert_allclose(sess.run(dw)[0, 0], expected, rtol=1e-10)
    sess.run(y)
    np.testing.assert_allclose(sess.run(dw)[0, 0], expected, rtol=1e-10)


POOL_SETTINGS = [
    ((2, 4, 4, 3), (2, 2), None, "VALID"),
    ((1, 5, 5, 2), (2, 2), None, "VALID"),       # the last row and column are left out
    ((1, 5, 5, 2), (2, 2), None, "SAME"),
    ((1, 5, 6, 1), (3, 3), (2, 2), "SAME"),      # overlapping windows
    ((2, 6, 5, 2), (3, 2), (1, 2), "VALID"),
    ((1, 7, 7, 1), (3, 3), (3, 3), "SAME"),
]


@pytest.mark.parametrize("x_shape, size, strides, padding", POOL_SETTINGS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_a_direct_loop(kind, x_shape, size, strides, padding):
    x = rng.standard_normal(x_shape)
    pool = mf.max_pool if kind == "max" else mf.avg_pool
    y = pool(mf.constant(x), size, strides, padding)
    value = mf.Session().run(y)
    expected = loop_pool(x, size, strides or size, padding, max if kind == "max" else np.mean)
    assert y.shape == expected.shape
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_max_pool_ignores_the_padding_even_when_every_value_is_negative():
    x = -np.ones((1, 3, 3, 1)) - np.arange(9.0).reshape(1, 3, 3, 1)
    value = mf.Session().run(mf.max_pool(mf.constant(x), 2, padding="SAME"))
    np.testing.assert_array_equal(value[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_max_pool_sends_the_gradient_to_the_first_of_tied_cells():
    x = mf.Variable(np.array([[3.0, 3.0], [1.0, 3.0]]).reshape(1, 2, 2, 1))
    (dx,) = mf.gradients(mf.reduce_sum(mf.max_pool(x) * 5.0), [x])
    np.testing.assert_array_equal(mf.Session().run(dx)[0, :, :, 0], [[5, 0], [0, 0]])


def test_max_pool_gradient_adds_up_where_overlapping_windows_share_a_max():
    x = mf.Variable(np.array([[0, 0, 0], [0, 9, 0], [0, 0, 0.0]]).reshape(1, 3, 3, 1))
    (dx,) = mf.gradients(mf.reduce_sum(mf.max_pool(x, 2, 1)), [x])
    np.testing.assert_array_equal(mf.Session().run(dx)[0, :, :, 0],
                                  [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_average_pool_divides_by_the_cells_inside_the_image():
    x = np.ones((1, 3, 3, 1))
    value = mf.Session().run(mf.avg_pool(mf.constant(x), 2, padding="SAME"))
    np.testing.assert_array_equal(value, np.ones((1, 2, 2, 1)))


def test_static_shapes_with_unknown_batch_and_size():
    x = mf.placeholder((None, None, 7, 3))
    y = mf.conv2d(x, mf.Variable(np.ones((3, 3, 3, 5))), strides=2, padding="SAME")
    assert y.shape == (None, None, 4, 5)
    assert mf.max_pool(y, 2).shape == (None, None, 2, 5)
    value = mf.Session().run(y, {x: np.ones((2, 9, 7, 3))})
    assert value.shape == (2, 5, 4, 5)


# -- errors name the op, the shapes and the setting -------------------------------------
def test_a_channel_mismatch_names_the_op_and_both_shapes():
    x = mf.placeholder((None, 8, 8, 3), name="images")
    w = mf.Variable(np.ones((5, 5, 1, 20)), name="W")
    with pytest.raises(mf.ShapeError, match=r"Conv2D op 'Conv2D'.*3 channels.*\(5, 5, 1, 20\)"
                                            r" expect 1"):
        mf.conv2d(x, w)


def test_an_input_that_is_not_a_batch_of_images_is_refused():
    with pytest.raises(mf.ShapeError, match=r"Conv2D.*\(N, H, W, C\), got \(None, 64\)"):
        mf.conv2d(mf.placeholder((None, 64)), mf.Variable(np.ones((3, 3, 1, 1))))
    with pytest.raises(mf.ShapeError, match=r"MaxPool op 'pool'.*\(N, H, W, C\), got \(4, 4\)"):
        mf.max_pool(mf.constant(np.ones((4, 4))), name="pool")


def test_filters_of_the_wrong_rank_are_refused():
    with pytest.raises(mf.ShapeError, match=r"filters must be \(KH, KW, C_in, C_out\), got "
                                            r"\(3, 3\)"):
        mf.conv2d(mf.placeholder((None, 8, 8, 1)), mf.Variable(np.ones((3, 3))))


def test_an_image_smaller_than_the_window_is_refused_with_valid_padding():
    with pytest.raises(mf.ShapeError, match=r"Conv2D.*\(None, 3, 3, 1\) is too small for a "
                                            r"5x5 window.*VALID"):
        mf.conv2d(mf.placeholder((None, 3, 3, 1)), mf.Variable(np.ones((5, 5, 1, 1))))
    with pytest.raises(mf.ShapeError, match=r"MaxPool.*too small for a 4x4 window"):
        mf.max_pool(mf.placeholder((None, 3, 3, 1)), 4)


@pytest.mark.parametrize("padding", ["same-ish", ((1, 1),), ((1, -1), (0, 0)), 3])
def test_a_bad_padding_names_the_op_and_the_choices(padding):
    with pytest.raises(ValueError, match=r"Conv2D: padding must be \"VALID\", \"SAME\" or "
                                         r"\(\(top, bottom\), \(left, right\)\), got"):
        mf.conv2d(mf.placeholder((None, 8, 8, 1)), mf.Variable(np.ones((3, 3, 1, 1))),
                  padding=padding)


def test_pooling_refuses_explicit_padding_and_bad_sizes():
    x = mf.placeholder((None, 8, 8, 1))
    with pytest.raises(ValueError, match=r"MaxPool: padding must be \"VALID\" or \"SAME\""):
        mf.max_pool(x, padding=((1, 1), (1, 1)))
    with pytest.raises(ValueError, match=r"AvgPool: size must be a positive int or a pair"):
        mf.avg_pool(x, size=0)
    with pytest.raises(ValueError, match=r"Conv2D: strides must be a positive int or a pair"):
        mf.conv2d(x, mf.Variable(np.ones((3, 3, 1, 1))), strides=(1, 2, 3))


def test_an_image_of_the_wrong_size_at_run_time_names_the_op():
    x = mf.placeholder((None, None, None, 1), name="images")
    y = mf.conv2d(x, mf.Variable(np.ones((5, 5, 1, 1))), name="conv")
    with pytest.raises(mf.ShapeError, match=r"Conv2D op 'conv' \(inputs 'images' "
                                            r"\(None, None, None, 1\), .*\) failed: the input "
                                         r"\(N, 3, 3, C\) is too small for a 5x5 window"):
        mf.Session().run(y, {x: np.ones((1, 3, 3, 1))})


def test_a_training_step_makes_each_convolutions_rows_once(monkeypatch):
    made = []
    original = conv_ops._Conv._im2col

    def counting(self, *args, **kwargs):
        made.append(type(self).__name__)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(conv_ops._Conv, "_im2col", counting)
    x = mf.placeholder((None, 8, 8, 1))
    h = mf.layers.conv2d(x, 3, 3, activation=mf.relu)
    h = mf.layers.conv2d(mf.layers.max_pool(h), 2, 3)
    train = mf.optimizers.SGD(0.1).minimize(mf.reduce_mean(mf.square(h)))
    mf.Session().run(train, {x: rng.standard_normal((2, 8, 8, 1)).astype(np.float32)})
    assert made == ["Conv2D", "Conv2D"]          # the filter gradients reuse them


def test_convolutions_of_the_same_tensors_with_other_settings_keep_their_own_rows():
    x = mf.Variable(rng.standard_normal((1, 6, 6, 2)))
    w = mf.Variable(rng.standard_normal((3, 3, 2, 2)))
    loss = mf.reduce_sum(mf.square(mf.conv2d(x, w, 2, "SAME"))) + \
        mf.reduce_sum(mf.tanh(mf.conv2d(x, w, 1, "VALID", 2)))
    assert mf.testing.check_gradients(loss, [w]) < 1e-6
