"""`python -m tickstock_pipelines.sandbox serve --home DIR`: the detached sandbox process."""

import argparse
from pathlib import Path

from tickstock_pipelines.sandbox.detached import serve

parser = argparse.ArgumentParser(prog="tickstock_pipelines.sandbox")
parser.add_argument("command", choices=["serve"])
parser.add_argument("--home", type=Path, required=True)
serve(parser.parse_args().home.resolve())
