"""The `polygon` pool exists before any run claims it: two runs claiming first at once on a fresh instance
made Dagster fail one of them (its fallback UPDATE ran inside an aborted PostgreSQL transaction)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tickstock_pipelines.instance import POLYGON_POOL, POLYGON_POOL_LIMIT, get_instance, instance_config
from tickstock_pipelines_tests.support.services import create_database


def test_a_fresh_instance_gets_its_polygon_pool_limit_from_get_instance(
        pg_template_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = create_database(pg_template_uri, "pools_fresh_instance")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance_config(storage)))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = get_instance()
    try:
        info = instance.event_log_storage.get_concurrency_info(POLYGON_POOL)
        assert POLYGON_POOL in instance.event_log_storage.get_concurrency_keys()
        assert (info.slot_count, info.claimed_slots) == (POLYGON_POOL_LIMIT, [])
        get_instance().dispose()  # a second process finds it there and changes nothing
        assert instance.event_log_storage.get_concurrency_info(POLYGON_POOL).slot_count == POLYGON_POOL_LIMIT
    finally:
        instance.dispose()
