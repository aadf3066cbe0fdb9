"""`python -m tickstock_sandbox serve|start|stop|status --home DIR`.

serve: run the sandbox in the foreground (this is what `start` detaches); start: start or reuse the
home's detached sandbox and print its URL; stop: stop it; status: print its URL or exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tickstock_sandbox.detached import ensure_sandbox, running_url, serve, stop_sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tickstock_sandbox")
    parser.add_argument("command", choices=["serve", "start", "stop", "status"])
    parser.add_argument("--home", type=Path, required=True, help="TICKSTOCK_HOME (state in HOME/sandbox/)")
    parser.add_argument("--port", type=int, default=0, help="serve only; 0 = an ephemeral port")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    if args.command == "serve":
        serve(home, port=args.port)
    elif args.command == "start":
        print(ensure_sandbox(home))
    elif args.command == "stop":
        return 0 if stop_sandbox(home) else 1
    else:
        url = running_url(home)
        print(url or "not running")
        return 0 if url else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
