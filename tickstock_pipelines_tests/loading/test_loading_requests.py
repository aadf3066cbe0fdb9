"""Load requests: tickers, symbol lists and history windows. CSV files and universes have their own
modules."""

from __future__ import annotations

import calendar
import math
from datetime import date, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tickstock_pipelines.loading.requests import (
    TICKER_PATTERN,
    LoadInputError,
    history_start,
    normalise_ticker,
    parse_symbol_list,
)

# --- tickers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("AAPL", "AAPL"),
    ("aapl", "AAPL"),
    ("  msft\t", "MSFT"),
    ("brk.b", "BRK.B"),
    ("BF.B", "BF.B"),
    ("A", "A"),
    ("1", "1"),
    (".A", ".A"),
    ("ABCDEFGHIJ", "ABCDEFGHIJ"),
    ("\nGOOG\n", "GOOG"),
])
def test_valid_tickers_are_normalised(raw: str, expected: str) -> None:
    assert normalise_ticker(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "   ", ".", "...", "ABCDEFGHIJK", "AAPL;DROP", "BRK-B", "BRK/B", "A B", "AAPL\nMSFT", "AAPL\x00",
    "$SPY", "ÄAPL", "ıbm", "straße", "ＡＡＰＬ", "AAPL'--", "1;DROP TABLE symbols", "' OR '1'='1",
    "AAPL%", "AAPL_", "AAPL\n\n.", "A\u200bB",
])
def test_invalid_tickers_are_refused(raw: str) -> None:
    with pytest.raises(LoadInputError, match=r"^invalid ticker .*: 1-10 characters of A-Z, 0-9 and '\.'$"):
        normalise_ticker(raw)


def test_error_message_quotes_the_raw_value() -> None:
    with pytest.raises(LoadInputError) as info:
        normalise_ticker("AAPL;DROP")
    assert str(info.value) == "invalid ticker 'AAPL;DROP': 1-10 characters of A-Z, 0-9 and '.'"


def test_error_message_truncates_and_escapes() -> None:
    with pytest.raises(LoadInputError) as info:
        normalise_ticker("X" * 30 + "\n" + "Y" * 1000)
    message = str(info.value)
    assert message == "invalid ticker '" + "X" * 20 + "'…: 1-10 characters of A-Z, 0-9 and '.'"
    with pytest.raises(LoadInputError) as info:
        normalise_ticker("AB\r\nC\x1b[31m")
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)
    assert "'AB\\r\\nC\\x1b[31m'" in str(info.value)


def test_non_string_input_is_refused_not_crashed() -> None:
    with pytest.raises(LoadInputError):
        normalise_ticker(None)  # type: ignore[arg-type]
    with pytest.raises(LoadInputError):
        normalise_ticker(123)  # type: ignore[arg-type]


@given(st.text())
@example("AAPL\n")
@example("ß")
@example("ﬀ")
@example("a\u2028b")
@example("x" * 25 + "\x85")
def test_any_string_normalises_to_a_ticker_or_fails_on_one_line(raw: str) -> None:
    try:
        ticker = normalise_ticker(raw)
    except LoadInputError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1
        assert message.isprintable()
        assert message.startswith("invalid ticker ")
    else:
        assert TICKER_PATTERN.match(ticker)
        assert ticker == raw.strip().upper()


@given(st.from_regex(r"\A[A-Za-z0-9.]{0,4}[A-Za-z0-9][A-Za-z0-9.]{0,5}\Z"), st.sampled_from(["", " ", "\t"]))
def test_every_well_formed_ticker_is_accepted(ticker: str, pad: str) -> None:
    assert normalise_ticker(pad + ticker + pad) == ticker.upper()


_SQL_CHARS = st.sampled_from(list(";'\"-()=*% /\\\n\t"))


@given(st.text(max_size=4), _SQL_CHARS, st.text(max_size=4))
@example("", ";", "DROP")
@example("", "'", " OR 1=1")
def test_sql_looking_input_never_passes(before: str, char: str, after: str) -> None:
    # Between letters, so stripping cannot remove it: a quote, semicolon, dash or space is always refused.
    with pytest.raises(LoadInputError):
        normalise_ticker("A" + before + char + after + "A")


def test_pattern_rejects_what_dollar_would_let_through() -> None:
    assert TICKER_PATTERN.match("AAPL")
    assert not TICKER_PATTERN.match("AAPL\n")
    assert not TICKER_PATTERN.match("..")


# --- symbol lists --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("aapl, msft,BRK.B", ("AAPL", "MSFT", "BRK.B")),
    ("AAPL", ("AAPL",)),
    ("msft,aapl,MSFT,Aapl", ("MSFT", "AAPL")),
    ("AAPL,,MSFT,", ("AAPL", "MSFT")),
    (" AAPL  MSFT\nNVDA ", ("AAPL", "MSFT", "NVDA")),
])
def test_symbol_lists(text: str, expected: tuple[str, ...]) -> None:
    assert parse_symbol_list(text) == expected


@pytest.mark.parametrize("text", ["", " ", ",", " , ,\n"])
def test_empty_symbol_list_is_refused(text: str) -> None:
    with pytest.raises(LoadInputError, match="^no symbols given"):
        parse_symbol_list(text)


@pytest.mark.parametrize("text", ["AAPL,AAPL;DROP", "AAPL;DROP TABLE symbols;--", "AAPL,'; DELETE FROM x"])
def test_one_bad_ticker_refuses_the_list(text: str) -> None:
    with pytest.raises(LoadInputError, match="^invalid ticker"):
        parse_symbol_list(text)


@given(st.lists(st.from_regex(r"\A[A-Z][A-Z0-9.]{0,9}\Z"), min_size=1))
def test_symbol_list_keeps_first_occurrences_in_order(tickers: list[str]) -> None:
    text = ", ".join(t.lower() if i % 2 else t for i, t in enumerate(tickers))
    assert parse_symbol_list(text) == tuple(dict.fromkeys(tickers))


# --- history windows ----------------------------------------------------------------------------------------

END = date(2025, 6, 30)
# the Launchpad's words (its `history` field's description, Dagster's "not in enum type History") in the CLI's
LAUNCHPAD_CHOICES = (r"the Launchpad's choices: enum type History \(ONE_MONTH, THREE_MONTHS, SIX_MONTHS, "
                     r"ONE_YEAR, TWO_YEARS, THREE_YEARS, FIVE_YEARS, TEN_YEARS: 1 month to 10 years\)$")


@pytest.mark.parametrize(("years", "days"), [
    (1, 365),  # round(365.25)
    (0.5, 183),  # round(182.625)
    (2, 730),  # round(730.5): Python rounds half to even
    (10, 3652),  # round(3652.5)
    (10.0, 3652),
    (3, 1096),  # round(1095.75)
    (0.25, 91),
    (1 / 365.25, 1),
    (0.0001, 1),  # a tiny fraction still means the last day, never an empty window
])
def test_years_window(years: float, days: int) -> None:
    start = history_start(END, years=years)
    assert (END - start).days + 1 == days
    assert start <= END


def test_default_is_one_year() -> None:
    assert history_start(END) == history_start(END, years=1) == date(2024, 7, 1)


@pytest.mark.parametrize("years", [0, 0.0, -1, -0.5, 10.0001, 11, math.nan, math.inf, -math.inf, True, "1"])
def test_years_out_of_range(years: object) -> None:
    with pytest.raises(LoadInputError, match=r"^history must be more than 0 and at most 10 years, got "
                       r"\S+ years; " + LAUNCHPAD_CHOICES):
        history_start(END, years=years)  # type: ignore[arg-type]


@pytest.mark.parametrize(("end", "months", "start"), [
    (date(2025, 3, 31), 1, date(2025, 3, 1)),  # 31 Mar − 1 month clamps to 28 Feb; the day after is 1 Mar
    (date(2025, 3, 30), 1, date(2025, 3, 1)),
    (date(2025, 3, 28), 1, date(2025, 3, 1)),  # 28 Feb exists: same window as the clamped ones
    (date(2025, 3, 27), 1, date(2025, 2, 28)),
    (date(2024, 3, 31), 1, date(2024, 3, 1)),  # leap year: clamps to 29 Feb
    (date(2024, 3, 29), 1, date(2024, 3, 1)),
    (date(2024, 3, 28), 1, date(2024, 2, 29)),
    (date(2025, 5, 31), 1, date(2025, 5, 1)),  # 30 April
    (date(2025, 1, 31), 1, date(2025, 1, 1)),  # across the year
    (date(2025, 6, 15), 1, date(2025, 5, 16)),
    (date(2024, 2, 29), 12, date(2023, 3, 1)),
    (date(2025, 6, 30), 6, date(2024, 12, 31)),
    (date(2025, 6, 30), 120, date(2015, 7, 1)),
])
def test_months_window(end: date, months: int, start: date) -> None:
    assert history_start(end, months=months) == start


@pytest.mark.parametrize("months", [0, -1, 121, 1.5, 2.0, True, "3"])
def test_months_out_of_range(months: object) -> None:
    with pytest.raises(LoadInputError, match=r"^history must be a whole number of months from 1 to 120, got "
                       r"\S+ months; " + LAUNCHPAD_CHOICES):
        history_start(END, months=months)  # type: ignore[arg-type]


def test_years_and_months_together_are_refused() -> None:
    with pytest.raises(LoadInputError, match="not both"):
        history_start(END, years=1, months=12)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
       st.floats(min_value=0, max_value=10, exclude_min=True))
def test_years_window_property(end: date, years: float) -> None:
    start = history_start(end, years=years)
    assert (end - start).days + 1 == max(1, round(years * 365.25))


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)), st.integers(1, 120))
def test_months_window_property(end: date, months: int) -> None:
    # An independent computation: step back N months, clamp the day, take the next day.
    index = end.year * 12 + (end.month - 1) - months
    year, month = divmod(index, 12)
    day = min(end.day, calendar.monthrange(year, month + 1)[1])
    assert history_start(end, months=months) == date(year, month + 1, day) + timedelta(days=1)
