"""The logger `tickstock` commands give their runs: one line per message on the terminal.

Dagster's console logger prints a failed step's whole stack trace. A CLI user gets the one-line
`tickstock: error: …` summary instead; the trace stays in the run's event log and
compute logs, one click away in the UI.
"""

from __future__ import annotations

import logging
import sys

from dagster import Field, InitLoggerContext, logger

TERMINAL_LOGGER = "tickstock_terminal"
# Dagster's console format, and the attribute its log manager puts on every record it emits (an event's
# record carries its `dagster_event` there).
LINE_FORMAT, DATE_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s", "%Y-%m-%d %H:%M:%S %z"
DAGSTER_META = "dagster_meta"


class FirstLineFormatter(logging.Formatter):
    """Dagster's format, cut to the message's first line (a failure's detail stays in the event log)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return line.split("\n", 1)[0].rstrip()

    def formatException(self, ei) -> str:
        return ""


def _one_line_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FirstLineFormatter(LINE_FORMAT, DATE_FORMAT))
    return handler


def said_by_a_step(record: logging.LogRecord) -> bool:
    """What steps say (progress, warnings). Not Dagster's own events, nor the engine's errors ("Dependencies
    for step … failed. Not executing."): the command's one summary line reports the run's failure."""
    meta = getattr(record, DAGSTER_META, None) or {}
    return meta.get("dagster_event") is None and record.levelno < logging.ERROR


@logger(
    config_schema={"log_level": Field(str, is_required=False, default_value="INFO")},
    description="One line per message on stderr: what `tickstock` shows while its run executes.",
)
def tickstock_terminal_logger(init_context: InitLoggerContext) -> logging.Logger:
    out = logging.Logger(TERMINAL_LOGGER, level=init_context.logger_config["log_level"])
    handler = _one_line_handler()
    handler.addFilter(said_by_a_step)
    out.addHandler(handler)
    return out


def show_library_warnings() -> None:
    """Our modules' own warnings (the Polygon client's retries) on the terminal in the runs' format, a
    line each, instead of Python's bare last-resort output."""
    package = logging.getLogger("tickstock_pipelines")
    if not package.handlers:
        package.addHandler(_one_line_handler())
        package.setLevel(logging.WARNING)
        package.propagate = False


def terminal_run_config(log_level: str = "INFO") -> dict:
    """Run config that sends a run's messages to the terminal logger only."""
    return {"loggers": {TERMINAL_LOGGER: {"config": {"log_level": log_level}}}}
