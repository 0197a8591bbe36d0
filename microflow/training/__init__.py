"""Training on top of the engine: initializers, layers, optimizers, the fit loop (``loop``,
which ``mf.train`` names) and checkpoints."""

from microflow.training import checkpoint, init, layers, loop, optimizers

__all__ = ["checkpoint", "init", "layers", "loop", "optimizers"]


def __dir__():
    return __all__
