"""Three Gaussian clouds, three classes: softmax regression's textbook case, with one small
hidden layer. The plane splits into three regions that meet near the middle.

    python examples/clouds.py [OUT_DIR]     # pictures go to OUT_DIR (default: out/)

The long-hand version of `microflow train clouds` (the "clouds" problem of
microflow.apps.problems), written out op by op as a student would.
"""

import os
import sys

import microflow as mf
from microflow.viz import plots

mf.set_seed(0)
X, y = mf.datasets.clouds(1000)                         # 1000 points around each centre
X_train, X_test, y_train, y_test = mf.data.train_test_split(X, y, test_size=0.2, stratify=y)
X_train, X_val, y_train, y_val = mf.data.train_test_split(X_train, y_train, test_size=0.1)

x = mf.placeholder((None, 2), name="x")
labels = mf.placeholder((None,), dtype="int64", name="labels")
hidden = mf.layers.dense(x, 8, activation=mf.relu, kernel_init=mf.init.he_uniform,
                         name="hidden")
logits = mf.layers.dense(hidden, 3, name="output")
loss = mf.softmax_cross_entropy(logits, labels)
accuracy = mf.accuracy(logits, labels)
train = mf.optimizers.Adam(0.01).minimize(loss)

sess = mf.Session()
history = mf.train.fit(sess, train, loss, {x: X_train, labels: y_train}, epochs=20,
                       batch_size=32, metrics={"accuracy": accuracy},
                       validation={x: X_val, labels: y_val})
train_score = sess.run(accuracy, {x: X_train, labels: y_train})
test_score = sess.run(accuracy, {x: X_test, labels: y_test})
print(f"clouds: train accuracy {train_score:.3f}, test accuracy {test_score:.3f}")

out = sys.argv[1] if len(sys.argv) > 1 else "out"
os.makedirs(out, exist_ok=True)
print("wrote", plots.decision_boundary(sess, x, logits, X_train, y_train,
                                       f"{out}/clouds_boundary.png", X_test=X_test,
                                       y_test=y_test))
print("wrote", plots.hidden_unit_maps(sess, x, hidden, X_train, y_train,
                                      f"{out}/clouds_hidden.png"))
print("wrote", plots.loss_curves(history, f"{out}/clouds_loss.png"))
