import pytest

from microflow.compat.v1 import _session


@pytest.fixture(autouse=True)
def no_default_session():
    """Every TF1 test starts and ends without a default Session."""
    _session._default_sessions.clear()
    yield
    _session._default_sessions.clear()
