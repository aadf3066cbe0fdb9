"""Listening to the notification channels as the application does, on the test's real Redis."""

from __future__ import annotations

import json
import time
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
