"""One detached sandbox per TICKSTOCK_HOME, so every Dagster run process shares it (and its counters).

State lives in HOME/sandbox/: `pid`, `url`, `sandbox.log`, and a lock file that serialises starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import fasteners
import requests

START_TIMEOUT_SECONDS = 60.0


def _state_dir(home: Path) -> Path:
    state = Path(home) / "sandbox"
    state.mkdir(parents=True, exist_ok=True)
    return state


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        response = requests.get(f"{url}/_sandbox/health", timeout=timeout)
        return response.status_code == 200 and response.json().get("status") == "OK"
    except (requests.RequestException, ValueError):
        return False


def running_url(home: Path) -> str | None:
    """The URL of this home's sandbox if it answers its health check."""
    url_file = _state_dir(home) / "url"
    if url_file.exists() and healthy(url := url_file.read_text().strip()):
        return url
    return None


def ensure_sandbox(home: Path) -> str:
    """The base URL of this home's sandbox, starting it detached when it is not running."""
    state = _state_dir(home)
    with fasteners.InterProcessLock(str(state / "lock")):
        if url := running_url(home):
            return url
        (state / "url").unlink(missing_ok=True)
        with (state / "sandbox.log").open("ab") as log:
            command = [sys.executable, "-m", "tickstock_sandbox", "serve",
                       "--home", str(Path(home).resolve())]
            process = subprocess.Popen(
                command,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (url := running_url(home)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Polygon sandbox did not start; see {state / 'sandbox.log'}")
            time.sleep(0.05)
        return url


def stop_sandbox(home: Path, timeout: float = 10.0) -> bool:
    """Stop this home's sandbox; False when none was running."""
    state = _state_dir(home)
    pid_file = state / "pid"
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child (ensure_sandbox in this process): reap it
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def serve(home: Path, port: int = 0, warm: bool = True) -> None:
    """Run the sandbox in this process until SIGTERM/SIGINT (what `ensure_sandbox` starts)."""
    from tickstock_sandbox.server import SandboxServer

    state = _state_dir(home)
    server = SandboxServer(port=port)
    stopping = threading.Event()

    def _stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    if warm:  # the first grouped-daily call would otherwise pay for ~1,000 series at once
        threading.Thread(target=_warm, args=(server,), daemon=True).start()
    (state / "pid").write_text(str(os.getpid()))
    tmp = state / f"url.{os.getpid()}"
    tmp.write_text(server.base_url)
    tmp.replace(state / "url")
    print(f"Polygon sandbox serving on {server.base_url} (pid {os.getpid()})", flush=True)
    stopping.wait()
    server.stop()
    for name in ("url", "pid"):
        path = state / name
        if path.exists() and (name != "pid" or path.read_text().strip() == str(os.getpid())):
            path.unlink(missing_ok=True)


def _warm(server: object) -> None:
    from tickstock_sandbox.bars import day_series

    for security in list(server.state.securities.values()):  # type: ignore[attr-defined]
        day_series(security.profile)
