"""COPY + upsert on real PostgreSQL, and the coverage windows that make re-runs free."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tickstock_pipelines.loading.bars_store import WriteCounts, daily_rows, minute_rows, upsert_bars
from tickstock_pipelines.loading.coverage import (
    Gap,
    mark_loaded,
    missing_gaps,
    record_request,
)
from tickstock_pipelines.loading.request import Resolved
from tickstock_pipelines.market_calendar import sessions_between
from tickstock_pipelines.resources.polygon import Bar

NY_MIDNIGHT_UTC_MS = 5 * 3600 * 1000  # EST offset: Polygon stamps day bars at midnight New York


def _day_bar(day: date, close: float = 10.0) -> Bar:
    stamp = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=5)
    return Bar(timestamp=stamp, open=10, high=11, low=9, close=close, volume=1000, vwap=10.2, transactions=7)


@pytest.fixture
def engine(database_uri: str) -> sa.Engine:
    engine = sa.create_engine(database_uri)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO symbols (symbol, name, type) VALUES ('AAA', 'A Corp', 'CS'), "
                             "('BBB', 'B Corp', 'CS')"))
    return engine


def test_upsert_inserts_then_changes_nothing_then_updates_only_what_changed(engine: sa.Engine) -> None:
    days = [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)]
    with engine.begin() as conn:
        first = upsert_bars(conn, "day", daily_rows("AAA", [_day_bar(d) for d in days]))
    with engine.begin() as conn:
        again = upsert_bars(conn, "day", daily_rows("AAA", [_day_bar(d) for d in days]))
    with engine.begin() as conn:
        changed = upsert_bars(conn, "day", daily_rows("AAA", [_day_bar(days[0], close=10.5)]
                                                     + [_day_bar(d) for d in days[1:]]))
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT date, close FROM ohlcv_daily ORDER BY date")).all()
    assert rows == [(days[0], 10.5), (days[1], 10.0), (days[2], 10.0)]


def test_day_bars_are_stored_under_their_new_york_session_date(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        upsert_bars(conn, "day", daily_rows("AAA", [_day_bar(date(2025, 3, 10))]))  # EDT since 9 March
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT date FROM ohlcv_daily")).scalar_one() == date(2025, 3, 10)


def test_minute_bars_keep_their_instant_and_duplicates_collapse(engine: sa.Engine) -> None:
    stamp = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
    bar = Bar(timestamp=stamp, open=1, high=2, low=1, close=2, volume=5)
    with engine.begin() as conn:
        counts = upsert_bars(conn, "minute", minute_rows("AAA", [bar, bar]))
    assert counts.inserted == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text('SELECT "timestamp" FROM ohlcv_minute')).scalar_one() == stamp


def test_a_failed_transaction_leaves_no_bar(engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        upsert_bars(conn, "day", daily_rows("AAA", [_day_bar(date(2025, 1, 2))]))
        raise RuntimeError("crash after the upsert, before the commit")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ohlcv_daily")).scalar_one() == 0


def test_coverage_targets_widen_and_gaps_are_only_what_was_never_asked_for(engine: sa.Engine) -> None:
    end = date(2025, 6, 30)
    with engine.begin() as conn:
        record_request(conn, Resolved(("AAA",), date(2025, 1, 1)), run_id="r1")
        record_request(conn, Resolved(("AAA", "BBB"), date(2025, 4, 1)), run_id="r2")  # shorter: no effect
        gaps = missing_gaps(conn, ["AAA", "BBB"], "day", end)
    sessions = sessions_between(date(2025, 1, 1), end)
    assert [(g.symbol, g.first) for g in gaps] == [("AAA", sessions[0].astype(object)),
                                                   ("BBB", sessions_between(date(2025, 4, 1), end)[0]
                                                    .astype(object))]
    with engine.begin() as conn:
        mark_loaded(conn, gaps, "day")
        assert missing_gaps(conn, ["AAA", "BBB"], "day", end) == []
        # a week later only the new sessions are missing, and a longer request adds the older ones
        record_request(conn, Resolved(("AAA",), date(2024, 12, 1)), run_id="r3")
        later = missing_gaps(conn, ["AAA", "BBB"], "day", date(2025, 7, 8))
    assert [(g.symbol, g.first, g.last) for g in later] == [
        ("AAA", date(2024, 12, 2), date(2024, 12, 31)),
        ("AAA", date(2025, 7, 1), date(2025, 7, 8)),
        ("BBB", date(2025, 7, 1), date(2025, 7, 8)),
    ]


def test_gaps_start_at_the_list_date_and_skip_inactive_symbols(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE symbols SET list_date = '2025-05-01' WHERE symbol = 'AAA'; "
                             "UPDATE symbols SET active = false WHERE symbol = 'BBB'"))
        record_request(conn, Resolved(("AAA", "BBB"), date(2025, 1, 1)), run_id=None)
        gaps = missing_gaps(conn, ["AAA", "BBB"], "day", date(2025, 6, 30))
    assert gaps == [Gap("AAA", date(2025, 5, 1), date(2025, 6, 30))]


def test_new_rows_among_existing_ones_take_the_upsert_path_and_all_arrive(engine: sa.Engine) -> None:
    days = [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)]
    with engine.begin() as conn:
        upsert_bars(conn, "day", daily_rows("AAA", [_day_bar(days[1])]))  # fast path: all new
    with engine.begin() as conn:  # the COPY hits the existing row, rolls back to its savepoint, upserts
        mixed = upsert_bars(conn, "day", daily_rows("AAA", [_day_bar(d) for d in days]))
        conn.execute(sa.text("SELECT 1"))  # the transaction is still usable after the failed COPY
    assert (mixed.inserted, mixed.updated, mixed.unchanged) == (2, 0, 1)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ohlcv_daily")).scalar_one() == 3


def _own(counts: WriteCounts, symbol: str) -> tuple[int, int, int]:
    own = counts.of(symbol)
    return own.inserted, own.updated, own.unchanged


def test_counts_are_kept_per_symbol_on_both_paths_and_add_up(engine: sa.Engine) -> None:
    """Each symbol partition reports its own rows: the per-symbol counts of one call sum to its totals."""
    days = [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)]
    with engine.begin() as conn:  # straight COPY: everything new
        fast = upsert_bars(conn, "day", [*daily_rows("AAA", [_day_bar(d) for d in days]),
                                         *daily_rows("BBB", [_day_bar(days[0])])])
    assert _own(fast, "AAA") == (3, 0, 0) and _own(fast, "BBB") == (1, 0, 0) and fast.inserted == 4
    with engine.begin() as conn:  # staging upsert: AAA unchanged and changed, BBB new and unchanged
        aaa = [_day_bar(days[0]), _day_bar(days[1], close=9.5)]
        slow = upsert_bars(conn, "day", [*daily_rows("AAA", aaa), *daily_rows("BBB", map(_day_bar, days))])
    assert _own(slow, "AAA") == (0, 1, 1) and _own(slow, "BBB") == (2, 0, 1)
    assert _own(slow, "CCC") == (0, 0, 0)
    total = WriteCounts()
    total.add(fast)
    total.add(slow)
    assert (total.inserted, total.updated, total.unchanged) == (6, 1, 2)
    assert _own(total, "AAA") == (3, 1, 1) and _own(total, "BBB") == (3, 0, 1)


def test_binary_copy_keeps_exact_values_and_nulls_on_both_paths(engine: sa.Engine) -> None:
    """Floats travel as float8 bits, a missing vwap or trade count as NULL, in the straight COPY and in the
    staging upsert alike; a key repeated in one call is written once (the first wins)."""
    first, second = date(2025, 1, 2), date(2025, 1, 3)
    exact = Bar(timestamp=datetime(2025, 1, 2, 5, tzinfo=UTC), open=0.1 + 0.2, high=1e308, low=5e-324,
                close=123.456789012345, volume=2**40, vwap=None, transactions=None)
    with engine.begin() as conn:
        fast = upsert_bars(conn, "day", daily_rows("AAA", [exact, _day_bar(first, close=9.5)]))
    with engine.begin() as conn:  # `first` exists: the whole call goes through staging
        slow = upsert_bars(conn, "day", [*daily_rows("BBB", [exact]),
                                         *daily_rows("AAA", [_day_bar(second), exact])])
    assert (fast.inserted, fast.unchanged) == (1, 0)
    assert (slow.inserted, slow.updated, slow.unchanged) == (2, 0, 1)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT symbol, date, open, high, low, close, volume, vwap, transactions "
                                    "FROM ohlcv_daily ORDER BY symbol, date")).all()
    stored = ("AAA", first, 0.1 + 0.2, 1e308, 5e-324, 123.456789012345, 2**40, None, None)
    assert rows == [stored, ("AAA", second, 10.0, 11.0, 9.0, 10.0, 1000, 10.2, 7), ("BBB", *stored[1:])]


def test_coverage_never_spans_a_session_that_was_not_received(engine: sa.Engine) -> None:
    """Loaded means received: a span beyond a hole does not widen the window (the next run asks for the hole
    and what follows); once the hole arrives, both join. Without a window, the longest span starts one."""
    d = [s.astype(object) for s in sessions_between(date(2025, 3, 3), date(2025, 3, 31))]

    def window(symbol: str) -> tuple[date, date]:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text("SELECT loaded_start, loaded_end FROM coverage_targets "
                                              "WHERE symbol = :s AND timespan = 'day'"), {"s": symbol}).one())

    with engine.begin() as conn:
        mark_loaded(conn, [Gap("AAA", d[0], d[5])], "day")
        mark_loaded(conn, [Gap("AAA", d[7], d[10])], "day")  # d[6] never arrived
        mark_loaded(conn, [Gap("BBB", d[0], d[1]), Gap("BBB", d[3], d[9])], "day")  # d[2] never arrived
    assert window("AAA") == (d[0], d[5]) and window("BBB") == (d[3], d[9])
    with engine.begin() as conn:
        mark_loaded(conn, [Gap("AAA", d[7], d[10]), Gap("AAA", d[6], d[6])], "day")
        mark_loaded(conn, [Gap("BBB", d[2], d[2]), Gap("BBB", d[0], d[1])], "day")
    assert window("AAA") == (d[0], d[10]) and window("BBB") == (d[0], d[9])
