"""The examples in the docstrings (shown in the API reference) run and print what they show."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import microflow as mf

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(mf.__path__, "microflow.")
                 if not name.endswith("__main__"))


@pytest.mark.parametrize("name", ["microflow", *MODULES])
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, extraglobs={"mf": mf, "np": np}):
        mf.reset_default_graph()
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} docstring examples in {name} failed (see above)"
