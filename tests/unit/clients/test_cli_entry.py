"""The top-level CLI: lazy sub-commands, and exit status 2 on bad input."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from clients.cli import LAZY_COMMANDS, cli


def test_help_lists_every_subcommand_without_importing_them() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in LAZY_COMMANDS:
        assert name in result.output


def test_unknown_command_exits_with_status_2_and_one_line() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
    assert "Traceback" not in result.output


def test_console_script_module_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from clients.cli import main; main(['--version'])"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "qcity" in proc.stdout
