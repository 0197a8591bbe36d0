"""Reading and writing the FER2013 facial-expression CSV (Kaggle, 2013).

The file has one face a row: an ``emotion`` label 0..6 (see ``CLASSES``), the 48x48
grayscale ``pixels`` as 2304 space-separated integers 0..255, and the ``Usage`` split
(``Training``, ``PublicTest`` or ``PrivateTest``). Two layouts are in circulation and both
load, because columns are found by their header names (stripped, case-insensitive):

- ``fer2013.csv``: header ``emotion,pixels,Usage``;
- ``icml_face_data.csv``: header ``emotion, Usage, pixels`` (other order, spaces after
  the commas in the header and sometimes in the values).

The real file (about 300 MB) cannot be downloaded here; :func:`write_fer2013` writes the
same layout, for instance from :func:`microflow.data.datasets.synthetic_faces`.
"""

import codecs
import csv

import numpy as np

from microflow.core.files import atomic_write

CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")
IMAGE_SIDE = 48
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE


class FER2013FormatError(ValueError):
    """A FER2013 file that does not follow the format; the message reads ``path, line N: problem``."""

    def __init__(self, path, line, problem):
        super().__init__(f"{path}, line {line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def pixels_to_unit(pixels):
    """Map integer pixel values 0..255 to float32 in [0, 1], exactly as the loader does."""
    return np.asarray(pixels).astype(np.float32) / np.float32(255)


def _find_columns(path, header):
    """Column index for each of emotion, pixels and usage (usage may be None)."""
    names = [name.strip().lower() for name in header]
    missing = [name for name in ("emotion", "pixels") if name not in names]
    if missing:
        found = ", ".join(repr(name.strip()) for name in header) or "none"
        raise FER2013FormatError(
            path, 1, f"header lacks column(s) {', '.join(missing)}; columns found: {found}"
        )
    usage_column = names.index("usage") if "usage" in names else None
    return names.index("emotion"), names.index("pixels"), usage_column


def _parse_label(path, line, field):
    text = field.strip()
    if not text:
        raise FER2013FormatError(path, line, "emotion value is missing")
    try:
        label = int(text)
    except ValueError:
        raise FER2013FormatError(path, line, f"emotion {text!r} is not an integer") from None
    if not 0 <= label < len(CLASSES):
        raise FER2013FormatError(
            path, line, f"emotion {label} is out of range 0..{len(CLASSES) - 1}"
        )
    return label


def _parse_pixels(path, line, field):
    """The row's pixels as uint8, after checking count, digits and range."""
    try:
        # np.fromstring's text mode is a C parser, about 3x faster than split() + int();
        # it rejects non-numeric tokens and saturates (never wraps) huge ones.
        values = np.fromstring(field, dtype=np.int64, sep=" ")
    except ValueError:
        tokens = field.split()
        bad = next((token for token in tokens if not (token.isascii() and token.isdigit())), field)
        raise FER2013FormatError(path, line, f"pixel value {bad!r} is not an integer") from None
    if len(values) == 0:
        raise FER2013FormatError(path, line, "pixels value is missing")
    if len(values) != N_PIXELS:
        raise FER2013FormatError(
            path, line, f"expected {N_PIXELS} pixels, found {len(values)}"
        )
    out_of_range = (values < 0) | (values > 255)
    if out_of_range.any():
        position = int(np.argmax(out_of_range))
        raise FER2013FormatError(
            path,
            line,
            f"pixel {position} is {field.split()[position]}, outside 0..255",
        )
    return values.astype(np.uint8)


def text_lines(path, file):
    """The lines of the binary ``file`` as text, decoded as UTF-8 one line at a time (a byte
    order mark at the start is dropped), so that a byte that is not UTF-8 is a
    ``FER2013FormatError`` naming the line and column, not a bare ``UnicodeDecodeError``."""
    for number, raw in enumerate(file, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FER2013FormatError(path, number, f"byte {raw[error.start]:#04x} at column "
                                     f"{error.start + 1} is not UTF-8 text") from None


def read_header(path):
    """The header row of the FER2013 CSV at ``path``: its column names, stripped."""
    with open(path, "rb") as file:
        header = next(csv.reader(text_lines(path, file), skipinitialspace=True), [])
    return [name.strip() for name in header]


def _numbered_rows(reader):
    """Yield (line number where the row starts, row) for each non-blank row left in reader."""
    while True:
        line = reader.line_num + 1
        row = next(reader, None)
        if row is None:
            return
        if row:
            yield line, row


def _check_usage_argument(usage):
    if usage is not None and usage not in USAGES:
        raise ValueError(f"usage must be None or one of {', '.join(USAGES)}; got {usage!r}")


def balance_repeats(labels):
    """How many times :func:`load_fer2013` with ``balance=True`` repeats each class.

    Class ``c`` with ``n_c`` rows is repeated ``k_c = max(1, round(median / n_c))`` times,
    where ``median`` is the median count over the classes present and ``round`` rounds
    halves up. Only classes rarer than half the median are repeated at all.

    Parameters
    ----------
    labels : array of int
        Class labels 0..6.

    Returns
    -------
    ndarray, int64, shape (7,)
        The repeat count of each class (1 for absent classes).

    Examples
    --------
    The Training split of the real file (Angry 3995, Disgust 436, Fear 4097, Happy 7215,
    Sad 4830, Surprise 3171, Neutral 4965) has median 4097, so Disgust, and only Disgust,
    is repeated round(4097 / 436) = 9 times, as in the course:

    >>> counts = [3995, 436, 4097, 7215, 4830, 3171, 4965]
    >>> balance_repeats(np.repeat(np.arange(7), counts)).tolist()
    [1, 9, 1, 1, 1, 1, 1]
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(CLASSES))
    present = counts > 0
    repeats = np.ones(len(CLASSES), dtype=np.int64)
    if present.any():
        median = np.median(counts[present])
        ratio = median / counts[present]
        repeats[present] = np.maximum(1, np.floor(ratio + 0.5)).astype(np.int64)
    return repeats


def load_fer2013(path, usage=None, balance=False):
    """Load a FER2013 CSV (either layout) as flat images scaled to [0, 1].

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    usage : {None, "Training", "PublicTest", "PrivateTest"}
        Keep only the rows of this split; ``None`` keeps every row. Rows of other splits
        are skipped after reading their Usage, without parsing their pixels.
    balance : bool
        Oversample rare classes by repeating their rows: class ``c`` is repeated
        ``max(1, round(median_count / n_c))`` times (see :func:`balance_repeats`); on the
        real Training split that repeats Disgust 9 times and nothing else. Each repeated row
        stands ``k_c`` times in a row, in file order: shuffle before training, and balance
        only training data, after any train/test split, or copies leak into the test set.

    Returns
    -------
    X : ndarray, float32, shape (N, 2304)
        Pixels divided by 255, row-major 48x48 images.
    y : ndarray, int64, shape (N,)
        Emotion labels, indices into ``CLASSES``.

    Raises
    ------
    FileNotFoundError
        The file does not exist (the message names the path).
    FER2013FormatError
        A header without ``emotion`` and ``pixels`` (or without ``Usage`` when ``usage`` is
        given), a byte that is not UTF-8 (a UTF-8 byte order mark is fine), or a malformed
        row: a missing or extra column, a missing value, a label outside 0..6, a
        non-integer or out-of-range pixel, a pixel count other than 2304, an unknown Usage.
        The message names the file, the line (the header is line 1) and the problem.
    ValueError
        ``usage`` is not one of the valid splits.
    """
    _check_usage_argument(usage)
    images, labels = [], []
    with open(path, "rb") as file:
        reader = csv.reader(text_lines(path, file), skipinitialspace=True)
        try:
            header = next(reader, None)
            if header is None:
                raise FER2013FormatError(path, 1, "file is empty, expected a header")
            emotion_column, pixels_column, usage_column = _find_columns(path, header)
            if usage is not None and usage_column is None:
                found = ", ".join(repr(name.strip()) for name in header)
                raise FER2013FormatError(
                    path, 1, f"no Usage column to select {usage!r} rows; columns found: {found}"
                )
            for line, row in _numbered_rows(reader):
                if len(row) != len(header):
                    raise FER2013FormatError(
                        path, line, f"expected {len(header)} columns, found {len(row)}"
                    )
                if usage_column is not None:
                    row_usage = row[usage_column].strip()
                    if row_usage not in USAGES:
                        raise FER2013FormatError(
                            path, line, f"Usage {row_usage!r} is not one of {', '.join(USAGES)}"
                        )
                    if usage is not None and row_usage != usage:
                        continue
                labels.append(_parse_label(path, line, row[emotion_column]))
                images.append(_parse_pixels(path, line, row[pixels_column]))
        except csv.Error as error:
            raise FER2013FormatError(path, reader.line_num, f"unreadable CSV: {error}") from None
    y = np.array(labels, dtype=np.int64)
    pixels = np.stack(images) if images else np.zeros((0, N_PIXELS), dtype=np.uint8)
    if balance:
        rows = np.repeat(np.arange(len(y)), balance_repeats(y)[y])
        pixels, y = pixels[rows], y[rows]
    return pixels_to_unit(pixels), y


def write_fer2013(path, X, y, usage="Training"):
    """Write images and labels as a FER2013 CSV (header ``emotion,pixels,Usage``), atomically.

    The file is written to a temporary file in the same folder and then moved over
    ``path``, so a reader never sees half a file. ``load_fer2013(write_fer2013(path, X, y))``
    gives back ``round(X * 255) / 255`` and ``y``: exactly ``X`` when ``X`` already holds
    multiples of 1/255, as :func:`synthetic_faces` returns.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; an existing file is replaced.
    X : array, shape (N, 2304) or (N, 48, 48)
        Pixel intensities in [0, 1].
    y : array of int, shape (N,)
        Labels 0..6.
    usage : str or array of str
        One split for every row, or one per row; each one of ``USAGES``.

    Returns
    -------
    path
        The ``path`` argument, for chaining into :func:`load_fer2013`.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 2 or X[0].size != N_PIXELS:
        raise ValueError(f"X must hold 48x48 images, (N, 2304) or (N, 48, 48); got shape {X.shape}")
    X = X.reshape(len(X), N_PIXELS)
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},) to match X; got {y.shape}")
    if not np.all((X >= 0) & (X <= 1)):
        raise ValueError("X must hold pixel intensities in [0, 1]")
    if len(y) and (y.min() < 0 or y.max() >= len(CLASSES) or np.any(y != np.round(y))):
        raise ValueError(f"y must hold integer labels 0..{len(CLASSES) - 1}")
    usages = np.broadcast_to(np.asarray(usage, dtype=str), (len(X),))
    unknown = sorted(set(usages.tolist()) - set(USAGES))
    if unknown:
        raise ValueError(f"unknown usage {unknown[0]!r}; valid: {', '.join(USAGES)}")
    pixels = np.round(X.astype(np.float64) * 255).astype(np.int64)
    with atomic_write(path, "w", newline="") as file:
        file.write("emotion,pixels,Usage\n")
        for label, row, row_usage in zip(y.tolist(), pixels, usages.tolist()):
            file.write(f"{int(label)},{' '.join(map(str, row.tolist()))},{row_usage}\n")
    return path
