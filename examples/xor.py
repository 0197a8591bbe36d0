"""XOR in graph style: two inputs, four tanh units, two classes.

No straight line separates XOR's classes; the hidden layer bends the plane until one does.

    python examples/xor.py [OUT_DIR]        # pictures go to OUT_DIR (default: out/)

The long-hand version of `microflow train xor` (the "xor" problem of microflow.apps.problems),
written out op by op as a student would.
"""

import os
import sys

import microflow as mf
from microflow.viz import plots

mf.set_seed(0)                                          # reproducible weights
X, y = mf.datasets.xor()                                # 4 points, labels 0 1 1 0

# Build the graph: nothing is computed yet.
x = mf.placeholder((None, 2), name="x")
labels = mf.placeholder((None,), dtype="int64", name="labels")
hidden = mf.layers.dense(x, 4, activation=mf.tanh, name="hidden")
logits = mf.layers.dense(hidden, 2, name="output")
loss = mf.softmax_cross_entropy(logits, labels)
accuracy = mf.accuracy(logits, labels)
train = mf.optimizers.Adam(0.05).minimize(loss)

# Run it: 300 full-batch steps.
sess = mf.Session()
history = mf.train.fit(sess, train, loss, {x: X, labels: y}, epochs=300,
                       metrics={"accuracy": accuracy})
score = sess.run(accuracy, {x: X, labels: y})
print(f"xor: train accuracy {score:.3f}, test accuracy {score:.3f} "
      "(XOR has only these four points)")

out = sys.argv[1] if len(sys.argv) > 1 else "out"
os.makedirs(out, exist_ok=True)
print("wrote", plots.decision_boundary(sess, x, logits, X, y, f"{out}/xor_boundary.png"))
print("wrote", plots.hidden_unit_maps(sess, x, hidden, X, y, f"{out}/xor_hidden.png"))
print("wrote", plots.loss_curves(history, f"{out}/xor_loss.png"))
