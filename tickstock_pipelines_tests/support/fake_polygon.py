"""A small Polygon-shaped HTTP server on 127.0.0.1 and a client pointed at it, for the Polygon client's
transport tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tickstock_pipelines.resources.polygon import (
    PolygonClient,
)

CANARY = "CANARY-KEY-9f3b"
Reply = tuple[int, Any, dict[str, str]]


class FakePolygon:
    """Routes by path; a route returns (status, body, headers), or sleeps first. Records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict], Reply]] = {}
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server dispatches by this name
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fake.requests.append({"path": parts.path, "query": query, "raw": self.path,
                                      "auth": self.headers.get("Authorization"), "at": time.monotonic()})
                route = fake.routes.get(parts.path)
                status, body, headers = route(query) if route else (404, {"status": "NOT_FOUND"}, {})
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in headers:  # a route may announce more than it sends
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out first

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]


def make_client(base_url: str, **kwargs: Any) -> PolygonClient:
    options = {"max_retries": 3, "backoff_seconds": 0.01, "timeout_seconds": 2.0} | kwargs
    return PolygonClient(api_key=CANARY, base_url=base_url, limiter=None, sandbox=False, **options)


DETAILS_OK: Reply = (200, {"status": "OK", "results": {"ticker": "AAPL", "market_cap": 3.9e12}}, {})


def bar(t: int, o: float = 10.0, h: float = 11.0, lo: float = 9.0, c: float = 10.5,
        v: float = 1000.0) -> dict:
    """One aggregate bar as Polygon sends it, at epoch milliseconds `t`."""
    return {"t": t, "o": o, "h": h, "l": lo, "c": c, "v": v, "vw": 10.2, "n": 12}


def sequence(*replies: Reply) -> Callable[[dict], Reply]:
    """A route answering with each reply in turn, then the last one forever."""
    answers = list(replies)
    return lambda query: answers.pop(0) if len(answers) > 1 else answers[0]
