"""`tickstock ui`: the Dagster webserver and daemon on the same (embedded by default) instance."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ui", help="serve the Dagster UI and run the daemon (schedules, sensors)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from tickstock_pipelines.instance import get_instance

    get_instance().dispose()  # schema and pools ready before the webserver and the daemon both start
    home = os.environ["DAGSTER_HOME"]
    print(f"tickstock: Dagster instance {home}; UI on http://{args.host}:{args.port}", flush=True)
    command = [
        sys.executable, "-m", "dagster", "dev",
        "-m", "tickstock_pipelines.definitions",
        "--host", args.host, "--port", str(args.port),
    ]
    return subprocess.call(command, env=dict(os.environ))
