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


def test_an_error_names_the_callers_path_not_the_temporary_file(tmp_path):
    path = tmp_path / "no" / "such" / "folder" / "data.txt"
    with pytest.raises(FileNotFoundError) as info:
        with atomic_write(path, "w") as handle:
            handle.write("x")
    assert str(path) in str(info.value) and ".tmp" not in str(info.value)
    assert info.value.filename == str(path)


def test_a_path_naming_a_folder_is_refused_clearly(tmp_path):
    for path in [tmp_path, str(tmp_path) + os.sep, str(tmp_path / "new") + os.sep]:
        with pytest.raises(IsADirectoryError, match="names a folder"):
            with atomic_write(path, "w") as handle:
                handle.write("x")
    assert os.listdir(tmp_path) == []


def test_stale_temporary_files_of_dead_writers_are_removed_by_the_next_write(tmp_path):
    import subprocess, sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".data.txt.{dead}-abc123.tmp"          # a writer killed mid-write
    alive = tmp_path / f".data.txt.{os.getppid()}-def456.tmp"  # a writer still at work
    other = tmp_path / ".notes.txt.1-x.tmp"                     # another file's: not ours
    for leftover in (stale, alive, other):
        leftover.write_text("partial")
    with atomic_write(tmp_path / "data.txt", "w") as handle:
        handle.write("new")
    assert sorted(os.listdir(tmp_path)) == sorted(["data.txt", alive.name, other.name])


def test_an_error_while_opening_leaves_no_temporary_file(tmp_path):
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "data.txt", "not a mode"):
            pass
    assert os.listdir(tmp_path) == []


def test_writing_over_a_private_file_keeps_its_mode(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("old")
    path.chmod(0o600)
    with atomic_write(path, "w") as handle:
        handle.write("new")
    assert path.read_text() == "new"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "data.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(old)
    assert oct((tmp_path / "data.txt").stat().st_mode & 0o777) == oct(0o640)


def test_writing_to_a_symlink_writes_through_to_its_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real" / "data.txt"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link, "w") as handle:
        handle.write("new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real"]
    assert os.listdir(target.parent) == ["data.txt"]
