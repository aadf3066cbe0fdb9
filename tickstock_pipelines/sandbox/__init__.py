"""The offline Polygon-compatible sandbox (used when POLYGON_API_KEY is unset)."""

from tickstock_pipelines.sandbox.detached import ensure_sandbox
from tickstock_pipelines.sandbox.server import SANDBOX_API_KEY, SandboxServer

__all__ = ["SANDBOX_API_KEY", "SandboxServer", "ensure_sandbox"]
