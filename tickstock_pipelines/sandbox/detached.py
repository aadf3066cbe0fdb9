"""One detached sandbox per TICKSTOCK_HOME, so every Dagster run process shares it (and its counters)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import fasteners
import requests

from tickstock_pipelines.sandbox.server import SANDBOX_API_KEY


def _alive(url: str) -> bool:
    try:
        return requests.get(f"{url}/v3/reference/tickers/AAPL", timeout=1,
                            headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"}).status_code == 200
    except requests.RequestException:
        return False


def ensure_sandbox(home: Path) -> str:
    """The base URL of this home's sandbox, starting it in the background when it is not running."""
    state = home / "sandbox"
    state.mkdir(parents=True, exist_ok=True)
    url_file = state / "url"
    with fasteners.InterProcessLock(str(state / ".lock")):
        if url_file.exists() and _alive(url := url_file.read_text().strip()):
            return url
        url_file.unlink(missing_ok=True)
        log = (state / "sandbox.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "tickstock_pipelines.sandbox", "serve", "--home", str(home)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ),
        )
        (state / "pid").write_text(str(process.pid))
        deadline = time.monotonic() + 30
        while not (url_file.exists() and _alive(url := url_file.read_text().strip())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Polygon sandbox did not start; see {state / 'sandbox.log'}")
            time.sleep(0.1)
        return url


def serve(home: Path) -> None:
    from tickstock_pipelines.sandbox.server import SandboxServer

    server = SandboxServer()
    (home / "sandbox" / "url").write_text(server.base_url)
    server.serve_forever()
