"""One detached sandbox per home: concurrent starters share it; it is steered and stopped from outside."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tickstock_pipelines_tests.support.sandbox_fixtures import SANDBOX_NOW, api_get
from tickstock_sandbox import SandboxServer, ensure_sandbox, stop_sandbox

_START = ("import sys, requests; from pathlib import Path;"
          "from tickstock_sandbox import ensure_sandbox;"
          "url = ensure_sandbox(Path(sys.argv[1]));"
          "print(url, requests.get(url + '/_sandbox/health', timeout=5).json()['pid'])")


def test_two_processes_starting_at_once_share_one_sandbox(tmp_path: Path) -> None:
    try:
        starters = [subprocess.Popen([sys.executable, "-c", _START, str(tmp_path)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=90) for p in starters]
        assert all(p.returncode == 0 for p in starters), outputs
        (url_a, pid_a), (url_b, pid_b) = (out.split() for out, _ in outputs)
        assert (url_a, pid_a) == (url_b, pid_b) and url_a.startswith("http://127.0.0.1:")
        assert (tmp_path / "sandbox" / "pid").read_text() == pid_a
        assert ensure_sandbox(tmp_path) == url_a  # this process reuses it too
        assert int(pid_a) not in {p.pid for p in starters}  # detached: outlives its starter

        steer = requests.post(f"{url_a}/_sandbox/config", json={"now": SANDBOX_NOW.isoformat()}, timeout=5)
        assert steer.status_code == 200
        path = "/v2/aggs/ticker/AAPL/range/1/day/2025-12-01/2025-12-31"
        with SandboxServer(now=SANDBOX_NOW) as local:  # same bars in another process
            assert api_get(url_a, path).json()["results"] == api_get(local.base_url, path).json()["results"]
        assert requests.get(f"{url_a}/_sandbox/stats", timeout=5).json()["total_requests"] == 1
    finally:
        stopped = stop_sandbox(tmp_path)
    assert stopped
    assert not (tmp_path / "sandbox" / "url").exists() and not (tmp_path / "sandbox" / "pid").exists()
    assert not stop_sandbox(tmp_path)


def test_a_dead_sandbox_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "url").write_text("http://127.0.0.1:9")  # nothing listens there
    try:
        url = ensure_sandbox(tmp_path)
        assert url != "http://127.0.0.1:9" and api_get(url, "/v3/reference/tickers/SPY").status_code == 200
    finally:
        stop_sandbox(tmp_path)
