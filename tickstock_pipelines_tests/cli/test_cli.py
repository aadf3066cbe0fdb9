"""The `tickstock` console script as users run it: real subprocesses, exit status and stderr."""

from __future__ import annotations

import subprocess
import sys

from tickstock_pipelines.cli import one_line


def _tickstock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tickstock_pipelines.cli", *args],
                          capture_output=True, text=True, timeout=60)


def test_help_lists_commands() -> None:
    result = _tickstock("--help")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")]
    assert listed == ["load", "cache", "ui"], result.stdout


def test_unknown_command_exits_non_zero_with_usage() -> None:
    result = _tickstock("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_one_line_collapses_and_bounds_messages() -> None:
    assert one_line(ValueError("bad\n  ticker\tAAPL;DROP")) == "bad ticker AAPL;DROP"
    assert len(one_line(ValueError("x" * 1000))) == 300
    assert one_line(KeyError()) == "KeyError"


def test_usage_errors_are_one_line_and_point_to_help() -> None:
    for args, reason in ((("load", "--symbols", "AAPL", "--years", "abc"), "invalid float value: 'abc'"),
                         (("load", "--symbols", "AAPL", "--years", "1", "--months", "2"), "not allowed with"),
                         (("cache", "rebuild", "--mode", "x"), "unrecognized arguments")):
        result = _tickstock(*args)
        assert result.returncode == 2 and result.stdout == ""
        [line] = result.stderr.splitlines()
        assert reason in line and "(see tickstock" in line and line.endswith(" --help)"), line
