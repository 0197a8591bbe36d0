"""The message for a TF1 name outside the subset, naming microflow's equivalent where one exists."""

from __future__ import annotations

# TF1 name (as written after "tf.") -> what to use in microflow instead.
EQUIVALENTS = {
    "layers": "mf.layers (mf.layers.dense(x, units, activation=...), mf.layers.conv2d)",
    "layers.dense": "mf.layers.dense(x, units, activation=...)",
    "keras": "mf.layers for layers and mf.train.fit for the training loop",
    "losses": "the tf.nn losses, or mf.softmax_cross_entropy / mf.sigmoid_cross_entropy",
    "losses.softmax_cross_entropy": "tf.nn.softmax_cross_entropy_with_logits_v2, or "
                                    "mf.softmax_cross_entropy",
    "losses.mean_squared_error": "tf.reduce_mean(tf.square(...)), or mf.mean_squared_error",
    "metrics": "mf.accuracy(logits, labels)",
    "metrics.accuracy": "mf.accuracy(logits, labels)",
    "data": "mf.data (batches, preprocessing) and mf.datasets",
    "summary": "mf.viz.draw for the graph and mf.plots for learning curves",
    "summary.FileWriter": "mf.viz.render(tensor, 'graph.svg') to see the graph",
    "train.import_meta_graph": "building the graph again in Python and tf.train.Saver().restore",
    "train.AdadeltaOptimizer": "tf.train.AdagradOptimizer or mf.optimizers.AdaGrad",
    "ConfigProto": "nothing: microflow runs on numpy on the CPU, so drop the config argument",
    "GPUOptions": "nothing: microflow runs on numpy on the CPU",
    "shape": "Tensor.get_shape().as_list() for the static shape",
    "size": "Tensor.get_shape().num_elements() for the static size",
    "control_dependencies": "nothing: a microflow Session runs every update after all the reads "
                            "of a step; fetch the ops together in one sess.run",
    "logging": "Python's logging module",
    "app": "a plain Python main()",
    "flags": "argparse",
    "sign": "mf.sign", "sin": "mf.sin", "cos": "mf.cos", "log1p": "mf.log1p", "expm1": "mf.expm1",
    "reduce_logsumexp": "mf.logsumexp", "gather": "mf.gather", "tile": "mf.tile",
    "pad": "mf.pad", "split": "mf.split", "argmin": "mf.argmin",
    "nn.softmax_cross_entropy_with_logits_v3": "tf.nn.softmax_cross_entropy_with_logits_v2",
    "nn.batch_normalization": "mf.layers.batch_norm",
    "nn.moments": "tf.reduce_mean",
    "layers.batch_normalization": "mf.layers.batch_norm",
    "layers.conv2d": "tf.nn.conv2d with a tf.get_variable filter, or mf.layers.conv2d",
    "layers.flatten": "tf.reshape(x, [-1, n]), or mf.layers.flatten",
}


def message(owner, name):
    """``tf.<owner>.<name> is not supported by microflow's TF1 layer`` with a pointer."""
    prefix = "" if owner in ("", "tf") else owner + "."
    qualified = prefix + name
    text = f"tf.{qualified} is not supported by microflow's TF1 layer (microflow.compat.v1)"
    equivalent = EQUIVALENTS.get(qualified)
    if equivalent:
        text += f"; use {equivalent}"
    return text + ". docs/tf1.md lists the supported names."


def module_getattr(owner):
    """A module ``__getattr__`` that raises the unsupported-name AttributeError."""
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(message(owner, name))
    return __getattr__
