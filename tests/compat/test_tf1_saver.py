"""tf.train.Saver on microflow's .npz checkpoints; TensorFlow's own files are refused clearly."""

import os

import numpy as np
import pytest

import microflow as mf
import microflow.compat.v1 as tf


def test_save_and_restore_round_trip_into_a_new_session(tmp_path):
    W = tf.Variable([[1.0, 2.0]], name="W")
    step = tf.Variable(0, trainable=False, name="step")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        W.load([[3.0, 4.0]], sess)
        prefix = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=7)
    assert prefix == str(tmp_path / "model.ckpt-7")
    assert os.path.exists(prefix + ".npz") and tf.train.latest_checkpoint(str(tmp_path)) == prefix
    with np.load(prefix + ".npz") as archive:
        assert sorted(archive.files) == ["W", "step"]
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(W)
        saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(W), [[3.0, 4.0]])
        saver.restore(sess, prefix + ".npz")


def test_saving_needs_initialized_variables_and_a_var_list_limits_what_is_saved(tmp_path):
    a, b = tf.Variable(1.0, name="a"), tf.Variable(2.0, name="b")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="save uninitialized value a"):
            tf.train.Saver().save(sess, str(tmp_path / "x"))
        sess.run(a.initializer)
        path = tf.train.Saver([a]).save(sess, str(tmp_path / "only_a"))
    with np.load(path + ".npz") as archive:
        assert archive.files == ["a"]
    with pytest.raises(ValueError, match="No variables to save"):
        tf.train.Saver([])
    assert tf.train.latest_checkpoint(str(tmp_path / "nowhere")) is None


def test_max_to_keep_deletes_the_oldest_checkpoints(tmp_path):
    v = tf.Variable(1.0, name="v")
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(4):
            saver.save(sess, str(tmp_path / "m"), global_step=step)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-2.npz", "m-3.npz"]
    assert (tmp_path / "checkpoint").read_text() == ('model_checkpoint_path: "m-3"\n'
                                                     'all_model_checkpoint_paths: "m-2"\n'
                                                     'all_model_checkpoint_paths: "m-3"\n')


@pytest.mark.parametrize("files, given", [
    (["model.ckpt.index", "model.ckpt.data-00000-of-00001", "model.ckpt.meta"], "model.ckpt"),
    (["model.ckpt.index"], "model.ckpt.index"),
    (["model.ckpt.data-00000-of-00001"], "model.ckpt"),
])
def test_a_tensorflow_checkpoint_is_refused_saying_its_format_is_out_of_scope(tmp_path, files,
                                                                             given):
    for name in files:
        (tmp_path / name).write_bytes(b"\x00tensorflow")
    saver = tf.train.Saver([tf.Variable(1.0)])
    with tf.Session() as sess:
        with pytest.raises(mf.CheckpointError, match="is a TensorFlow checkpoint .*out of "
                                                     "scope for microflow's TF1 layer"):
            saver.restore(sess, str(tmp_path / given))


def test_a_missing_or_mismatched_checkpoint_names_the_problem(tmp_path):
    v = tf.Variable([1.0, 2.0], name="v")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        with pytest.raises(FileNotFoundError, match="no checkpoint at"):
            saver.restore(sess, str(tmp_path / "missing"))
        sess.run(v.initializer)
        path = saver.save(sess, str(tmp_path / "ok"))
    tf.reset_default_graph()
    tf.Variable([1.0, 2.0, 3.0], name="v")
    with tf.Session() as sess:
        with pytest.raises(mf.CheckpointError, match="'v' is \\(2,\\) float32 in the file"):
            tf.train.Saver().restore(sess, path)
