"""`tickstock`: load, rebuild, report and serve the UI, each backed by the Dagster instance."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

# platformdirs warns on every run in containers without a login session; it changes nothing for us.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

# Each module exposes register(subparsers); handlers return the exit status.
_COMMAND_MODULES = ("load", "cache", "ui")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line like every other tickstock error; the usage itself is in --help.
    Subcommand parsers are made of the same class (argparse's default parser_class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tickstock",
        description="Polygon.io market data → PostgreSQL → TickStock cache entries, run by Dagster.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"tickstock_pipelines.cli.{name}").register(subparsers)
    return parser


def one_line(exc: BaseException) -> str:
    """Errors are one line for people; the traceback lives in the run's event log."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def database_unreachable() -> str | None:
    """The one-line reason the application database cannot be reached, or None. Checked before a run
    starts: Dagster's storage would otherwise retry for seconds and print a warning per attempt."""
    import sqlalchemy as sa

    from tickstock_pipelines.resources import DATABASE, in_force

    try:
        with in_force(DATABASE).get_engine().connect():
            return None
    except sa.exc.OperationalError as exc:
        return unreachable(exc)


def unreachable(exc: BaseException) -> str:
    """How every command says the database could not be reached (the driver's reason, one line)."""
    return f"database unreachable: {one_line(getattr(exc, 'orig', None) or exc)}"


def main(argv: Sequence[str] | None = None) -> int:
    from tickstock_pipelines.redaction import redact
    from tickstock_pipelines.terminal_logger import show_library_warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    show_library_warnings()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("tickstock: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI: one line, never a traceback
        print(f"tickstock: error: {redact(one_line(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
