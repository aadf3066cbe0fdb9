"""The Polygon REST endpoints, in Polygon's wire format (shapes as in the API documentation).

Each handler returns (HTTP status, JSON body). Pagination mirrors Polygon: `next_url` is an
absolute URL back to this server carrying an opaque `cursor`, absent on the last page; `results`
is absent when there is nothing to return.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np

from tickstock_pipelines.market_calendar import end_of_day_ms, midnight_ms, sessions, to_ms
from tickstock_sandbox.bars import day_series, minute_rows
from tickstock_sandbox.plan import END_OF_DAY_MESSAGE, horizon, not_authorized
from tickstock_sandbox.query import (
    AGGS,
    DETAILS,
    GROUPED,
    SPLITS,
    TICKERS,
    BadRequest,
    decode_cursor,
    encode_cursor,
    int_param,
    paged,
    request_id,
    split_matches,
    ticker_matches,
    time_bound,
)
from tickstock_sandbox.splits import price_factors
from tickstock_sandbox.state import SandboxState
from tickstock_sandbox.universe import Security

RATE_LIMIT_MESSAGE = ("You've exceeded the maximum requests per minute, please wait or upgrade your "
                      "subscription to continue. https://polygon.io/pricing")
AGGS_DEFAULT_LIMIT, AGGS_MAX_LIMIT = 5000, 50_000
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 100, 1000
SPLITS_DEFAULT_LIMIT = 10
Reply = tuple[int, dict[str, Any]]


class PolygonApi:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def handle(self, template: str, path_params: dict[str, str], query: dict[str, str],
               base_url: str) -> Reply:
        handlers: dict[str, Callable[..., Reply]] = {
            TICKERS: self.tickers, DETAILS: self.details, AGGS: self.aggregates,
            GROUPED: self.grouped, SPLITS: self.splits,
        }
        try:
            return handlers[template](path_params, query, base_url)
        except BadRequest as exc:
            return 400, {"status": "ERROR", "request_id": request_id(), "error": str(exc)}

    # -- reference -----------------------------------------------------------------------------
    def tickers(self, _: dict, query: dict[str, str], base_url: str) -> Reply:
        params = {**decode_cursor(query["cursor"]), **{k: v for k, v in query.items() if k != "cursor"}} \
            if "cursor" in query else dict(query)
        offset = int(params.pop("offset", 0))
        limit = int_param(params, "limit", LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
        updated = f"{self.state.now().date().isoformat()}T00:00:00Z"
        rows = [s.list_item(updated) for s in self.state.securities.values() if ticker_matches(s, params)]
        sort_key = params.get("sort", "ticker")
        descending = params.get("order") == "desc"
        rows.sort(key=lambda r: (str(r.get(sort_key, "")), r["ticker"]), reverse=descending)
        return 200, paged(rows, offset, limit, params, f"{base_url}{TICKERS}")

    def details(self, path: dict[str, str], _: dict, base_url: str) -> Reply:
        security = self.state.securities.get(path["ticker"])
        if security is None or (self.state.config.delisted_details_404 and not security.active):
            return 404, {"status": "NOT_FOUND", "request_id": request_id(), "message": "Ticker not found."}
        updated = f"{self.state.now().date().isoformat()}T00:00:00Z"
        results = security.details(base_url, updated)
        return 200, {"request_id": request_id(), "results": results, "status": "OK"}

    def splits(self, _: dict, query: dict[str, str], base_url: str) -> Reply:
        params = {**decode_cursor(query["cursor"]), **{k: v for k, v in query.items() if k != "cursor"}} \
            if "cursor" in query else dict(query)
        offset = int(params.pop("offset", 0))
        limit = int_param(params, "limit", SPLITS_DEFAULT_LIMIT, LIST_MAX_LIMIT)
        rows = [s.wire() for s in self.state.all_splits() if split_matches(s.wire(), params)]
        sort_key = params.get("sort", "execution_date")
        descending = params.get("order", "desc") == "desc"
        rows.sort(key=lambda r: (str(r[sort_key]), r["ticker"]), reverse=descending)
        body = paged(rows, offset, limit, params, f"{base_url}{SPLITS}")
        body.pop("count", None)
        return 200, body

    # -- aggregates ----------------------------------------------------------------------------
    def aggregates(self, path: dict[str, str], query: dict[str, str], base_url: str) -> Reply:
        params = {**decode_cursor(query["cursor"]), **{k: v for k, v in query.items() if k != "cursor"}} \
            if "cursor" in query else dict(query)
        ticker, timespan = path["ticker"], path["timespan"]
        if path["multiplier"] != "1" or timespan not in ("day", "minute"):
            raise BadRequest("The sandbox serves multiplier 1 with timespan day or minute only")
        start_ms, end_ms = time_bound(path["start"], "from", False), time_bound(path["end"], "to", True)
        if self._beyond_plan(start_ms):
            return not_authorized(request_id())
        if self._too_recent(end_ms):
            return not_authorized(request_id(), END_OF_DAY_MESSAGE)
        adjusted = params.get("adjusted", "true").lower() != "false"
        descending = params.get("sort", "asc").lower() == "desc"
        limit = min(int_param(params, "limit", AGGS_DEFAULT_LIMIT, AGGS_MAX_LIMIT),
                    self.state.config.aggs_page_limit or AGGS_MAX_LIMIT)
        body: dict[str, Any] = {"ticker": ticker, "queryCount": 0, "resultsCount": 0, "adjusted": adjusted}
        security = self.state.securities.get(ticker)
        bars = self._bars(security, timespan, start_ms, end_ms, adjusted, descending, limit + 1) \
            if security else []
        page, more = bars[:limit], len(bars) > limit
        body.update(queryCount=len(page), resultsCount=len(page))
        if page:
            body["results"] = page
        body |= {"status": "OK", "request_id": request_id()}
        if page:
            body["count"] = len(page)
        if more:
            resume = bars[limit]["t"]
            first, last = (path["start"], resume) if descending else (resume, path["end"])
            cursor = encode_cursor({k: v for k, v in params.items() if k in ("adjusted", "sort", "limit")})
            body["next_url"] = (f"{base_url}/v2/aggs/ticker/{ticker}/range/1/{timespan}/{first}/{last}"
                                f"?cursor={cursor}")
        return 200, body

    def _beyond_plan(self, start_ms: int) -> bool:
        """A request starting before the plan's horizon (plan_history_years) gets the plan's 403."""
        oldest = horizon(self.state.now().date(), self.state.config.plan_history_years)
        return oldest is not None and start_ms < midnight_ms(oldest)

    def _too_recent(self, end_ms: int) -> bool:
        """A request reaching one of the newest `plan_delayed_sessions` completed sessions (not yet
        available to the plan) gets the plan's end-of-day 403."""
        delayed = self.state.config.plan_delayed_sessions
        if delayed <= 0:
            return False
        cal = sessions()
        first = cal.completed_until(to_ms(self.state.now())) - delayed
        return end_ms >= int(cal.open_ms[max(first, 0)])

    def _session_window(self, security: Security, start_ms: int, end_ms: int, timespan: str) -> range:
        cal = sessions()
        first = int(np.searchsorted(cal.dates, np.datetime64(security.list_date, "D")))
        stop = cal.completed_until(to_ms(self.state.now()))
        if security.delisted:
            stop = min(stop, int(np.searchsorted(cal.dates, np.datetime64(security.delisted, "D"))))
        if timespan == "day":
            lo = int(np.searchsorted(cal.day_ms, start_ms))
            hi = int(np.searchsorted(cal.day_ms, end_ms, side="right"))
        else:
            lo = int(np.searchsorted(cal.close_ms, start_ms, side="right"))
            hi = int(np.searchsorted(cal.open_ms, end_ms, side="right"))
        return range(max(first, lo), min(stop, hi))

    def _bars(self, security: Security, timespan: str, start_ms: int, end_ms: int, adjusted: bool,
              descending: bool, wanted: int) -> list[dict]:
        window = self._session_window(security, start_ms, end_ms, timespan)
        if not window:
            return []
        cal = sessions()
        series = day_series(security.profile)
        factors = price_factors(self.state.splits_for(security.ticker), cal.dates[window.start:window.stop],
                                adjusted)
        if timespan == "day":
            data = series.rows(window.start, window.stop)
            rows = _wire_rows(data, factors, cal.day_ms[window.start:window.stop])
            return (rows[::-1] if descending else rows)[:wanted]
        out: list[dict] = []
        for i in (reversed(window) if descending else window):
            minutes = minute_rows(security.profile, i, series.data[:, i])
            stamps = cal.open_ms[i] + 60_000 * np.arange(minutes.shape[1], dtype=np.int64)
            keep = (stamps >= start_ms) & (stamps <= end_ms)
            factor = np.full(int(keep.sum()), factors[i - window.start])
            rows = _wire_rows(minutes[:, keep], factor, stamps[keep])
            out.extend(rows[::-1] if descending else rows)
            if len(out) >= wanted:
                break
        return out[:wanted]

    def grouped(self, path: dict[str, str], query: dict[str, str], _: str) -> Reply:
        adjusted = query.get("adjusted", "true").lower() != "false"
        try:
            day = date.fromisoformat(path["date"])
        except ValueError:
            raise BadRequest("Could not parse the date parameter. Use YYYY-MM-DD") from None
        if self._beyond_plan(midnight_ms(day)):
            return not_authorized(request_id())
        if self._too_recent(end_of_day_ms(day)):
            return not_authorized(request_id(), END_OF_DAY_MESSAGE)
        rows = self._published(day, self.grouped_rows(day, adjusted))
        body: dict[str, Any] = {"queryCount": len(rows), "resultsCount": len(rows), "adjusted": adjusted}
        if rows:
            body["results"] = rows
        body |= {"status": "OK", "request_id": request_id()}
        if rows:
            body["count"] = len(rows)
        return 200, body

    def _published(self, day: date, rows: list[dict]) -> list[dict]:
        """What the real grouped daily answers: nothing for a session not yet published, and not every
        ticker (the switches in SandboxConfig; both off by default)."""
        config = self.state.config
        if config.grouped_unpublished_sessions and rows:
            cal = sessions()
            newest = cal.completed_until(to_ms(self.state.now()))
            if cal.index_of(day) >= newest - config.grouped_unpublished_sessions:
                return []
        if config.grouped_omit:
            omitted = set(config.grouped_omit)
            rows = [r for r in rows if r["T"] not in omitted]
        return rows

    def grouped_rows(self, day: date, adjusted: bool) -> list[dict]:
        """Every security trading that session, cached per (session, adjusted, data version)."""
        cal = sessions()
        index = cal.index_of(day)
        if index is None or index >= cal.completed_until(to_ms(self.state.now())):
            return []
        key = (index, adjusted, self.state.version)
        if (cached := self.state.grouped_cache.get(key)) is not None:
            return cached
        stamp = int(cal.day_ms[index])
        moment = cal.dates[index : index + 1]
        rows = []
        by_ticker: dict[str, list] = {}
        for split in self.state.all_splits():
            by_ticker.setdefault(split.ticker, []).append(split)
        market = self.state.market
        synthetic = _wire_columns(market.session(index))  # every synthetic listing in one step
        for security in list(self.state.securities.values()):
            if security.list_date > day or (security.delisted and security.delisted <= day):
                continue
            splits = by_ticker.get(security.ticker)
            k = market.index.get(security.ticker) if security.profile.synthetic and not splits else None
            if k is not None:
                o, h, lo, c, vw, v, n = (column[k] for column in synthetic)
                rows.append({"T": security.ticker, "v": v, "vw": vw, "o": o, "c": c, "h": h, "l": lo,
                             "t": stamp, "n": n})
                continue
            o, h, lo, c, vw, v, n = (float(x) for x in day_series(security.profile).data[:, index])
            f = float(price_factors(splits, moment, adjusted)[0]) if splits else 1.0
            rows.append({"T": security.ticker, "v": float(round(v / f)), "vw": round(vw * f, 4),
                         "o": round(o * f, 4), "c": round(c * f, 4), "h": round(h * f, 4),
                         "l": round(lo * f, 4), "t": stamp, "n": int(n)})
        with self.state.lock:
            self.state.grouped_cache[key] = rows
            while len(self.state.grouped_cache) > 16:
                self.state.grouped_cache.popitem(last=False)
        return rows


def _wire_columns(data: np.ndarray) -> list[list]:
    """o, h, l, c, vw, v, n columns as the wire has them (unadjusted: no split), rounded as `_wire_rows`."""
    return [*np.round(data[:5].astype(np.float64), 4).tolist(), np.round(data[5].astype(np.float64)).tolist(),
            data[6].astype(np.int64).tolist()]


def _wire_rows(data: np.ndarray, factors: np.ndarray, stamps: np.ndarray) -> list[dict]:
    prices = np.round(data[:5] * factors, 4).tolist()
    volume = np.round(data[5] / factors).tolist()
    trades = data[6].astype(np.int64).tolist()
    return [{"v": v, "vw": vw, "o": o, "c": c, "h": h, "l": lo, "t": t, "n": n}
            for o, h, lo, c, vw, v, n, t in zip(*prices, volume, trades, stamps.tolist(), strict=True)]
