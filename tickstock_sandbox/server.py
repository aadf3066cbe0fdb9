"""A Polygon-compatible HTTP server on 127.0.0.1 (the real API's wire format, offline data).

Admin endpoints under /_sandbox/ steer it from another process: health, stats, reset, config,
splits, tickers, delist.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tickstock_sandbox import faults
from tickstock_sandbox.api import PolygonApi
from tickstock_sandbox.config import FaultRule, SandboxConfig, parse_now
from tickstock_sandbox.query import request_id, route
from tickstock_sandbox.splits import Split
from tickstock_sandbox.state import SandboxState
from tickstock_sandbox.universe import Security

SANDBOX_API_KEY = "sandbox"  # what the client sends in sandbox mode (any non-empty key is accepted)


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client session reuses its connection
    disable_nagle_algorithm = True  # with keep-alive, Nagle + delayed ACK would add 40 ms per response
    wbufsize = 1 << 16  # headers and body leave in one write (flushed after each request)
    server: _HttpServer

    def do_GET(self) -> None:  # http.server dispatches on these names
        self.server.sandbox._dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.sandbox._dispatch(self, "POST")

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None, *,
              cut: bool = False) -> None:
        """Send the answer; `cut` announces all of `body` but sends half of it and closes the connection."""
        self.send_response(status)
        for name, value in (headers or {"Content-Type": "application/json"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(faults.truncate(body) if cut else body)
        if cut:
            self.close_connection = True


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a request sleeping in a "slow" fault must not hold up stop()
    sandbox: SandboxServer


class SandboxServer:
    """`SandboxServer(SandboxConfig(...)).start()`, or use it as a context manager."""

    def __init__(self, config: SandboxConfig | None = None, *, now: Any = None, host: str = "127.0.0.1",
                 port: int = 0, **settings: Any) -> None:
        config = config or SandboxConfig(**settings)
        if now is not None:
            config.now = parse_now(now)
        self.state = SandboxState(config)
        self.api = PolygonApi(self.state)
        self._httpd = _HttpServer((host, port), _Handler)
        self._httpd.sandbox = self
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="polygon-sandbox", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self.state.wake.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- controls (the same as the /_sandbox/ admin endpoints) ---------------------------------
    def stats(self) -> dict[str, Any]:
        return self.state.snapshot()

    def configure(self, **changes: Any) -> SandboxServer:
        """latency_ms, rate_limit_per_minute, now, faults (replace) or add_faults (append)."""
        self.state.configure(changes)
        return self

    def inject(self, kind: str, **rule: Any) -> FaultRule:
        """Append one fault rule, e.g. `inject("429", count=2, retry_after=1)`."""
        fault = FaultRule(kind=kind, **rule)  # type: ignore[arg-type]
        self.state.configure({"add_faults": [fault]})
        return fault

    def reset(self) -> None:
        """Back to the starting config and data; statistics cleared."""
        self.state.reset()

    def add_split(self, ticker: str, execution_date: date | str, split_from: float, split_to: float) -> Split:
        return self.state.add_split(ticker, execution_date, split_from, split_to)

    def add_ticker(self, ticker: str, **details: Any) -> Security:
        """name, type, price, market_cap, primary_exchange, list_date, sector, sub_industry."""
        return self.state.add_ticker(ticker, **details)

    def delist(self, ticker: str, when: date | str | None = None) -> Security:
        return self.state.delist(ticker, when)

    # -- request handling ----------------------------------------------------------------------
    def _dispatch(self, handler: _Handler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            if path.startswith("/_sandbox/"):
                self._admin(handler, method, path)
            else:
                self._api(handler, method, path, query)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (e.g. timed out on a slow response)

    def _api(self, handler: _Handler, method: str, path: str, query: dict[str, str]) -> None:
        """Decide the answer, record it in the stats, then send it: a client that reads the stats
        right after its response always finds that request counted."""
        started_mono, started_wall = time.monotonic(), time.time()
        template, path_params = route(path)
        ticker = path_params.get("ticker")
        status, body, headers, fault = self._answer(handler, method, path, query, template, path_params)
        self.state.record(template or "unknown", status, started_mono, started_wall, fault, ticker)
        if status is None:  # an injected disconnect: close without answering
            handler.close_connection = True
        else:
            handler.reply(status, body, headers, cut=fault == "cut")

    def _answer(self, handler: _Handler, method: str, path: str, query: dict[str, str], template: str | None,
                path_params: dict[str, str]) -> tuple[int | None, bytes, dict[str, str] | None, str | None]:
        key = query.pop("apiKey", None)
        if key is not None:
            with self.state.lock:
                self.state.stats.key_in_url += 1
        header = handler.headers.get("Authorization", "")
        if not ((header.startswith("Bearer ") and header[7:].strip()) or key):
            with self.state.lock:
                self.state.stats.auth_failures += 1
            body = {"status": "ERROR", "request_id": request_id(), "error": "API Key was not provided"}
            return 401, _json(body), None, None
        self.state.sleep(self.state.config.latency_ms / 1000)
        if self.state.over_rate_limit(time.monotonic()):
            return 429, faults.rate_limited_body(), None, "rate_limit"
        if method != "GET" or template is None:
            status = 405 if template else 404
            body = {"status": "NOT_FOUND" if status == 404 else "ERROR", "request_id": request_id(),
                    "message": "Not found"}
            return status, _json(body), None, None
        rule = self.state.fault_for(path, path_params.get("ticker"), "cursor" in query)
        fault = rule.kind if rule else None
        if rule and rule.kind == "disconnect":
            return None, b"", None, fault
        if rule and rule.kind in ("429", "500", "502", "503", "504"):
            status, raw, headers = faults.error_reply(rule)
            return status, raw, headers, fault
        if rule and rule.kind == "slow":
            self.state.sleep(rule.sleep_seconds)
        status, payload = self.api.handle(template, path_params, query, self.base_url)
        if rule and rule.kind == "invalid_bars" and not faults.corrupt_bars(payload, rule):
            fault = None
        raw = _json(payload)
        if rule and rule.kind == "malformed":
            raw = faults.malformed_body()
        elif rule and rule.kind == "truncated":
            raw = faults.truncate(raw)
        return status, raw, None, fault

    def _admin(self, handler: _Handler, method: str, path: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(handler.rfile.read(length) or b"{}") if length else {}
            action = (method, path.rstrip("/"))
            if action == ("GET", "/_sandbox/health"):
                body: Any = {"status": "OK", "pid": os.getpid(), "base_url": self.base_url}
            elif action == ("GET", "/_sandbox/stats"):
                body = self.stats()
            elif action == ("GET", "/_sandbox/config"):
                body = self.state.config.to_json()
            elif action == ("POST", "/_sandbox/config"):
                self.configure(**payload)
                body = self.state.config.to_json()
            elif action == ("POST", "/_sandbox/reset"):
                self.reset()
                body = {"status": "OK"}
            elif action == ("POST", "/_sandbox/splits"):
                body = self.add_split(**payload).wire()
            elif action == ("POST", "/_sandbox/tickers"):
                body = self.add_ticker(**payload).list_item("")
            elif action == ("POST", "/_sandbox/delist"):
                body = self.delist(payload["ticker"], payload.get("date")).list_item("")
            else:
                problem = f"no admin endpoint {method} {path}"
                handler.reply(404, _json({"status": "NOT_FOUND", "message": problem}))
                return
        except (TypeError, ValueError, KeyError) as exc:
            handler.reply(400, _json({"status": "ERROR", "error": f"{type(exc).__name__}: {exc}"}))
            return
        handler.reply(200, _json(body))
