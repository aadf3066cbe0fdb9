"""Load requests: tickers, symbol lists, CSVs, history windows, universes (cache ones on real PostgreSQL)."""

from __future__ import annotations

import calendar
import json
import math
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st

from tickstock_pipelines import reference
from tickstock_pipelines.loading.requests import (
    INDEX_UNIVERSES,
    TICKER_PATTERN,
    LoadInputError,
    cache_universe,
    history_start,
    index_universe,
    normalise_ticker,
    parse_symbol_list,
    read_symbols_csv,
    validate_universe_key,
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


# --- CSV files --------------------------------------------------------------------------------


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("header", ["symbol", "Symbol", " symbol ", "Symbol ", "SYMBOL"])
def test_csv_symbol_column_variants(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path / "symbols.csv", f"name,{header}\nApple,aapl\nBerkshire,BRK.B\n")
    assert read_symbols_csv(path) == ("AAPL", "BRK.B")


def test_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", "Symbol,Name\r\nAAPL,Apple\r\nMSFT,Microsoft\r\n", "utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_symbols_csv(str(path)) == ("AAPL", "MSFT")


def test_csv_skips_blank_cells_and_rows_and_dedupes(tmp_path: Path) -> None:
    text = "symbol,x\nAAPL,1\n,2\n\n  ,3\nmsft,4\nAAPL,5\n MSFT ,6\nNVDA\n"
    path = _write(tmp_path / "symbols.csv", text)
    assert read_symbols_csv(path) == ("AAPL", "MSFT", "NVDA")


def test_csv_row_shorter_than_header_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", "name,symbol\nApple,AAPL\nlonely\nMicrosoft,MSFT\n")
    assert read_symbols_csv(path) == ("AAPL", "MSFT")


def test_csv_without_symbol_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", "a, b\n1,2\n")
    with pytest.raises(LoadInputError) as info:
        read_symbols_csv(path)
    assert str(info.value) == f"{path} has no 'symbol' column (found: a, b)"


def test_csv_missing_column_message_stays_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "symbols.csv", '"tick\ner",' + ",".join(f"c{i}" for i in range(40)) + "\nA\n")
    with pytest.raises(LoadInputError) as info:
        read_symbols_csv(path)
    assert len(str(info.value).splitlines()) == 1
    assert "found: tick?er, c0" in str(info.value) and str(info.value).endswith(", …)")


def test_csv_bad_ticker_names_its_line(tmp_path: Path) -> None:
    rows = ["symbol", "AAPL", "MSFT", "", "NVDA", "AMZN", "AAPL;DROP", "GOOG"]
    path = _write(tmp_path / "symbols.csv", "\n".join(rows) + "\n")
    with pytest.raises(LoadInputError) as info:
        read_symbols_csv(path)
    assert str(info.value) == (
        f"{path} line 7: invalid ticker 'AAPL;DROP': 1-10 characters of A-Z, 0-9 and '.'")


def test_csv_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    # A quoted cell spanning two lines: the error points where an editor shows the bad row.
    path = _write(tmp_path / "symbols.csv", 'symbol,note\nAAPL,"two\nlines"\nBAD TICKER,x\n')
    with pytest.raises(LoadInputError, match=r"symbols\.csv line 4: invalid ticker 'BAD TICKER'"):
        read_symbols_csv(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"symbol\n", "lists no symbols"),
    (b"symbol\n\n , \n", "lists no symbols"),
    (b"symbol\nAAPL\n\xff\xfe\xfa\n", "not UTF-8 text"),
])
def test_csv_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "symbols.csv"
    path.write_bytes(content)
    with pytest.raises(LoadInputError, match=message):
        read_symbols_csv(path)


def test_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoadInputError, match=r"nope\.csv: cannot read symbols file"):
        read_symbols_csv(tmp_path / "nope.csv")
    with pytest.raises(LoadInputError, match="cannot read symbols file"):
        read_symbols_csv(tmp_path)  # a directory


def test_csv_of_a_million_rows_streams(tmp_path: Path) -> None:
    path = tmp_path / "symbols.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.write("id,Symbol,weight\n")
        handle.writelines(f"{i},{'t' if i % 2 else 'T'}{i % 250_000:06d},0.1\n" for i in range(1_000_000))
    tickers = read_symbols_csv(path)
    assert len(tickers) == 250_000
    assert tickers[:3] == ("T000000", "T000001", "T000002")
    assert tickers[-1] == "T249999"
    assert all(TICKER_PATTERN.match(t) for t in tickers[::997])


def test_csv_of_a_million_rows_reports_the_bad_last_line(tmp_path: Path) -> None:
    path = tmp_path / "symbols.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("symbol\n")
        handle.writelines(f"S{i}\n" for i in range(1_000_000))
        handle.write("NOT OK\n")
    with pytest.raises(LoadInputError, match=r"line 1000002: invalid ticker 'NOT OK'"):
        read_symbols_csv(path)


# --- history windows ----------------------------------------------------------------------------------------

END = date(2025, 6, 30)


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
    with pytest.raises(LoadInputError, match=r"^years must be more than 0 and at most 10 \(got .*\)$"):
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
    with pytest.raises(LoadInputError, match=r"^months must be a whole number from 1 to 120"):
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


# --- universes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), [
    ("sp500", "sp500"), ("top_50", "top_50"), (" Top_50 ", "top_50"), ("ai\n", "ai"),
    ("TOP_10_TECHNOLOGY", "top_10_technology"),
    ("a" * 100, "a" * 100),
])
def test_valid_universe_keys(key: str, expected: str) -> None:
    assert validate_universe_key(key) == expected


@pytest.mark.parametrize("key", [
    "", " ", "a" * 101, "top-50", "top 50", "top_50;DROP TABLE cache_entries", "' OR 1=1 --", "a\ni", "é",
    "top_50\x00",
])
def test_invalid_universe_keys(key: str) -> None:
    with pytest.raises(LoadInputError, match="^unknown universe ") as info:
        validate_universe_key(key)
    assert len(str(info.value).splitlines()) == 1


def test_index_universes_come_from_the_shipped_lists() -> None:
    assert INDEX_UNIVERSES == ("sp500", "nasdaq100", "dow30")
    sp500 = index_universe("sp500")
    assert sp500 is not None
    assert len(sp500) == len({c.symbol for c in reference.sp500()}) > 490
    assert {"AAPL", "BRK.B", "BF.B"} <= set(sp500)
    assert index_universe("nasdaq100") == tuple(m.symbol for m in reference.nasdaq100())
    dow = index_universe("dow30")
    assert dow is not None and len(dow) == 30 and "AAPL" in dow
    for key in INDEX_UNIVERSES:
        assert all(TICKER_PATTERN.match(t) for t in index_universe(key) or ())


@pytest.mark.parametrize("key", ["top_50", "all_etfs", "sp", "", "sp500;", "russell2000"])
def test_index_universe_is_none_for_other_keys(key: str) -> None:
    assert index_universe(key) is None


@pytest.fixture
def engine(database_uri: str):
    engine = sa.create_engine(database_uri)
    yield engine
    engine.dispose()


def _insert(conn: sa.Connection, type_: str, name: str, key: str, value: object,
            environment: str = "DEFAULT") -> None:
    conn.execute(
        sa.text("INSERT INTO cache_entries (type, name, key, value, environment) "
                "VALUES (:type, :name, :key, CAST(:value AS jsonb), :environment)"),
        {"type": type_, "name": name, "key": key, "value": json.dumps(value), "environment": environment},
    )


def _stock(ticker: str, rank: int) -> dict[str, object]:
    return {"ticker": ticker, "name": ticker, "rank": rank, "market_cap": 1e9, "sector": "Technology"}


def test_cache_universe_reads_each_value_shape(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "market_leaders", "top_50",
                {"count": 3, "stocks": [_stock("AAPL", 1), _stock("MSFT", 2), _stock("brk.b", 3)]})
        _insert(conn, "stock_universe", "themes", "ai", ["NVDA", "MSFT", "NVDA"])
        _insert(conn, "themes", "AI", "list", ["NVDA", "AMD"])
        _insert(conn, "etf_universe", "Growth ETFs", "etf_growth", ["VUG", "IWF"])
        _insert(conn, "etf_universe", "Growth ETFs", "etf_growth_detailed",
                {"count": 2, "etfs": [{"ticker": "VUG", "name": "Vanguard Growth"}, {"ticker": "IWF"}]})
        _insert(conn, "stock_universe", "complete", "all_stocks", [])
    with engine.connect() as conn:
        assert cache_universe(conn, "top_50") == ("AAPL", "MSFT", "BRK.B")
        assert cache_universe(conn, "ai") == ("NVDA", "MSFT")
        assert cache_universe(conn, "list") == ("NVDA", "AMD")
        assert cache_universe(conn, "etf_growth") == ("VUG", "IWF")
        assert cache_universe(conn, "etf_growth_detailed") == ("VUG", "IWF")
        assert cache_universe(conn, "all_stocks") == ()
        assert cache_universe(conn, "mega_cap") is None


def test_cache_universe_preference_environment_and_types(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "themes", "Top", "top_100", ["THEME"])
        _insert(conn, "etf_universe", "complete", "top_100", {"count": 1, "etfs": [{"ticker": "SPY"}]})
        _insert(conn, "stock_universe", "market_leaders", "top_100",
                {"count": 1, "stocks": [_stock("AAPL", 1)]})
        _insert(conn, "etf_universe", "complete", "all_etfs", ["SPY", "QQQ"])
        _insert(conn, "themes", "Robots", "robots", ["ISRG"])
        _insert(conn, "stock_universe", "market_leaders", "top_10_stocks", ["TSLA"], environment="PROD")
        _insert(conn, "app_settings", "ui", "mega_cap", ["NOPE"])
        _insert(conn, "cache_config", "x", "ai", ["NOPE"])
    with engine.connect() as conn:
        assert cache_universe(conn, "top_100") == ("AAPL",)
        assert cache_universe(conn, "all_etfs") == ("SPY", "QQQ")
        assert cache_universe(conn, "robots") == ("ISRG",)
        assert cache_universe(conn, "top_10_stocks") is None
        assert cache_universe(conn, "top_10_stocks", environment="PROD") == ("TSLA",)
        assert cache_universe(conn, "mega_cap") is None  # app_settings is not a universe
        assert cache_universe(conn, "ai") is None
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM cache_entries WHERE type = 'stock_universe'"))
    with engine.connect() as conn:
        assert cache_universe(conn, "top_100") == ("SPY",)


def test_cache_universe_same_type_ties_are_stable(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "themes", "semiconductors", ["NVDA"])
        _insert(conn, "stock_universe", "industry", "semiconductors", ["INTC"])
    with engine.connect() as conn:
        assert cache_universe(conn, "semiconductors") == ("INTC",)  # 'industry' < 'themes'


@pytest.mark.parametrize("value", [
    {"overview": {"total_stocks": 1}}, 42, "not json", [1, 2], [{"name": "x"}], {"stocks": "AAPL"},
])
def test_cache_universe_rejects_values_that_are_not_ticker_lists(engine: sa.Engine, value: object) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "custom", "weird", value)
    with engine.connect() as conn, pytest.raises(LoadInputError, match=r"stock_universe\|custom\|weird"):
        cache_universe(conn, "weird")


def test_cache_universe_validates_member_tickers(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "custom", "bad", ["AAPL", "AAPL;DROP"])
    with engine.connect() as conn, pytest.raises(LoadInputError, match=r"\|bad: invalid ticker 'AAPL;DROP'"):
        cache_universe(conn, "bad")


@pytest.mark.parametrize("key", [
    "top_50' OR '1'='1",
    "top_50'; DROP TABLE cache_entries; --",
    "x' UNION SELECT 'stock_universe', 'n', '[\"PWN\"]'::jsonb --",
])
def test_cache_universe_key_is_a_bound_parameter(engine: sa.Engine, key: str) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "market_leaders", "top_50", ["AAPL"])
        _insert(conn, "stock_universe", "custom", key, ["MSFT"])
    with engine.connect() as conn:
        assert cache_universe(conn, key) == ("MSFT",)  # found only as the literal key it is
        assert cache_universe(conn, key + "x") is None
        assert cache_universe(conn, "top_50") == ("AAPL",)
        assert conn.execute(sa.text("SELECT count(*) FROM cache_entries")).scalar_one() == 2


@pytest.mark.parametrize("typed", ["SP500", " sp500 ", "Sp500"])
def test_a_universe_is_recorded_under_its_normalised_key(engine: sa.Engine, typed: str) -> None:
    """The weekly refresh re-resolves every recorded universe: 'SP500' and 'sp500' must be one."""
    from tickstock_pipelines.loading.request import LoadRequest, resolve

    with engine.connect() as conn:
        resolved = resolve(LoadRequest(universe=typed), conn, date(2025, 12, 31))
    assert resolved.universe == "sp500" and resolved.source == "universe"
    with engine.connect() as conn:
        listed = resolve(LoadRequest(symbols="AAPL"), conn, date(2025, 12, 31))
    assert listed.universe is None
