"""The sandbox's real-API switches: a plan horizon answering Polygon's 403 body, and delisted tickers
whose details 404 while the ticker list (active=false) still has them. Off by default."""

from __future__ import annotations

from tickstock_pipelines_tests.support.sandbox_fixtures import api_get
from tickstock_sandbox import SandboxServer
from tickstock_sandbox.plan import TIMEFRAME_MESSAGE

AGGS = "/v2/aggs/ticker/AAPL/range/1/day/{}/2025-12-31"
GROUPED = "/v2/aggs/grouped/locale/us/market/stocks/{}"


def test_a_plan_horizon_answers_the_real_403_for_older_bars_only(sandbox: SandboxServer) -> None:
    url = sandbox.base_url
    assert api_get(url, AGGS.format("2022-06-01")).status_code == 200  # off by default
    sandbox.configure(plan_history_years=2)  # the clock is 2025-12-31: the plan reaches 2023-12-31
    old = api_get(url, AGGS.format("2023-12-29"))
    assert old.status_code == 403
    body = old.json()
    assert body["status"] == "NOT_AUTHORIZED" and body["message"] == TIMEFRAME_MESSAGE
    assert body["request_id"]
    assert api_get(url, GROUPED.format("2023-12-29")).status_code == 403
    recent = api_get(url, AGGS.format("2023-12-31"))
    assert recent.status_code == 200 and recent.json()["resultsCount"] > 0
    assert api_get(url, GROUPED.format("2024-01-02")).json()["resultsCount"] > 0


def test_delisted_details_404_while_the_inactive_list_has_them(sandbox: SandboxServer) -> None:
    url = sandbox.base_url
    assert api_get(url, "/v3/reference/tickers/PARA").status_code == 200  # off by default
    sandbox.configure(delisted_details_404=True)
    gone = api_get(url, "/v3/reference/tickers/PARA")
    assert gone.status_code == 404 and gone.json()["status"] == "NOT_FOUND"
    assert api_get(url, "/v3/reference/tickers/AAPL").status_code == 200
    [item] = api_get(url, "/v3/reference/tickers", {"ticker": "PARA", "active": "false"}).json()["results"]
    assert item["active"] is False and item["delisted_utc"] == "2025-12-08T00:00:00Z"
    assert "results" not in api_get(url, "/v3/reference/tickers", {"ticker": "PARA"}).json()
    bars = api_get(url, "/v2/aggs/ticker/PARA/range/1/day/2025-11-01/2025-12-31").json()["results"]
    assert max(b["t"] for b in bars) < 1765170000000  # the last bar is before 2025-12-08
