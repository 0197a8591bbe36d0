"""Compatibility layers: ``microflow.compat.v1`` runs TensorFlow 1 scripts on microflow.

>>> import microflow.compat.v1 as tf
>>> x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
>>> x.name, x.get_shape().as_list()
('x:0', [None, 2])
"""
