"""The production deployment files: the instance config runs for real on PostgreSQL; the rest parses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, asset, materialize

from tickstock_pipelines_tests.support.services import create_database

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_production_instance_config_runs_on_postgres(
    pg_template_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage_uri = create_database(pg_template_uri, "deploy_dagster")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", storage_uri)
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")

    @asset
    def probe() -> int:
        return 1

    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert materialize([probe], instance=instance).success
        assert len(instance.get_runs()) == 1
        run_limits = instance.get_concurrency_config().run_queue_config
        assert run_limits.max_concurrent_runs == 4
        assert {"key": "dagster/backfill", "limit": 2} in run_limits.tag_concurrency_limits


def test_generated_and_production_instances_agree_on_limits() -> None:
    from tickstock_pipelines.instance import instance_config

    production = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    generated = instance_config("postgresql+psycopg2://x@/y")
    assert production["concurrency"] == generated["concurrency"]
    assert production["run_coordinator"] == generated["run_coordinator"]


def test_compose_and_helm_files_name_every_service() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    assert {"postgres", "redis", "code", "webserver", "daemon"} <= set(compose["services"])
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "tickstock_pipelines.definitions"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "tickstock_pipelines.definitions" in dockerfile


def _published(service: dict) -> list[tuple[str, str, str]]:
    """(host address, host port, container port) of each published port; address '' = every interface."""
    out = []
    for spec in service.get("ports", []):
        parts = str(spec).split(":")
        out.append(tuple(["", "", ""][: 3 - len(parts)] + parts))
    return out


def test_the_ui_is_published_on_loopback_only_and_reached_through_an_authenticating_proxy() -> None:
    """The Dagster UI has no login: anyone who reaches it can launch and wipe runs. Only the proxy, which
    signs users in (OIDC) over TLS, may face the network; every other service stays off it."""
    services = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())["services"]
    assert _published(services["webserver"]) == [("127.0.0.1", "3000", "3000")]
    loopback = ("127.0.0.1", "::1", "localhost")
    facing = {name for name, service in services.items()
              if any(address not in loopback for address, _, _ in _published(service))}
    assert facing == {"auth-proxy"}, facing
    proxy = services["auth-proxy"]
    assert proxy["image"].startswith("quay.io/oauth2-proxy/oauth2-proxy:")
    assert proxy["profiles"] == ["proxy"]  # opt-in: it needs the operator's identity provider
    env = proxy["environment"]
    assert env["OAUTH2_PROXY_UPSTREAMS"] == "http://webserver:3000/"
    assert env["OAUTH2_PROXY_PROVIDER"] == "oidc" and env["OAUTH2_PROXY_COOKIE_SECURE"] == "true"
    assert env["OAUTH2_PROXY_TLS_CERT_FILE"] and env["OAUTH2_PROXY_TLS_KEY_FILE"]
    assert _published(proxy) == [("", "443", "4443")] and env["OAUTH2_PROXY_HTTPS_ADDRESS"].endswith(":4443")


def test_the_readme_says_how_the_ui_is_protected() -> None:
    readme = (DEPLOY.parent / "README.md").read_text()
    assert "127.0.0.1:3000:3000" in readme and "--profile proxy" in readme and "oauth2-proxy" in readme
