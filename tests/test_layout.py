"""The package's folders are layers, and imports only point down: a test of the tree itself."""

import ast
import pathlib

import pytest

import microflow as mf

PACKAGE = pathlib.Path(mf.__file__).resolve().parent

# Each layer, and the layers it may import (itself included). The engine imports nothing above it.
MAY_IMPORT = {
    "core": {"core"},
    "training": {"core", "training"},
    "data": {"core", "data"},
    "viz": {"core", "viz"},
    "apps": {"core", "training", "data", "viz", "apps"},
    "compat": {"core", "training", "viz", "compat"},
}


def imported_layers(path):
    """``{(line, layer)}`` of every microflow module ``path`` imports, top level or in a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts       # ("microflow", "core", ...)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:                                             # relative: resolve it
                base = here[:len(here) - node.level]
                modules = [".".join(base + tuple(filter(None, [node.module])))]
            else:
                modules = [node.module or ""]
            if modules == ["microflow"]:                               # from microflow import x
                modules = [f"microflow.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "microflow" and len(parts) > 1:
                found.add((node.lineno, parts[1]))
    return found


def layer_files(layer):
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_the_layers_below_it(layer):
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line} imports microflow.{target}"
             for path in layer_files(layer)
             for line, target in sorted(imported_layers(path))
             if target not in MAY_IMPORT[layer]]
    assert not wrong, "\n".join(wrong)


def test_the_engine_reaches_jupyter_drawing_through_a_hook_it_does_not_import():
    assert not any(target != "core" for path in layer_files("core")
                   for _, target in imported_layers(path))
    import microflow.core.graph as graph
    assert graph._display_hook is mf.viz.mimebundle          # registered by microflow.viz


def test_every_module_of_the_package_is_in_a_layer():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} \
        <= set(MAY_IMPORT)


def test_the_tests_mirror_the_package():
    tests = pathlib.Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__"}
    layers = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= layers and "core" in folders


@pytest.mark.parametrize("module", [mf.train, mf.optimizers, mf.layers, mf.init, mf.data,
                                    mf.datasets, mf.model_selection, mf.viz, mf.plots,
                                    mf.testing, mf.checkpoint])
def test_dir_of_a_public_module_lists_its_api_not_its_imports(module):
    names = dir(module)
    assert set(names) == set(module.__all__)
    assert "np" not in names and "sys" not in names
    for name in module.__all__:
        assert hasattr(module, name), f"{module.__name__}.__all__ names {name}, which is missing"


def test_the_old_module_attributes_still_reach_the_moved_modules():
    assert mf.train.fit is mf.training.loop.fit
    assert mf.viz.draw is mf.viz.graphs.draw and mf.viz.render is mf.viz.graphs.render
    assert mf.optimizers.SGD is mf.training.optimizers.SGD
    assert mf.layers.mlp is mf.training.layers.mlp
    assert mf.datasets.load_fer2013 is mf.data.datasets.load_fer2013
    assert mf.model_selection.kfold is mf.data.model_selection.kfold
    assert mf.data.standardize is mf.data.preprocessing.standardize
    assert mf.models.MODELS["xor"] is mf.apps.models.xor
    assert mf.testing.check_gradients is mf.core.testing.check_gradients
