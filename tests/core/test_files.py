"""Atomic writes: the previous file survives a failure, and no temporary file is left."""

import os

import pytest

from microflow.core.files import atomic_write


def test_atomic_write_replaces_the_file_when_done(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("old")
    with atomic_write(path, "w") as handle:
        handle.write("new")
        assert path.read_text() == "old"          # not visible until the write completes
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["data.txt"]
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_a_failure_mid_write_keeps_the_previous_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_write(path, "w") as handle:
            handle.write("half")
            raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["data.txt"]
