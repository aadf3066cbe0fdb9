"""Remove the Polygon key from any text before it reaches a log, an exception or the terminal."""

from __future__ import annotations

import os
import re

_API_KEY_PARAM = re.compile(r"(?i)(apikey=)[^&\s'\"]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
REDACTED = "***"


def redact(text: str, secret: str | None = None) -> str:
    """The text with `secret` (default: POLYGON_API_KEY), apiKey params and bearer tokens masked."""
    secret = secret if secret is not None else os.environ.get("POLYGON_API_KEY")
    if secret:
        text = text.replace(secret, REDACTED)
    text = _API_KEY_PARAM.sub(rf"\1{REDACTED}", text)
    return _BEARER.sub(rf"\1{REDACTED}", text)
