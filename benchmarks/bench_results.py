"""What every benchmark stamps on its JSON result and where it writes it (benchmarks/results/)."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    """When and where the figures were measured: they only compare within one run on one machine."""
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"), "python": sys.version.split()[0],
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def write_results(name: str, results: dict[str, Any], quick: bool = False,
                  output: Path | None = None) -> Path:
    """results/NAME.json (NAME_quick.json for a quick run) unless `output` says otherwise."""
    out = output or RESULTS / f"{name}{'_quick' if quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return out
