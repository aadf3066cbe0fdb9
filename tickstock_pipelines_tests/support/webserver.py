"""A real dagster-webserver on 127.0.0.1 serving our Definitions from a fresh embedded instance."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

from tickstock_pipelines.instance import instance_config

# what users load: the code location "tickstock_pipelines"
WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_webserver(dagster_home: Path, storage_uri: str, app_uri: str) -> Iterator[str]:
    """Start the webserver on a generated instance and yield its base URL once it answers."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(storage_uri)))
    port = free_port()
    env = dict(os.environ, DAGSTER_HOME=str(dagster_home), DATABASE_URI=app_uri)
    log = (dagster_home / "webserver.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(WORKSPACE)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                tail = (dagster_home / "webserver.log").read_text()[-2000:]
                raise RuntimeError(f"webserver exited: {tail}")
            try:
                if requests.get(f"{base_url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("webserver did not answer within 120 s")
            time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def running_tickstock_ui(dagster_home: Path, storage_uri: str, env: dict[str, str]) -> Iterator[str]:
    """`tickstock ui` as operators run it (webserver and daemon on one instance); yields its base URL."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(storage_uri)))
    port = free_port()
    log_path = dagster_home / "ui.log"
    log = log_path.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "tickstock_pipelines.cli", "ui", "--port", str(port)],
                               env={**env, "DAGSTER_HOME": str(dagster_home)}, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            try:
                if requests.get(f"{base_url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "tickstock ui did not answer within 120 s"
            time.sleep(0.5)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def graphql(base_url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(f"{base_url}/graphql", json={"query": query, "variables": variables or {}},
                             timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body.get("errors")
    return body["data"]
