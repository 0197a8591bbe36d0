"""Names outside the TF1 subset raise an AttributeError that says so, and what to use instead."""

import pytest

import microflow.compat.v1 as tf


@pytest.mark.parametrize("get, message", [
    (lambda: tf.layers, r"tf.layers is not supported by microflow's TF1 layer \(microflow"
                        r".compat.v1\); use mf.layers \(mf.layers.dense"),
    (lambda: tf.keras, "tf.keras is not supported .*use mf.layers for layers and mf.train.fit"),
    (lambda: tf.summary, "tf.summary is not supported .*mf.viz.draw"),
    (lambda: tf.ConfigProto, "tf.ConfigProto is not supported .*drop the config argument"),
    (lambda: tf.control_dependencies, "tf.control_dependencies is not supported .*runs every "
                                      "update after all the reads"),
    (lambda: tf.sin, r"tf.sin is not supported .*use mf.sin\."),
    (lambda: tf.nn.conv3d, r"tf.nn.conv3d is not supported by microflow's TF1 layer "
                           r"\(microflow.compat.v1\). docs/tf1.md lists the supported names."),
    (lambda: tf.nn.batch_normalization, "tf.nn.batch_normalization is not .*mf.layers.batch_norm"),
    (lambda: tf.train.AdadeltaOptimizer, "tf.train.AdadeltaOptimizer is not supported .*"
                                         "AdagradOptimizer"),
    (lambda: tf.train.import_meta_graph, "tf.train.import_meta_graph is not supported"),
    (lambda: tf.errors.AbortedError, "tf.errors.AbortedError is not supported"),
    (lambda: tf.initializers.he_normal, "tf.initializers.he_normal is not supported"),
    (lambda: tf.constant(1.0).assign, "tf.Tensor.assign is not supported"),
    (lambda: tf.Variable(1.0).scatter_update, "tf.Variable.scatter_update is not supported"),
    (lambda: tf.constant(1.0).op.colocation_groups, "tf.Operation.colocation_groups is not"),
    (lambda: tf.Session().partial_run, "tf.Session.partial_run is not supported"),
])
def test_an_unsupported_name_says_so(get, message):
    with pytest.raises(AttributeError, match=message):
        get()


def test_hasattr_and_from_imports_see_unsupported_names_as_missing():
    assert not hasattr(tf, "estimator") and hasattr(tf, "Session")
    with pytest.raises(ImportError):
        from microflow.compat.v1 import estimator  # noqa: F401


def test_unsupported_arguments_are_refused_by_name():
    with pytest.raises(TypeError, match="regularizer"):
        tf.get_variable("w", [1], regularizer=lambda w: w)
    with pytest.raises(TypeError, match=r"Saver\(var_list=\{name: variable\}\) is not supported"):
        tf.train.Saver({"w": tf.Variable(1.0)})
    with pytest.raises(TypeError, match="noise_shape"):
        tf.nn.dropout(tf.ones([2]), 0.5, noise_shape=[2])
    with pytest.raises(TypeError, match="shape must be a list of ints"):
        tf.random_normal(tf.constant([2]))
