"""A Polygon-compatible HTTP server on 127.0.0.1 (wire format of the real API, offline data)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tickstock_pipelines.sandbox.bars import day_bars
from tickstock_pipelines.sandbox.universe import LIST_FIELDS, tickers

SANDBOX_API_KEY = "sandbox"
_AGGS = re.compile(r"^/v2/aggs/ticker/([^/]+)/range/1/day/([\d-]+)/([\d-]+)$")
_GROUPED = re.compile(r"^/v2/aggs/grouped/locale/us/market/stocks/([\d-]+)$")
_DETAILS = re.compile(r"^/v3/reference/tickers/([^/]+)$")


class SandboxServer:
    """Start with `.start()`; `base_url` is where the client points. `now` fixes the clock for tests."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now
        self.requests: list[str] = []
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server dispatches by this name
                status, body = sandbox.route(self.path, self.headers.get("Authorization"))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SandboxServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route(self, raw_path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.requests.append(parts.path)
        ok = {"status": "OK", "request_id": uuid.uuid4().hex}
        error = {"status": "ERROR", "request_id": ok["request_id"]}
        if not authorization or not authorization.startswith("Bearer ") or len(authorization) < 8:
            return 401, error | {"error": "API Key was not provided"}
        now = self.now or datetime.now(UTC)
        if parts.path == "/v3/reference/tickers":
            return 200, self._list(query, ok)
        if match := _DETAILS.match(parts.path):
            found = tickers().get(match[1])
            if found is None:
                return 404, error | {"status": "NOT_FOUND", "message": "Ticker not found."}
            return 200, ok | {"results": {k: v for k, v in found.items() if not k.startswith("_")}}
        if match := _AGGS.match(parts.path):
            return 200, self._aggs(match[1], date.fromisoformat(match[2]), date.fromisoformat(match[3]),
                                   query, now, ok)
        if match := _GROUPED.match(parts.path):
            session = date.fromisoformat(match[1])
            results = [{"T": t, **bar} for t, d in tickers().items()
                       for bar in day_bars(t, d["_price"], session, session, now)]
            body = ok | {"queryCount": len(results), "resultsCount": len(results), "adjusted": True}
            return 200, body | ({"results": results, "count": len(results)} if results else {})
        return 404, error | {"status": "NOT_FOUND", "message": "Not found"}

    def _list(self, query: dict[str, str], ok: dict[str, Any]) -> dict[str, Any]:
        limit = min(int(query.get("limit", 100)), 1000)
        offset = int(query.get("cursor", 0))
        rows = [t for t in tickers().values()
                if ("type" not in query or t["type"] == query["type"])
                and str(t["active"]).lower() == query.get("active", "true")]
        page = [{k: t[k] for k in LIST_FIELDS} for t in rows[offset:offset + limit]]
        body = ok | {"count": len(page)}
        if page:
            body["results"] = page
        if offset + limit < len(rows):
            body["next_url"] = f"{self.base_url}/v3/reference/tickers?" + urlencode(
                {**{k: v for k, v in query.items() if k != "cursor"}, "cursor": offset + limit})
        return body

    def _aggs(self, ticker: str, start: date, end: date, query: dict[str, str], now: datetime,
              ok: dict[str, Any]) -> dict[str, Any]:
        found = tickers().get(ticker)
        bars = day_bars(ticker, found["_price"], start, end, now) if found else []
        limit = min(int(query.get("limit", 5000)), 50_000)
        page, rest = bars[:limit], bars[limit:]
        body = ok | {"ticker": ticker, "queryCount": len(page), "resultsCount": len(page), "adjusted": True}
        if page:
            body |= {"results": page, "count": len(page)}
        if rest:
            # the first remaining bar is stamped at New York midnight: +12 h is still its session date
            resume = datetime.fromtimestamp(rest[0]["t"] / 1000 + 43_200, UTC).date()
            body["next_url"] = (f"{self.base_url}/v2/aggs/ticker/{ticker}/range/1/day/{resume}/{end}?"
                                + urlencode({k: v for k, v in query.items()}))
        return body
