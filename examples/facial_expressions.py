"""Facial expression recognition: 48x48 grayscale faces, 7 expressions, an MLP.

    python examples/facial_expressions.py [OUT_DIR] [--data fer2013.csv] [--faces N] [--epochs E]

Without --data it draws synthetic faces, writes them as a FER2013 CSV and reads them back,
so the real loader does the work; with the Kaggle file it trains on the Training rows and
tests on the PublicTest rows. Expect about 93% on synthetic faces and 40-50% on the real ones (an
MLP; convolutional networks reach 65-73%).

The long-hand version of `microflow train faces` (the "faces" problem of
microflow.apps.problems), written out op by op as a student would.
"""

import argparse
import os
import tempfile

import numpy as np

import microflow as mf
from microflow.viz import plots

options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
options.add_argument("out", nargs="?", default="out")
options.add_argument("--data", help="the FER2013 CSV (default: synthetic faces)")
options.add_argument("--faces", type=int, default=10000, help="synthetic faces to draw")
options.add_argument("--epochs", type=int, default=25)
args = options.parse_args()
mf.set_seed(0)

if args.data:                                           # Kaggle's file: its own split
    X_train, y_train = mf.datasets.load_fer2013(args.data, usage="Training")
    X_test, y_test = mf.datasets.load_fer2013(args.data, usage="PublicTest")
else:
    with tempfile.TemporaryDirectory() as folder:
        faces, expressions = mf.datasets.synthetic_faces(args.faces)
        path = mf.datasets.write_fer2013(os.path.join(folder, "faces.csv"), faces, expressions)
        X, y = mf.datasets.load_fer2013(path)
    X_train, X_test, y_train, y_test = mf.data.train_test_split(X, y, test_size=0.2, stratify=y)
X_train, X_val, y_train, y_val = mf.data.train_test_split(X_train, y_train, test_size=0.1)
scaler = mf.data.Standardizer().fit(X_train)            # per pixel, from training faces only
X_train, X_val, X_test_std = (scaler.transform(a) for a in (X_train, X_val, X_test))

x = mf.placeholder((None, 48 * 48), name="pixels")
labels = mf.placeholder((None,), dtype="int64", name="expression")
hidden = mf.layers.dense(x, 256, activation=mf.relu, kernel_init=mf.init.he_uniform,
                         name="hidden")
logits = mf.layers.dense(hidden, 7, name="output")
loss = mf.softmax_cross_entropy(logits, labels) + \
    mf.l2_regularization(mf.trainable_variables(), 3e-4)
accuracy = mf.accuracy(logits, labels)
train = mf.optimizers.Adam(5e-4).minimize(loss)

sess = mf.Session()
history = mf.train.fit(sess, train, loss, {x: X_train, labels: y_train}, epochs=args.epochs,
                       batch_size=128, metrics={"accuracy": accuracy},
                       validation={x: X_val, labels: y_val})
train_score = sess.run(accuracy, {x: X_train, labels: y_train})
test_score = sess.run(accuracy, {x: X_test_std, labels: y_test})
print(f"faces: train accuracy {train_score:.3f}, test accuracy {test_score:.3f}")

predicted = np.argmax(sess.run(logits, {x: X_test_std}), axis=1)
classes = mf.datasets.CLASSES
os.makedirs(args.out, exist_ok=True)
print("wrote", plots.face_grid(X_test[:32], y_test[:32], predicted[:32],
                               f"{args.out}/faces_predictions.png", classes))
print("wrote", plots.confusion_matrix(y_test, predicted, f"{args.out}/faces_confusion.png",
                                      classes))
print("wrote", plots.loss_curves(history, f"{args.out}/faces_loss.png"))
W = mf.trainable_variables()[0].value                    # hidden/W: one 48x48 image per unit
print("wrote", plots.first_layer_weights(W, f"{args.out}/faces_weights.png"))
