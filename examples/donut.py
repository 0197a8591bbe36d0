"""The donut: two noisy rings, one inside the other. A hidden layer of 8 relu units draws a
polygon around the inner ring, which no single line can do.

    python examples/donut.py [OUT_DIR]      # pictures and the graph go to OUT_DIR (default: out/)

The long-hand version of `microflow train donut` (the "donut" problem of
microflow.apps.problems), written out op by op as a student would.
"""

import os
import sys

import microflow as mf
from microflow.viz import plots

mf.set_seed(0)
X, y = mf.datasets.donut(1000)                          # radius 5 (class 0) and 10 (class 1)
X_train, X_test, y_train, y_test = mf.data.train_test_split(X, y, test_size=0.2, stratify=y)
X_train, X_val, y_train, y_val = mf.data.train_test_split(X_train, y_train, test_size=0.1)
scaler = mf.data.Standardizer().fit(X_train)            # mean 0, std 1, from training data only

x = mf.placeholder((None, 2), name="x")
labels = mf.placeholder((None,), dtype="int64", name="labels")
hidden = mf.layers.dense(x, 8, activation=mf.relu, kernel_init=mf.init.he_uniform,
                         name="hidden")
logits = mf.layers.dense(hidden, 2, name="output")
loss = mf.softmax_cross_entropy(logits, labels)
accuracy = mf.accuracy(logits, labels)
train = mf.optimizers.Adam(0.01).minimize(loss)

sess = mf.Session()
history = mf.train.fit(sess, train, loss, {x: scaler.transform(X_train), labels: y_train},
                       epochs=40, batch_size=32, metrics={"accuracy": accuracy},
                       validation={x: scaler.transform(X_val), labels: y_val})
train_score = sess.run(accuracy, {x: scaler.transform(X_train), labels: y_train})
test_score = sess.run(accuracy, {x: scaler.transform(X_test), labels: y_test})
print(f"donut: train accuracy {train_score:.3f}, test accuracy {test_score:.3f}")

out = sys.argv[1] if len(sys.argv) > 1 else "out"
os.makedirs(out, exist_ok=True)
print("wrote", plots.decision_boundary(sess, x, logits, X_train, y_train,
                                       f"{out}/donut_boundary.png", transform=scaler.transform,
                                       X_test=X_test, y_test=y_test))
print("wrote", plots.hidden_unit_maps(sess, x, hidden, X_train, y_train,
                                      f"{out}/donut_hidden.png", transform=scaler.transform))
print("wrote", plots.loss_curves(history, f"{out}/donut_loss.png"))
try:
    print("wrote", mf.viz.render([loss, accuracy], f"{out}/donut_graph.svg"))
except mf.viz.GraphvizNotFound as error:
    print("no graph drawing:", error)
