"""The course's applications, built on the library: the problems the trainers solve
(``problems``), the built-in models drawn by ``microflow draw`` (``models``), and the command
line (``cli``, with the train / cv / search commands in ``commands``), and the
playground: a live TensorFlow Playground on a real microflow graph (``playground``)."""

__all__ = ["cli", "commands", "models", "playground", "problems"]


def __dir__():
    return __all__
