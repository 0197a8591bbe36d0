"""The playground's data: TensorFlow Playground's generators, K-class variants, CSV in and out.

Every generator takes ``(n, noise, rng)``: the number of points, the noise as a fraction
(the page's 0..50 % divided by 100) and a numpy Generator, and returns ``(points, labels)``:
``points`` a float32 array (n, 2) on the plane [-6, 6]², ``labels`` a float32 array (n,).
Labels follow TensorFlow Playground: -1 and +1 for two classes (orange and blue), the class
index 0..K-1 for K > 2 classes, a number in [-1, 1] for regression.

The formulas are those of TensorFlow Playground (``src/dataset.ts``), written again with
numpy:

- circle: n/2 points at radius U(0, 2.5) and n/2 at U(3.5, 5); the label is +1 when the point
  moved by noise U(-5, 5)·noise per axis lies within radius 2.5.
- xor: x, y ~ U(-5, 5) pushed 0.3 away from the axes; label +1 where (x+nx)(y+ny) >= 0.
- gauss: two Gaussians at (2, 2) (+1) and (-2, -2) (-1), variance 0.5 + 7·noise.
- spiral: arm k of K has r = 5 i/m, t = 1.75·2π i/m + 2πk/K, (r sin t, r cos t) plus
  U(-1, 1)·noise per axis (K = 2 is TensorFlow Playground's two arms, offset by π).
- plane: x, y ~ U(-6, 6); label (x + nx + y + ny) / 10, nx, ny ~ U(-6, 6)·noise.
- multigauss: six bumps at (±4 or 0, ±2.5) with signs alternating; the label is the signed
  bump value 1 - d/2 (clamped to [0, 1]) with the largest magnitude at the noisy point.

>>> import numpy as np
>>> points, labels = generate("circle", 500, 0.0, np.random.default_rng(0))
>>> points.shape, sorted(set(labels.tolist()))
((500, 2), [-1.0, 1.0])
"""

from __future__ import annotations

import io
import math

import numpy as np

PLANE = 6.0                     # the plane is [-PLANE, PLANE]²
SAMPLES_CLASSIFY = 500          # TensorFlow Playground's NUM_SAMPLES_CLASSIFY
SAMPLES_REGRESS = 1200          # and NUM_SAMPLES_REGRESS
CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("plane", "multigauss")
MULTICLASS = ("gauss", "spiral")          # the generators that make 3..5 classes too
MAX_UPLOAD_BYTES = 1_000_000
MAX_UPLOAD_ROWS = 10_000
MAX_CLASSES = 5


class DataError(ValueError):
    """An uploaded CSV that cannot be used; the message names the line."""


def _uniform(rng, low, high, size):
    return rng.uniform(low, high, size)


def circle(n, noise, rng):
    """Points inside radius 2.5 (+1) and in the ring 3.5..5 (-1), labelled after noise."""
    radius = 5.0
    half = n // 2
    r = np.concatenate([_uniform(rng, 0, radius * 0.5, half),
                        _uniform(rng, radius * 0.7, radius, n - half)])
    angle = _uniform(rng, 0, 2 * math.pi, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    moved = points + _uniform(rng, -radius, radius, (n, 2)) * noise
    labels = np.where(np.hypot(moved[:, 0], moved[:, 1]) < radius * 0.5, 1.0, -1.0)
    return points.astype(np.float32), labels.astype(np.float32)


def xor(n, noise, rng):
    """Four quadrants: +1 where x1·x2 >= 0 (after noise), points kept 0.3 off the axes."""
    points = _uniform(rng, -5, 5, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)
    moved = points + _uniform(rng, -5, 5, (n, 2)) * noise
    labels = np.where(moved[:, 0] * moved[:, 1] >= 0, 1.0, -1.0)
    return points.astype(np.float32), labels.astype(np.float32)


def _variance(noise):
    """TensorFlow Playground's variance for its Gaussians: 0.5 at no noise, 4 at 50 %."""
    return 0.5 + (4.0 - 0.5) * noise / 0.5


def gauss(n, noise, rng, classes=2):
    """Gaussian clouds: (2, 2) (+1) and (-2, -2) (-1); for K > 2, K clouds at radius 3.5
    evenly spaced in angle, labelled 0..K-1."""
    sd = math.sqrt(_variance(noise))
    if classes == 2:
        centres, names = np.array([[2.0, 2.0], [-2.0, -2.0]]), np.array([1.0, -1.0])
    else:
        angles = 2 * math.pi * np.arange(classes) / classes + math.pi / 4
        centres = 3.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        names = np.arange(classes, dtype=np.float64)
    which = np.arange(n) * classes // n         # equal shares, in order, as TF makes them
    points = centres[which] + rng.normal(0.0, sd, (n, 2))
    return points.astype(np.float32), names[which].astype(np.float32)


def spiral(n, noise, rng, classes=2):
    """K interleaved spiral arms (TensorFlow Playground's two for K = 2: +1 and -1)."""
    points, labels = [], []
    for k in range(classes):
        m = n // classes + (1 if k < n % classes else 0)
        i = np.arange(m)
        r = i / m * 5
        t = 1.75 * i / m * 2 * math.pi + 2 * math.pi * k / classes
        arm = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        points.append(arm + _uniform(rng, -1, 1, (m, 2)) * noise)
        labels.append(np.full(m, (1.0 if k == 0 else -1.0) if classes == 2 else float(k)))
    return (np.concatenate(points).astype(np.float32),
            np.concatenate(labels).astype(np.float32))


def plane(n, noise, rng):
    """Regression on a tilted plane: label (x1 + x2) / 10 at the noisy point."""
    points = _uniform(rng, -PLANE, PLANE, (n, 2))
    moved = points + _uniform(rng, -PLANE, PLANE, (n, 2)) * noise
    labels = (moved[:, 0] + moved[:, 1]) / 10.0
    return points.astype(np.float32), labels.astype(np.float32)


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                   [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=np.float64)


def multigauss(n, noise, rng):
    """Regression on six signed bumps: the bump value with the largest magnitude."""
    points = _uniform(rng, -PLANE, PLANE, (n, 2))
    moved = points + _uniform(rng, -PLANE, PLANE, (n, 2)) * noise
    distance = np.hypot(moved[:, None, 0] - _BUMPS[:, 0], moved[:, None, 1] - _BUMPS[:, 1])
    values = _BUMPS[:, 2] * np.clip(1.0 - distance / 2.0, 0.0, 1.0)       # (n, 6)
    pick = np.abs(values).argmax(axis=1)        # the first of equal magnitudes, as TF's loop
    labels = values[np.arange(n), pick]
    return points.astype(np.float32), labels.astype(np.float32)


GENERATORS = {"circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral,
              "plane": plane, "multigauss": multigauss}


def generate(name, n, noise, rng, classes=2):
    """``(points, labels)`` from the generator ``name``; ``classes`` for gauss and spiral."""
    if name not in GENERATORS:
        raise ValueError(f"unknown dataset {name!r}; choose from: {', '.join(GENERATORS)}")
    if name in MULTICLASS:
        return GENERATORS[name](n, noise, rng, classes=classes)
    return GENERATORS[name](n, noise, rng)


def samples_for(name):
    """How many points TensorFlow Playground draws for the dataset ``name``."""
    return SAMPLES_REGRESS if name in REGRESSION else SAMPLES_CLASSIFY


def split(points, labels, ratio, rng):
    """Shuffle, then the first ``ratio`` percent for training and the rest for testing
    (TensorFlow Playground's split); each part keeps at least one point."""
    order = rng.permutation(len(points))
    cut = min(max(int(len(points) * ratio / 100), 1), len(points) - 1)
    train, test = order[:cut], order[cut:]
    return (points[train], labels[train]), (points[test], labels[test])


# -- CSV ----------------------------------------------------------------------------------
def _number(text, what, line):
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"line {line}: {what} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"line {line}: {what} {text.strip()!r} is not a finite number")
    return value


def parse_csv(text):
    """Points and labels from CSV text with the columns x1, x2, label (a header is optional).

    Returns ``(points, labels, kind)`` with ``kind`` one of ``"binary"`` (labels -1/+1, given
    as -1/1 or 0/1), ``"multiclass"`` (labels 0..K-1, K <= 5) or ``"regression"`` (any other
    numbers, which must lie in [-1, 1]). Raises ``DataError`` naming the line of the first
    problem: a wrong number of fields, a field that is not a finite number, a point off the
    plane [-6, 6]², too many rows or bytes.

    >>> points, labels, kind = parse_csv("x1,x2,label\\n1,2,1\\n-1,-2,0\\n")
    >>> points.tolist(), labels.tolist(), kind
    ([[1.0, 2.0], [-1.0, -2.0]], [1.0, -1.0], 'binary')
    """
    if not isinstance(text, str):
        raise DataError("the upload must be CSV text")
    size = len(text.encode("utf-8"))
    if size > MAX_UPLOAD_BYTES:
        raise DataError(f"the file is {size:,} bytes; at most {MAX_UPLOAD_BYTES:,} are accepted")
    rows, first = [], True
    for line, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip().lstrip("\ufeff")
        if not stripped:
            continue
        fields = [f.strip() for f in stripped.split(",")]
        if first:
            first = False
            if _is_header(fields):
                continue
        if len(fields) != 3:
            raise DataError(f"line {line}: expected 3 fields (x1,x2,label), found "
                            f"{len(fields)}: {stripped[:60]!r}")
        x1 = _number(fields[0], "x1", line)
        x2 = _number(fields[1], "x2", line)
        label = _number(fields[2], "label", line)
        for name, value in (("x1", x1), ("x2", x2)):
            if abs(value) > PLANE:
                raise DataError(f"line {line}: {name} = {value:g} is off the plane "
                                f"[-{PLANE:g}, {PLANE:g}]; scale the data into it")
        rows.append((x1, x2, label, line))
        if len(rows) > MAX_UPLOAD_ROWS:
            raise DataError(f"line {line}: more than {MAX_UPLOAD_ROWS:,} rows; at most "
                            f"{MAX_UPLOAD_ROWS:,} are accepted")
    if len(rows) < 2:
        raise DataError(f"the file has {len(rows)} data rows; at least 2 are needed "
                        "(one to train on, one to test)")
    points = np.array([r[:2] for r in rows], dtype=np.float32)
    labels = np.array([r[2] for r in rows], dtype=np.float64)
    values = set(np.unique(labels).tolist())
    if values <= {-1.0, 1.0} or values <= {0.0, 1.0}:
        labels = np.where(labels > 0, 1.0, -1.0)
        kind = "binary"
    elif all(v.is_integer() for v in values) and min(values) >= 0:
        top = int(max(values))
        if top >= MAX_CLASSES:
            line = next(r[3] for r in rows if r[2] == top)
            raise DataError(f"line {line}: class label {top} is too large; labels are "
                            f"0..{MAX_CLASSES - 1} (at most {MAX_CLASSES} classes), or -1/1, "
                            "or numbers in [-1, 1] for regression")
        kind = "multiclass" if top >= 2 else "binary"
    else:
        kind = "regression"
        for x1, x2, label, line in rows:
            if abs(label) > 1:
                raise DataError(f"line {line}: label {label:g} is out of range: regression "
                                "labels lie in [-1, 1], class labels are whole numbers 0..4")
    return points, labels.astype(np.float32), kind


def _is_header(fields):
    """A first line with a field that is not a number and has a letter in it."""
    for field in fields:
        try:
            float(field)
        except ValueError:
            if any(c.isalpha() for c in field) and field.lower() not in ("nan", "inf",
                                                                         "infinity"):
                return True
    return False


def to_csv(points, labels):
    """CSV text ``x1,x2,label`` with a header; ``parse_csv`` reads it back.

    >>> print(to_csv(np.array([[0.5, -1.0]]), np.array([1.0])), end="")
    x1,x2,label
    0.5,-1,1
    """
    out = io.StringIO()
    out.write("x1,x2,label\n")
    for (x1, x2), label in zip(np.asarray(points, np.float64).tolist(),
                               np.asarray(labels, np.float64).tolist()):
        out.write(f"{x1:.6g},{x2:.6g},{label:.6g}\n")
    return out.getvalue()
