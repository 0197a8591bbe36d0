"""TF1's error classes (``tf.errors``): the ones a Session of this layer raises, and the others
scripts catch by name."""

from __future__ import annotations

from microflow.compat.v1._unsupported import module_getattr


class OpError(Exception):
    """``OpError(node_def, op, message)``: an op that could not run."""

    def __init__(self, node_def, op, message, *args):
        super().__init__(message)
        self.node_def = node_def
        self.op = op
        self.message = message


class FailedPreconditionError(OpError):
    """Raised when a Session reads a Variable it has not initialized."""


class InvalidArgumentError(OpError):
    """An op given an argument it cannot take."""


class NotFoundError(OpError):
    """A file or name that does not exist."""


class OutOfRangeError(OpError):
    """An input that is exhausted."""


class ResourceExhaustedError(OpError):
    """Out of memory."""


class UnknownError(OpError):
    """Any other failure."""


__getattr__ = module_getattr("errors")
