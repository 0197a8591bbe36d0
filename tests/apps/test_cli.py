"""The ``microflow`` command itself: usage without a command, ``--version``."""

import pytest

import microflow as mf
from microflow.apps.cli import SUBCOMMANDS, main


def test_no_command_prints_the_usage_and_the_commands(capsys):
    status = main([])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("usage: microflow [-h] [--version] COMMAND ...")
    for command in SUBCOMMANDS:
        assert f"\n    {command} " in err, command
    assert "microflow: error: no command given" in err


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"microflow {mf.__version__}\n"
