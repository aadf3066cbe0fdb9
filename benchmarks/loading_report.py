"""The loading benchmark's printed report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))



# --- report -----------------------------------------------------------------------------------------------
from loading_common import WRITE_GOAL_RATIO, WRITE_GOAL_ROWS_S


def _duration(minutes: float) -> str:
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def _print(results: dict[str, Any]) -> None:
    w = results["writes"]
    print(f"1. Writes: {w['rows']:,} day bars ({w['symbols']} symbols × {w['sessions']} sessions)")
    print(f"  {'':34}{'first load':>22}{'re-run (nothing changes)':>34}")
    print(f"  {'':34}{'rows/s':>12}{'× seed':>10}{'rows/s':>12}{'× seed':>10}  re-run counts")
    for key, label in (("ours_one_call", "ours, one upsert_bars call"),
                       ("ours_batched", "ours, load_daily's batches"),
                       ("seed_row_by_row", "seed, executemany per symbol")):
        first, rerun = w["first"][key], w["rerun"][key]
        counts = rerun.get("counts")
        print(f"  {label:34}{first['rows_s']:>12,}{first.get('ratio_vs_seed', 1.0):>9}×"
              f"{rerun['rows_s']:>12,}{rerun.get('ratio_vs_seed', 1.0):>9}×  "
              + (f"{counts['unchanged']:,} unchanged, {counts['inserted'] + counts['updated']} written"
                 if counts else "every row rewritten"))
    print(f"  re-run: the straight COPY that fails on the first existing row costs "
          f"{w['rerun_failed_copy_seconds']} s ({w['rerun_failed_copy_share']:.0%} of the one-call re-run)")
    print(f"  goal ≥ {WRITE_GOAL_ROWS_S:,} rows/s and ≥ {WRITE_GOAL_RATIO:.0f}× seed: one call "
          f"{'met' if w['goal']['met_one_call'] else 'NOT met'}, batched "
          f"{'met' if w['goal']['met_batched'] else 'NOT met'}; checks {w['checks']}")

    c = results["calls"]
    print(f"\n2. API calls (sandbox, real clock, last session {c['last_session']}, +{c['latency_ms']:g} ms a "
          f"request, a shared budget of {c['budget_per_minute']:,}/min; ours {c['ours_concurrency']} in "
          f"flight, seed one at a time)")
    print(f"  {'scenario':34}{'loader':>7}{'calls':>7}{'wall s':>9}{'at 5/min':>10}  by endpoint")
    titles = {"initial": f"{c['symbols']} × 1 year, empty database",
              "weekly": f"weekly refresh: +{c['week_sessions']} sessions × {c['symbols']}"}
    for scenario, title in titles.items():
        for who in ("ours", "seed"):
            r = c[scenario][who]
            print(f"  {title if who == 'ours' else '':34}{who:>7}{r['calls']:>7}{r['wall_s']:>9}"
                  f"{_duration(r['free_plan_minutes']):>10}  "
                  + ", ".join(f"{k} {v}" for k, v in r["by_endpoint"].items()))
        s = c[scenario]
        print(f"  {'':34}{'seed÷ours':>7}{s['call_ratio_seed_vs_ours']:>6}×"
              f"{s['wall_ratio_seed_vs_ours']:>8}×     ours: {s['ours']['plan']}, {s['ours']['gaps']} gaps, "
              f"rows {s['ours']['rows']}")
    g = c["goal"]
    print(f"  goals: initial load ≤ {g['wall_s']:g} s {'met' if g['initial_wall_met'] else 'NOT met'}; "
          f"weekly refresh ≤ {g['weekly_aggregate_calls']} aggregate calls "
          f"{'met' if g['weekly_aggregate_calls_met'] else 'NOT met'}")
    print(f"  stored (rows, symbols, last date): ours {c['stored']['ours']}, seed {c['stored']['seed']}; "
          f"checks {c['checks']}")

    m = results["minute"]
    print("\n3. Minute bars, 1 month a symbol: RSS growth, tracemalloc peak (MB), a fresh process each")
    print(f"  {'symbols':>8}{'bars':>10}{'pages':>7}{'ours RSS':>10}{'list RSS':>10}{'ours tm':>9}"
          f"{'list tm':>9}{'ours s':>8}{'list s':>8}")
    for key in m["ours"]:
        o, b = m["ours"][key], m["baseline"][key]
        print(f"  {key:>8}{o['bars']:>10,}{o['pages']:>7}{o['rss_growth_mb']:>10}{b['rss_growth_mb']:>10}"
              f"{o['tracemalloc_peak_mb']:>9}{b['tracemalloc_peak_mb']:>9}{o['seconds']:>8}{b['seconds']:>8}")
    per = {f"{side}_{measure}": m[f"{side}_{measure}_per_added_symbol"] for side in ("ours", "baseline")
           for measure in ("rss_growth_mb", "tracemalloc_peak_mb")}
    print(f"  {'per added symbol':>25}{per['ours_rss_growth_mb']:>10}{per['baseline_rss_growth_mb']:>10}"
          f"{per['ours_tracemalloc_peak_mb']:>9}{per['baseline_tracemalloc_peak_mb']:>9}"
          f"   ({m['counts'][-2]} → {m['counts'][-1]} symbols)")
    largest = str(m["counts"][-1])
    if "1x12" in m["ours"]:
        print(f"  1x12 = one symbol × 12 months: {m['ours']['1x12']['pages']} pages, the largest "
              f"{m['baseline']['1x12']['largest_page']:,} bars")
    print(f"  flat: {m['flat']}; peak RSS of the largest run: ours {m['ours'][largest]['peak_rss_mb']} MB, "
          f"list {m['baseline'][largest]['peak_rss_mb']} MB ({m['ours'][largest]['peak_method']})")
