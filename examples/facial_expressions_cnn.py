"""Facial expression recognition with the course's convolutional network: the long-hand
version of ``microflow train faces --model cnn``.

    python examples/facial_expressions_cnn.py [OUT_DIR] [--data fer2013.csv] [--faces N]
        [--epochs E] [--placement anywhere]

48x48x1 faces -> conv 5x5x20 SAME + relu -> max pool 2 -> conv 5x5x50 SAME + relu -> max pool
2 -> dense 500 relu -> dense 300 relu -> dense 7, softmax cross-entropy, SGD with momentum on
batches of 64. Without --data it draws synthetic faces (with --placement anywhere: moved and
shrunk, where an MLP falls behind), writes them as a FER2013 CSV and reads them back; with
the Kaggle file it trains on the Training rows and tests on the PublicTest rows, where a
network like this one reaches about 60 % (an MLP 45-50 %, people about 65 %).
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
options.add_argument("--epochs", type=int, default=5)
options.add_argument("--placement", choices=("centred", "anywhere"), default="centred")
args = options.parse_args()
mf.set_seed(0)

if args.data:                                           # Kaggle's file: its own split
    X_train, y_train = mf.datasets.load_fer2013(args.data, usage="Training")
    X_test, y_test = mf.datasets.load_fer2013(args.data, usage="PublicTest")
else:
    with tempfile.TemporaryDirectory() as folder:
        faces, expressions = mf.datasets.synthetic_faces(args.faces, placement=args.placement)
        path = mf.datasets.write_fer2013(os.path.join(folder, "faces.csv"), faces, expressions)
        X, y = mf.datasets.load_fer2013(path)
    X_train, X_test, y_train, y_test = mf.data.train_test_split(X, y, test_size=0.2, stratify=y)
X_train, X_val, y_train, y_val = mf.data.train_test_split(X_train, y_train, test_size=0.1)
scaler = mf.data.Standardizer().fit(X_train)            # per pixel, from training faces only
X_train, X_val, X_test_std = (scaler.transform(a) for a in (X_train, X_val, X_test))

x = mf.placeholder((None, 48 * 48), name="pixels")
labels = mf.placeholder((None,), dtype="int64", name="expression")
images = mf.reshape(x, (-1, 48, 48, 1), name="images")  # NHWC: one grey channel
conv1 = mf.layers.conv2d(images, 20, 5, activation=mf.relu, name="conv1")   # (N, 48, 48, 20)
pooled = mf.layers.max_pool(conv1, 2)                                        # (N, 24, 24, 20)
conv2 = mf.layers.conv2d(pooled, 50, 5, activation=mf.relu, name="conv2")   # (N, 24, 24, 50)
pooled = mf.layers.max_pool(conv2, 2)                                        # (N, 12, 12, 50)
hidden = mf.layers.dense(mf.layers.flatten(pooled), 500, activation=mf.relu,
                         kernel_init=mf.init.he_uniform, name="dense1")
hidden = mf.layers.dense(hidden, 300, activation=mf.relu, kernel_init=mf.init.he_uniform,
                         name="dense2")
logits = mf.layers.dense(hidden, 7, name="output")
loss = mf.softmax_cross_entropy(logits, labels)
accuracy = mf.accuracy(logits, labels)
train = mf.optimizers.SGD(0.01, momentum=0.9).minimize(loss)

sess = mf.Session()
history = mf.train.fit(sess, train, loss, {x: X_train, labels: y_train}, epochs=args.epochs,
                       batch_size=64, metrics={"accuracy": accuracy},
                       validation={x: X_val, labels: y_val})
# In batches: a convolution's im2col rows for thousands of faces would take gigabytes.
score = lambda X, y: mf.train.evaluate(sess, loss, {x: X, labels: y}, {"accuracy": accuracy},  # noqa: E731
                                       batch_size=256)["accuracy"]
print(f"faces: train accuracy {score(X_train, y_train):.3f}, "
      f"test accuracy {score(X_test_std, y_test):.3f}")

predicted = np.concatenate([np.argmax(sess.run(logits, {x: X_test_std[i:i + 256]}), axis=1)
                            for i in range(0, len(X_test_std), 256)])
classes = mf.datasets.CLASSES
os.makedirs(args.out, exist_ok=True)
print("wrote", plots.face_grid(X_test[:32], y_test[:32], predicted[:32],
                               f"{args.out}/cnn_predictions.png", classes))
print("wrote", plots.confusion_matrix(y_test, predicted, f"{args.out}/cnn_confusion.png",
                                      classes))
print("wrote", plots.loss_curves(history, f"{args.out}/cnn_loss.png"))
W = mf.get_default_graph().get_tensor_by_name("conv1/W").value     # (5, 5, 1, 20)
print("wrote", plots.conv_filters(W, f"{args.out}/cnn_filters.png"))
maps = sess.run(conv1, {x: X_test_std[:1]})[0]                      # (48, 48, 20)
print("wrote", plots.feature_maps(X_test[0].reshape(48, 48), maps,
                                  f"{args.out}/cnn_feature_maps.png"))
