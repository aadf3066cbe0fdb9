"""benchmarks/bench_market.py at its smallest (the shipped universe, 0.1 years, a baseline of 10 symbols)
runs its `tickstock load` processes end to end and writes its JSON: the figures the README quotes come
from a script that works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_whole_market_benchmark_runs_small_and_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "bench_market.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_market.py"), "--scale", "0",
                           "--years", "0.1", "--baseline-sample", "10", "--output", str(out)],
                          capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert set(result["loads"]) == {"all_stocks,all_etfs"}  # the whole market is one load
    assert result["synthetic_stocks"] == result["synthetic_etfs"] == 0
    stored = result["stored"]
    assert stored["symbols"] == stored["stocks"] + stored["etfs"] and stored["rows"] > 0
    assert result["weekly"]["calls"] == 6 and result["goals"]["weekly_met"]
    assert result["baseline"]["extrapolated"] and result["baseline"]["sample_symbols"] == 10
    assert result["whole_market"]["peak_rss_mb"] > 0
    assert "goals:" in done.stdout
