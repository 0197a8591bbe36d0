"""Plain SGD folds its learning rate into the gradient walk's seed: each update is one in-place
``w -= g``, and the step is the same gradient descent step as ``w -= lr * dloss/dw``."""

import numpy as np
import pytest

import microflow as mf
from microflow.core.ops.state import ApplySGD


def problem(dtype="float64"):
    mf.reset_default_graph()
    x = mf.constant(np.array([[1.0, 2.0], [3.0, -1.0]], dtype))
    W = mf.Variable(np.array([[0.5], [-0.25]], dtype), name="W")
    b = mf.Variable(np.array([0.1], dtype), name="b")
    loss = mf.reduce_mean(mf.square(x @ W + b))
    return x, W, b, loss


def updates(train):
    return [t for t in mf.get_default_graph().tensors if isinstance(t.operation, ApplySGD)]


@pytest.mark.parametrize("rate", [0.1, "placeholder"])
def test_plain_sgd_takes_the_step_of_w_minus_lr_times_the_gradient(rate):
    x, W, b, loss = problem()
    dW, db = mf.gradients(loss, [W, b])
    sess = mf.Session()
    W0, b0, gW, gb = W.value.copy(), b.value.copy(), *sess.run([dW, db])
    if rate == "placeholder":
        lr = mf.placeholder((), dtype="float64", name="lr")
        train, feed = mf.optimizers.SGD(lr).minimize(loss), {lr: 0.1}
    else:
        train, feed = mf.optimizers.SGD(rate).minimize(loss), {}
    assert all(u.operation.folded for u in updates(train))
    sess.run(train, feed)
    np.testing.assert_allclose(W.value, W0 - 0.1 * gW, rtol=1e-15)
    np.testing.assert_allclose(b.value, b0 - 0.1 * gb, rtol=1e-15)


def test_momentum_and_apply_gradients_keep_the_learning_rate_in_the_update():
    x, W, b, loss = problem()
    mf.optimizers.SGD(0.1, momentum=0.9).minimize(loss)
    opt = mf.optimizers.SGD(0.1)
    opt.apply_gradients(list(zip([W, b], mf.gradients(loss, [W, b]))))
    assert not any(u.operation.folded for u in updates(None))


def test_a_float32_loss_with_float64_variables_is_not_folded():
    mf.reset_default_graph()
    W = mf.Variable(np.ones(2), name="W")                    # float64
    loss = mf.cast(mf.reduce_sum(W * W), "float32")
    mf.optimizers.SGD(0.5).minimize(loss)
    assert not any(u.operation.folded for u in updates(None))
    mf.Session().run(mf.get_default_graph().tensors[-1])
    np.testing.assert_allclose(W.value, [0.0, 0.0])
