"""Progress bars for long loops (``fit()``'s epochs, a search's trials).

tqdm is imported only when a bar is shown, so ``import microflow`` costs nothing and prints
nothing; in a notebook the widget bar is chosen only when ipywidgets is installed (without
it tqdm would print "IProgress not found"), and the text bar otherwise.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys

#: The bar's layout: the count, the bar, the times and a short postfix; no rate, which the
#: times already tell. Fits 80 columns with a bar of 20 characters or more.
BAR_FORMAT = "{desc} {n_fmt}/{total_fmt} |{bar}| {elapsed}<{remaining}{postfix}"


def _has_ipywidgets():
    try:
        return importlib.util.find_spec("ipywidgets") is not None
    except (ImportError, ValueError):       # a module set to None in sys.modules
        return False


def in_notebook():
    """True inside a Jupyter kernel."""
    return "ipykernel" in sys.modules


def bar_class():
    """tqdm's notebook bar in a notebook with ipywidgets, its text bar everywhere else."""
    if in_notebook() and _has_ipywidgets():
        from tqdm.notebook import tqdm
        return tqdm
    from tqdm.std import tqdm
    return tqdm


def progress_bar(total, desc, unit, enabled=True, file=None):
    """A bar over ``total`` steps written to ``file`` (default: stdout), or None when
    ``enabled`` is false or nobody would see it (``file`` is not a terminal, outside a
    notebook)."""
    file = sys.stdout if file is None else file
    if not enabled or not (in_notebook() or _isatty(file)):
        return None
    bar = bar_class()
    from tqdm.std import tqdm as text_bar
    width = dict(ncols=columns()) if bar is text_bar else {}  # a widget's ncols is in pixels
    return bar(total=total, desc=desc, unit=unit, leave=True, file=file,
               bar_format=BAR_FORMAT, mininterval=0.2, **width)


def columns():
    """The terminal's width (the ``COLUMNS`` variable first, 80 when unknown)."""
    return shutil.get_terminal_size((80, 24)).columns


def short(value):
    """A number in four significant figures, for a bar's postfix."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def full_line(prefix, logs):
    """``prefix`` and every ``name=value`` of ``logs`` in five significant figures, wrapped
    to the terminal's width."""
    lines, width = [prefix], columns()
    for field in (f"{name}={value:.5g}" for name, value in logs.items()):
        if len(lines[-1]) + 1 + len(field) > width:
            lines.append("   ")                # a field is never split across lines
        lines[-1] += " " + field
    return "\n".join(lines)


def _isatty(file):
    try:
        return file.isatty()
    except (AttributeError, ValueError):    # no isatty, or a closed file
        return False


__all__ = ["progress_bar", "bar_class", "in_notebook", "columns", "short", "full_line",
           "BAR_FORMAT"]


def __dir__():
    return __all__
