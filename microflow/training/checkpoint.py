"""Checkpoints: Variables' values in one ``.npz``, written atomically, read without pickle."""

from __future__ import annotations

import os
import zipfile

import numpy as np

from microflow.core.files import atomic_write
from microflow.core.graph import Variable, get_default_graph


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or does not fit the Variables; names the path."""


def save(path, variables=None):
    """Write the Variables' values to ``path`` (a ``.npz``, keyed by variable name).

    ``variables`` defaults to every Variable of the default graph, optimizer state included.
    The file is written to a temporary file in the same folder and moved into place with
    ``os.replace``, so a crash mid-write leaves the previous checkpoint intact.
    ``".npz"`` is added to a name without it; a path naming a folder is refused.
    Returns the path written.
    """
    variables = _variables(variables)
    arrays = {v.name: v.value for v in variables}
    path = checkpoint_path(path)
    with atomic_write(path) as handle:
        np.savez(handle, **arrays)
    return path


def checkpoint_path(path):
    """The file ``save(path)`` writes: ``path`` with ``".npz"`` added if it lacks it.

    Raises ``IsADirectoryError`` when ``path`` names a folder (``"runs/"``).
    """
    path = os.fspath(path)
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise IsADirectoryError(f"cannot save a checkpoint to {path!r}: it names a folder; "
                                f"give a file name, e.g. {os.path.join(path, 'model.npz')!r}")
    return path if path.endswith(".npz") else path + ".npz"


def restore(path, variables=None):
    """Load the values saved by ``save()`` into the Variables (default: those of the default
    graph).

    Every Variable must be present in the file with its shape and dtype, else a
    ``CheckpointError`` names each one missing or mismatched and nothing is changed. Files
    are read with ``allow_pickle=False``: a file holding a pickled object is refused.
    ``path`` may leave out the ``".npz"`` that ``save()`` added.
    """
    variables = _variables(variables)
    path = given = os.fspath(path)
    if not os.path.exists(path) and not path.endswith(".npz") and os.path.exists(path + ".npz"):
        path += ".npz"
    try:
        with np.load(path, allow_pickle=False) as archive:
            stored = {name: _read(archive, name, path) for name in archive.files}
    except FileNotFoundError:
        also = "" if given.endswith(".npz") else f" (nor {given + '.npz'!r})"
        raise FileNotFoundError(f"no checkpoint at {given!r}{also}") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path!r} is a folder, not a .npz checkpoint") from None
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise CheckpointError(f"{path!r} is not a readable .npz checkpoint ({error})") from None
    except ValueError as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{path!r} is not a readable .npz checkpoint ({error})") from None
    problems = []
    for variable in variables:
        value = stored.get(variable.name)
        if value is None:
            problems.append(f"{variable.name!r} is missing")
        elif value.shape != variable.shape or value.dtype != variable.dtype:
            problems.append(f"{variable.name!r} is {value.shape} {value.dtype} in the file but "
                            f"{variable.shape} {variable.dtype} in the graph")
    if problems:
        raise CheckpointError(f"checkpoint {path!r} does not fit: " + "; ".join(problems))
    for variable in variables:
        variable.assign(stored[variable.name])
    return variables


def _read(archive, name, path):
    try:
        return archive[name]
    except ValueError as error:         # an object array: reading it would unpickle
        raise CheckpointError(f"{path!r} holds a pickled object in {name!r}; microflow never "
                              f"unpickles files ({error})") from None


def _variables(variables):
    if variables is None:
        variables = get_default_graph().variables
    variables = list(variables)
    for v in variables:
        if not isinstance(v, Variable):
            raise TypeError(f"{v!r} is not a Variable")
    names = [v.name for v in variables]
    if len(set(names)) != len(names):
        raise ValueError("Variables from different graphs share names; save them separately")
    return variables


__all__ = ['save', 'restore', 'checkpoint_path', 'CheckpointError']


def __dir__():
    return __all__
