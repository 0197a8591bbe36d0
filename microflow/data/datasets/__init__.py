"""Datasets: the course's 2-D toy problems, the FER2013 faces file, and synthetic faces.

Every loader returns ``(X, y)`` with float32 features and int64 labels.
"""

from microflow.data.datasets.faces import synthetic_faces
from microflow.data.datasets.fer2013 import (
    CLASSES,
    USAGES,
    FER2013FormatError,
    balance_repeats,
    load_fer2013,
    write_fer2013,
)
from microflow.data.datasets.toy import clouds, donut, spiral, xor

__all__ = [
    "CLASSES",
    "USAGES",
    "FER2013FormatError",
    "balance_repeats",
    "clouds",
    "donut",
    "load_fer2013",
    "spiral",
    "synthetic_faces",
    "write_fer2013",
    "xor",
]


def __dir__():
    return __all__
