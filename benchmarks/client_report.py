"""The client benchmark's printed report: throughput, spacing and pagination as tables."""

from __future__ import annotations

from typing import Any

import budget_rounds
from client_plan import HUGE_RPM, MINUTE_END, MINUTE_START, TICKER


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                      for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
                     for line in lines)


def render(report: dict[str, Any]) -> str:
    thr, spacing, pages = report["throughput"], report["spacing"], report["pagination"]
    labels = {"raw_session": "raw requests.Session (baseline)",
              "client_shared_budget": f"PolygonClient, shared Redis budget {HUGE_RPM:,.0f}/min",
              "client_no_limiter": "PolygonClient, no limiter",
              "budget_acquire_only": "budget acquire() alone (no request)"}
    rows = []
    for name, f in thr["variants"].items():
        ratio = thr["ratio_vs_raw_session"].get(name)
        blocks = f"{min(ratio['blocks']):.2f}–{max(ratio['blocks']):.2f}" if ratio else ""
        rows.append([labels[name], f"{f['per_second']:,.0f}", f"{f['median_us']:,.0f}",
                     f"{f['p10_us']:,.0f}–{f['p90_us']:,.0f}", f"{ratio['median']:.2f}" if ratio else "",
                     blocks, f"{ratio['mean']:.2f}" if ratio else ""])
    out = [f"Polygon client benchmark ({'quick' if report['quick'] else 'full'}), {report['when']}, "
           f"Python {report['python']}, {report['cpus']} CPUs, load {report['load_average']}",
           f"\n1. Throughput of {thr['endpoint']}: the variants take turns request by request for "
           f"{thr['seconds']:g} s.\n   req/s = 1 / median time; ratio = client req/s ÷ baseline req/s: "
           "overall,\n   range over blocks of the run, and from mean times",
           _table(["variant", "req/s", "median µs", "p10–p90 µs", "ratio", "per block", "of means"], rows)]
    added = thr["added_us_per_request"]
    out.append(f"  the client adds {added['client_shared_budget']:,.0f} µs a request (median) with the "
               f"shared budget, {added['client_no_limiter']:,.0f} µs without a limiter")
    out.append(f"\n2. Spacing at {spacing['requests_per_minute']:g}/min, {spacing['requests']} requests, "
               "arrival times at the server")
    out.append(_table(["interval", "seconds"], [
        ["expected", f"{spacing['expected_interval_s']:.3f}"], ["mean", f"{spacing['mean_interval_s']:.3f}"],
        ["min", f"{spacing['min_interval_s']:.3f}"], ["max", f"{spacing['max_interval_s']:.3f}"],
        ["stdev", f"{spacing['stdev_interval_s']:.3f}"],
        ["most behind schedule", f"{spacing['max_behind_schedule_s']:.3f}"]]))
    out.append("\n3. Pagination without a limiter: median wall time of alternating client and raw runs;\n"
               "   time ratio = client time ÷ raw time")
    rows = []
    listed = pages["list_tickers"]["active_tickers"]
    for name, label in (("list_tickers", f"list_tickers ({listed:,} active)"),
                        ("minute_bars_one_year", f"{TICKER} minute bars {MINUTE_START}..{MINUTE_END}")):
        f = pages[name]
        calls = f"{f['client_calls']} / {f['server_calls']} / {f['raw_calls']}"
        rows.append([label, f"{f['items']:,}", calls,
                     f"{f['client_s']:.3f}", f"{f['raw_s']:.3f}", f"{f['ratio_client_vs_raw']:.2f}"])
    out.append(_table(["fetch", "items", "calls client/server/raw", "client s", "raw s", "time ratio"], rows))
    out.append(budget_rounds.render(report["paid_budget"]))
    return "\n".join(out)
