"""Hypothesis strategies and assertions for the hostile-input tests: text an attacker or a typo could
send, and what a refusal must look like (one line, short)."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import strategies as st

from tickstock_pipelines_tests.support.hostile_input import SQL_INJECTION

ticker_like = st.text(alphabet=string.ascii_letters + string.digits + ".-_ ;'\"$\\/\n\t\x00ßıﬀ€", max_size=14)
hostile_text = st.one_of(ticker_like, st.text(max_size=30), st.sampled_from(SQL_INJECTION))


def assert_one_line(message: str) -> None:
    """A refusal is one short line: no newline, no traceback."""
    assert message and "\n" not in message and "\r" not in message and len(message) < 400, message


def million_rows(path: Path, bad_last: bool = False) -> None:
    """A million-row symbols CSV (date, symbol, weight); with `bad_last`, its last row holds an injection."""
    tickers = ["AAPL", "MSFT", "KO", "PEP", "BRK.B"]
    with open(path, "w", newline="") as handle:
        handle.write("date,symbol,weight\n")
        handle.writelines(f"2025-01-01,{tickers[i % 5]},{i}\n" for i in range(1_000_000))
        if bad_last:
            handle.write("2025-01-01,AAPL;DROP,1\n")

