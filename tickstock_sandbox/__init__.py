"""The offline Polygon-compatible sandbox (used when POLYGON_API_KEY is unset).

Names are imported lazily so that `python -m tickstock_sandbox` and the bar generators
do not pay for the HTTP server's imports, and vice versa.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tickstock_sandbox.config import FaultRule, SandboxConfig
    from tickstock_sandbox.detached import ensure_sandbox, stop_sandbox
    from tickstock_sandbox.server import SANDBOX_API_KEY, SandboxServer

_EXPORTS = {
    "SANDBOX_API_KEY": "server", "SandboxServer": "server", "SandboxConfig": "config",
    "FaultRule": "config", "ensure_sandbox": "detached", "stop_sandbox": "detached",
}
__all__ = ["SANDBOX_API_KEY", "FaultRule", "SandboxConfig", "SandboxServer", "ensure_sandbox", "stop_sandbox"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
