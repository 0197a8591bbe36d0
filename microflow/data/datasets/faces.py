"""Synthetic 48x48 faces showing the seven FER2013 expressions, drawn with numpy alone.

The real FER2013 file cannot be downloaded here, so :func:`synthetic_faces` draws
stand-ins in the same format. Each face is an ellipse with two eyes, two brows, nostrils
and a mouth; the expression sets a handful of parameters, in units of the face's
half-width (v grows downwards):

=========  ===========================  ================  ==========  ==================
class      mouth                        brows             eyes        other
=========  ===========================  ================  ==========  ==================
Angry      tight, slightly down         low, slanted in   narrowed
Disgust    one side of the lip raised   low, a bit in     narrowed    nose wrinkles
Fear       wide, stretched, ajar        raised, inner up  wide
Happy      smile, a little open         level             a bit shut
Sad        frown                        inner ends up     a bit shut
Surprise   round open "O"               raised high       wide
Neutral    flat                         level             normal
=========  ===========================  ================  ==========  ==================

Every face also gets its own expression strength and jitter on every parameter, size,
position, tilt, background, skin tone, lighting gradient, contrast and pixel noise, so the
classes are learnable (a small MLP does well) but not by a template or by brightness.

With ``placement="anywhere"`` the faces are also moved up to 10 pixels off centre and
shrunk to 55-100 % of their usual size: the same expressions in other places, which a
convolutional network recognises wherever they are and a multilayer perceptron, whose every
weight belongs to one pixel, has to learn again for every place.

Rendering is vectorised: each feature is a signed-distance field over the pixel grid of a
chunk of faces, turned into anti-aliased coverage and blended in.
"""

import numpy as np

from microflow.data.datasets.fer2013 import CLASSES, IMAGE_SIDE, N_PIXELS, pixels_to_unit
from microflow.core.random import as_generator

# One column per class, in CLASSES order: Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral.
EXPRESSIONS = {
    "mouth_curve": np.array([-0.5, -0.3, -0.15, 1.3, -1.4, 0.0, 0.0]),  # >0 smiles
    "mouth_half_width": np.array([0.30, 0.36, 0.46, 0.46, 0.36, 0.17, 0.38]),
    "mouth_open_upper": np.array([0.0, 0.0, 0.05, 0.0, 0.0, 0.12, 0.0]),
    "mouth_open_lower": np.array([0.0, 0.03, 0.08, 0.08, 0.0, 0.16, 0.0]),
    "lip_raise": np.array([0.0, 0.16, 0.0, 0.0, 0.0, 0.0, 0.0]),  # one-sided sneer
    "brow_raise": np.array([-0.07, -0.07, 0.12, 0.0, 0.02, 0.17, 0.0]),
    "brow_inner_drop": np.array([0.22, 0.10, -0.12, 0.0, -0.22, 0.0, 0.0]),  # >0 frowns
    "eye_open": np.array([0.50, 0.60, 1.50, 0.75, 0.80, 1.65, 1.0]),
    "nose_wrinkle": np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
}
NEUTRAL = CLASSES.index("Neutral")

# Per-face Gaussian jitter (standard deviation) on each expression parameter.
JITTER = {
    "mouth_curve": 0.16,
    "mouth_half_width": 0.025,
    "mouth_open_upper": 0.01,
    "mouth_open_lower": 0.015,
    "lip_raise": 0.015,
    "brow_raise": 0.02,
    "brow_inner_drop": 0.035,
    "eye_open": 0.1,
    "nose_wrinkle": 0.07,
}

_CHUNK = 500  # faces rendered at once: keeps the (chunk, 48, 48) fields in cache-sized memory


def _coverage(signed_distance):
    """Anti-aliased coverage of a shape from its signed distance in pixels (<0 inside)."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def _blend(image, intensity, alpha):
    """Paint ``intensity`` over ``image`` with opacity ``alpha``, in place."""
    image += alpha * (intensity - image)


def _ellipse_distance(u, v, centre_u, centre_v, radius_u, radius_v):
    """Approximate signed distance to an axis-aligned ellipse (exact for circles)."""
    scaled = np.sqrt(((u - centre_u) / radius_u) ** 2 + ((v - centre_v) / radius_v) ** 2)
    return (scaled - 1.0) * np.minimum(radius_u, radius_v)


def _segment_distance(u, v, u0, v0, u1, v1):
    """Distance from each point to the segment (u0, v0)-(u1, v1)."""
    du, dv = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * du + (v - v0) * dv) / (du * du + dv * dv), 0.0, 1.0)
    return np.hypot(u - u0 - t * du, v - v0 - t * dv)


def _sample_parameters(rng, labels):
    """Per-face expression parameters: neutral + strength * (class - neutral) + jitter."""
    n = len(labels)
    strength = rng.uniform(0.75, 1.15, n)
    params = {}
    for name, by_class in EXPRESSIONS.items():
        value = by_class[NEUTRAL] + strength * (by_class[labels] - by_class[NEUTRAL])
        params[name] = value + JITTER[name] * rng.standard_normal(n)
    for name in ("mouth_open_upper", "mouth_open_lower", "lip_raise", "nose_wrinkle"):
        params[name] = np.maximum(params[name], 0.0)
    params["mouth_half_width"] = np.maximum(params["mouth_half_width"], 0.1)
    params["eye_open"] = np.maximum(params["eye_open"], 0.3)
    params["sneer_side"] = rng.choice([-1.0, 1.0], n)
    return params


PLACEMENTS = ("centred", "anywhere")


def _sample_appearance(rng, n, placement="centred"):
    """Per-face geometry, tones and lighting, independent of the expression."""
    half_width = rng.uniform(14.5, 20.0, n)
    shift = 4.0
    if placement == "anywhere":
        half_width *= rng.uniform(0.55, 1.0, n)
        shift = 10.0
    return {
        "half_width": half_width,
        "centre_x": 23.5 + rng.uniform(-shift, shift, n),
        "centre_y": 25.0 + rng.uniform(-shift, shift, n),
        "tilt": np.deg2rad(rng.uniform(-9.0, 9.0, n)),
        "aspect": rng.uniform(1.12, 1.28, n),
        "eye_spacing": rng.uniform(0.33, 0.40, n),
        "eye_height": rng.uniform(-0.16, -0.08, n),
        "mouth_height": rng.uniform(0.50, 0.60, n),
        "background": rng.uniform(0.0, 0.9, n),
        "skin": rng.uniform(0.45, 0.85, n),
        "feature_darkness": rng.uniform(0.12, 0.35, n),
        "contrast": rng.uniform(0.7, 1.2, n),
        "brightness": rng.uniform(-0.1, 0.1, n),
        "gradient": rng.uniform(0.0, 0.35, n),
        "gradient_angle": rng.uniform(0.0, 2 * np.pi, n),
        "noise": rng.uniform(0.01, 0.05, n),
    }


def _render(params, look, rng):
    """Draw one chunk of faces; every parameter is an array with one value per face."""
    n = len(look["half_width"])
    # float32 fields: twice as fast as float64, and far finer than the 1/255 quantisation.
    p = {name: value[:, None, None].astype(np.float32) for name, value in {**params, **look}.items()}
    rows, cols = np.mgrid[0:IMAGE_SIDE, 0:IMAGE_SIDE].astype(np.float32)
    dx, dy = cols - p["centre_x"], rows - p["centre_y"]
    cos, sin = np.cos(p["tilt"]), np.sin(p["tilt"])
    scale = p["half_width"]  # pixels per face unit
    u = (cos * dx + sin * dy) / scale
    v = (-sin * dx + cos * dy) / scale
    side_u = np.abs(u)  # eyes, brows and nostrils are mirror images
    skin = p["skin"]
    dark = skin * p["feature_darkness"]

    image = np.broadcast_to(p["background"], u.shape).copy()
    face = _ellipse_distance(u, v, 0.0, 0.0, 1.0, p["aspect"])
    _blend(image, skin, _coverage(face * scale))

    eye_v, eye_u = p["eye_height"], p["eye_spacing"]
    eye = _ellipse_distance(side_u, v, eye_u, eye_v, 0.15, 0.085 * p["eye_open"])
    eye_alpha = _coverage(eye * scale)
    _blend(image, np.minimum(skin + 0.2, 1.0), eye_alpha)  # white of the eye
    iris = np.hypot(side_u - eye_u, v - eye_v) - 0.075
    _blend(image, dark, eye_alpha * _coverage(iris * scale))

    brow_v = eye_v - 0.24 - p["brow_raise"]
    inner_v = brow_v + p["brow_inner_drop"] / 2
    outer_v = brow_v - p["brow_inner_drop"] / 2
    brow = _segment_distance(side_u, v, eye_u - 0.2, inner_v, eye_u + 0.2, outer_v)
    _blend(image, dark, _coverage(brow * scale - 1.1))

    nostril = _ellipse_distance(side_u, v, 0.08, 0.28, 0.045, 0.03)
    _blend(image, dark, 0.8 * _coverage(nostril * scale))
    wrinkle = _segment_distance(side_u, v, 0.11, 0.06, 0.2, 0.2)
    _blend(image, dark, np.clip(p["nose_wrinkle"], 0, 1) * 0.8 * _coverage(wrinkle * scale - 0.5))

    # Mouth: the gap between an upper and a lower lip curve around a parabola (the smile
    # or frown), with a rim. Elliptic opening profile, so a tall narrow mouth is an "O".
    half_width = p["mouth_half_width"]
    across = np.clip(u / half_width, -1.0, 1.0)
    opening = np.sqrt(1.0 - across**2)
    centre_line = p["mouth_height"] - p["mouth_curve"] * u**2
    sneer = p["lip_raise"] * np.clip(p["sneer_side"] * across, 0.0, 1.0) * (1.0 - across**2) * 2
    upper = centre_line - p["mouth_open_upper"] * opening - sneer
    lower = centre_line + p["mouth_open_lower"] * opening
    mouth = np.maximum(np.maximum(upper - v, v - lower), np.abs(u) - half_width)
    _blend(image, dark * 0.7, _coverage(mouth * scale - 0.9))

    # Lighting: contrast, brightness and a linear gradient across the image, then noise.
    unit_x = (cols - IMAGE_SIDE / 2) / (IMAGE_SIDE / 2)
    unit_y = (rows - IMAGE_SIDE / 2) / (IMAGE_SIDE / 2)
    ramp = np.cos(p["gradient_angle"]) * unit_x + np.sin(p["gradient_angle"]) * unit_y
    image = image * p["contrast"] * (1.0 + p["gradient"] * ramp) + p["brightness"]
    image += p["noise"] * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8).reshape(n, N_PIXELS)


def synthetic_faces(n, seed=None, placement="centred"):
    """Draw ``n`` synthetic 48x48 faces, balanced over the seven expressions of ``CLASSES``.

    Parameters
    ----------
    n : int
        Number of faces. Each class gets ``n // 7`` faces, and the first ``n % 7`` classes
        one more.
    seed : None, int or numpy.random.Generator
    placement : {"centred", "anywhere"}
        "centred": within 4 pixels of the middle, at 29-40 pixels wide; "anywhere": up to
        10 pixels off the middle and 16-40 pixels wide (a harder task, for comparing a
        multilayer perceptron with a convolutional network).

    Returns
    -------
    X : ndarray, float32, shape (n, 2304)
        Row-major 48x48 grayscale images in [0, 1], quantised to multiples of 1/255 exactly
        as :func:`load_fer2013` returns them, so writing and reloading them is lossless.
    y : ndarray, int64, shape (n,)
        Expression labels, in shuffled order.

    Examples
    --------
    >>> X, y = synthetic_faces(70, seed=0)
    >>> X.shape, np.bincount(y).tolist()
    ((70, 2304), [10, 10, 10, 10, 10, 10, 10])
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
    rng = as_generator(seed)
    n_classes = len(CLASSES)
    counts = n // n_classes + (np.arange(n_classes) < n % n_classes)
    labels = rng.permutation(np.repeat(np.arange(n_classes), counts))
    pixels = np.empty((n, N_PIXELS), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        chunk = labels[start:start + _CHUNK]
        params = _sample_parameters(rng, chunk)
        look = _sample_appearance(rng, len(chunk), placement)
        pixels[start:start + _CHUNK] = _render(params, look, rng)
    return pixels_to_unit(pixels), labels.astype(np.int64)
