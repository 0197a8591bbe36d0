import pytest

import microflow as mf


@pytest.fixture(autouse=True)
def fresh_default_graph():
    """Every test starts with an empty default graph."""
    mf.reset_default_graph()
    yield
